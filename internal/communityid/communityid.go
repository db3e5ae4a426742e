// Package communityid computes Community ID v1 flow hashes
// ("1:" + base64(SHA-1 of the ordered flow tuple)), as defined by the
// corelight community-id-spec, so flowguard's flow records can be joined
// with Zeek, Suricata and other monitors that log the same identifier.
package communityid

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers that the spec treats specially.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
	ProtoSCTP   uint8 = 132
)

// Append appends the Community ID v1 of a flow to b and returns the extended
// slice. It does not allocate unless b has to grow (an ID is 30 bytes).
//
// Arguments:
//   - seed is the spec's hash seed (0 by default).
//   - src, dst are the flow's addresses, both IPv4 or both IPv6. An IPv4
//     address is hashed as 4 bytes; an IPv4-mapped IPv6 address as 16 bytes,
//     as it was seen on the wire (Unmap it first to get the IPv4 ID).
//   - For TCP, UDP and SCTP, srcPort and dstPort are the ports.
//   - For ICMP (1) and ICMPv6 (58), pass the ICMP type as srcPort and the
//     ICMP code as dstPort. Request/reply types (echo, timestamp, router and
//     neighbour discovery, ...) are mapped to the port pair (type, matching
//     type) so both directions share one ID; all other types give
//     (type, code) and are one-way, i.e. the endpoints are not reordered.
//   - For every other protocol the ports are ignored and not hashed.
//
// If either address is invalid (the zero netip.Addr), nothing is appended:
// the spec allows an empty ID for flows it cannot describe.
func Append(b []byte, seed uint16, src, dst netip.Addr, srcPort, dstPort uint16, proto uint8) []byte {
	if !src.IsValid() || !dst.IsValid() {
		return b
	}

	hasPorts, oneWay := true, false
	switch proto {
	case ProtoTCP, ProtoUDP, ProtoSCTP:
	case ProtoICMP:
		srcPort, dstPort, oneWay = icmpPorts(srcPort, dstPort, icmpCounterType)
	case ProtoICMPv6:
		srcPort, dstPort, oneWay = icmpPorts(srcPort, dstPort, icmp6CounterType)
	default:
		hasPorts = false
	}

	var sa, da [16]byte
	sb := addrBytes(&sa, src)
	db := addrBytes(&da, dst)

	// Order the endpoints so both directions hash alike: the smaller
	// address first, and on equal addresses the smaller port first.
	// One-way ICMP messages keep their direction.
	if !oneWay {
		c := bytes.Compare(sb, db)
		if c > 0 || (c == 0 && !(hasPorts && srcPort < dstPort)) {
			sb, db = db, sb
			srcPort, dstPort = dstPort, srcPort
		}
	}

	// seed(2) . saddr . daddr . proto(1) . pad(1) [. sport(2) . dport(2)]
	var in [2 + 16 + 16 + 2 + 4]byte
	n := 0
	binary.BigEndian.PutUint16(in[n:], seed)
	n += 2
	n += copy(in[n:], sb)
	n += copy(in[n:], db)
	in[n] = proto
	in[n+1] = 0
	n += 2
	if hasPorts {
		binary.BigEndian.PutUint16(in[n:], srcPort)
		binary.BigEndian.PutUint16(in[n+2:], dstPort)
		n += 4
	}

	sum := sha1.Sum(in[:n])
	b = append(b, '1', ':')
	return base64.StdEncoding.AppendEncode(b, sum[:])
}

// addrBytes returns the network-order bytes of a, using buf as storage.
func addrBytes(buf *[16]byte, a netip.Addr) []byte {
	if a.Is4() {
		v4 := a.As4()
		copy(buf[:], v4[:])
		return buf[:4]
	}
	*buf = a.As16()
	return buf[:]
}

// icmpPorts maps an ICMP type and code to the port pair the spec hashes.
// For a type with a request/reply counterpart the pair is (type, counterpart)
// and the flow is two-way; otherwise it is (type, code) and one-way. The
// mapping follows Zeek, which the spec adopts.
func icmpPorts(typ, code uint16, counter func(uint16) (uint16, bool)) (sport, dport uint16, oneWay bool) {
	if c, ok := counter(typ); ok {
		return typ, c, false
	}
	return typ, code, true
}

// icmpCounterType pairs ICMPv4 request and reply types.
func icmpCounterType(t uint16) (uint16, bool) {
	switch t {
	case 8: // echo request
		return 0, true
	case 0: // echo reply
		return 8, true
	case 13: // timestamp
		return 14, true
	case 14: // timestamp reply
		return 13, true
	case 15: // information request
		return 16, true
	case 16: // information reply
		return 15, true
	case 10: // router solicitation
		return 9, true
	case 9: // router advertisement
		return 10, true
	case 17: // address mask request
		return 18, true
	case 18: // address mask reply
		return 17, true
	}
	return 0, false
}

// icmp6CounterType pairs ICMPv6 request and reply types.
func icmp6CounterType(t uint16) (uint16, bool) {
	switch t {
	case 128: // echo request
		return 129, true
	case 129: // echo reply
		return 128, true
	case 130: // multicast listener query
		return 131, true
	case 131: // multicast listener report
		return 130, true
	case 133: // router solicitation
		return 134, true
	case 134: // router advertisement
		return 133, true
	case 135: // neighbour solicitation
		return 136, true
	case 136: // neighbour advertisement
		return 135, true
	case 139: // node information query ("who are you")
		return 140, true
	case 140: // node information reply
		return 139, true
	case 144: // home agent address discovery request
		return 145, true
	case 145: // home agent address discovery reply
		return 144, true
	}
	return 0, false
}
