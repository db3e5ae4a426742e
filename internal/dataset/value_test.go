package dataset

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

func TestParseFloat(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	cases := map[string]float64{
		"0": 0, "-0": 0, "-0.0": 0, "42": 42, "36196.0": 36196, "-1": -1, "+3": 3,
		"666666.6667": 666666.6667, "8.666666667000001": 8.666666667000001, "1.0E7": 1e7, "3.6896621806060606E8": 3.6896621806060606e8,
		"5.0E-4": 5e-4, "-4.7744091668656e-05": -4.7744091668656e-05, ".5": 0.5, "5.": 5, "0.000000000000000000000000012": 1.2e-26,
		"12345678901234567890123": 12345678901234567890123, " 7 ": 7,
		"Infinity": inf, "-Infinity": -inf, "inf": inf, "INF": inf, "1e400": inf,
		"NaN": nan, "nan": nan, "": nan, "  ": nan,
	}
	for in, want := range cases {
		got, err := parseFloat([]byte(in))
		if err != nil || !(got == want || math.IsNaN(got) && math.IsNaN(want)) || math.Signbit(got) && got == 0 {
			t.Errorf("parseFloat(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"abc", "1.2.3", "1e", "--1", "1,000", "-", ".", "e5", "12a"} {
		if v, err := parseFloat([]byte(bad)); err == nil {
			t.Errorf("parseFloat(%q) = %v, want an error", bad, v)
		}
	}
}

// The fast path must agree with strconv to the bit.
func TestParseFloatMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		v := math.Float64frombits(rng.Uint64())
		if rng.IntN(2) == 0 {
			v = float64(rng.Int64N(1e12)) / math.Pow10(rng.IntN(12))
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		for _, s := range []string{strconv.FormatFloat(v, 'g', -1, 64), strconv.FormatFloat(v, 'f', -1, 64),
			strconv.FormatFloat(v, 'e', 9, 64), strconv.FormatFloat(v, 'g', 10, 64)} {
			want, _ := strconv.ParseFloat(s, 64)
			if want == 0 {
				want = 0
			}
			got, err := parseFloat([]byte(s))
			if err != nil || math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("parseFloat(%q) = %v (%v), strconv says %v", s, got, err, want)
			}
		}
	}
}

func TestScanNumberStopsAtComma(t *testing.T) {
	f, n, ok := scanNumber([]byte("12.5,7"))
	if !ok || f != 12.5 || n != 4 {
		t.Errorf("scanNumber = %v %d %v", f, n, ok)
	}
	if _, _, ok := scanNumber([]byte("12x,7")); ok {
		t.Error("scanNumber accepted 12x")
	}
}

func TestParseTime(t *testing.T) {
	cic17, cse18, fg := dialectNamed("cic-ids2017"), dialectNamed("cse-cic-ids2018"), dialectNamed("flowguard-cic2017")
	eng := dialectNamed("engelen")
	utc := func(s string) int64 {
		tm, err := time.Parse("2006-01-02 15:04:05.999999", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMicro()
	}
	cases := []struct {
		in   string
		d    *Dialect
		want int64
	}{
		// CIC-IDS2017 is ADT (UTC-3) with a 12-hour clock: 10:40 is 13:40 UTC,
		// 3:56 (the DDoS) is 15:56 ADT.
		{"6/7/2017 10:40", cic17, utc("2017-07-06 13:40:00")},
		{"7/7/2017 3:56", cic17, utc("2017-07-07 18:56:00")},
		{"7/7/2017 12:05", cic17, utc("2017-07-07 15:05:00")},
		{"06/07/2017 01:40:07 PM", cic17, utc("2017-07-06 16:40:07")},
		{"15/02/2018 08:25:18", cse18, utc("2018-02-15 08:25:18")},
		{"16/02/2018 01:47:37", cse18, utc("2018-02-16 13:47:37")},
		{"06/07/2017 01:40:07", fg, utc("2017-07-06 01:40:07")},
		{"2017-07-06 13:40:13.192475", eng, utc("2017-07-06 13:40:13.192475")},
		{"2017-07-06 13:40:13.192", eng, utc("2017-07-06 13:40:13.192")},
		{"2017-07-06 13:40:13", eng, utc("2017-07-06 13:40:13")},
		{"2017-07-06T13:40:13Z", eng, utc("2017-07-06 13:40:13")},
		{"10/01/1970 03:04:26", cse18, utc("1970-01-10 15:04:26")},
		{"29/02/2016 23:59:59", eng, utc("2016-02-29 23:59:59")},
	}
	for _, c := range cases {
		got, err := parseTime([]byte(c.in), c.d)
		if err != nil || got != c.want {
			t.Errorf("parseTime(%q, %s) = %v, %v; want %v", c.in, c.d.Name, time.UnixMicro(got).UTC(), err,
				time.UnixMicro(c.want).UTC())
		}
	}
	for _, bad := range []string{"yesterday", "2017-07-06", "6/7/17 10:40", "32/01/2017 10:00", "6/13/2017 10:40",
		"6/7/2017 25:00", "2017-07-06 13:40:13 CET", "6/7/2017 10:4"} {
		if v, err := parseTime([]byte(bad), eng); err == nil {
			t.Errorf("parseTime(%q) = %v, want an error", bad, v)
		}
	}
}

func TestNormLabel(t *testing.T) {
	plain := &Dialect{}
	cases := []struct {
		raw  string
		d    *Dialect
		want string
	}{
		{"Web Attack \x96 Brute Force", plain, "Web Attack - Brute Force"},
		{"Web Attack \xc2\x96 Sql Injection", plain, "Web Attack - Sql Injection"},
		{"Web Attack \xef\xbf\xbd XSS", plain, "Web Attack - XSS"},
		{"Web Attack \u2013 XSS", plain, "Web Attack - XSS"},
		{"Web Attack  Sql Injection", plain, "Web Attack Sql Injection"},
		{"  DoS   Hulk ", plain, "DoS Hulk"},
		{"BENIGN", plain, Benign}, {"Benign", plain, Benign}, {"normal", plain, Benign},
		{"No Label", plain, Unlabelled}, {"NeedManualLabel", plain, Unlabelled}, {"", plain, Unlabelled},
		{"0", dialectNamed("kubernetes"), Benign},
		{"10", dialectNamed("kubernetes"), "CVE-2019-5736"},
		{"11", dialectNamed("kubernetes"), "DSB Nuclei Scan"},
		{"12", dialectNamed("kubernetes"), "12"},
		{"7", dialectNamed("rdube"), "Heartbleed"},
		{"7", plain, "7"},
		{"bad\xffbyte", plain, "bad?byte"},
	}
	for _, c := range cases {
		if got := normLabel([]byte(c.raw), c.d); got != c.want {
			t.Errorf("normLabel(%q) = %q, want %q", c.raw, got, c.want)
		}
	}
}
