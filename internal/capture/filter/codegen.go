package filter

import (
	"golang.org/x/net/bpf"
)

// The parser builds a small tree of tests joined by and/or/not; generate
// turns it into straight-line classic BPF with forward jumps only.

type node interface{ isNode() }

type andNode struct{ a, b node }
type orNode struct{ a, b node }
type notNode struct{ a node }

// loadX loads the IPv4 header length into X (ldxb 4*([off]&0xf)) before
// the tests of body, which load relative to X.
type loadX struct {
	off  uint32
	body node
}

type loadKind uint8

const (
	ldAbsB loadKind = iota // ldb [k]
	ldAbsH                 // ldh [k]
	ldAbsW                 // ld [k]
	ldIndH                 // ldh [x + k]
	ldLen                  // ld #pktlen
)

type jumpOp uint8

const (
	jEq jumpOp = iota
	jGt
	jGe
	jSet
)

// test loads a value, masks it if masked, and is true when the jump
// condition holds for any of ks.
type test struct {
	ld     loadKind
	off    uint32
	masked bool
	mask   uint32
	op     jumpOp
	ks     []uint32
}

func (andNode) isNode() {}
func (orNode) isNode()  {}
func (notNode) isNode() {}
func (loadX) isNode()   {}
func (test) isNode()    {}

// and2 and or2 build chains, skipping nil operands so that primitives can
// leave out parts that do not apply.
func and2(ns ...node) node { return chain(func(a, b node) node { return andNode{a, b} }, ns) }

func or2(ns ...node) node { return chain(func(a, b node) node { return orNode{a, b} }, ns) }

func chain(join func(a, b node) node, ns []node) node {
	var r node
	for _, n := range ns {
		switch {
		case n == nil:
		case r == nil:
			r = n
		default:
			r = join(r, n)
		}
	}
	return r
}

func eq(ld loadKind, off uint32, ks ...uint32) node {
	return test{ld: ld, off: off, op: jEq, ks: ks}
}

func meq(ld loadKind, off, mask, k uint32) node {
	return test{ld: ld, off: off, masked: true, mask: mask, op: jEq, ks: []uint32{k}}
}

// ins is an instruction whose jumps go to labels, resolved at the end.
type ins struct {
	raw    bpf.RawInstruction
	jt, jf int // labels of a conditional jump; -1 otherwise
}

// regs is what the generator knows the registers hold at a point of the
// program: A the result of a load (masked or not), X the IPv4 header length
// loaded from an offset. A test whose load A already holds skips it, which
// keeps "tcp or udp" from reloading the EtherType at every step; the
// decisions do not change, as a load that succeeded once succeeds again.
type regs struct {
	aValid bool
	ld     loadKind
	off    uint32
	masked bool
	mask   uint32
	aX     uint32 // for ldIndH: the offset X was loaded from
	xValid bool
	xOff   uint32
}

// merge is what is known where two paths meet.
func (r regs) merge(o regs) regs {
	if !r.aValid || !o.aValid || r.ld != o.ld || r.off != o.off || r.masked != o.masked || r.mask != o.mask || r.aX != o.aX {
		r.aValid = false
	}
	if !r.xValid || !o.xValid || r.xOff != o.xOff {
		r.xValid = false
	}
	return r
}

type gen struct {
	code   []ins
	labels []int // label -> index of the instruction it marks

	// Register knowledge: cur after the last instruction, in[l] over the
	// jumps to label l seen so far (all of them by the time l is bound,
	// as jumps go forward only), reached[l] whether there is any.
	cur     regs
	in      []regs
	reached []bool
	// bindPos is where labels were last bound, and live whether control
	// can reach the end of the code so far without a jump.
	bindPos int
	live    bool
}

func (g *gen) newLabel() int {
	g.labels = append(g.labels, -1)
	g.in = append(g.in, regs{})
	g.reached = append(g.reached, false)
	return len(g.labels) - 1
}

func (g *gen) bind(l int) {
	pos := len(g.code)
	g.labels[l] = pos
	if !g.reached[l] {
		return
	}
	switch {
	case g.live || g.bindPos == pos && pos > 0:
		g.cur = g.cur.merge(g.in[l])
	default:
		g.cur = g.in[l]
	}
	g.bindPos, g.live = pos, true
}

func (g *gen) stmt(op uint16, k uint32) {
	g.code = append(g.code, ins{raw: bpf.RawInstruction{Op: op, K: k}, jt: -1, jf: -1})
}

func (g *gen) jump(op uint16, k uint32, jt, jf int) {
	g.code = append(g.code, ins{raw: bpf.RawInstruction{Op: op, K: k}, jt: jt, jf: jf})
	for _, l := range [2]int{jt, jf} {
		if g.reached[l] {
			g.in[l] = g.in[l].merge(g.cur)
		} else {
			g.in[l], g.reached[l] = g.cur, true
		}
	}
	g.live = false
}

// Opcodes of classic BPF (linux/filter.h).
const (
	opLdAbsB = 0x30
	opLdAbsH = 0x28
	opLdAbsW = 0x20
	opLdIndH = 0x48
	opLdLen  = 0x80
	opLdxMSH = 0xb1
	opAndK   = 0x54
	opJeqK   = 0x15
	opJgtK   = 0x25
	opJgeK   = 0x35
	opJsetK  = 0x45
	opJa     = 0x05
	opRetK   = 0x06
)

