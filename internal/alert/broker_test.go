package alert

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func ids(alerts []*Alert) []string {
	out := make([]string, len(alerts))
	for i, a := range alerts {
		out[i] = a.ID
	}
	return out
}

func TestBrokerSlowSubscriberNeverBlocksPublish(t *testing.T) {
	b := NewBroker(16)
	slow, cancel := b.Subscribe(Filter{}, 8, Replay{})
	defer cancel()
	const n = 100_000
	batch := batchOf(1, 0)
	start := time.Now()
	for i := range n {
		batch[0].ID = fmt.Sprint(i)
		b.Publish(batch)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("%d publishes to a subscriber that never reads took %v", n, d)
	}
	select {
	case <-slow.Ready():
	default:
		t.Fatal("not signalled")
	}
	got, dropped := slow.Take(nil)
	// The newest survive: the oldest were overwritten.
	if len(got) != 8 || got[7].ID != fmt.Sprint(n-1) || got[0].ID != fmt.Sprint(n-8) || dropped != n-8 {
		t.Errorf("kept %v, dropped %d", ids(got), dropped)
	}
	if _, d := slow.Take(nil); d != 0 {
		t.Errorf("drop count not reset: %d", d)
	}
	if s := b.Stats(); s.Published != n || s.Dropped != n-8 || s.Subscribers != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestBrokerFiltersAndFanout(t *testing.T) {
	b := NewBroker(0)
	all, c1 := b.Subscribe(Filter{}, 0, Replay{})
	defer c1()
	ddos, c2 := b.Subscribe(Filter{Class: "DDoS", MaxSeverity: 1}, 0, Replay{})
	defer c2()
	host, c3 := b.Subscribe(Filter{Host: "192.0.2.9"}, 0, Replay{})
	batch := batchOf(6, 0)
	batch[1].Flowguard.Class = "PortScan"
	batch[2].Alert.Severity = 3
	batch[3].DestIP = "192.0.2.9"
	b.Publish(batch)
	for _, c := range []struct {
		s    *Subscription
		want int
	}{{all, 6}, {ddos, 4}, {host, 1}} {
		got, _ := c.s.Take(nil)
		if len(got) != c.want {
			t.Errorf("got %v, want %d", ids(got), c.want)
		}
	}
	// Publish copied the batch: changing it now changes nothing delivered.
	batch[0].ID = "changed"
	b.Publish(batchOf(1, 6))
	got, _ := all.Take(nil)
	if len(got) != 1 || got[0].ID != testAlert(6).ID {
		t.Errorf("after a second publish: %v", ids(got))
	}
	c3()
	select {
	case <-host.Done():
	default:
		t.Error("cancelled subscription not done")
	}
	if s := b.Stats(); s.Subscribers != 2 {
		t.Errorf("%d subscribers after a cancel", s.Subscribers)
	}
}

func TestBrokerReplay(t *testing.T) {
	b := NewBroker(5)
	for i := range 8 { // the first three leave the replay buffer
		b.Publish(batchOf(1, i))
	}
	id := func(i int) string { return testAlert(i).ID }
	for _, c := range []struct {
		name string
		f    Filter
		r    Replay
		want []string
	}{
		{"none by default", Filter{}, Replay{}, nil},
		{"after an id", Filter{}, Replay{AfterID: id(5)}, []string{id(6), id(7)}},
		{"after the newest", Filter{}, Replay{AfterID: id(7)}, nil},
		{"after an id no longer buffered", Filter{}, Replay{AfterID: id(1)}, []string{id(3), id(4), id(5), id(6), id(7)}},
		{"last n", Filter{}, Replay{Last: 2}, []string{id(6), id(7)}},
		{"since", Filter{Since: testAlert(6).Timestamp}, Replay{}, []string{id(6), id(7)}},
		{"after an id, filtered", Filter{Since: testAlert(7).Timestamp}, Replay{AfterID: id(4)}, []string{id(7)}},
	} {
		s, cancel := b.Subscribe(c.f, 1, c.r)
		got, dropped := s.Take(nil)
		if fmt.Sprint(ids(got)) != fmt.Sprint(c.want) || dropped != 0 {
			t.Errorf("%s: got %v (dropped %d), want %v", c.name, ids(got), dropped, c.want)
		}
		cancel()
	}
	// Replay does not eat into the live buffer: a replaying subscriber of
	// buffer 1 still takes a live alert without loss.
	s, cancel := b.Subscribe(Filter{}, 1, Replay{Last: 5})
	defer cancel()
	b.Publish(batchOf(1, 8))
	if got, dropped := s.Take(nil); len(got) != 6 || dropped != 0 {
		t.Errorf("replay plus live: %v, dropped %d", ids(got), dropped)
	}
}

func TestBrokerClose(t *testing.T) {
	b := NewBroker(4)
	s, cancel := b.Subscribe(Filter{}, 4, Replay{})
	b.Close()
	select {
	case <-s.Done():
	default:
		t.Error("subscription not done after Close")
	}
	cancel() // after Close: harmless
	b.Publish(batchOf(1, 0))
	late, cancel2 := b.Subscribe(Filter{}, 4, Replay{})
	defer cancel2()
	select {
	case <-late.Done():
	default:
		t.Error("subscription to a closed broker not done")
	}
	if st := b.Stats(); st.Published != 0 || st.Subscribers != 0 {
		t.Errorf("stats after Close %+v", st)
	}
}

func TestBrokerConcurrent(t *testing.T) {
	b := NewBroker(64)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				s, cancel := b.Subscribe(Filter{}, 4, Replay{Last: 3})
				select {
				case <-stop:
					cancel()
					return
				case <-s.Ready():
					s.Take(nil)
				}
				cancel()
			}
		}()
	}
	for i := range 2000 {
		b.Publish(batchOf(1, i%50))
	}
	close(stop)
	wg.Wait()
	b.Close()
}

func BenchmarkPublish100Subscribers(b *testing.B) {
	br := NewBroker(1024)
	var wg sync.WaitGroup
	for range 100 {
		s, cancel := br.Subscribe(Filter{}, 1024, Replay{})
		defer cancel()
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []*Alert
			for {
				select {
				case <-s.Done():
					return
				case <-s.Ready():
					buf, _ = s.Take(buf[:0])
				}
			}
		}()
	}
	batch := batchOf(64, 0)
	b.ReportAllocs()
	for b.Loop() {
		br.Publish(batch)
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "alerts/s")
	st := br.Stats()
	b.ReportMetric(float64(st.Dropped)/float64(st.Published*100), "drop-fraction")
	br.Close()
	wg.Wait()
}
