package flowmeter

import (
	"github.com/flowguard/flowguard/internal/decode"
)

// dir holds the per-direction accumulators of a flow.
type dir struct {
	length   stat  // payload bytes per packet
	iat      stat  // gaps between packets of this direction, µs
	lastSeen int64 // µs
	bytes    int64
	header   int64 // sum of transport header lengths
	psh, urg int64
	rst      int64
	actData  int64 // packets with payload, see Profile.CountFirstActData
	minSeg   int64 // smallest transport header length (see account)
	initWin  int64
	retrans  int64
	bulk     bulk
}

// bulk tracks runs of at least four payload-carrying packets in one
// direction with no gap over one second and no packet from the other side
// with payload in between (the CICFlowMeter definition).
type bulk struct {
	startHelper, lastTS     int64
	countHelper, sizeHelper int64
	states, packets, size   int64
	duration                int64
}

// Flow is the state of one bidirectional flow. Records are read from it by a
// profile's columns when it ends.
type Flow struct {
	key      key
	Src, Dst addr
	SrcPort  uint16
	DstPort  uint16
	Proto    uint8
	// idSrcFirst records whether the Flow ID names the source first; see
	// Profile.flowID.
	idReversed bool

	Start, LastSeen int64 // µs
	connStart       int64 // start of the first flow of a timeout chain
	fwd, bwd        dir
	length          stat // all packets, see Profile.FirstPacketTwice
	iat             stat
	active, idle    stat
	startActive     int64
	endActive       int64
	flags           [8]int64 // FIN SYN RST PSH ACK URG CWR ECE
	subflows        int64
	sfLast          int64
	ICMPType        int16
	ICMPCode        int16
	finFwd, finBwd  bool
	ready           bool // TCP teardown seen: a new SYN starts a new flow
	End             EndReason
	// Label is written in the Label column when set (by a labeller in the
	// emit path); otherwise the profile's placeholder is.
	Label string
	// Flagged belongs to the emit path: a detector sets it when it raised
	// an early alert on the flow, so the final record does not raise the
	// same alert again. Starting a flow clears it.
	Flagged bool
	seen    retxSet

	// table bookkeeping: doubly linked list in creation order, and the
	// next flow whose key hashes alike (see flowTable).
	prev, next int32
	sameHash   int32
	stub       bool // record emitted; kept only to continue a timed-out flow
}

// EndReason says why a flow's record was written.
type EndReason uint8

// End reasons.
const (
	EndEOF      EndReason = iota // input ended
	EndFIN                       // cic2017: a FIN packet
	EndTimeout                   // flow timeout since the flow's first packet
	EndTeardown                  // engelen: new SYN after FIN/FIN/ACK or RST
	EndICMP                      // engelen: ICMP type and code both changed
	EndEvicted                   // flow table full
	EndIdle                      // no packet for the flow timeout (streaming expiry)
)

func (r EndReason) String() string {
	return [...]string{"eof", "fin", "timeout", "teardown", "icmp", "evicted", "idle"}[r]
}

// Packets is the number of packets in the flow.
func (f *Flow) Packets() int64 { return f.fwd.length.n + f.bwd.length.n }

// Bytes is the flow's transport payload in both directions.
func (f *Flow) Bytes() int64 { return f.fwd.bytes + f.bwd.bytes }

// Duration is the time from the first to the last packet, µs.
func (f *Flow) Duration() int64 { return f.LastSeen - f.Start }

// IsIPv6 reports whether the flow's addresses are IPv6.
func (f *Flow) IsIPv6() bool { return f.key.v6 }

// begin initialises f from its first packet p. forward says whether p goes
// from f.Src to f.Dst (set by the caller, which knows the orientation rules).
func (f *Flow) begin(pr *Profile, p *pkt, forward bool) {
	t := p.ts
	f.Start, f.LastSeen = t, t
	f.connStart = t
	f.startActive, f.endActive = t, t
	f.sfLast = t
	f.ICMPType, f.ICMPCode = -1, -1
	if pr.ICMPFlows && isICMP(p.proto) {
		f.ICMPType, f.ICMPCode = int16(p.d.ICMPType), int16(p.d.ICMPCode)
	}
	f.fwd.initWin, f.bwd.initWin = pr.NoWindow, pr.NoWindow
	f.account(pr, p, forward, true)
}

