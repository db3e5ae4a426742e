package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Sink is where alerts go. Send may keep the alerts after it returns (to
// queue them) and must not modify them: a batch is shared by every sink.
// Close flushes what the sink holds and releases it; Send after Close
// returns ErrClosed.
type Sink interface {
	Send(ctx context.Context, alerts []Alert) error
	Close() error
}

// ErrClosed is returned by a sink's Send after Close.
var ErrClosed = errors.New("alert: sink closed")

// Route is one sink of a Fanout.
type Route struct {
	Name string // in logs and Stats
	Sink Sink
	// Lossless routes (the store) make Fanout.Send wait for room in their
	// queue; the others drop a batch their queue has no room for, so a slow
	// webhook or disk never stalls detection.
	Lossless bool
	Queue    int // batches waiting for the sink; 0 means 64
}

// AddWebhooks appends a lossy route per webhook URL to routes. On an
// invalid URL it closes every sink of routes and returns the error.
func AddWebhooks(routes []Route, urls []string) ([]Route, error) {
	for _, u := range urls {
		w, err := NewWebhook(WebhookConfig{URL: u})
		if err != nil {
			for _, r := range routes {
				r.Sink.Close()
			}
			return nil, fmt.Errorf("webhook %s: %w", u, err)
		}
		routes = append(routes, Route{Name: "webhook " + u, Sink: w})
	}
	return routes, nil
}

// RouteStats counts a route's alerts since the Fanout was made.
type RouteStats struct {
	Name    string
	Sent    uint64 // accepted by the sink
	Dropped uint64 // not queued: the queue was full, or Send was cancelled
	Failed  uint64 // the sink returned an error or panicked
	Queued  int    // batches waiting now
}

// Fanout is a Sink that hands each batch to several sinks, each from its
// own goroutine and bounded queue, so one sink's failure or slowness costs
// only that sink's alerts.
type Fanout struct {
	routes []*route
	log    *slog.Logger
	drain  time.Duration
	wg     sync.WaitGroup
	cancel context.CancelFunc // stops sinks' in-flight Sends once draining times out
	quit   chan struct{}      // closed by Close: unblocks Sends waiting on lossless queues

	mu     sync.RWMutex // held for reading while queueing, so Close cannot close a queue under a Send
	closed bool

	closeOnce sync.Once
	closeErr  error
}

type route struct {
	Route
	q                     chan []Alert
	sent, dropped, failed atomic.Uint64
	failing               bool // owned by the route's goroutine: log on changes only
}

// NewFanout starts a goroutine per route. log may be nil. Close waits up to
// drain (0 means 10 s) for queued batches before cancelling the sinks.
func NewFanout(log *slog.Logger, drain time.Duration, routes ...Route) *Fanout {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if drain <= 0 {
		drain = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Fanout{log: log, drain: drain, cancel: cancel, quit: make(chan struct{})}
	for _, rt := range routes {
		if rt.Queue <= 0 {
			rt.Queue = 64
		}
		r := &route{Route: rt, q: make(chan []Alert, rt.Queue)}
		f.routes = append(f.routes, r)
		f.wg.Add(1)
		go f.run(ctx, r)
	}
	return f
}

// Send queues the batch for every route. It copies the slice, so the
// caller may reuse it, but not the alerts' Features. It blocks only for a
// lossless route's queue, until ctx is done.
func (f *Fanout) Send(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	batch := slices.Clone(alerts)
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return ErrClosed
	}
	var errs []error
	for _, r := range f.routes {
		if !r.Lossless {
			select {
			case r.q <- batch:
			default:
				r.dropped.Add(uint64(len(batch)))
			}
			continue
		}
		select {
		case r.q <- batch:
		case <-ctx.Done():
			r.dropped.Add(uint64(len(batch)))
			errs = append(errs, fmt.Errorf("alert: queue for %s: %w", r.Name, context.Cause(ctx)))
		case <-f.quit:
			r.dropped.Add(uint64(len(batch)))
			errs = append(errs, fmt.Errorf("alert: queue for %s: %w", r.Name, ErrClosed))
		}
	}
	return errors.Join(errs...)
}

func (f *Fanout) run(ctx context.Context, r *route) {
	defer f.wg.Done()
	for batch := range r.q {
		err := deliver(ctx, r.Sink, batch)
		if err != nil {
			r.failed.Add(uint64(len(batch)))
			if !r.failing {
				f.log.Warn("alert sink failing", "sink", r.Name, "err", err)
			}
		} else {
			r.sent.Add(uint64(len(batch)))
			if r.failing {
				f.log.Info("alert sink recovered", "sink", r.Name, "failed", r.failed.Load())
			}
		}
		r.failing = err != nil
	}
}

// deliver calls the sink, turning a panic into an error: a buggy sink
// loses its batch, not the process.
func deliver(ctx context.Context, s Sink, batch []Alert) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sink panicked: %v", p)
		}
	}()
	return s.Send(ctx, batch)
}

// Stats reports each route's counters, in route order.
func (f *Fanout) Stats() []RouteStats {
	out := make([]RouteStats, len(f.routes))
	for i, r := range f.routes {
		out[i] = RouteStats{Name: r.Name, Sent: r.sent.Load(), Dropped: r.dropped.Load(),
			Failed: r.failed.Load(), Queued: len(r.q)}
	}
	return out
}

// Close stops accepting batches, lets the routes drain their queues (for at
// most the drain time, then cancels the contexts of the sinks' Sends, which
// must honour them), and closes the sinks.
func (f *Fanout) Close() error {
	f.closeOnce.Do(func() { f.closeErr = f.close() })
	return f.closeErr
}

func (f *Fanout) close() error {
	// Senders blocked on a lossless queue hold the read lock; releasing
	// them first lets the write lock come promptly.
	close(f.quit)
	f.mu.Lock()
	f.closed = true
	for _, r := range f.routes {
		close(r.q)
	}
	f.mu.Unlock()

	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	t := time.NewTimer(f.drain)
	select {
	case <-done:
	case <-t.C:
		f.cancel()
		<-done
	}
	t.Stop()
	f.cancel()

	var errs []error
	for _, r := range f.routes {
		if err := r.Sink.Close(); err != nil {
			errs = append(errs, fmt.Errorf("alert: close %s: %w", r.Name, err))
		}
	}
	return errors.Join(errs...)
}
