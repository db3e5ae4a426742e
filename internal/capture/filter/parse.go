package filter

import (
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// linkInfo says where the network layer starts for the compiled link type.
// Raw IP has no link header: the protocol is the IP version nibble.
type linkInfo struct {
	ether   bool
	netOff  uint32 // first byte of the network header
	typeOff uint32 // EtherType
}

type dirKind uint8

const (
	dirAny  dirKind = iota // no direction given: source or destination
	dirSrc                 // src
	dirDst                 // dst
	dirBoth                // src and dst
)

// qual is the qualifiers of a primitive: "tcp src port" is proto tcp, dir
// src, typ port. A bare value after and/or reuses the last ones, as tcpdump
// does ("port 80 or 443").
type qual struct {
	proto string
	dir   dirKind
	typ   string
	valid bool
	// hasDir says a direction was written, also "src or dst", which is
	// dirAny like no direction at all.
	hasDir bool
}

type parser struct {
	toks  []token
	i     int
	link  linkInfo
	expr  string
	vlans uint32 // vlan primitives seen so far: each moves later offsets by a tag
	last  qual
	fold  *fold // the term just parsed, when more values can join it

	// The protocol checks of the relation being parsed, once each.
	guards    []node
	guardKeys map[string]bool
}

// fold is a port or IPv4 host primitive that later bare values joined by
// or are merged into ("port 80 or 443" tests the port field against both
// values at once). Besides being shorter, this is what tcpdump's optimizer
// makes of it, and it decides truncated packets the same way: the merged
// test accepts on the source port without loading the destination port.
type fold struct {
	q     qual
	value func(token) (uint32, bool) // a value that can join, parsed
	build func(ks []uint32) node
	ks    []uint32
}

var (
	protoWords = map[string]bool{"ether": true, "ip": true, "ip6": true, "arp": true, "rarp": true,
		"tcp": true, "udp": true, "sctp": true, "icmp": true, "icmp6": true, "igmp": true}
	typeWords = map[string]bool{"host": true, "net": true, "port": true, "portrange": true, "proto": true}
	// Keywords of pcap-filter(7) outside the supported subset: they get a
	// "not supported" error rather than being taken for host names.
	unsupportedWords = map[string]bool{"gateway": true, "mpls": true, "pppoed": true, "pppoes": true,
		"geneve": true, "vxlan": true, "ifname": true, "on": true, "rnr": true, "rulenum": true,
		"reason": true, "rset": true, "ruleset": true, "srnr": true, "subrulenum": true, "action": true,
		"inbound": true, "outbound": true, "atalk": true, "aarp": true, "decnet": true, "iso": true,
		"clnp": true, "esis": true, "isis": true, "stp": true, "ipx": true, "netbeui": true, "lat": true,
		"moprc": true, "mopdl": true, "sca": true, "llc": true, "fddi": true, "tr": true,
		"wlan": true, "ppp": true, "slip": true, "link": true, "protochain": true, "pim": true,
		"vrrp": true, "carp": true, "ah": true, "esp": true, "radio": true, "type": true, "subtype": true,
		"dir": true, "addr1": true, "addr2": true, "addr3": true, "addr4": true, "ta": true, "ra": true,
		"hdpi": true, "lane": true, "oam": true, "oamf4": true, "metac": true, "bcc": true, "sc": true,
		"ilmic": true, "connectmsg": true, "metaconnect": true, "vpi": true, "vci": true}
	otherWords = map[string]bool{"len": true, "vlan": true, "less": true, "greater": true, "broadcast": true,
		"multicast": true, "mask": true, "not": true, "and": true, "or": true, "src": true, "dst": true}
)

func isKeyword(s string) bool {
	return protoWords[s] || typeWords[s] || unsupportedWords[s] || otherWords[s]
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func isAnd(t token) bool { return t.kind == tAnd || t.kind == tWord && t.text == "and" }
func isOr(t token) bool  { return t.kind == tOr || t.kind == tWord && t.text == "or" }
func isNot(t token) bool { return t.kind == tNot || t.kind == tWord && t.text == "not" }

// isValue says whether t is a word that is not a keyword: a number, an
// address, a range.
func isValue(t token) bool { return t.kind == tWord && !isKeyword(t.text) }

func unexpected(t token) error {
	switch t.kind {
	case tEOF:
		return fmt.Errorf("filter: unexpected end of expression at offset %d", t.off)
	case tOther:
		if t.text == "[" {
			return fmt.Errorf("filter: packet data accessors (\"[\" at offset %d) are not supported", t.off)
		}
		return fmt.Errorf("filter: unexpected %q at offset %d (arithmetic and comparisons are not supported)", t.text, t.off)
	}
	return fmt.Errorf("filter: unexpected %q at offset %d", t.text, t.off)
}

func errAt(t token, format string, args ...any) error {
	return fmt.Errorf("filter: %q at offset %d: %s", t.text, t.off, fmt.Sprintf(format, args...))
}

func (p *parser) parse() (node, error) {
	n, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, unexpected(t)
	}
	return n, nil
}

// parseExpr parses terms joined by and/or. Both have the same precedence
// and group from the left, as in pcap-filter(7).
func (p *parser) parseExpr() (node, error) {
	left, err := p.parseTerm(false)
	if err != nil {
		return nil, err
	}
	f := p.fold
	for {
		t := p.peek()
		and, or := isAnd(t), isOr(t)
		if !and && !or {
			return left, nil
		}
		p.next()
		if v := p.peek(); or && f != nil && isValue(v) && p.last == f.q {
			if k, ok := f.value(v); ok {
				p.next()
				f.ks = append(f.ks, k)
				left = f.build(f.ks)
				continue
			}
		}
		f = nil
		right, err := p.parseTerm(true)
		if err != nil {
			return nil, err
		}
		if and {
			left = andNode{left, right}
		} else {
			left = orNode{left, right}
		}
	}
}

// parseTerm parses a negation, a parenthesised expression or a primitive.
// afterOp says the term follows and/or, where a bare value takes the last
// qualifiers.
func (p *parser) parseTerm(afterOp bool) (node, error) {
	p.fold = nil
	t := p.peek()
	switch {
	case isNot(t):
		p.next()
		n, err := p.parseTerm(afterOp)
		if err != nil {
			return nil, err
		}
		p.fold = nil
		return notNode{n}, nil
	case t.kind == tLParen:
		// "(" opens either an expression or the arithmetic of a
		// relation, "(ip[0] & 0xf) > 5": try the relation first.
		save, saveToks, saveLast := p.i, p.toks, p.last
		if n, err := p.relation(); err == nil {
			p.fold = nil
			return n, nil
		}
		p.i, p.toks, p.last = save, saveToks, saveLast
		p.next()
		n, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tRParen {
			if c.kind == tEOF {
				return nil, fmt.Errorf("filter: missing \")\" for the \"(\" at offset %d", t.off)
			}
			return nil, unexpected(c)
		}
		p.next()
		p.last.valid = false // tcpdump does not carry qualifiers out of parentheses
		p.fold = nil
		return n, nil
	case p.startsRelation():
		return p.relation()
	case isValue(t):
		p.next()
		if afterOp && p.last.valid {
			return p.primitive(p.last, t)
		}
		if _, err := netip.ParseAddr(t.text); err == nil {
			p.last = qual{typ: "host", valid: true}
			return p.primitive(p.last, t)
		}
		return nil, errAt(t, "a value needs a qualifier such as host, net or port before it")
	case t.kind == tWord:
		return p.parseQualified()
	}
	return nil, unexpected(t)
}

// parseQualified parses a primitive that starts with a keyword.
func (p *parser) parseQualified() (node, error) {
	start := p.next()
	switch w := start.text; {
	case unsupportedWords[w]:
		return nil, errAt(start, "not supported")
	case w == "vlan":
		return p.parseVLAN(start)
	case w == "less" || w == "greater":
		v := p.peek()
		if !isValue(v) {
			return nil, errAt(start, "needs a length after it")
		}
		p.next()
		n, err := number(v, 0xffffffff)
		if err != nil {
			return nil, err
		}
		p.last.valid = false
		if w == "less" {
			return notNode{test{ld: ldLen, op: jGt, ks: []uint32{n}}}, nil
		}
		return test{ld: ldLen, op: jGe, ks: []uint32{n}}, nil
	case w == "broadcast" || w == "multicast":
		return p.linkCast(start)
	}

	var q qual
	q.valid = true
	if protoWords[start.text] {
		q.proto = start.text
		if q.proto == "ether" {
			if t := p.peek(); t.kind == tWord && (t.text == "broadcast" || t.text == "multicast") {
				return p.linkCast(p.next())
			}
		}
	} else {
		p.i-- // start is a direction or a type
	}

	if t := p.peek(); t.kind == tWord && (t.text == "src" || t.text == "dst") {
		p.next()
		q.dir, q.hasDir = dirSrc, true
		if t.text == "dst" {
			q.dir = dirDst
		}
		if op, other := p.peek(), p.peekAt(1); (isAnd(op) || isOr(op)) && other.kind == tWord &&
			(other.text == "src" || other.text == "dst") && other.text != t.text {
			p.next()
			p.next()
			q.dir = dirAny
			if isAnd(op) {
				q.dir = dirBoth
			}
		}
	}
	if t := p.peek(); t.kind == tWord && typeWords[t.text] {
		q.typ = p.next().text
	}

	v := p.peek()
	if q.typ == "" && !q.hasDir {
		if q.proto == "" {
			return nil, unexpected(start)
		}
		if !isValue(v) {
			// A protocol alone: "tcp", "ip6", "arp".
			p.last = q
			return p.protoOnly(q.proto, start)
		}
	}
	if !isValue(v) {
		if v.kind == tEOF {
			return nil, fmt.Errorf("filter: expression ends at offset %d where a value was expected", v.off)
		}
		return nil, fmt.Errorf("filter: expected a value at offset %d, got %q", v.off, v.text)
	}
	p.next()
	p.last = q
	return p.primitive(q, v)
}

func (p *parser) parseVLAN(start token) (node, error) {
	if !p.link.ether {
		return nil, errAt(start, "no VLAN tags on raw IP links")
	}
	tpids := eq(ldAbsH, p.link.typeOff+4*p.vlans, 0x8100, 0x88a8, 0x9100)
	var n node = tpids
	if v := p.peek(); isValue(v) {
		p.next()
		id, err := number(v, 4095)
		if err != nil {
			return nil, err
		}
		n = andNode{tpids, meq(ldAbsH, p.link.typeOff+4*p.vlans+2, 0xfff, id)}
	}
	p.vlans++
	p.last.valid = false
	return n, nil
}

func (p *parser) linkCast(t token) (node, error) {
	if !p.link.ether {
		return nil, errAt(t, "needs an Ethernet link")
	}
	p.last.valid = false
	if t.text == "broadcast" {
		return and2(eq(ldAbsW, 2, 0xffffffff), eq(ldAbsH, 0, 0xffff)), nil
	}
	return test{ld: ldAbsB, off: 0, op: jSet, ks: []uint32{1}}, nil
}

// Offsets of the current position in the text: past every vlan before it.
func (p *parser) netOff() uint32  { return p.link.netOff + 4*p.vlans }
func (p *parser) typeOff() uint32 { return p.link.typeOff + 4*p.vlans }

func (p *parser) isIPv4() node {
	if !p.link.ether {
		return meq(ldAbsB, 0, 0xf0, 0x40)
	}
	return eq(ldAbsH, p.typeOff(), 0x0800)
}

func (p *parser) isIPv6() node {
	if !p.link.ether {
		return meq(ldAbsB, 0, 0xf0, 0x60)
	}
	return eq(ldAbsH, p.typeOff(), 0x86dd)
}

// ipProto matches the IPv4 protocol field.
func (p *parser) ipProto(proto uint32) node {
	return and2(p.isIPv4(), eq(ldAbsB, p.netOff()+9, proto))
}

// ip6Proto matches the IPv6 next header, or the one after a fragment
// header, as libpcap does.
func (p *parser) ip6Proto(proto uint32) node {
	n := p.netOff()
	return and2(p.isIPv6(), or2(eq(ldAbsB, n+6, proto), and2(eq(ldAbsB, n+6, 44), eq(ldAbsB, n+40, proto))))
}

var ipProtos = map[string]uint32{"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "icmp6": 58, "sctp": 132}

func (p *parser) protoOnly(proto string, t token) (node, error) {
	switch proto {
	case "ip":
		return p.isIPv4(), nil
	case "ip6":
		return p.isIPv6(), nil
	case "arp", "rarp":
		if !p.link.ether {
			return nil, errAt(t, "no ARP on raw IP links")
		}
		if proto == "arp" {
			return eq(ldAbsH, p.typeOff(), 0x0806), nil
		}
		return eq(ldAbsH, p.typeOff(), 0x8035), nil
	case "tcp", "udp", "sctp":
		return or2(p.ipProto(ipProtos[proto]), p.ip6Proto(ipProtos[proto])), nil
	case "icmp", "igmp":
		return p.ipProto(ipProtos[proto]), nil
	case "icmp6":
		return p.ip6Proto(58), nil
	}
	return nil, errAt(t, "needs host, src, dst, proto, broadcast or multicast after it")
}

// byDir combines the tests on the source and the destination field.
func byDir(d dirKind, src, dst node) node {
	switch d {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirBoth:
		return and2(src, dst)
	}
	return or2(src, dst)
}

// primitive builds the test for the qualifiers q applied to the value v.
func (p *parser) primitive(q qual, v token) (node, error) {
	typ := q.typ
	if typ == "" {
		typ = "host"
	}
	switch typ {
	case "host", "net":
		if q.proto == "ether" {
			if typ == "net" {
				return nil, errAt(v, "ether net is not a thing; use ether host")
			}
			return p.etherHost(q.dir, v)
		}
		return p.hostNet(q, typ, v)
	case "port", "portrange":
		var protos []uint32
		switch q.proto {
		case "":
			protos = []uint32{132, 6, 17}
		case "tcp", "udp", "sctp":
			protos = []uint32{ipProtos[q.proto]}
		default:
			return nil, errAt(v, "%s is not a qualifier of %s (use tcp, udp or sctp)", q.proto, typ)
		}
		lo, hi, err := portValue(typ, v)
		if err != nil {
			return nil, err
		}
		if typ == "portrange" {
			return p.ports(protos, q.dir, func(ld loadKind, off uint32) node {
				return and2(test{ld: ld, off: off, op: jGe, ks: []uint32{lo}}, notNode{test{ld: ld, off: off, op: jGt, ks: []uint32{hi}}})
			}), nil
		}
		build := p.atThisOffset(func(ks []uint32) node {
			return p.ports(protos, q.dir, func(ld loadKind, off uint32) node { return eq(ld, off, ks...) })
		})
		p.fold = &fold{q: q, build: build, ks: []uint32{lo}, value: func(t token) (uint32, bool) {
			n, err := number(t, 65535)
			return n, err == nil
		}}
		return build(p.fold.ks), nil
	case "proto":
		if q.dir != dirAny {
			return nil, errAt(v, "proto takes no src or dst")
		}
		return p.protoNumber(q.proto, v)
	}
	return nil, errAt(v, "unknown qualifier %s", typ) // unreachable: typ comes from typeWords
}

// atThisOffset wraps a builder of a primitive so that it builds for the
// vlan offset of now, when it is called again later to fold in values.
func (p *parser) atThisOffset(build func([]uint32) node) func([]uint32) node {
	vlans := p.vlans
	return func(ks []uint32) node {
		saved := p.vlans
		p.vlans = vlans
		defer func() { p.vlans = saved }()
		return build(ks)
	}
}

// ports matches ports (check tests one port field) of the given
// transport protocols, over IPv6 and IPv4: on IPv4 through the header
// length in X, and never in a non-first fragment.
func (p *parser) ports(protos []uint32, d dirKind, check func(ld loadKind, off uint32) node) node {
	n := p.netOff()
	v6 := and2(p.isIPv6(), eq(ldAbsB, n+6, protos...), byDir(d, check(ldAbsH, n+40), check(ldAbsH, n+42)))
	v4 := and2(p.isIPv4(), eq(ldAbsB, n+9, protos...),
		notNode{test{ld: ldAbsH, off: n + 6, op: jSet, ks: []uint32{0x1fff}}},
		loadX{off: n, body: byDir(d, check(ldIndH, n), check(ldIndH, n+2))})
	return or2(v6, v4)
}

func portValue(typ string, v token) (lo, hi uint32, err error) {
	if typ == "port" {
		n, err := number(v, 65535)
		if err != nil {
			if _, nerr := strconv.Atoi(v.text[:1]); nerr != nil {
				return 0, 0, errAt(v, "service names are not resolved; give the port number")
			}
			return 0, 0, err
		}
		return n, n, nil
	}
	a, b, ok := strings.Cut(v.text, "-")
	if !ok {
		return 0, 0, errAt(v, "a port range is written LOW-HIGH")
	}
	lo, err = number(token{tWord, a, v.off}, 65535)
	if err != nil {
		return 0, 0, err
	}
	hi, err = number(token{tWord, b, v.off + len(a) + 1}, 65535)
	if err != nil {
		return 0, 0, err
	}
	if lo > hi {
		lo, hi = hi, lo // as tcpdump
	}
	return lo, hi, nil
}

func (p *parser) protoNumber(proto string, v token) (node, error) {
	if proto == "ether" {
		if !p.link.ether {
			return nil, errAt(v, "ether proto needs an Ethernet link")
		}
		names := map[string]uint32{`\ip`: 0x0800, `\ip6`: 0x86dd, `\arp`: 0x0806, `\rarp`: 0x8035}
		t, ok := names[v.text]
		if !ok {
			var err error
			if t, err = number(v, 65535); err != nil {
				return nil, err
			}
		}
		if t <= 1500 {
			return nil, errAt(v, "802.3 length values and LLC protocols are not supported; give an EtherType above 1500")
		}
		return eq(ldAbsH, p.typeOff(), t), nil
	}
	var n uint32
	if name, ok := strings.CutPrefix(v.text, `\`); ok {
		if n, ok = ipProtos[name]; !ok {
			return nil, errAt(v, "unknown protocol name")
		}
	} else {
		var err error
		if n, err = number(v, 255); err != nil {
			return nil, err
		}
	}
	switch proto {
	case "":
		return or2(p.ipProto(n), p.ip6Proto(n)), nil
	case "ip":
		return p.ipProto(n), nil
	case "ip6":
		return p.ip6Proto(n), nil
	}
	return nil, errAt(v, "%s is not a qualifier of proto (use ip, ip6 or ether)", proto)
}

// number parses a number the way libpcap does: 0x for hexadecimal, a
// leading 0 for octal, decimal otherwise.
func number(t token, max uint32) (uint32, error) {
	s, base := t.text, 10
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, base = s[2:], 16
	case len(s) > 1 && s[0] == '0':
		s, base = s[1:], 8
	}
	n, err := strconv.ParseUint(s, base, 32)
	if err != nil {
		return 0, errAt(t, "not a number")
	}
	if n > uint64(max) {
		return 0, errAt(t, "larger than %d", max)
	}
	return uint32(n), nil
}

func (p *parser) etherHost(d dirKind, v token) (node, error) {
	if !p.link.ether {
		return nil, errAt(v, "ether host needs an Ethernet link")
	}
	mac, ok := parseMAC(v.text)
	if !ok {
		return nil, errAt(v, "not a MAC address")
	}
	hi := uint32(mac[0])<<8 | uint32(mac[1])
	lo := uint32(mac[2])<<24 | uint32(mac[3])<<16 | uint32(mac[4])<<8 | uint32(mac[5])
	src := and2(eq(ldAbsW, 8, lo), eq(ldAbsH, 6, hi))
	dst := and2(eq(ldAbsW, 2, lo), eq(ldAbsH, 0, hi))
	return byDir(d, src, dst), nil
}

// parseMAC reads xx:xx:xx:xx:xx:xx (or with dashes; one or two hex digits
// per byte) and xxxx.xxxx.xxxx.
func parseMAC(s string) ([6]byte, bool) {
	var mac [6]byte
	var parts []string
	width := 2
	switch {
	case strings.Count(s, ":") == 5:
		parts = strings.Split(s, ":")
	case strings.Count(s, "-") == 5:
		parts = strings.Split(s, "-")
	case strings.Count(s, ".") == 2:
		parts, width = strings.Split(s, "."), 4
	default:
		return mac, false
	}
	i := 0
	for _, part := range parts {
		if len(part) == 0 || len(part) > width || width == 4 && len(part) != 4 {
			return mac, false
		}
		v, err := strconv.ParseUint(part, 16, 16)
		if err != nil {
			return mac, false
		}
		if width == 4 {
			mac[i], mac[i+1] = byte(v>>8), byte(v)
			i += 2
		} else {
			mac[i] = byte(v)
			i++
		}
	}
	return mac, true
}

// hostNet builds host and net primitives for IPv4 and IPv6 addresses.
func (p *parser) hostNet(q qual, typ string, v token) (node, error) {
	addr, bitsN, err := p.netValue(typ, v)
	if err != nil {
		return nil, err
	}
	if addr.Is4() {
		switch q.proto {
		case "", "ip", "arp", "rarp":
		default:
			return nil, errAt(v, "%q modifier applied to %s", q.proto, typ)
		}
		if (q.proto == "arp" || q.proto == "rarp") && !p.link.ether {
			return nil, errAt(v, "no ARP on raw IP links")
		}
		a := addr.As4()
		k := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
		mask := uint32(0)
		if bitsN > 0 {
			mask = ^uint32(0) << (32 - bitsN)
		}
		if mask != 0xffffffff {
			return p.host4(q, mask, []uint32{k}), nil
		}
		build := p.atThisOffset(func(ks []uint32) node { return p.host4(q, mask, ks) })
		p.fold = &fold{q: q, build: build, ks: []uint32{k}, value: func(t token) (uint32, bool) {
			a, err := netip.ParseAddr(t.text)
			if err != nil || !a.Is4() || typ != "host" {
				return 0, false
			}
			b := a.As4()
			return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
		}}
		return build(p.fold.ks), nil
	}
	if q.proto != "" && q.proto != "ip6" {
		return nil, errAt(v, "%q modifier applied to an IPv6 %s", q.proto, typ)
	}
	a := addr.As16()
	side := func(off uint32) node {
		var n node
		for w := range 4 {
			wb := min(max(bitsN-32*w, 0), 32)
			if wb == 0 {
				break
			}
			k := uint32(a[4*w])<<24 | uint32(a[4*w+1])<<16 | uint32(a[4*w+2])<<8 | uint32(a[4*w+3])
			if wb == 32 {
				n = and2(n, eq(ldAbsW, off+uint32(4*w), k))
			} else {
				n = and2(n, meq(ldAbsW, off+uint32(4*w), ^uint32(0)<<(32-wb), k))
			}
		}
		return n
	}
	n := p.netOff()
	return and2(p.isIPv6(), byDir(q.dir, side(n+8), side(n+24))), nil
}

// host4 matches IPv4 addresses (any of ks, after the mask) in IPv4 and,
// unless a protocol says otherwise, ARP and RARP packets.
func (p *parser) host4(q qual, mask uint32, ks []uint32) node {
	cmp := func(off uint32) node {
		switch mask {
		case 0:
			return nil
		case 0xffffffff:
			return eq(ldAbsW, off, ks...)
		}
		return meq(ldAbsW, off, mask, ks[0])
	}
	n := p.netOff()
	ip := and2(p.isIPv4(), byDir(q.dir, cmp(n+12), cmp(n+16)))
	arp := func(types ...uint32) node {
		return and2(eq(ldAbsH, p.typeOff(), types...), byDir(q.dir, cmp(n+14), cmp(n+24)))
	}
	switch {
	case q.proto == "ip" || q.proto == "" && !p.link.ether:
		return ip
	case q.proto == "arp":
		return arp(0x0806)
	case q.proto == "rarp":
		return arp(0x8035)
	}
	return or2(ip, arp(0x0806, 0x8035))
}

// netValue parses the address of a host or net primitive and its prefix
// length: a full address for host; for net also a CIDR prefix, a partial
// dotted IPv4 network (10, 10.1, 10.1.2) or "A mask M", rejecting host bits.
func (p *parser) netValue(typ string, v token) (netip.Addr, int, error) {
	if typ == "host" {
		a, err := netip.ParseAddr(v.text)
		if err != nil || a.Zone() != "" {
			return a, 0, errAt(v, "not an IPv4 or IPv6 address (host names are not resolved)")
		}
		return a, a.BitLen(), nil
	}
	var a netip.Addr
	var bitsN int
	if pfx, err := netip.ParsePrefix(v.text); err == nil {
		a, bitsN = pfx.Addr(), pfx.Bits()
	} else if strings.Contains(v.text, "/") {
		return a, 0, errAt(v, "not a network in CIDR notation")
	} else if a, err = netip.ParseAddr(v.text); err == nil {
		bitsN = a.BitLen()
	} else if a, bitsN, err = partialIPv4(v.text); err != nil {
		return a, 0, errAt(v, "not an IPv4 or IPv6 network")
	}
	if a.Zone() != "" {
		return a, 0, errAt(v, "not an IPv4 or IPv6 network")
	}
	if m := p.peek(); m.kind == tWord && m.text == "mask" {
		if !a.Is4() || strings.Contains(v.text, "/") {
			return a, 0, errAt(m, "mask goes with an IPv4 network without a prefix length")
		}
		p.next()
		mt := p.next()
		ma, err := netip.ParseAddr(mt.text)
		if err != nil || !ma.Is4() {
			return a, 0, errAt(mt, "not an IPv4 netmask")
		}
		m4 := ma.As4()
		mv := uint32(m4[0])<<24 | uint32(m4[1])<<16 | uint32(m4[2])<<8 | uint32(m4[3])
		ones := bits.LeadingZeros32(^mv)
		if ones < 32 && mv<<ones != 0 {
			return a, 0, errAt(mt, "netmask with holes is not supported")
		}
		bitsN = ones
	}
	if pfx, _ := a.Prefix(bitsN); pfx.Addr() != a {
		return a, 0, errAt(v, "non-network bits set in the address for a /%d network", bitsN)
	}
	return a, bitsN, nil
}

// partialIPv4 reads 1 to 3 dotted decimal bytes as a network of 8 bits a
// byte, the way tcpdump reads "net 10" and "net 192.168".
func partialIPv4(s string) (netip.Addr, int, error) {
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return netip.Addr{}, 0, fmt.Errorf("too many parts")
	}
	var b [4]byte
	for i, part := range parts {
		v, err := strconv.ParseUint(part, 10, 8)
		if err != nil {
			return netip.Addr{}, 0, err
		}
		b[i] = byte(v)
	}
	return netip.AddrFrom4(b), 8 * len(parts), nil
}
