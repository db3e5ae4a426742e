//go:build jcheck

package javafmt

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// pathOf mirrors dtoa's choice of arithmetic (tooling only).
func pathOf(f float64) string {
	b := math.Float64bits(f)
	fract := b & signifMask
	binExp := int(b>>expShift) & 0x7ff
	if binExp == 0x7ff || (binExp == 0 && fract == 0) {
		return "special"
	}
	nSig := 53
	if binExp == 0 {
		lz := bits.LeadingZeros64(fract)
		shift := lz - 11
		fract <<= uint(shift)
		binExp = 1 - shift
		nSig = 64 - lz
	} else {
		fract |= fractHOB
	}
	binExp -= expBias
	tz := bits.TrailingZeros64(fract)
	nFractBits := 53 - tz
	nTiny := max(0, nFractBits-binExp-1)
	if binExp <= maxSmallBin && binExp >= minSmallBin && nTiny == 0 {
		return "fast"
	}
	decExp := estimateDecExp(fract, binExp)
	b5 := max(0, -decExp)
	b2 := b5 + nTiny + binExp
	s5 := max(0, decExp)
	s2 := s5 + nTiny
	m2 := b2 - nSig
	b2 -= nFractBits - 1
	c := min(b2, s2)
	b2 -= c
	s2 -= c
	m2 -= c
	if nFractBits == 1 {
		m2--
	}
	if m2 < 0 {
		b2 -= m2
		s2 -= m2
	}
	bb := nFractBits + b2 + n5BitsApprox(b5)
	tb := s2 + 1 + n5BitsApprox(s5+1)
	switch {
	case bb < 32 && tb < 32:
		return "int"
	case bb < 64 && tb < 64:
		return "long"
	}
	return "big"
}

// shortestJava lays out the shortest round-trip digits in Java's format.
func shortestJava(f float64) string {
	var d decimal
	s := strconv.FormatFloat(math.Abs(f), 'e', -1, 64)
	i := 0
	for _, c := range []byte(s) {
		if c == 'e' {
			break
		}
		if c != '.' {
			d.buf[i] = c
			i++
		}
	}
	e, _ := strconv.Atoi(s[bytes.IndexByte([]byte(s), 'e')+1:])
	d.n = i
	d.decExponent = e + 1
	if d.n == 1 && d.decExponent > 0 && d.decExponent < 8 {
		// ok
	}
	return string(d.appendTo(nil, math.Signbit(f)))
}

func TestJSelect(t *testing.T) {
	f, err := os.Open(os.Getenv("JFILE"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	cnt := map[string]int{}
	diff := map[string]int{}
	pick := map[string][]string{}
	r := rand.New(rand.NewPCG(1, 2))
	for sc.Scan() {
		line := sc.Text()
		i := bytes.IndexByte([]byte(line), ' ')
		b, _ := strconv.ParseUint(line[:i], 16, 64)
		fv := math.Float64frombits(b)
		want := line[i+1:]
		p := pathOf(fv)
		key := p
		if !math.IsNaN(fv) && !math.IsInf(fv, 0) && shortestJava(fv) != want {
			diff[p]++
			key = p + "-diff"
		}
		cnt[p]++
		cnt[key+"#"]++
		// reservoir sample per key
		k := cnt[key+"#"]
		lim := 550
		if len(pick[key]) < lim {
			pick[key] = append(pick[key], line)
		} else if j := r.IntN(k); j < lim {
			pick[key][j] = line
		}
	}
	t.Logf("paths %v", cnt)
	t.Logf("non-shortest %v", diff)
	if out := os.Getenv("JOUT"); out != "" {
		w, _ := os.Create(out)
		for k, v := range pick {
			for _, l := range v {
				fmt.Fprintf(w, "%s %s\n", k, l)
			}
		}
		w.Close()
	}
}
