package flowmeter

import (
	"bytes"
	"net/netip"

	"github.com/flowguard/flowguard/internal/decode"
)

// Profile is the set of switches and the column table that make the one flow
// engine behave like one reference CICFlowMeter build. doc.go describes each
// profile's semantics; the switches below are the whole difference.
type Profile struct {
	Name string

	FINEndsFlow          bool // a FIN on an existing flow ends it (cic2017)
	TCPTeardown          bool // FIN both ways + ACK, or RST, then SYN starts a new flow (engelen)
	MinPackets           int  // flows with fewer packets are not written
	SignedFlowID         bool // Flow ID and flow key order addresses as signed bytes (cic2017)
	FirstPacketTwice     bool // packet-length statistics count the first packet twice (cic2017)
	FlagsFirstPacketOnly bool // flag counters and PSH/URG see only the first packet (cic2017)
	CountFirstActData    bool // Fwd Act Data Pkts counts the first packet too
	ICMPFlows            bool // ICMP keeps protocol 1 and splits flows by type/code (engelen)
	QuotedUDP            bool // ICMP errors quoting UDP are metered as that UDP flow (cic2017)
	SynAckReverses       bool // a flow opened by SYN+ACK is oriented from its receiver (engelen)
	ActivityAllPackets   bool // FIN packets also feed Active/Idle (engelen)
	// ContinuationFirstForward counts the first packet of a flow that
	// continues a timed-out one as forward whatever its direction (cic2017).
	ContinuationFirstForward bool
	// FreshContinuation, when set, makes UDP flows idle for a whole flow
	// timeout and all non-TCP/UDP flows restart in the packet's own
	// orientation instead of continuing the timed-out flow (engelen).
	FreshContinuation bool
	LastBwdWindow     bool  // Init Bwd Win is the last backward window (cic2017), else the first non-zero one
	NoWindow          int64 // window value for non-TCP packets and unseen directions
	// VLANTrailer counts the bytes after the IP datagram of an 802.1Q
	// frame (Ethernet padding) as payload, as the references' packet
	// library does; untagged frames' padding is never counted.
	VLANTrailer     bool
	Bulk            bool  // bulk features are computed (engelen); cic2017 writes 0
	Retransmissions bool  // retransmission counters are kept (engelen)
	subflowGap      int64 // µs gap that starts a new subflow

	Columns []Column
}

// Profiles lists the profiles by name.
var Profiles = map[string]*Profile{"cic2017": CIC2017, "engelen": Engelen}

// pkt is a decoded packet as the profile meters it: protocol folded to the
// ones the profile keeps, timestamps in microseconds as the references use.
type pkt struct {
	ts           int64
	src, dst     addr
	sport, dport uint16
	proto        uint8
	flags        uint8
	payload      int
	hdr          int
	d            *decode.Packet
}

type addr [16]byte

// key identifies the flow a packet belongs to; its order of the two
// endpoints is the profile's (see Profile.key).
type key struct {
	a, b   addr
	pa, pb uint16
	proto  uint8
	v6     bool
}

func (pr *Profile) normalize(d *decode.Packet, p *pkt) {
	*p = pkt{ts: d.Timestamp / 1000, src: d.Src, dst: d.Dst, d: d}
	switch {
	case d.L4 != decode.L4OK:
		// no usable transport header (a later fragment, a cut-short
		// header): protocol 0, as both references do
	case d.Proto == decode.ProtoTCP:
		p.proto, p.sport, p.dport = d.Proto, d.SrcPort, d.DstPort
		p.flags, p.payload, p.hdr = d.TCPFlags, d.Payload, int(d.HeaderLen)
	case d.Proto == decode.ProtoUDP:
		p.proto, p.sport, p.dport = d.Proto, d.SrcPort, d.DstPort
		p.payload, p.hdr = d.Payload, int(d.HeaderLen)
	case isICMP(d.Proto) && pr.ICMPFlows:
		p.proto = d.Proto
	case d.Proto == decode.ProtoICMP && pr.QuotedUDP && d.Quote.Proto == decode.ProtoUDP:
		q := &d.Quote
		p.proto, p.sport, p.dport = decode.ProtoUDP, q.SrcPort, q.DstPort
		p.payload, p.hdr = q.Payload, int(q.HeaderLen)
	}
	if pr.VLANTrailer && d.VLAN && (p.proto == decode.ProtoTCP || p.proto == decode.ProtoUDP) {
		p.payload += d.Trailer
	}
}

func (pr *Profile) key(p *pkt) key {
	k := key{a: p.src, b: p.dst, pa: p.sport, pb: p.dport, proto: p.proto, v6: p.d.IPv6}
	var swap bool
	if pr.SignedFlowID {
		// cic2017 keys flows by their Flow ID, whose address order compares
		// bytes as signed Java bytes; equal addresses keep packet order, so
		// the two directions of a host talking to itself are two flows.
		swap = signedLess(p.dst, p.src)
	} else {
		c := bytes.Compare(p.src[:], p.dst[:])
		swap = c > 0 || c == 0 && p.sport > p.dport
	}
	if swap {
		k.a, k.b, k.pa, k.pb = k.b, k.a, k.pb, k.pa
	}
	return k
}

func signedLess(x, y addr) bool {
	for i := range x {
		if x[i] != y[i] {
			return int8(x[i]) < int8(y[i])
		}
	}
	return false
}

// continues reports whether p, arriving after flow o timed out, continues o
// (keeping its orientation and connection state) rather than starting fresh.
func (pr *Profile) continues(o *Flow, p *pkt, timeout int64) bool {
	if !pr.FreshContinuation {
		return true
	}
	switch o.Proto {
	case decode.ProtoTCP:
		return true
	case decode.ProtoUDP:
		return p.ts-o.LastSeen <= timeout
	}
	return false
}

// idReversed says whether the Flow ID names the flow's destination first:
// cic2017 writes the key's signed-byte order, engelen the flow's own.
func (pr *Profile) idReversed(f *Flow) bool {
	return pr.SignedFlowID && (f.Src != f.key.a || f.SrcPort != f.key.pa)
}

func (a addr) appendTo(dst []byte, v6 bool) []byte {
	if v6 {
		return netip.AddrFrom16(a).AppendTo(dst)
	}
	return netip.AddrFrom4([4]byte(a[:4])).AppendTo(dst)
}

// Addr returns the address as a netip.Addr.
func (a addr) Addr(v6 bool) netip.Addr {
	if v6 {
		return netip.AddrFrom16(a)
	}
	return netip.AddrFrom4([4]byte(a[:4]))
}