// add accounts a later packet.
func (f *Flow) add(pr *Profile, p *pkt, forward bool) {
	t := p.ts
	f.iat.add(float64(t - f.LastSeen))
	if t-f.LastSeen > pr.subflowGap {
		f.subflows++
	}
	f.LastSeen = t
	f.account(pr, p, forward, false)
}

// activity feeds Active/Idle: a gap over the activity timeout closes the
// current active period.
func (f *Flow) activity(t, timeout int64) {
	if t-f.endActive > timeout {
		if f.endActive-f.startActive > 0 {
			f.active.add(float64(f.endActive - f.startActive))
		}
		f.idle.add(float64(t - f.endActive))
		f.startActive = t
	}
	f.endActive = t
}

func (f *Flow) account(pr *Profile, p *pkt, forward, first bool) {
	d, o := &f.fwd, &f.bwd
	if !forward {
		d, o = o, d
	}
	t := p.ts
	size := float64(p.payload)
	f.length.add(size)
	if first && pr.FirstPacketTwice {
		f.length.add(size)
	}
	if d.length.n > 0 {
		d.iat.add(float64(t - d.lastSeen))
	}
	d.lastSeen = t
	d.length.add(size)
	d.bytes += int64(p.payload)
	d.header += int64(p.hdr)
	// Both references start the minimum at zero and let only the flow's
	// first packet set it, so a direction whose first packet is not the
	// flow's first keeps 0.
	if first {
		d.minSeg = int64(p.hdr)
	} else {
		d.minSeg = min(d.minSeg, int64(p.hdr))
	}
	if p.payload >= 1 && (!first || pr.CountFirstActData) {
		d.actData++
	}
	fl := p.flags
	if !pr.FlagsFirstPacketOnly || first {
		for i := range 8 {
			if fl&(1<<i) != 0 {
				f.flags[flagIndex[i]]++
			}
		}
		if fl&decode.FlagPSH != 0 {
			d.psh++
		}
		if fl&decode.FlagURG != 0 {
			d.urg++
		}
	}
	if fl&decode.FlagRST != 0 {
		d.rst++
	}
	win := pr.NoWindow
	if p.proto == decode.ProtoTCP {
		win = int64(p.d.Window)
	}
	switch {
	case forward && first:
		d.initWin = win
	case forward:
	case pr.LastBwdWindow || d.initWin == 0:
		d.initWin = win
	}
	if pr.Bulk {
		d.bulk.update(t, int64(p.payload), o.bulk.lastTS)
	}
	if pr.Retransmissions && p.proto == decode.ProtoTCP {
		if f.seen.addSeen(retxKey{fwd: forward, seq: p.d.Seq, ack: p.d.Ack, win: p.d.Window, size: uint32(p.payload)}) {
			d.retrans++
		}
	}
}

// flagIndex maps header flag bits (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR)
// to f.flags slots (FIN SYN RST PSH ACK URG CWR ECE).
var flagIndex = [8]int{0, 1, 2, 3, 4, 5, 7, 6}

func (b *bulk) update(t, size, otherLast int64) {
	if otherLast > b.startHelper {
		b.startHelper = 0
	}
	if size <= 0 {
		return
	}
	if b.startHelper == 0 || t-b.lastTS > 1_000_000 {
		b.startHelper, b.lastTS = t, t
		b.countHelper, b.sizeHelper = 1, size
		return
	}
	b.countHelper++
	b.sizeHelper += size
	switch {
	case b.countHelper == 4:
		b.states++
		b.packets += b.countHelper
		b.size += b.sizeHelper
		b.duration += t - b.startHelper
	case b.countHelper > 4:
		b.packets++
		b.size += size
		b.duration += t - b.lastTS
	}
	b.lastTS = t
}

func isICMP(proto uint8) bool { return proto == decode.ProtoICMP || proto == decode.ProtoICMPv6 }