var loadOps = [...]uint16{ldAbsB: opLdAbsB, ldAbsH: opLdAbsH, ldAbsW: opLdAbsW, ldIndH: opLdIndH, ldLen: opLdLen}
var jumpOps = [...]uint16{jEq: opJeqK, jGt: opJgtK, jGe: opJgeK, jSet: opJsetK}

// emit generates n so that control reaches label tl when n holds and fl
// when it does not.
func (g *gen) emit(n node, tl, fl int) {
	switch n := n.(type) {
	case andNode:
		m := g.newLabel()
		g.emit(n.a, m, fl)
		g.bind(m)
		g.emit(n.b, tl, fl)
	case orNode:
		m := g.newLabel()
		g.emit(n.a, tl, m)
		g.bind(m)
		g.emit(n.b, tl, fl)
	case notNode:
		g.emit(n.a, fl, tl)
	case loadX:
		if !g.cur.xValid || g.cur.xOff != n.off {
			g.stmt(opLdxMSH, n.off)
			g.cur.xValid, g.cur.xOff = true, n.off
		}
		g.emit(n.body, tl, fl)
	case test:
		c := g.cur
		holds := c.aValid && c.ld == n.ld && c.off == n.off && c.masked == n.masked && (!n.masked || c.mask == n.mask)
		if holds && n.ld == ldIndH {
			holds = c.xValid && c.xOff == c.aX
		}
		if !holds {
			g.stmt(loadOps[n.ld], n.off)
			g.cur = regs{aValid: true, ld: n.ld, off: n.off, xValid: c.xValid, xOff: c.xOff}
			if n.ld == ldIndH {
				g.cur.aX = c.xOff // the parser puts every indirect load under a loadX
			}
			if n.masked {
				g.stmt(opAndK, n.mask)
				g.cur.masked, g.cur.mask = true, n.mask
			}
		}
		for i, k := range n.ks {
			if i == len(n.ks)-1 {
				g.jump(jumpOps[n.op], k, tl, fl)
				break
			}
			next := g.newLabel()
			g.jump(jumpOps[n.op], k, tl, next)
			g.bind(next)
		}
	case compute:
		for _, in := range n.stmts {
			g.code = append(g.code, ins{raw: in, jt: -1, jf: -1})
		}
		g.cur = regs{} // A, X and scratch memory hold the relation's values
		op := jumpOps[n.op]
		if n.useX {
			op |= 0x08 // BPF_X
		}
		g.jump(op, n.k, tl, fl)
	default:
		panic("filter: unknown node") // unreachable: the parser builds only the types above
	}
}

// generate lays out the program: the tree, then "accept" and "reject".
// Conditional jumps reach at most 255 instructions ahead; a jump whose
// target lies further goes through an unconditional jump placed right after
// it, and the layout is redone until every jump fits.
func generate(tree node, snapLen uint32) []bpf.RawInstruction {
	g := &gen{live: true}
	accept, reject := g.newLabel(), g.newLabel()
	g.emit(tree, accept, reject)
	g.bind(accept)
	g.stmt(opRetK, snapLen)
	g.bind(reject)
	g.stmt(opRetK, 0)

	// far[i] records which targets of instruction i need a trampoline:
	// bit 0 the true target, bit 1 the false one.
	far := make([]uint8, len(g.code))
	pos := make([]int, len(g.code)+1)
	for {
		p := 0
		for i := range g.code {
			pos[i] = p
			p += 1 + popcount2(far[i])
		}
		pos[len(g.code)] = p
		at := func(l int) int { return pos[g.labels[l]] }
		changed := false
		for i, in := range g.code {
			if in.jt < 0 {
				continue
			}
			if far[i]&1 == 0 && at(in.jt)-pos[i]-1 > 255 {
				far[i] |= 1
				changed = true
			}
			if far[i]&2 == 0 && at(in.jf)-pos[i]-1 > 255 {
				far[i] |= 2
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	at := func(l int) int { return pos[g.labels[l]] }
	out := make([]bpf.RawInstruction, 0, pos[len(g.code)])
	for i, in := range g.code {
		if in.jt < 0 {
			out = append(out, in.raw)
			continue
		}
		r := in.raw
		self := pos[i]
		tramp := self + 1 // where the next trampoline goes
		var tail []bpf.RawInstruction
		if far[i]&1 != 0 {
			r.Jt = uint8(tramp - self - 1)
			tail = append(tail, bpf.RawInstruction{Op: opJa, K: uint32(at(in.jt) - tramp - 1)})
			tramp++
		} else {
			r.Jt = uint8(at(in.jt) - self - 1)
		}
		if far[i]&2 != 0 {
			r.Jf = uint8(tramp - self - 1)
			tail = append(tail, bpf.RawInstruction{Op: opJa, K: uint32(at(in.jf) - tramp - 1)})
		} else {
			r.Jf = uint8(at(in.jf) - self - 1)
		}
		out = append(out, r)
		out = append(out, tail...)
	}
	return out
}

func popcount2(b uint8) int { return int(b&1) + int(b>>1&1) }
