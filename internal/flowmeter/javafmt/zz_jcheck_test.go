//go:build jcheck

package javafmt

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"strconv"
	"testing"
)

func TestJCheck(t *testing.T) {
	f, err := os.Open(os.Getenv("JFILE"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var buf []byte
	n, bad, noRT := 0, 0, 0
	for sc.Scan() {
		line := sc.Bytes()
		i := bytes.IndexByte(line, ' ')
		b, _ := strconv.ParseUint(string(line[:i]), 16, 64)
		want := string(line[i+1:])
		fv := math.Float64frombits(b)
		buf = AppendDouble(buf[:0], fv)
		n++
		if string(buf) != want {
			bad++
			if bad < 30 {
				t.Errorf("%016x %v: got %s want %s", b, fv, buf, want)
			}
		}
		if !math.IsNaN(fv) {
			if p, _ := strconv.ParseFloat(want, 64); p != fv {
				noRT++
				if noRT < 10 {
					t.Logf("java output does not round-trip: %016x %s", b, want)
				}
			}
		}
	}
	t.Logf("checked %d, mismatches %d, java non-round-trip %d", n, bad, noRT)
}
