package filter

import (
	"fmt"
	"strings"

	"golang.org/x/net/bpf"
)

// Relations of pcap-filter(7): "arith relop arith", where arith is built
// from numbers, len, packet data accessors proto[index] or proto[index:size]
// and the operators + - * / % & | ^ << >>. As in libpcap, a relation holds
// when the protocol of every accessor in it is present (IPv4 and a first
// fragment for tcp[], udp[], icmp[] and the other transport accessors) and
// the comparison holds; the loads come after those checks. Unary minus is not
// supported.

// arith is a node of an arithmetic expression.
type arith interface{ isArith() }

type aConst uint32
type aLen struct{}
type aBin struct {
	op   uint16 // BPF ALU operation
	l, r arith
}

// aLoad is proto[idx:size]: size bytes at base+idx, where base is fixed or,
// for transport protocols over IPv4, past the IPv4 header (X).
type aLoad struct {
	idx       arith
	size      int
	base      uint32
	transport bool
	netOff    uint32 // the IPv4 header, whose length goes into X
}

func (aConst) isArith() {}
func (aLen) isArith()   {}
func (aBin) isArith()   {}
func (aLoad) isArith()  {}

// compute is a relation's comparison: statements that leave the left side
// in A (and, with useX, the right side in X), then a conditional jump.
type compute struct {
	stmts []bpf.RawInstruction
	op    jumpOp
	k     uint32
	useX  bool
}

func (compute) isNode() {}

// BPF ALU operations (linux/bpf_common.h).
const (
	aluAdd = 0x00
	aluSub = 0x10
	aluMul = 0x20
	aluDiv = 0x30
	aluOr  = 0x40
	aluAnd = 0x50
	aluLsh = 0x60
	aluRsh = 0x70
	aluMod = 0x90
	aluXor = 0xa0
)

var namedConstants = map[string]uint32{
	"tcpflags": 13, "tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08,
	"tcp-ack": 0x10, "tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80,
	"icmptype": 0, "icmpcode": 1, "icmp-echoreply": 0, "icmp-unreach": 3, "icmp-sourcequench": 4,
	"icmp-redirect": 5, "icmp-echo": 8, "icmp-routeradvert": 9, "icmp-routersolicit": 10,
	"icmp-timxceed": 11, "icmp-paramprob": 12, "icmp-tstamp": 13, "icmp-tstampreply": 14,
	"icmp-ireq": 15, "icmp-ireqreply": 16, "icmp-maskreq": 17, "icmp-maskreply": 18,
	"icmp6type": 0, "icmp6code": 1, "icmp6-destinationunreach": 1, "icmp6-packettoobig": 2,
	"icmp6-timeexceeded": 3, "icmp6-parameterproblem": 4, "icmp6-echo": 128, "icmp6-echoreply": 129,
	"icmp6-multicastlistenerquery": 130, "icmp6-multicastlistenerreportv1": 131,
	"icmp6-multicastlistenerdone": 132, "icmp6-routersolicit": 133, "icmp6-routeradvert": 134,
	"icmp6-neighborsolicit": 135, "icmp6-neighboradvert": 136, "icmp6-redirect": 137,
}

var relOps = map[string]bool{">": true, ">=": true, "<": true, "<=": true, "=": true, "==": true, "!=": true}

// binOps maps operator tokens to ALU operations and binding strength.
var binOps = map[string]struct {
	op   uint16
	prec int
}{
	"|": {aluOr, 1}, "^": {aluXor, 1}, "&": {aluAnd, 2}, "<<": {aluLsh, 3}, ">>": {aluRsh, 3},
	"+": {aluAdd, 4}, "-": {aluSub, 4}, "*": {aluMul, 5}, "/": {aluDiv, 5}, "%": {aluMod, 5},
}

// isNumber says whether s reads as a number or a named constant.
func isNumber(s string) bool {
	if _, ok := namedConstants[s]; ok {
		return true
	}
	_, err := number(token{tWord, s, 0}, 0xffffffff)
	return err == nil
}

// startsRelation says whether the tokens at the parser's position begin a
// relation rather than a primitive: len, an accessor, or a number followed
// by an operator.
func (p *parser) startsRelation() bool {
	t, n := p.peek(), p.peekAt(1)
	if t.kind != tWord {
		return false
	}
	if t.text == "len" || strings.HasPrefix(t.text, "-") {
		return true
	}
	if protoWords[t.text] {
		return n.kind == tOther && n.text == "["
	}
	if !isNumber(t.text) && !strings.ContainsAny(t.text, "-/") {
		return false
	}
	if n.kind == tOther && n.text != "[" && n.text != "]" {
		return true
	}
	// "5-1 > ..." and "len-14 ..." come as one word.
	return n.kind == tWord && (n.text == "-" || n.text == "/")
}

