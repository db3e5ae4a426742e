package flowmeter

import (
	"fmt"
	"time"

	"github.com/flowguard/flowguard/internal/decode"
)

// Config sets up a Meter. The zero durations mean the references' values.
type Config struct {
	Profile         *Profile
	FlowTimeout     time.Duration // a flow ends this long after its first packet (default 120 s)
	ActivityTimeout time.Duration // gaps longer than this split Active/Idle periods (default 5 s)
	IPv4Only        bool          // skip IPv6 as the references do
	// MaxFlows caps the flow table (open flows plus timed-out flows kept
	// for their continuation). When it is full the oldest flow is written
	// out early and counted as evicted. Default 1<<20.
	MaxFlows int
	// IdleTimeout ends a flow that has seen no packet for this long (0:
	// never, as the references). Live capture sets it so quiet flows reach
	// a verdict without waiting for the flow timeout; it splits flows the
	// references would keep whole, so models see shorter Idle periods.
	IdleTimeout time.Duration
	// Early, when set, is called with a flow still in progress as its
	// EarlyPackets-th packet is metered: an early verdict for long flows
	// (slow attacks) that would otherwise be scored only when they end.
	// The flow is only valid during the call.
	Early        func(*Flow)
	EarlyPackets int
}

// DefaultConfig is the references' configuration for the default profile.
func DefaultConfig() Config {
	return Config{Profile: Engelen, FlowTimeout: 120 * time.Second, ActivityTimeout: 5 * time.Second, MaxFlows: 1 << 20}
}

// Stats counts what the meter did. Skipped is indexed by decode.Reason.
type Stats struct {
	Packets     int64 // frames seen
	Metered     int64 // packets that went into a flow
	Skipped     [decode.NumReasons]int64
	IPv6Skipped int64 // IPv6 packets skipped under IPv4Only
	Fragments   int64 // IP fragments metered (later fragments form protocol-0 flows)
	Tunnels     [4]int64
	OutOfOrder  int64 // packets older than the newest one seen
	Flows       int64 // records written
	Dropped     int64 // flows ended with fewer packets than the profile writes
	Evicted     int64 // flows written early because the table was full
	MaxOpen     int   // high-water mark of the flow table
}

// Meter assembles decoded packets into flows and hands each finished flow
// to the emit function, in the order flows end. The *Flow passed to emit is
// only valid during the call.
type Meter struct {
	cfg      Config
	pr       *Profile
	timeout  int64 // µs
	activity int64 // µs
	idle     int64 // µs, 0 = no idle timeout
	emit     func(*Flow)

	table flowTable
	flows slab
	free  []int32
	// open lists live flows by creation time; stubs lists flows whose
	// record was written at their timeout but whose orientation and
	// connection state wait for a continuation packet.
	open, stubs list
	clock       int64
	stats       Stats
}

// New returns a Meter; it fails on an invalid configuration.
func New(cfg Config, emit func(*Flow)) (*Meter, error) {
	d := DefaultConfig()
	if cfg.Profile == nil {
		cfg.Profile = d.Profile
	}
	if cfg.FlowTimeout == 0 {
		cfg.FlowTimeout = d.FlowTimeout
	}
	if cfg.ActivityTimeout == 0 {
		cfg.ActivityTimeout = d.ActivityTimeout
	}
	if cfg.MaxFlows == 0 {
		cfg.MaxFlows = d.MaxFlows
	}
	switch {
	case cfg.FlowTimeout < time.Microsecond:
		return nil, fmt.Errorf("flow timeout %v: must be at least 1µs", cfg.FlowTimeout)
	case cfg.ActivityTimeout < time.Microsecond:
		return nil, fmt.Errorf("activity timeout %v: must be at least 1µs", cfg.ActivityTimeout)
	case cfg.MaxFlows < 1 || cfg.MaxFlows > 1<<30:
		return nil, fmt.Errorf("max flows %d: must be between 1 and %d", cfg.MaxFlows, 1<<30)
	case cfg.IdleTimeout < 0:
		return nil, fmt.Errorf("idle timeout %v: must not be negative", cfg.IdleTimeout)
	case cfg.Early != nil && cfg.EarlyPackets < 2:
		return nil, fmt.Errorf("early verdict after %d packets: must be at least 2", cfg.EarlyPackets)
	}
	m := &Meter{
		cfg:      cfg,
		pr:       cfg.Profile,
		timeout:  cfg.FlowTimeout.Microseconds(),
		activity: cfg.ActivityTimeout.Microseconds(),
		idle:     cfg.IdleTimeout.Microseconds(),
		emit:     emit,
		table:    flowTable{byHash: make(map[uint64]int32, min(cfg.MaxFlows, 1<<16))},
		open:     list{head: -1, tail: -1},
		stubs:    list{head: -1, tail: -1},
	}
	return m, nil
}

// Stats returns the counters so far.
func (m *Meter) Stats() Stats { return m.stats }

