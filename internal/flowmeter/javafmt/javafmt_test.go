package javafmt

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// goldenDir is the shared golden data, seen from this package's directory
// (repo at /work/main, shared data at /work/shared).
const goldenDir = "../../../../shared/golden"

// TestGoldenCSVCells formats every double cell of the reference CSVs and
// requires the exact bytes Java wrote.
func TestGoldenCSVCells(t *testing.T) {
	var files []string
	for _, profile := range []string{"cic2017", "engelen"} {
		m, _ := filepath.Glob(filepath.Join(goldenDir, profile, "*.csv"))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skipf("no golden CSVs under %s (shared data not present); skipping", goldenDir)
	}
	var buf []byte
	cells, doubles, mismatches := 0, 0, 0
	distinct := map[string]struct{}{}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Split(data, []byte{'\n'})
		for ln, line := range lines[1:] { // skip the header
			if len(line) == 0 {
				continue
			}
			for cell := range bytes.SplitSeq(line, []byte{','}) {
				cells++
				if !isJavaDouble(cell) {
					continue
				}
				f, err := strconv.ParseFloat(string(cell), 64)
				if err != nil {
					continue // an IP address, a timestamp, a flow ID...
				}
				doubles++
				distinct[string(cell)] = struct{}{}
				buf = AppendDouble(buf[:0], f)
				if !bytes.Equal(buf, cell) {
					mismatches++
					if mismatches <= 20 {
						t.Errorf("%s:%d: %q formatted as %q", filepath.Base(name), ln+2, cell, buf)
					}
				}
			}
		}
	}
	t.Logf("%d CSV files, %d cells, %d double cells (%d distinct strings), %d mismatches",
		len(files), cells, doubles, len(distinct), mismatches)
	if doubles < 100000 {
		t.Errorf("only %d double cells found; expected hundreds of thousands", doubles)
	}
}

// isJavaDouble reports whether a cell looks like Double.toString output:
// it has a '.' or an 'E', or is NaN or ±Infinity. Integer cells come from
// Long.toString and are not doubles.
func isJavaDouble(c []byte) bool {
	switch string(c) {
	case "NaN", "Infinity", "-Infinity":
		return true
	}
	return bytes.IndexByte(c, '.') >= 0 || bytes.IndexByte(c, 'E') >= 0
}

