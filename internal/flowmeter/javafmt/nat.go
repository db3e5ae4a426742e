package javafmt

import "math/bits"

// natWords bounds the size of the big integers in digitsBig. The largest
// operands occur for the extremes of the double range (MaxFloat64 and the
// subnormals) and stay below 900 bits including the normalisation shift and
// the factor 10, so 20 64-bit words leave a wide margin. A fixed array keeps
// the arithmetic on the stack: nothing is allocated.
const natWords = 20

// nat is a non-negative integer in little-endian 64-bit words. w[n-1] != 0
// unless the value is zero (n == 0).
type nat struct {
	n int
	w [natWords]uint64
}

// pow5Chunk is the largest power of five that fits in a uint64 word.
const (
	pow5ChunkExp = 27
	pow5Chunk    = uint64(7450580596923828125) // 5^27
)

// setPow5 sets z = 5^e.
func (z *nat) setPow5(e int) {
	z.n = 1
	z.w[0] = 1
	for ; e >= pow5ChunkExp; e -= pow5ChunkExp {
		z.mulWord(pow5Chunk)
	}
	if e > 0 {
		z.mulWord(uint64(pow5Long[e]))
	}
}

// mulWord sets z = z·k.
func (z *nat) mulWord(k uint64) {
	z.mulWordFrom(z, k)
}

// mulWordFrom sets z = x·k; z may be x.
func (z *nat) mulWordFrom(x *nat, k uint64) {
	var carry uint64
	n := x.n
	for i := 0; i < n; i++ {
		hi, lo := bits.Mul64(x.w[i], k)
		var c uint64
		lo, c = bits.Add64(lo, carry, 0)
		z.w[i] = lo
		carry = hi + c
	}
	if carry != 0 {
		z.w[n] = carry
		n++
	}
	z.n = n
	z.trim()
}

// shl sets z = z·2^s.
func (z *nat) shl(s uint) {
	if z.n == 0 || s == 0 {
		return
	}
	ws := int(s / 64)
	bs := s % 64
	n := z.n
	if bs == 0 {
		for i := n - 1; i >= 0; i-- {
			z.w[i+ws] = z.w[i]
		}
	} else {
		top := z.w[n-1] >> (64 - bs)
		for i := n - 1; i > 0; i-- {
			z.w[i+ws] = z.w[i]<<bs | z.w[i-1]>>(64-bs)
		}
		z.w[ws] = z.w[0] << bs
		if top != 0 {
			z.w[n+ws] = top
			n++
		}
	}
	for i := 0; i < ws; i++ {
		z.w[i] = 0
	}
	z.n = n + ws
}

// normalizationShift returns the left shift that puts the highest set bit of
// z at bit 59 of its top word, leaving four spare bits for a factor of 10.
func (z *nat) normalizationShift() uint {
	l := bits.Len64(z.w[z.n-1])
	if l <= 60 {
		return uint(60 - l)
	}
	return uint(124 - l)
}

func (z *nat) trim() {
	for z.n > 0 && z.w[z.n-1] == 0 {
		z.n--
	}
}

// cmpNat returns -1, 0 or +1 as a <, ==, > b.
func cmpNat(a, b *nat) int {
	if a.n != b.n {
		if a.n < b.n {
			return -1
		}
		return 1
	}
	for i := a.n - 1; i >= 0; i-- {
		if a.w[i] != b.w[i] {
			if a.w[i] < b.w[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// addFrom sets z = a + b.
func (z *nat) addFrom(a, b *nat) {
	if a.n < b.n {
		a, b = b, a
	}
	var c uint64
	i := 0
	for ; i < b.n; i++ {
		z.w[i], c = bits.Add64(a.w[i], b.w[i], c)
	}
	for ; i < a.n; i++ {
		z.w[i], c = bits.Add64(a.w[i], 0, c)
	}
	n := a.n
	if c != 0 {
		z.w[n] = c
		n++
	}
	z.n = n
}

// sub sets z = z - x; the caller guarantees z >= x.
func (z *nat) sub(x *nat) {
	var b uint64
	i := 0
	for ; i < x.n; i++ {
		z.w[i], b = bits.Sub64(z.w[i], x.w[i], b)
	}
	for ; b != 0 && i < z.n; i++ {
		z.w[i], b = bits.Sub64(z.w[i], 0, b)
	}
	z.trim()
}

// quoRemTimes10 returns q = floor(b/s) and sets b = 10·(b mod s). It needs
// b < 10·s and s normalised by normalizationShift, so that b has at most as
// many words as s and the top-word quotient overestimates q by at most one.
func quoRemTimes10(b, s *nat) int {
	var q uint64
	if b.n == s.n {
		q = b.w[b.n-1] / s.w[s.n-1]
		if q != 0 {
			var t nat
			t.mulWordFrom(s, q)
			for cmpNat(&t, b) > 0 {
				t.sub(s)
				q--
			}
			b.sub(&t)
		}
	}
	b.mulWord(10)
	return int(q)
}
