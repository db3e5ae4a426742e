// Package decode turns one captured frame into a small, fixed-size summary
// (addresses, ports, lengths, TCP flags, ICMP type) without allocating. It
// understands the link layers flowguard reads (Ethernet with 802.1Q/QinQ,
// PPPoE and MPLS, Linux SLL/SLL2, BSD loopback, raw IP), IPv4 with fragments,
// IPv6 with extension headers, TCP, UDP, ICMP and ICMPv6. Tunnels (GRE,
// VXLAN, IP-in-IP) are recognised and counted, and the outer packet is what is
// summarised, as the CICFlowMeter references do.
//
// A frame that cannot be summarised yields a Reason saying why; callers count
// reasons and move on. Decoding never panics on any input.
package decode

import (
	"encoding/binary"

	"github.com/flowguard/flowguard/internal/capture"
)

// IP protocol numbers used by the decoder and the flow meter.
const (
	ProtoICMP   = 1
	ProtoIPIP   = 4
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoIPv6   = 41
	ProtoGRE    = 47
	ProtoICMPv6 = 58
)

// TCP flag bits as they appear in the TCP header's flags byte.
const (
	FlagFIN = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// Fragment position of an IP packet.
const (
	NotFragment   = 0
	FirstFragment = 1 // offset 0, more fragments follow: carries the L4 header
	LaterFragment = 2 // offset > 0: no L4 header
)

// Tunnel kinds recognised (and counted) but not decapsulated.
const (
	TunnelNone = iota
	TunnelGRE
	TunnelVXLAN
	TunnelIPIP
)

// Packet is the summary of one frame that the flow meter consumes. Addresses
// are 16 bytes; IPv4 uses the first four and leaves the rest zero so the type
// stays comparable and cheap to copy.
type Packet struct {
	Timestamp int64 // nanoseconds since the Unix epoch
	Src, Dst  [16]byte
	IPv6      bool
	Proto     uint8 // transport protocol after IPv6 extension headers
	Fragment  uint8
	Tunnel    uint8
	SrcPort   uint16
	DstPort   uint16
	TCPFlags  uint8
	Window    uint16
	Seq, Ack  uint32
	HeaderLen uint16 // transport header length: TCP data offset, 8 for UDP, else 0
	Payload   int    // transport payload bytes, from the IP length fields
	ICMPType  uint8
	ICMPCode  uint8
	// L4 says whether the transport header was read. When it was not (a
	// later fragment, or a header cut short), the packet is metered at the
	// IP level only, as the references do.
	L4 uint8
	// VLAN is set when the frame carried 802.1Q/802.1ad tags; Trailer is the
	// number of bytes after the IP datagram (Ethernet padding, FCS).
	VLAN    bool
	Trailer int
	// Quote describes the transport header inside an ICMPv4 error message
	// (destination unreachable, time exceeded, ...), which the cic2017
	// profile meters as if it were the outer packet's transport header.
	Quote   Quote
	WireLen int // frame length on the wire

	uncaptured int // bytes of the frame on the wire but not in the capture
}

// Transport header status (Packet.L4).
const (
	L4OK        = iota
	L4Absent    // later fragment, or a protocol without ports
	L4Truncated // the capture or the datagram ends inside the header
	L4Malformed // the header contradicts itself (data offset < 5, ...)
)

// Quote is the transport header quoted by an ICMP error: Proto is 0 when
// there is none.
type Quote struct {
	Proto            uint8
	SrcPort, DstPort uint16
	HeaderLen        uint16
	Payload          int
}

// Reason says why a frame was not summarised.
type Reason uint8

// Reasons, in the order they are reported.
const (
	OK Reason = iota
	NonIP
	Truncated
	Malformed
	UnsupportedLink
	numReasons
)

// NumReasons is the number of distinct reasons, for counters indexed by Reason.
const NumReasons = int(numReasons)

func (r Reason) String() string {
	switch r {
	case OK:
		return "ok"
	case NonIP:
		return "non-ip"
	case Truncated:
		return "truncated"
	case Malformed:
		return "malformed"
	case UnsupportedLink:
		return "unsupported-link"
	}
	return "unknown"
}

// Decode summarises frame data of the given link type into p. p is fully
// overwritten; Timestamp and WireLen are left for the caller to set.
func Decode(link capture.LinkType, data []byte, p *Packet) Reason {
	ts, wl := p.Timestamp, p.WireLen
	*p = Packet{Timestamp: ts, WireLen: wl, uncaptured: max(wl-len(data), 0)}
	switch link {
	case capture.LinkEthernet:
		return ethernet(data, p)
	case capture.LinkRaw:
		return rawIP(data, p)
	case capture.LinkIPv4:
		return ipv4(data, p)
	case capture.LinkIPv6:
		return ipv6(data, p)
	case capture.LinkLinuxSLL:
		if len(data) < 16 {
			return Truncated
		}
		return etherType(binary.BigEndian.Uint16(data[14:]), data[16:], p)
	case capture.LinkLinuxSLL2:
		if len(data) < 20 {
			return Truncated
		}
		return etherType(binary.BigEndian.Uint16(data[0:]), data[20:], p)
	case capture.LinkNull, capture.LinkLoop:
		if len(data) < 4 {
			return Truncated
		}
		// The family is in host order for NULL and network order for LOOP;
		// captures travel between machines, so accept either order.
		fam := binary.LittleEndian.Uint32(data)
		if fam > 0xffff {
			fam = binary.BigEndian.Uint32(data)
		}
		switch fam {
		case 2:
			return ipv4(data[4:], p)
		case 10, 24, 28, 30:
			return ipv6(data[4:], p)
		}
		return NonIP
	}
	return UnsupportedLink
}

func ethernet(data []byte, p *Packet) Reason {
	if len(data) < 14 {
		return Truncated
	}
	return etherType(binary.BigEndian.Uint16(data[12:]), data[14:], p)
}

// etherType follows VLAN tags, PPPoE and MPLS down to IP.
func etherType(et uint16, data []byte, p *Packet) Reason {
	for range 8 { // bounded: at most 8 stacked tags
		switch et {
		case 0x0800:
			return ipv4(data, p)
		case 0x86dd:
			return ipv6(data, p)
		case 0x8100, 0x88a8, 0x9100:
			if len(data) < 4 {
				return Truncated
			}
			p.VLAN = true
			et = binary.BigEndian.Uint16(data[2:])
			data = data[4:]
		case 0x8864: // PPPoE session: 6-byte header, then a 2-byte PPP protocol
			if len(data) < 8 {
				return Truncated
			}
			switch binary.BigEndian.Uint16(data[6:]) {
			case 0x0021:
				return ipv4(data[8:], p)
			case 0x0057:
				return ipv6(data[8:], p)
			}
			return NonIP
		case 0x8847, 0x8848: // MPLS: skip labels to the bottom of stack
			for {
				if len(data) < 4 {
					return Truncated
				}
				bottom := data[2]&1 == 1
				data = data[4:]
				if bottom {
					break
				}
			}
			return rawIP(data, p)
		default:
			return NonIP
		}
	}
	return Malformed
}

func rawIP(data []byte, p *Packet) Reason {
	if len(data) < 1 {
		return Truncated
	}
	switch data[0] >> 4 {
	case 4:
		return ipv4(data, p)
	case 6:
		return ipv6(data, p)
	}
	return NonIP
}

func ipv4(data []byte, p *Packet) Reason {
	if len(data) < 20 {
		return Truncated
	}
	if data[0]>>4 != 4 {
		return Malformed
	}
	ihl := int(data[0]&0x0f) * 4
	if ihl < 20 {
		return Malformed
	}
	if len(data) < ihl {
		return Truncated
	}
	total := int(binary.BigEndian.Uint16(data[2:]))
	onWire := len(data) + p.uncaptured
	switch {
	case total == 0:
		// TCP segmentation offload leaves the length zero in captures taken
		// on the sending host; the frame's length is the best truth left.
		total = onWire
	case total > onWire:
		// A length beyond the frame on the wire is a lie (seen in real
		// captures); trust the frame, as the references do.
		total = onWire
	}
	if total < ihl {
		return Malformed
	}
	p.Trailer = max(len(data)-total, 0)
	copy(p.Src[:4], data[12:16])
	copy(p.Dst[:4], data[16:20])
	p.Proto = data[9]
	frag := binary.BigEndian.Uint16(data[6:])
	off, more := frag&0x1fff, frag&0x2000 != 0
	switch {
	case off != 0:
		p.Fragment = LaterFragment
		p.L4 = L4Absent
		return OK
	case more:
		p.Fragment = FirstFragment
	}
	l4 := data[ihl:]
	if len(l4) > total-ihl {
		l4 = l4[:total-ihl] // drop Ethernet padding
	}
	return transport(l4, total-ihl, p)
}

func ipv6(data []byte, p *Packet) Reason {
	if len(data) < 40 {
		return Truncated
	}
	if data[0]>>4 != 6 {
		return Malformed
	}
	p.IPv6 = true
	copy(p.Src[:], data[8:24])
	copy(p.Dst[:], data[24:40])
	plen := int(binary.BigEndian.Uint16(data[4:]))
	if onWire := len(data) + p.uncaptured - 40; plen == 0 || plen > onWire {
		// jumbogram, offload or a lying length: trust the frame
		plen = onWire
	}
	p.Trailer = max(len(data)-40-plen, 0)
	next := data[6]
	rest := data[40:]
	for range 16 { // bounded extension-header walk
		switch next {
		case 0, 43, 60, 135, 139, 140: // hop-by-hop, routing, dest opts, mobility, HIP, shim6
			if len(rest) < 8 {
				return Truncated
			}
			n := (int(rest[1]) + 1) * 8
			if len(rest) < n || plen < n {
				return Truncated
			}
			next, rest, plen = rest[0], rest[n:], plen-n
		case 51: // AH: length in 4-byte units, minus 2
			if len(rest) < 8 {
				return Truncated
			}
			n := (int(rest[1]) + 2) * 4
			if len(rest) < n || plen < n {
				return Truncated
			}
			next, rest, plen = rest[0], rest[n:], plen-n
		case 44: // fragment
			if len(rest) < 8 || plen < 8 {
				return Truncated
			}
			frag := binary.BigEndian.Uint16(rest[2:])
			next, rest, plen = rest[0], rest[8:], plen-8
			if frag&0xfff8 != 0 {
				p.Proto = next
				p.Fragment = LaterFragment
				p.L4 = L4Absent
				return OK
			}
			if frag&1 != 0 {
				p.Fragment = FirstFragment
			}
		default:
			p.Proto = next
			if len(rest) > plen {
				rest = rest[:plen]
			}
			return transport(rest, plen, p)
		}
	}
	return Malformed
}

// transport decodes the L4 header. l4 holds the captured bytes of the IP
// payload and ipPayload its length according to the IP header, which is what
// payload sizes are computed from (snaplen-truncated captures still count the
// bytes that were on the wire). A bad transport header leaves the packet
// valid at the IP level, with p.L4 saying what went wrong.
func transport(l4 []byte, ipPayload int, p *Packet) Reason {
	p.L4 = L4Absent
	switch p.Proto {
	case ProtoTCP:
		if len(l4) < 20 {
			p.L4 = L4Truncated
			return OK
		}
		hl := int(l4[12]>>4) * 4
		if hl < 20 || hl > ipPayload {
			p.L4 = L4Malformed
			return OK
		}
		p.L4 = L4OK
		p.SrcPort = binary.BigEndian.Uint16(l4[0:])
		p.DstPort = binary.BigEndian.Uint16(l4[2:])
		p.Seq = binary.BigEndian.Uint32(l4[4:])
		p.Ack = binary.BigEndian.Uint32(l4[8:])
		p.TCPFlags = l4[13]
		p.Window = binary.BigEndian.Uint16(l4[14:])
		p.HeaderLen = uint16(hl)
		p.Payload = ipPayload - hl
	case ProtoUDP:
		if len(l4) < 8 {
			p.L4 = L4Truncated
			return OK
		}
		if ipPayload < 8 {
			p.L4 = L4Malformed
			return OK
		}
		p.L4 = L4OK
		p.SrcPort = binary.BigEndian.Uint16(l4[0:])
		p.DstPort = binary.BigEndian.Uint16(l4[2:])
		p.HeaderLen = 8
		p.Payload = ipPayload - 8
		if p.DstPort == 4789 && len(l4) >= 16 && l4[8]&0x08 != 0 {
			p.Tunnel = TunnelVXLAN
		}
	case ProtoICMP, ProtoICMPv6:
		if len(l4) < 4 {
			p.L4 = L4Truncated
			return OK
		}
		p.L4 = L4OK
		p.ICMPType, p.ICMPCode = l4[0], l4[1]
		if p.Proto == ProtoICMP && len(l4) >= 8 && icmpError(p.ICMPType) {
			quote(l4[8:], &p.Quote)
		}
	case ProtoGRE:
		p.Tunnel = TunnelGRE
	case ProtoIPIP, ProtoIPv6:
		p.Tunnel = TunnelIPIP
	}
	return OK
}

// icmpError reports ICMPv4 types whose body quotes the offending datagram.
func icmpError(t uint8) bool {
	switch t {
	case 3, 4, 5, 11, 12:
		return true
	}
	return false
}

// quote reads the IPv4 header and first transport bytes an ICMP error
// carries. Only a UDP header fits the 8 quoted bytes RFC 792 guarantees, and
// only UDP quotes are metered as UDP by the cic2017 reference.
func quote(b []byte, q *Quote) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || len(b) < ihl+8 || b[9] != ProtoUDP {
		return
	}
	if binary.BigEndian.Uint16(b[6:])&0x1fff != 0 {
		return
	}
	u := b[ihl:]
	q.Proto = ProtoUDP
	q.SrcPort = binary.BigEndian.Uint16(u[0:])
	q.DstPort = binary.BigEndian.Uint16(u[2:])
	q.HeaderLen = 8
	q.Payload = len(b) - ihl - 8
}
