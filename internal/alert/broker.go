package alert

import (
	"context"
	"sync"
	"sync/atomic"
)

// Broker fans alerts out to live subscribers (the SSE and WebSocket
// streams). Publish never waits for a subscriber: each has a bounded ring
// that loses its oldest alerts when the subscriber falls behind, and the
// subscriber is told how many. The last alerts are kept for replay, so a
// client that reconnects, or connects just after an alert, still gets it.
//
// Published alerts are shared by all subscribers: they must not be
// modified.
type Broker struct {
	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	replay []*Alert // ring of the last alerts, oldest at next once full
	next   int
	filled bool
	closed bool

	published, dropped atomic.Uint64
}

// Replay selects the buffered alerts a new subscription starts with,
// besides those at or after its Filter's Since (when set).
type Replay struct {
	// AfterID replays the alerts published after the one with this ID (an
	// SSE Last-Event-ID). If it is no longer buffered, every buffered alert
	// is replayed: the client missed at least that much.
	AfterID string
	// Last replays at most the last Last matching alerts (0: no limit when
	// AfterID or Since asks for replay, else none).
	Last int
}

// BrokerStats counts a broker's traffic.
type BrokerStats struct {
	Subscribers int
	Published   uint64
	Dropped     uint64 // alerts lost by slow subscribers, summed over them
}

// NewBroker keeps the last replay alerts (0 means 1024) for late joiners.
func NewBroker(replay int) *Broker {
	if replay <= 0 {
		replay = 1024
	}
	return &Broker{subs: make(map[*Subscription]struct{}), replay: make([]*Alert, replay)}
}

// Subscription is one subscriber's view of a Broker.
type Subscription struct {
	filter Filter
	broker *Broker

	mu      sync.Mutex
	ring    []*Alert
	head, n int
	dropped uint64

	ready chan struct{} // cap 1: alerts or a drop count are waiting
	done  chan struct{} // closed when cancelled or the broker closes
	once  sync.Once
}

// Subscribe starts a subscription to the alerts f matches, with room for
// buffer alerts (0 means 1024) plus whatever the replay selects. The
// returned func cancels it.
func (b *Broker) Subscribe(f Filter, buffer int, r Replay) (*Subscription, func()) {
	if buffer <= 0 {
		buffer = 1024
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// Under the broker's lock, so no alert falls between replay and live.
	var replayed []*Alert
	if r.AfterID != "" || r.Last > 0 || !f.Since.IsZero() {
		replayed = b.replayed(&f, r)
	}
	s := &Subscription{filter: f, broker: b, ring: make([]*Alert, buffer+len(replayed)),
		ready: make(chan struct{}, 1), done: make(chan struct{})}
	s.push(replayed)
	if b.closed {
		s.end()
	} else {
		b.subs[s] = struct{}{}
	}
	return s, s.cancel
}

// replayed lists the buffered alerts r and f select, oldest first.
func (b *Broker) replayed(f *Filter, r Replay) []*Alert {
	var buffered []*Alert
	if b.filled {
		buffered = append(buffered, b.replay[b.next:]...)
	}
	buffered = append(buffered, b.replay[:b.next]...)
	if r.AfterID != "" {
		for i := len(buffered) - 1; i >= 0; i-- {
			if buffered[i].ID == r.AfterID {
				buffered = buffered[i+1:]
				break
			}
		}
	}
	out := buffered[:0]
	for _, a := range buffered {
		if f.Match(a) {
			out = append(out, a)
		}
	}
	if r.Last > 0 && len(out) > r.Last {
		out = out[len(out)-r.Last:]
	}
	return out
}

// Publish hands the alerts to every matching subscriber and the replay
// buffer. It copies the batch once; the alerts' Features are shared.
func (b *Broker) Publish(alerts []Alert) {
	if len(alerts) == 0 {
		return
	}
	batch := make([]*Alert, len(alerts))
	copies := append([]Alert(nil), alerts...)
	for i := range copies {
		batch[i] = &copies[i]
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.published.Add(uint64(len(batch)))
	for _, a := range batch {
		b.replay[b.next] = a
		if b.next++; b.next == len(b.replay) {
			b.next, b.filled = 0, true
		}
	}
	for s := range b.subs {
		if d := s.push(batch); d > 0 {
			b.dropped.Add(d)
		}
	}
}

// Send publishes, so a Broker can be a Fanout route. It never fails.
func (b *Broker) Send(_ context.Context, alerts []Alert) error {
	b.Publish(alerts)
	return nil
}

// Close ends every subscription (their Done channels close, so streams
// end) and makes Publish a no-op. Call it when the server shuts down:
// http.Server.Shutdown does not end streaming responses.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		s.end()
		delete(b.subs, s)
	}
	return nil
}

// Stats reports the broker's counters.
func (b *Broker) Stats() BrokerStats {
	b.mu.Lock()
	n := len(b.subs)
	b.mu.Unlock()
	return BrokerStats{Subscribers: n, Published: b.published.Load(), Dropped: b.dropped.Load()}
}

// push appends the alerts the filter matches, overwriting the oldest when
// full, and returns how many it overwrote.
func (s *Subscription) push(alerts []*Alert) uint64 {
	var dropped uint64
	s.mu.Lock()
	for _, a := range alerts {
		if !s.filter.Match(a) {
			continue
		}
		if s.n == len(s.ring) {
			s.head = (s.head + 1) % len(s.ring)
			s.n--
			dropped++
		}
		s.ring[(s.head+s.n)%len(s.ring)] = a
		s.n++
	}
	s.dropped += dropped
	pending := s.n > 0 || s.dropped > 0
	s.mu.Unlock()
	if pending {
		select {
		case s.ready <- struct{}{}:
		default:
		}
	}
	return dropped
}

// Ready receives when alerts or a drop count are waiting for Take.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Done is closed when the subscription is cancelled or the broker closes.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Take appends the waiting alerts to dst, oldest first, and returns it
// with the number of alerts lost since the last Take because the
// subscriber was too slow. The alerts are shared: read them only.
func (s *Subscription) Take(dst []*Alert) ([]*Alert, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ; s.n > 0; s.n-- {
		dst = append(dst, s.ring[s.head])
		s.ring[s.head] = nil
		s.head = (s.head + 1) % len(s.ring)
	}
	d := s.dropped
	s.dropped = 0
	return dst, d
}

func (s *Subscription) cancel() {
	s.broker.mu.Lock()
	delete(s.broker.subs, s)
	s.broker.mu.Unlock()
	s.end()
}

func (s *Subscription) end() { s.once.Do(func() { close(s.done) }) }