// Open is the number of flows in the table.
func (m *Meter) Open() int { return m.table.n }

// Skip counts a frame the decoder could not summarise.
func (m *Meter) Skip(r decode.Reason) {
	m.stats.Packets++
	m.stats.Skipped[r]++
}

// Add meters one decoded packet.
func (m *Meter) Add(d *decode.Packet) {
	m.stats.Packets++
	if d.IPv6 && m.cfg.IPv4Only {
		m.stats.IPv6Skipped++
		return
	}
	var p pkt
	m.pr.normalize(d, &p)
	m.stats.Metered++
	m.stats.Tunnels[d.Tunnel]++
	if d.Fragment != decode.NotFragment {
		m.stats.Fragments++
	}
	t := p.ts
	if t < m.clock {
		m.stats.OutOfOrder++
	}
	m.advance(t)

	k := m.pr.key(&p)
	idx, ok := m.table.get(&m.flows, &k)
	if !ok {
		m.start(k, &p, -1)
		return
	}
	f := m.flows.at(idx)
	fwd := p.src == f.Src
	if f.stub {
		// The record went out when the flow timed out; this packet opens
		// its continuation.
		m.stubs.remove(&m.flows, idx)
		m.start(k, &p, idx)
		return
	}
	pr := m.pr
	switch {
	case pr.TCPTeardown && f.ready && p.flags&decode.FlagSYN != 0:
		m.end(idx, EndTeardown)
		m.start(k, &p, -1)
	case m.idle > 0 && t-f.LastSeen > m.idle:
		m.end(idx, EndIdle)
		m.start(k, &p, -1)
	case t-f.Start > m.timeout:
		m.write(idx, EndTimeout)
		m.open.remove(&m.flows, idx)
		m.start(k, &p, idx)
	case pr.ICMPFlows && isICMP(p.proto) && int16(p.d.ICMPType) != f.ICMPType && int16(p.d.ICMPCode) != f.ICMPCode:
		m.end(idx, EndICMP)
		m.start(k, &p, -1)
	case pr.FINEndsFlow && p.flags&decode.FlagFIN != 0:
		f.add(pr, &p, fwd)
		m.end(idx, EndFIN)
	default:
		if pr.ActivityAllPackets || p.flags&decode.FlagFIN == 0 {
			f.activity(t, m.activity)
		}
		f.add(pr, &p, fwd)
		if pr.TCPTeardown && p.proto == decode.ProtoTCP {
			f.teardown(p.flags, fwd)
		}
		if m.cfg.Early != nil && f.Packets() == int64(m.cfg.EarlyPackets) {
			m.cfg.Early(f)
		}
	}
}

// teardown tracks the engelen TCP close: FIN from both sides followed by an
// ACK, or any RST, makes the flow ready to end at the next SYN.
func (f *Flow) teardown(flags uint8, fwd bool) {
	if flags&decode.FlagRST != 0 {
		f.ready = true
	}
	if f.finFwd && f.finBwd && flags&decode.FlagACK != 0 {
		f.ready = true
	}
	if flags&decode.FlagFIN != 0 {
		if fwd {
			f.finFwd = true
		} else {
			f.finBwd = true
		}
	}
}

// start opens a flow for p under key k. prev is the index of the flow it
// continues after a timeout (its record already written), or -1.
func (m *Meter) start(k key, p *pkt, prev int32) {
	pr := m.pr
	var src, dst addr
	var sport, dport uint16
	fresh := prev < 0 || !pr.continues(m.flows.at(prev), p, m.timeout)
	if fresh {
		src, dst, sport, dport = p.src, p.dst, p.sport, p.dport
		if pr.SynAckReverses && p.proto == decode.ProtoTCP && p.flags&(decode.FlagSYN|decode.FlagACK) == decode.FlagSYN|decode.FlagACK {
			src, dst, sport, dport = dst, src, dport, sport
		}
	} else {
		o := m.flows.at(prev)
		src, dst, sport, dport = o.Src, o.Dst, o.SrcPort, o.DstPort
	}
	var idx int32
	var seen retxSet
	connStart := int64(-1)
	sameHash := int32(-1)
	if prev >= 0 {
		o := m.flows.at(prev)
		if !fresh {
			connStart = o.connStart
			seen = o.seen
		} else {
			o.seen.reset()
			seen = o.seen
		}
		idx = prev // reuse the slot: same key, already in the table
		sameHash = o.sameHash
	} else {
		if m.table.n >= m.cfg.MaxFlows {
			m.evict()
		}
		idx = m.alloc()
		seen = m.flows.at(idx).seen
		seen.reset()
	}
	f := m.flows.at(idx)
	*f = Flow{key: k, Src: src, Dst: dst, SrcPort: sport, DstPort: dport, Proto: p.proto, seen: seen, sameHash: sameHash}
	if prev < 0 {
		m.table.put(&m.flows, idx)
	}
	fwd := p.src == src
	if !fresh && pr.ContinuationFirstForward {
		fwd = true
	}
	f.begin(pr, p, fwd)
	if connStart >= 0 {
		f.connStart = connStart
	}
	f.idReversed = pr.idReversed(f)
	m.open.pushBack(&m.flows, idx)
	if n := m.table.n; n > m.stats.MaxOpen {
		m.stats.MaxOpen = n
	}
}

