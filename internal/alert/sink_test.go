package alert

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// memSink records what it is sent; gate, when set, holds each Send until
// it is closed or the Send's context ends.
type memSink struct {
	mu     sync.Mutex
	got    []Alert
	gate   chan struct{}
	err    error
	panics bool
	closed bool
}

func (s *memSink) Send(ctx context.Context, alerts []Alert) error {
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.panics {
		panic("sink bug")
	}
	if s.err != nil {
		return s.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, alerts...)
	return nil
}

func (s *memSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.err
}

func (s *memSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func batchOf(n, from int) []Alert {
	out := make([]Alert, n)
	for i := range out {
		out[i] = testAlert(from + i)
	}
	return out
}

func TestFanoutIsolatesSinks(t *testing.T) {
	good, store := &memSink{}, &memSink{}
	failing := &memSink{err: errors.New("receiver down")}
	buggy := &memSink{panics: true}
	stuck := &memSink{gate: make(chan struct{})}
	f := NewFanout(nil, time.Second,
		Route{Name: "good", Sink: good},
		Route{Name: "store", Sink: store, Lossless: true},
		Route{Name: "failing", Sink: failing},
		Route{Name: "buggy", Sink: buggy},
		Route{Name: "stuck", Sink: stuck, Queue: 2},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	const batches, size = 20, 5
	start := time.Now()
	buf := make([]Alert, size)
	for i := range batches {
		copy(buf, batchOf(size, i*size)) // reused: Send must copy
		if err := f.Send(ctx, buf); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a stuck sink stalled Send for %v", d)
	}
	close(stuck.gate)
	ferr := f.Close()
	if ferr == nil {
		t.Error("Close hid the failing sink's Close error")
	}

	total := uint64(batches * size)
	stats := map[string]RouteStats{}
	for _, s := range f.Stats() {
		stats[s.Name] = s
	}
	if good.count() != int(total) || store.count() != int(total) {
		t.Errorf("good got %d, store %d, want %d each", good.count(), store.count(), total)
	}
	for i, a := range store.got {
		if a.ID != testAlert(i).ID {
			t.Fatalf("store alert %d is %s: batches reordered or reused", i, a.ID)
		}
	}
	if s := stats["failing"]; s.Failed != total || s.Sent != 0 {
		t.Errorf("failing: %+v", s)
	}
	if s := stats["buggy"]; s.Failed != total {
		t.Errorf("buggy: %+v", s)
	}
	// The stuck sink holds one batch in Send and two queued; the rest drop.
	if s := stats["stuck"]; s.Dropped == 0 || s.Sent+s.Dropped != total {
		t.Errorf("stuck: %+v", s)
	}
	for _, s := range []*memSink{good, store, failing, buggy, stuck} {
		if !s.closed {
			t.Error("a sink was not closed")
		}
	}
	if err := f.Send(ctx, buf); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
}

func TestFanoutLosslessBackpressure(t *testing.T) {
	store := &memSink{gate: make(chan struct{})}
	f := NewFanout(nil, 50*time.Millisecond, Route{Name: "store", Sink: store, Lossless: true, Queue: 1})
	ctx := context.Background()
	// One batch in the store's Send, one queued: both accepted at once.
	for i := range 2 {
		if err := f.Send(ctx, batchOf(1, i)); err != nil {
			t.Fatal(err)
		}
	}
	// The third waits for room, until its context gives up.
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := f.Send(tctx, batchOf(1, 2)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send past a full lossless queue: %v", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("Send gave up after %v, want backpressure", d)
	}
	// Close is not held up by a blocked sender, and cancels the stuck sink
	// after the drain time.
	blocked := make(chan error)
	go func() { blocked <- f.Send(ctx, batchOf(1, 3)) }()
	time.Sleep(20 * time.Millisecond)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-blocked; !errors.Is(err, ErrClosed) {
		t.Errorf("blocked Send at Close: %v", err)
	}
	s := f.Stats()[0]
	if s.Dropped != 2 || s.Failed != 2 {
		t.Errorf("stats %+v: want 2 dropped at the queue, 2 failed by cancellation", s)
	}
}