// TestJDK17Vectors checks testdata/jdk17_vectors.txt: results of
// Double.toString on OpenJDK 17.0.15, made with testdata/ToString.java
// (`java ToString.java < inputs.hex`). The inputs were drawn from about 16
// million doubles that were compared in full against that JVM during
// development (0 mismatches): powers of ten and two with their neighbours,
// short decimals and their neighbours, integers, ratios and square roots
// like the flow meter's statistics, subnormals and random bit patterns. For
// the file, up to 550 distinct values were sampled for each FloatingDecimal
// code path (integer fast path, long arithmetic, big-integer arithmetic),
// separately for values whose Java digits equal the shortest round-trip
// digits and for values where they differ (the "-diff" groups). A last
// group holds values that reach rare branches (ties, overflow of M, a
// leading zero digit, a carry out of the first digit), found by
// instrumenting a copy of this package.
func TestJDK17Vectors(t *testing.T) {
	f, err := os.Open("testdata/jdk17_vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var buf []byte
	n, groups := 0, 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			if strings.HasPrefix(line, "# group ") {
				groups++
			}
			continue
		}
		hex, want, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		b, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		n++
		buf = AppendDouble(buf[:0], math.Float64frombits(b))
		if string(buf) != want {
			t.Errorf("%s: got %s, want %s", hex, buf, want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 3000 || groups != 8 {
		t.Fatalf("read %d vectors in %d groups; the file looks truncated", n, groups)
	}
	t.Logf("%d JDK 17 vectors", n)
}

// Hand-picked values; the strings are what OpenJDK 17.0.15 printed.
var handPicked = []struct {
	bits uint64
	want string
}{
	{0x0000000000000001, "4.9E-324"},                // SmallestNonzeroFloat64 (shortest would be 5.0E-324)
	{0x0000000000000002, "1.0E-323"},                // 2 × smallest subnormal
	{0x0000000000000014, "1.0E-322"},                // subnormal
	{0x000fffffffffffff, "2.225073858507201E-308"},  // largest subnormal
	{0x0010000000000000, "2.2250738585072014E-308"}, // smallest normal
	{0x001fffffffffffff, "4.4501477170144023E-308"}, // largest of the first normal binade
	{0x7fefffffffffffff, "1.7976931348623157E308"},  // MaxFloat64
	{0xffefffffffffffff, "-1.7976931348623157E308"}, // -MaxFloat64
	{0x7feffffffffffffe, "1.7976931348623155E308"},  // just below MaxFloat64
	{0x7fe1ccf385ebc8a0, "1.0E308"},                 // 1e308
	{0x3ee4f8b588e368f1, "1.0E-5"},                  // 1e-5
	{0x3f1a36e2eb1c432d, "1.0E-4"},                  // 1e-4
	{0x3f40624dd2f1a9fc, "5.0E-4"},                  // below 1e-3: E-form
	{0x3f50624dd2f1a9fc, "0.001"},                   // 1e-3: plain
	{0x3f50624dd2f1a9fb, "9.999999999999998E-4"},    // just below 1e-3
	{0x3f60624dd2f1a9fc, "0.002"},                   // 2.0E-3 (old JDKs printed 0.0020)
	{0x3f689374bc6a7efa, "0.003"},                   // 3 * 1e-3
	{0x3f847ae147ae147b, "0.01"},                    // 1e-2
	{0x3fb999999999999a, "0.1"},                     // 0.1
	{0x3fd3333333333334, "0.30000000000000004"},     // 0.1 + 0.2
	{0x3fd5555555555555, "0.3333333333333333"},      // 1/3
	{0x3fe5555555555555, "0.6666666666666666"},      // 2/3
	{0x3feaaaaaaaaaaaab, "0.8333333333333334"},      // golden CSV value
	{0x3ff0000000000000, "1.0"},                     // 1
	{0xbff8000000000000, "-1.5"},                    // negative
	{0x4005bf0a8b145769, "2.718281828459045"},       // e
	{0x400921fb54442d18, "3.141592653589793"},       // pi
	{0x4011666666666666, "4.35"},                    // 4.35
	{0x4024000000000000, "10.0"},                    // 10
	{0x4040aaaaaaaaaaab, "33.333333333333336"},      // golden CSV value
	{0x4059000000000000, "100.0"},                   // 100
	{0x407bf00000000000, "447.0"},                   // README example
	{0x408f400000000000, "1000.0"},                  // 1000
	{0x40a08fffffffffff, "2119.9999999999995"},      // golden CSV value
	{0x412e848000000000, "1000000.0"},               // 1e6
	{0x416312cfffffffff, "9999999.999999998"},       // just below 1e7: plain
	{0x416312d000000000, "1.0E7"},                   // 1e7: E-form
	{0x4163134d00000000, "1.0001E7"},                // README example
	{0x4197d78400000000, "1.0E8"},                   // 1e8
	{0x41b5fdfa4a0f83e1, "3.6896621806060606E8"},    // README example
	{0x43054e990611359c, "7.496742062097155E14"},    // README example
	{0x430c6bf526340000, "1.0E15"},                  // 1e15
	{0x4340000000000000, "9.007199254740992E15"},    // 2^53
	{0x4341c37937e08000, "1.0E16"},                  // 1e16
	{0x4376345785d8a000, "1.0E17"},                  // 1e17
	{0x437b69b4ba630f35, "1.2345678901234568E17"},   // integer fast path
	{0x43e0000000000000, "9.223372036854776E18"},    // 2^63
	{0x43f0000000000000, "1.8446744073709552E19"},   // 2^64
	{0x444b1ae4d6e2ef50, "1.0E21"},                  // 1e21
	{0x447c7e83209e90b2, "8.409999999999999E21"},    // 8.41e21 (shortest: 8.41E21)
	{0x4480f0cf064dd592, "1.0E22"},                  // 1e22
	{0x44b52d02c7e14af6, "9.999999999999999E22"},    // 1e23: JDK-4511638 (shortest: 1.0E23)
	{0x44c52d02c7e14af6, "1.9999999999999998E23"},   // 2e23: JDK-4511638 (shortest: 2.0E23)
	{0x0000000000000000, "0.0"},                     // +0
	{0x8000000000000000, "-0.0"},                    // -0
	{0x7ff0000000000000, "Infinity"},                // +Inf
	{0xfff0000000000000, "-Infinity"},               // -Inf
	{0x7ff8000000000000, "NaN"},                     // NaN
	{0xfff8000000000001, "NaN"},                     // NaN with sign and payload
}

func TestHandPicked(t *testing.T) {
	for _, c := range handPicked {
		got := string(AppendDouble(nil, math.Float64frombits(c.bits)))
		if got != c.want {
			t.Errorf("%#016x (%v): got %s, want %s", c.bits, math.Float64frombits(c.bits), got, c.want)
		}
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	if got := string(AppendDouble([]byte("x="), 0.5)); got != "x=0.5" {
		t.Fatalf("got %q", got)
	}
	if got := string(AppendLong([]byte("n="), -1)); got != "n=-1" {
		t.Fatalf("got %q", got)
	}
}

func TestAppendLong(t *testing.T) {
	for _, c := range []struct {
		v    int64
		want string
	}{
		{0, "0"}, {-1, "-1"}, {5006127, "5006127"},
		{math.MaxInt64, "9223372036854775807"}, {math.MinInt64, "-9223372036854775808"},
	} {
		if got := string(AppendLong(nil, c.v)); got != c.want {
			t.Errorf("AppendLong(%d) = %s, want %s", c.v, got, c.want)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	buf := make([]byte, 0, 64)
	for _, c := range handPicked {
		f := math.Float64frombits(c.bits)
		if n := testing.AllocsPerRun(10, func() { buf = AppendDouble(buf[:0], f) }); n != 0 {
			t.Errorf("AppendDouble(%v) allocates %v times", f, n)
		}
	}
}

// checkFormat verifies the layout rules of Double.toString and that the
// string parses back to f.
func checkFormat(t *testing.T, f float64, s string) {
	t.Helper()
	switch {
	case math.IsNaN(f):
		if s != "NaN" {
			t.Fatalf("NaN formatted as %q", s)
		}
		return
	case math.IsInf(f, 1):
		if s != "Infinity" {
			t.Fatalf("+Inf formatted as %q", s)
		}
		return
	case math.IsInf(f, -1):
		if s != "-Infinity" {
			t.Fatalf("-Inf formatted as %q", s)
		}
		return
	}
	g, err := strconv.ParseFloat(s, 64)
	if err != nil || math.Float64bits(g) != math.Float64bits(f) {
		t.Fatalf("%q (from %v, bits %#x) parses back as %v (%v)", s, f, math.Float64bits(f), g, err)
	}
	u := strings.TrimPrefix(s, "-")
	if (u != s) != math.Signbit(f) {
		t.Fatalf("%q: wrong sign for %v", s, f)
	}
	a := math.Abs(f)
	mant, exp, sci := strings.Cut(u, "E")
	if sci != (a != 0 && (a < 1e-3 || a >= 1e7)) {
		t.Fatalf("%q: wrong notation for %v", s, f)
	}
	ip, frac, ok := strings.Cut(mant, ".")
	if !ok || ip == "" || frac == "" || strings.ContainsAny(ip+frac, ".E+-") {
		t.Fatalf("%q: mantissa must be digits.digits", s)
	}
	if sci {
		if len(ip) != 1 || ip == "0" {
			t.Fatalf("%q: E-form needs one nonzero leading digit", s)
		}
		e := strings.TrimPrefix(exp, "-")
		if e == "" || e[0] == '0' || strings.Trim(e, "0123456789") != "" {
			t.Fatalf("%q: exponent must have no '+' and no leading zeros", s)
		}
	} else if len(ip) > 1 && ip[0] == '0' {
		t.Fatalf("%q: leading zero", s)
	}
}

func FuzzAppendDouble(f *testing.F) {
	for _, c := range handPicked {
		f.Add(c.bits)
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		checkFormat(t, v, string(AppendDouble(nil, v)))
	})
}

func BenchmarkAppendDouble(b *testing.B) {
	for _, c := range []struct {
		name string
		f    float64
	}{
		{"integer", 447},             // integer fast path
		{"rate", 103773.58490566038}, // long arithmetic
		{"mean", 33.333333333333336}, // long arithmetic
		{"small", 5.0e-4},            // big-integer arithmetic
		{"tiny", 4.9e-324},           // big-integer arithmetic, largest operands
		{"huge", math.MaxFloat64},    // big-integer arithmetic
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 32)
			for b.Loop() {
				buf = AppendDouble(buf[:0], c.f)
			}
		})
	}
}
