// Package filter compiles pcap-filter(7) expressions, the language of
// tcpdump and libpcap, to classic BPF programs in pure Go, for the kernel
// (afpacket.Config.Filter) or for golang.org/x/net/bpf's VM.
//
// It covers the subset people type at a capture: ip, ip6, arp, rarp, tcp,
// udp, sctp, icmp, icmp6, vlan [ID], host, net (CIDR, partial dotted or
// "mask"), port, portrange, proto, ether host/src/dst/proto/broadcast/
// multicast, less, greater, with src/dst direction qualifiers, and/or/not
// (also &&, ||, !), parentheses, and tcpdump's repetition of the last
// qualifiers for a bare value after and/or ("port 80 or 443"); and
// relations on packet data, "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
// "ip[2:2] - ((ip[0]&0xf)<<2) > 100", with the accessors ether, ip, ip6,
// arp, rarp, tcp, udp, sctp, icmp, igmp, icmp6, len, tcpdump's named
// constants and the operators + - * / % & | ^ << >> (see arith.go).
//
// The programs accept and reject exactly the packets tcpdump's do. That
// includes its quirks, because a filter that disagrees with tcpdump on the
// same expression surprises everyone who knows tcpdump:
//
//   - and and or have the same precedence and group from the left
//     ("a or b and c" is "(a or b) and c"); not binds tighter.
//   - host and net without a protocol also match the addresses of ARP and
//     RARP packets.
//   - port and portrange match TCP, UDP and SCTP over IPv4 and IPv6; on
//     IPv4 they use the header length and never match a non-first
//     fragment; on IPv6 they look at the next header of the fixed header
//     only, while the protocol primitives (tcp, proto N, ...) also look
//     past one fragment header.
//   - every vlan moves the offsets of all the primitives that follow it in
//     the text by one tag, whatever the and/or/not between them.
//   - a load beyond the captured bytes ends the program with "reject",
//     also under a not, as in every classic BPF program.
//
// Not supported (each is a clear error): unary minus, host names and
// service names, gateway, mpls, pppoes and the other link-layer-specific
// primitives.
package filter

import (
	"fmt"
	"strings"

	"golang.org/x/net/bpf"

	"github.com/flowguard/flowguard/internal/capture"
)

// maxInstructions is the kernel's BPF_MAXINSNS: longer programs cannot be
// attached to a socket.
const maxInstructions = 4096

// defaultSnapLen is what an accepted packet keeps when Compile is given no
// snap length: libpcap's maximum, so nothing is cut.
const defaultSnapLen = 262144

// Compile compiles expr for packets of the given link type (Ethernet or raw
// IP). Accepted packets are kept whole up to snapLen bytes (262144 when
// snapLen is not positive). An empty expression accepts everything and
// compiles to a nil program. Errors name the offending token and its byte
// offset in expr.
func Compile(expr string, link capture.LinkType, snapLen int) ([]bpf.RawInstruction, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	var lk linkInfo
	switch link {
	case capture.LinkEthernet:
		lk = linkInfo{ether: true, netOff: 14, typeOff: 12}
	case capture.LinkRaw:
		lk = linkInfo{}
	default:
		return nil, fmt.Errorf("filter: link type %d not supported (only Ethernet and raw IP)", link)
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, link: lk, expr: expr}
	tree, err := p.parse()
	if err != nil {
		return nil, err
	}
	if snapLen <= 0 {
		snapLen = defaultSnapLen
	}
	prog := generate(tree, uint32(snapLen))
	if len(prog) > maxInstructions {
		return nil, fmt.Errorf("filter: expression compiles to %d instructions, more than the kernel's limit of %d", len(prog), maxInstructions)
	}
	return prog, nil
}