// splitArith splits the word at the parser's position at the first '-',
// '/' or ':' unless it is a number or a named constant: in arithmetic
// "len-14" and "2:2" are three tokens, while the lexer keeps them together
// for port ranges and addresses. The token list is copied, not changed in
// place, so a parse that backtracks sees the original.
func (p *parser) splitArith() {
	t := p.toks[p.i]
	if t.kind != tWord || isNumber(t.text) || isKeyword(t.text) {
		return
	}
	j := strings.IndexAny(t.text, "-/:")
	if j < 0 {
		return
	}
	var parts []token
	if j > 0 {
		parts = append(parts, token{tWord, t.text[:j], t.off})
	}
	parts = append(parts, token{tOther, t.text[j : j+1], t.off + j})
	if j+1 < len(t.text) {
		parts = append(parts, token{tWord, t.text[j+1:], t.off + j + 1})
	}
	toks := make([]token, 0, len(p.toks)+len(parts)-1)
	toks = append(append(append(toks, p.toks[:p.i]...), parts...), p.toks[p.i+1:]...)
	p.toks = toks
}

func (p *parser) arithPeek() token {
	p.splitArith()
	return p.peek()
}

// relation parses "arith relop arith".
func (p *parser) relation() (node, error) {
	p.guards, p.guardKeys = nil, nil
	lhs, err := p.parseArith(0)
	if err != nil {
		return nil, err
	}
	opTok := p.arithPeek()
	if opTok.kind != tOther || !relOps[opTok.text] {
		if opTok.kind == tEOF {
			return nil, fmt.Errorf("filter: expression ends at offset %d where a comparison (=, !=, <, >, <=, >=) was expected", opTok.off)
		}
		return nil, fmt.Errorf("filter: expected a comparison (=, !=, <, >, <=, >=) at offset %d, got %q", opTok.off, opTok.text)
	}
	p.next()
	rhs, err := p.parseArith(0)
	if err != nil {
		return nil, err
	}
	var op jumpOp
	negate := false
	switch opTok.text {
	case "=", "==":
		op = jEq
	case "!=":
		op, negate = jEq, true
	case ">":
		op = jGt
	case ">=":
		op = jGe
	case "<":
		op, negate = jGe, true
	case "<=":
		op, negate = jGt, true
	}
	c := compute{op: op}
	if k, ok := rhs.(aConst); ok {
		if c.stmts, err = p.evalA(lhs, 0, nil); err != nil {
			return nil, err
		}
		c.k = uint32(k)
	} else {
		if c.stmts, err = p.evalA(rhs, 0, nil); err != nil {
			return nil, err
		}
		c.stmts = append(c.stmts, bpf.RawInstruction{Op: 0x02, K: 0}) // st M[0]
		if c.stmts, err = p.evalA(lhs, 1, c.stmts); err != nil {
			return nil, err
		}
		c.stmts = append(c.stmts, bpf.RawInstruction{Op: 0x61, K: 0}) // ldx M[0]
		c.useX = true
	}
	var cmp node = c
	if negate {
		cmp = notNode{cmp} // the protocol checks stay as they are
	}
	p.last.valid = false
	return and2(append(p.guards, cmp)...), nil
}

// parseArith parses an arithmetic expression by precedence climbing; minPrec
// is the weakest operator it may consume.
func (p *parser) parseArith(minPrec int) (arith, error) {
	lhs, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.arithPeek()
		b, ok := binOps[t.text]
		if t.kind != tOther || !ok || b.prec < minPrec {
			return lhs, nil
		}
		p.next()
		rhs, err := p.parseArith(b.prec + 1)
		if err != nil {
			return nil, err
		}
		if k, ok := rhs.(aConst); ok && k == 0 && (b.op == aluDiv || b.op == aluMod) {
			return nil, fmt.Errorf("filter: division by zero at offset %d", t.off)
		}
		lhs = aBin{op: b.op, l: lhs, r: rhs}
	}
}

func (p *parser) parsePrimary() (arith, error) {
	t := p.arithPeek()
	switch {
	case t.kind == tLParen:
		p.next()
		e, err := p.parseArith(0)
		if err != nil {
			return nil, err
		}
		if c := p.arithPeek(); c.kind != tRParen {
			return nil, unexpected(c)
		}
		p.next()
		return e, nil
	case t.kind == tOther && t.text == "-":
		return nil, fmt.Errorf("filter: unary minus at offset %d is not supported", t.off)
	case t.kind != tWord:
		return nil, unexpected(t)
	case t.text == "len":
		p.next()
		return aLen{}, nil
	case protoWords[t.text]:
		p.next()
		return p.accessor(t)
	}
	if k, ok := namedConstants[t.text]; ok {
		p.next()
		return aConst(k), nil
	}
	k, err := number(t, 0xffffffff)
	if err != nil {
		return nil, err
	}
	p.next()
	return aConst(k), nil
}