// end writes the flow's record and frees its slot.
func (m *Meter) end(idx int32, why EndReason) {
	m.write(idx, why)
	m.open.remove(&m.flows, idx)
	m.release(idx)
}

func (m *Meter) write(idx int32, why EndReason) {
	f := m.flows.at(idx)
	f.End = why
	if f.Packets() < int64(m.pr.MinPackets) {
		m.stats.Dropped++
		return
	}
	m.stats.Flows++
	m.emit(f)
}

func (m *Meter) release(idx int32) {
	m.table.remove(&m.flows, idx)
	m.flows.at(idx).stub = false
	m.free = append(m.free, idx)
}

func (m *Meter) alloc() int32 {
	if n := len(m.free); n > 0 {
		idx := m.free[n-1]
		m.free = m.free[:n-1]
		return idx
	}
	return m.flows.grow()
}

// slab stores flows in fixed-size chunks: growing it never copies a flow
// (a flow is several hundred bytes) and indices stay valid.
type slab struct {
	chunks [][]Flow
	n      int32
}

const chunkBits = 12

func (s *slab) at(i int32) *Flow { return &s.chunks[i>>chunkBits][i&(1<<chunkBits-1)] }

func (s *slab) grow() int32 {
	if int(s.n)>>chunkBits == len(s.chunks) {
		s.chunks = append(s.chunks, make([]Flow, 1<<chunkBits))
	}
	s.n++
	return s.n - 1
}

// expire writes flows whose timeout has passed on the packet clock, keeping
// a stub for a possible continuation, and forgets stubs idle for another
// timeout. The references keep such flows until a packet or the end of the
// input arrives; writing them early is what keeps memory bounded on long
// captures and live traffic, and changes no record for time-ordered input.
func (m *Meter) expire() {
	for m.open.head >= 0 {
		idx := m.open.head
		f := m.flows.at(idx)
		if m.clock-f.Start <= m.timeout {
			break
		}
		m.write(idx, EndTimeout)
		m.open.remove(&m.flows, idx)
		f.stub = true
		m.stubs.pushBack(&m.flows, idx)
	}
	for m.stubs.head >= 0 {
		idx := m.stubs.head
		if m.clock-m.flows.at(idx).LastSeen <= 2*m.timeout {
			break
		}
		m.stubs.remove(&m.flows, idx)
		m.release(idx)
	}
}

// Advance moves the meter's clock to now (µs since the Unix epoch) when it
// is ahead of the newest packet, and ends the flows that timed out or went
// idle by then. Live capture calls it from the wall clock, so flows end
// even when no further packet arrives; it scans every open flow when an
// idle timeout is set, so call it about once a second, not per packet.
func (m *Meter) Advance(now int64) {
	m.advance(now)
	if m.idle <= 0 {
		return
	}
	for idx := m.open.head; idx >= 0; {
		f := m.flows.at(idx)
		next := f.next
		if m.clock-f.LastSeen > m.idle {
			m.end(idx, EndIdle)
		}
		idx = next
	}
}

// evict makes room in a full table: stubs go first, then the oldest flow.
func (m *Meter) evict() {
	if idx := m.stubs.head; idx >= 0 {
		m.stubs.remove(&m.flows, idx)
		m.release(idx)
		return
	}
	if idx := m.open.head; idx >= 0 {
		m.stats.Evicted++
		m.end(idx, EndEvicted)
	}
}

// Flush writes every open flow, oldest first, as at the end of the input.
func (m *Meter) Flush() {
	for m.open.head >= 0 {
		m.end(m.open.head, EndEOF)
	}
	for m.stubs.head >= 0 {
		idx := m.stubs.head
		m.stubs.remove(&m.flows, idx)
		m.release(idx)
	}
}

// list is an intrusive doubly linked list over Meter.flows indices.
type list struct{ head, tail int32 }

func (l *list) pushBack(fs *slab, i int32) {
	f := fs.at(i)
	f.prev, f.next = l.tail, -1
	if l.tail >= 0 {
		fs.at(l.tail).next = i
	} else {
		l.head = i
	}
	l.tail = i
}

func (l *list) remove(fs *slab, i int32) {
	f := fs.at(i)
	p, n := f.prev, f.next
	if p >= 0 {
		fs.at(p).next = n
	} else {
		l.head = n
	}
	if n >= 0 {
		fs.at(n).prev = p
	} else {
		l.tail = p
	}
	f.prev, f.next = -1, -1
}
