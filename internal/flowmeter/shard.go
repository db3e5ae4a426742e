package flowmeter

import (
	"fmt"
	"sync"

	"github.com/flowguard/flowguard/internal/decode"
)

// Sink consumes decoded packets: a Meter, or a Sharded meter.
type Sink interface {
	Add(*decode.Packet)
	Skip(decode.Reason)
	Flush()
	Stats() Stats
}

// Sharded spreads flows over several Meters, each on its own goroutine.
// Packets are dispatched by a symmetric hash of their two addresses, so
// every packet of a flow (and of its continuations) reaches the same
// meter, and each record is exactly what a single Meter would write. What
// changes is the order: records are in the order flows end within a shard,
// and shards interleave in chunks.
type Sharded struct {
	shards  []*shard
	pending [][]decode.Packet // batch being filled for each shard
	clock   int64             // newest timestamp dispatched, µs
	skipped Stats
	wg      sync.WaitGroup
	flushed bool
}

type shard struct {
	m    *Meter
	in   chan batch
	free chan []decode.Packet
}

type batch struct {
	pkts  []decode.Packet
	clock int64
}

const batchLen = 512

// NewSharded starts n meters with the same configuration; emit is called
// from meter i's goroutine with i.
func NewSharded(cfg Config, n int, emit func(shard int, f *Flow)) (*Sharded, error) {
	if n < 2 || n > 64 {
		return nil, fmt.Errorf("%d shards: want 2 to 64", n)
	}
	s := &Sharded{pending: make([][]decode.Packet, n)}
	cfg.MaxFlows = max(cfg.MaxFlows/n, 1)
	for i := range n {
		m, err := New(cfg, func(f *Flow) { emit(i, f) })
		if err != nil {
			return nil, err
		}
		sh := &shard{m: m, in: make(chan batch, 4), free: make(chan []decode.Packet, 6)}
		for range 6 {
			sh.free <- make([]decode.Packet, 0, batchLen)
		}
		s.shards = append(s.shards, sh)
		s.pending[i] = <-sh.free
		s.wg.Add(1)
		go sh.run(&s.wg)
	}
	return s, nil
}

func (sh *shard) run(wg *sync.WaitGroup) {
	defer wg.Done()
	for b := range sh.in {
		for i := range b.pkts {
			sh.m.Add(&b.pkts[i])
		}
		sh.m.advance(b.clock)
		sh.free <- b.pkts[:0]
	}
	sh.m.Flush()
}

// Add dispatches one packet.
func (s *Sharded) Add(d *decode.Packet) {
	i := int(addrHash(d) % uint64(len(s.shards)))
	s.clock = max(s.clock, d.Timestamp/1000)
	s.pending[i] = append(s.pending[i], *d)
	if len(s.pending[i]) == batchLen {
		s.send(i)
	}
}

func (s *Sharded) send(i int) {
	sh := s.shards[i]
	sh.in <- batch{pkts: s.pending[i], clock: s.clock}
	s.pending[i] = <-sh.free
}

// Skip counts an undecodable frame.
func (s *Sharded) Skip(r decode.Reason) {
	s.skipped.Packets++
	s.skipped.Skipped[r]++
}

// Flush sends what is pending, ends every meter and waits for them. Later
// calls do nothing.
func (s *Sharded) Flush() {
	if s.flushed {
		return
	}
	s.flushed = true
	for i, sh := range s.shards {
		if len(s.pending[i]) > 0 {
			s.send(i)
		}
		close(sh.in)
	}
	s.wg.Wait()
}

// Stats sums the meters' counters. Call it after Flush.
func (s *Sharded) Stats() Stats {
	t := s.skipped
	for _, sh := range s.shards {
		st := sh.m.Stats()
		t.Packets += st.Packets
		t.Metered += st.Metered
		for r := range st.Skipped {
			t.Skipped[r] += st.Skipped[r]
		}
		t.IPv6Skipped += st.IPv6Skipped
		t.Fragments += st.Fragments
		for k := range st.Tunnels {
			t.Tunnels[k] += st.Tunnels[k]
		}
		t.OutOfOrder += st.OutOfOrder
		t.Flows += st.Flows
		t.Dropped += st.Dropped
		t.Evicted += st.Evicted
		t.MaxOpen += st.MaxOpen
	}
	return t
}

// addrHash is symmetric in the two addresses, so both directions of a flow
// land on the same shard.
func addrHash(d *decode.Packet) uint64 {
	return mix(d.Src) + mix(d.Dst)
}

func mix(a [16]byte) uint64 {
	var h uint64 = 0xcbf29ce484222325
	for _, b := range a {
		h = (h ^ uint64(b)) * 0x100000001b3
	}
	return h ^ h>>31
}

// advance moves the packet clock to t (µs) if it is newer, expiring flows:
// a shard learns the time from the dispatcher, not only from its own flows.
func (m *Meter) advance(t int64) {
	if t > m.clock {
		m.clock = t
		m.expire()
	}
}