// accessor parses [index] or [index:size] after the protocol word t and
// records the protocol checks the relation needs.
func (p *parser) accessor(t token) (arith, error) {
	if b := p.peek(); b.kind != tOther || b.text != "[" {
		return nil, errAt(t, "a protocol name in arithmetic needs [index]")
	}
	p.next()
	idx, err := p.parseArith(0)
	if err != nil {
		return nil, err
	}
	size := 1
	if c := p.arithPeek(); c.kind == tOther && c.text == ":" {
		p.next()
		st := p.arithPeek()
		switch st.text {
		case "1", "2", "4":
			size = int(st.text[0] - '0')
		default:
			return nil, errAt(st, "an accessor's size is 1, 2 or 4")
		}
		p.next()
	}
	if c := p.arithPeek(); c.kind != tOther || c.text != "]" {
		return nil, unexpected(c)
	}
	p.next()

	n := p.netOff()
	ld := aLoad{idx: idx, size: size, base: n}
	var guard node
	switch t.text {
	case "ether":
		if !p.link.ether {
			return nil, errAt(t, "needs an Ethernet link")
		}
		ld.base = 0
	case "ip":
		guard = p.isIPv4()
	case "ip6":
		guard = p.isIPv6()
	case "arp", "rarp":
		if !p.link.ether {
			return nil, errAt(t, "no ARP on raw IP links")
		}
		typ := uint32(0x0806)
		if t.text == "rarp" {
			typ = 0x8035
		}
		guard = eq(ldAbsH, p.typeOff(), typ)
	case "icmp6":
		guard = and2(p.isIPv6(), eq(ldAbsB, n+6, 58))
		ld.base = n + 40
	default: // tcp, udp, sctp, icmp, igmp: over IPv4, first fragments only
		guard = and2(p.isIPv4(), eq(ldAbsB, n+9, ipProtos[t.text]),
			notNode{test{ld: ldAbsH, off: n + 6, op: jSet, ks: []uint32{0x1fff}}})
		ld.transport, ld.netOff = true, n
	}
	if key := fmt.Sprintf("%s@%d", t.text, p.vlans); guard != nil && !p.guardKeys[key] {
		if p.guardKeys == nil {
			p.guardKeys = map[string]bool{}
		}
		p.guardKeys[key] = true
		p.guards = append(p.guards, guard)
	}
	return ld, nil
}

// evalA appends statements that compute e into A, using scratch memory
// from M[depth] up for intermediate values.
func (p *parser) evalA(e arith, depth int, out []bpf.RawInstruction) ([]bpf.RawInstruction, error) {
	if depth > 15 {
		return nil, fmt.Errorf("filter: arithmetic nested too deeply (more than 16 intermediate values)")
	}
	ins := func(op uint16, k uint32) { out = append(out, bpf.RawInstruction{Op: op, K: k}) }
	switch e := e.(type) {
	case aConst:
		ins(0x00, uint32(e)) // ld #k
	case aLen:
		ins(opLdLen, 0)
	case aBin:
		if k, ok := e.r.(aConst); ok {
			var err error
			if out, err = p.evalA(e.l, depth, out); err != nil {
				return nil, err
			}
			ins(0x04|e.op, uint32(k)) // alu op #k
			break
		}
		var err error
		if out, err = p.evalA(e.r, depth, out); err != nil {
			return nil, err
		}
		ins(0x02, uint32(depth)) // st M[depth]
		if out, err = p.evalA(e.l, depth+1, out); err != nil {
			return nil, err
		}
		ins(0x61, uint32(depth)) // ldx M[depth]
		ins(0x0c|e.op, 0)        // alu op x
	case aLoad:
		sizeBits := map[int]uint16{1: 0x10, 2: 0x08, 4: 0x00}[e.size]
		abs, ind := 0x20|sizeBits, 0x40|sizeBits // BPF_LD | BPF_ABS / BPF_IND | size
		// Offsets past 256 MiB are left to the run time, like libpcap
		// does, so that they fail as out of the packet instead of
		// wrapping or reaching the kernel's metadata at SKF_AD_OFF.
		const near = 1 << 28
		k, isConst := e.idx.(aConst)
		switch {
		case isConst && e.transport && uint64(e.base)+uint64(k) < near:
			ins(opLdxMSH, e.netOff)
			ins(ind, e.base+uint32(k))
		case isConst && !e.transport && uint64(e.base)+uint64(k) < near:
			ins(abs, e.base+uint32(k))
		default:
			var err error
			if out, err = p.evalA(e.idx, depth, out); err != nil {
				return nil, err
			}
			if e.transport {
				ins(0x02, uint32(depth)) // st M[depth]
				ins(opLdxMSH, e.netOff)
				ins(0x60, uint32(depth)) // ld M[depth]
				ins(0x0c|aluAdd, 0)      // add x
			}
			ins(0x07, 0) // tax
			ins(ind, e.base)
		}
	default:
		panic("filter: unknown arithmetic node") // unreachable
	}
	return out, nil
}
