package decode

import (
	"encoding/binary"
	"testing"

	"github.com/flowguard/flowguard/internal/capture"
)

// ipv4UDP is a 10.0.0.1:1000 -> 10.0.0.2:53 UDP datagram with 4 payload bytes.
func ipv4UDP() []byte {
	b := make([]byte, 32)
	b[0], b[9] = 0x45, ProtoUDP
	binary.BigEndian.PutUint16(b[2:], 32)
	copy(b[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(b[20:], 1000)
	binary.BigEndian.PutUint16(b[22:], 53)
	binary.BigEndian.PutUint16(b[24:], 12)
	return b
}

// ipv6TCPFrag is 2001:db8::1 -> ::2 with a hop-by-hop header and a first
// fragment header before a TCP SYN to port 443.
func ipv6TCPFrag() []byte {
	b := make([]byte, 40+8+8+20)
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], 36)
	b[6] = 0 // hop-by-hop
	b[8], b[9], b[23] = 0x20, 0x01, 1
	b[24], b[25], b[39] = 0x20, 0x01, 2
	b[40] = 44 // next: fragment
	b[48] = ProtoTCP
	binary.BigEndian.PutUint16(b[50:], 1) // offset 0, more fragments
	tcp := b[56:]
	binary.BigEndian.PutUint16(tcp[0:], 5555)
	binary.BigEndian.PutUint16(tcp[2:], 443)
	tcp[12], tcp[13] = 5<<4, FlagSYN
	return b
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestDecode(t *testing.T) {
	eth := func(et ...byte) []byte { return cat(make([]byte, 12), et) }
	sll := cat(make([]byte, 14), []byte{0x08, 0x00})
	sll2 := cat([]byte{0x08, 0x00}, make([]byte, 18))
	later := ipv4UDP()
	binary.BigEndian.PutUint16(later[6:], 0x0010) // fragment offset 16
	icmpErr := cat([]byte{0x45, 0, 0, 64, 0, 0, 0, 0, 64, ProtoICMP, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1},
		[]byte{3, 3, 0, 0, 0, 0, 0, 0}, ipv4UDP()[:28])
	cases := map[string]struct {
		link   capture.LinkType
		data   []byte
		reason Reason
		check  func(*Packet) bool
	}{
		"ethernet udp":     {capture.LinkEthernet, cat(eth(0x08, 0x00), ipv4UDP()), OK, func(p *Packet) bool { return p.SrcPort == 1000 && p.DstPort == 53 && p.Payload == 4 && p.L4 == L4OK }},
		"qinq":             {capture.LinkEthernet, cat(eth(0x88, 0xa8), []byte{0, 1, 0x81, 0x00, 0, 2, 0x08, 0x00}, ipv4UDP()), OK, func(p *Packet) bool { return p.VLAN && p.DstPort == 53 }},
		"pppoe":            {capture.LinkEthernet, cat(eth(0x88, 0x64), []byte{0x11, 0, 0, 1, 0, 34, 0x00, 0x21}, ipv4UDP()), OK, func(p *Packet) bool { return p.DstPort == 53 }},
		"mpls":             {capture.LinkEthernet, cat(eth(0x88, 0x47), []byte{0, 0, 0x01, 64}, ipv4UDP()), OK, func(p *Packet) bool { return p.DstPort == 53 }},
		"padding trimmed":  {capture.LinkEthernet, cat(eth(0x08, 0x00), ipv4UDP(), make([]byte, 6)), OK, func(p *Packet) bool { return p.Payload == 4 && p.Trailer == 6 }},
		"sll":              {capture.LinkLinuxSLL, cat(sll, ipv4UDP()), OK, func(p *Packet) bool { return p.DstPort == 53 }},
		"sll2":             {capture.LinkLinuxSLL2, cat(sll2, ipv4UDP()), OK, func(p *Packet) bool { return p.DstPort == 53 }},
		"raw":              {capture.LinkRaw, ipv4UDP(), OK, func(p *Packet) bool { return p.DstPort == 53 }},
		"bsd loopback":     {capture.LinkNull, cat([]byte{2, 0, 0, 0}, ipv4UDP()), OK, func(p *Packet) bool { return p.DstPort == 53 }},
		"openbsd loopback": {capture.LinkLoop, cat([]byte{0, 0, 0, 2}, ipv4UDP()), OK, func(p *Packet) bool { return p.DstPort == 53 }},
		"ipv6 ext + frag": {capture.LinkIPv6, ipv6TCPFrag(), OK, func(p *Packet) bool {
			return p.IPv6 && p.DstPort == 443 && p.Fragment == FirstFragment && p.TCPFlags == FlagSYN
		}},
		"later fragment":    {capture.LinkRaw, later, OK, func(p *Packet) bool { return p.Fragment == LaterFragment && p.L4 == L4Absent }},
		"icmp quoting udp":  {capture.LinkRaw, icmpErr, OK, func(p *Packet) bool { return p.ICMPType == 3 && p.Quote.Proto == ProtoUDP && p.Quote.DstPort == 53 }},
		"tcp header cut":    {capture.LinkRaw, cat([]byte{0x45, 0, 0, 36, 0, 0, 0x20, 0, 64, ProtoTCP, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, make([]byte, 16)), OK, func(p *Packet) bool { return p.L4 == L4Truncated }},
		"arp":               {capture.LinkEthernet, cat(eth(0x08, 0x06), make([]byte, 28)), NonIP, nil},
		"short ethernet":    {capture.LinkEthernet, make([]byte, 10), Truncated, nil},
		"short ipv4":        {capture.LinkRaw, []byte{0x45, 0, 0}, Truncated, nil},
		"bad ihl":           {capture.LinkRaw, cat([]byte{0x43}, make([]byte, 30)), Malformed, nil},
		"unknown link type": {capture.LinkType(147), ipv4UDP(), UnsupportedLink, nil},
		"gre counted":       {capture.LinkRaw, cat([]byte{0x45, 0, 0, 24, 0, 0, 0, 0, 64, ProtoGRE, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, make([]byte, 4)), OK, func(p *Packet) bool { return p.Tunnel == TunnelGRE }},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var p Packet
			p.WireLen = len(c.data)
			if r := Decode(c.link, c.data, &p); r != c.reason {
				t.Fatalf("reason %v, want %v", r, c.reason)
			}
			if c.check != nil && !c.check(&p) {
				t.Errorf("unexpected summary %+v", p)
			}
		})
	}
}

func TestDecodeAllocs(t *testing.T) {
	data := cat(make([]byte, 12), []byte{0x08, 0x00}, ipv4UDP())
	var p Packet
	if n := testing.AllocsPerRun(1000, func() { Decode(capture.LinkEthernet, data, &p) }); n != 0 {
		t.Errorf("%v allocations per decode", n)
	}
}

// BenchmarkDecode measures one Ethernet/IPv4/UDP frame:
// go test -bench Decode -benchmem ./internal/decode
func BenchmarkDecode(b *testing.B) {
	data := cat(make([]byte, 12), []byte{0x08, 0x00}, ipv4UDP())
	var p Packet
	b.ReportAllocs()
	for b.Loop() {
		Decode(capture.LinkEthernet, data, &p)
	}
}

// FuzzDecode: any bytes under any supported link type decode or yield a
// reason, never panic, and a successful summary is self-consistent.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(1), cat(make([]byte, 12), []byte{0x08, 0x00}, ipv4UDP()))
	f.Add(uint8(101), ipv6TCPFrag())
	f.Add(uint8(113), cat(make([]byte, 14), []byte{0x86, 0xdd}, ipv6TCPFrag()))
	f.Add(uint8(0), cat([]byte{2, 0, 0, 0}, ipv4UDP()))
	links := []capture.LinkType{capture.LinkNull, capture.LinkEthernet, capture.LinkRaw, capture.LinkLoop,
		capture.LinkLinuxSLL, capture.LinkIPv4, capture.LinkIPv6, capture.LinkLinuxSLL2}
	f.Fuzz(func(t *testing.T, link uint8, data []byte) {
		var p Packet
		p.WireLen = len(data)
		r := Decode(links[int(link)%len(links)], data, &p)
		if r == OK && p.Payload < 0 {
			t.Fatalf("negative payload %d", p.Payload)
		}
	})
}
