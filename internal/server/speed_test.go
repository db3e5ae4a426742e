package server

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/flowguard/flowguard/internal/detect/defaultmodel"
	"github.com/flowguard/flowguard/internal/flowmeter"
)

// TestParseDecimal requires the fast path to give ParseFloat's bits
// whenever it accepts a string, and to accept the plain decimals of flow
// data.
func TestParseDecimal(t *testing.T) {
	cases := []string{"0", "-0", "0.0", "-0.000", "1", "443", "007", "1.", ".5", "-.5", "3.14159",
		"9007199254740991", "9007199254740992", "9007199254740993", "0.1", "0.3", "123456.789012",
		"1234567890123456789", "12345678901234567890", "0.0000000000000000000001", "1.00000000000000000000001",
		"", "-", ".", "-.", "1e5", "1E-3", "+1", "1_000", "0x10", "1.2.3", "NaN", "Infinity", "--1", " 1", "1 "}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		v := rng.Float64() * math.Pow(10, float64(rng.IntN(16)-6))
		if rng.IntN(2) == 0 {
			v = -v
		}
		cases = append(cases, strconv.FormatFloat(v, 'f', rng.IntN(12)-1, 64), strconv.FormatFloat(math.Round(v), 'f', -1, 64))
	}
	accepted := 0
	for _, s := range cases {
		got, ok := parseDecimal(s)
		if gotB, okB := parseDecimal([]byte(s)); okB != ok || math.Float64bits(gotB) != math.Float64bits(got) {
			t.Fatalf("%q: string and bytes differ", s)
		}
		if !ok {
			continue
		}
		accepted++
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%q: fast path %v (%#x), ParseFloat %v (%#x), %v", s, got, math.Float64bits(got), want, math.Float64bits(want), err)
		}
	}
	for _, s := range []string{"0", "-0", "443", "3.14159", "0.1", "-.5", "1."} {
		if _, ok := parseDecimal(s); !ok {
			t.Errorf("%q not taken by the fast path", s)
		}
	}
	if accepted < len(cases)/2 {
		t.Errorf("fast path took %d of %d strings", accepted, len(cases))
	}
}

// TestScoreRowsBatch requires the batch path of scoreRows (the default
// model's own batch evaluator) to give every row the verdict the per-row
// path gives, over the ml-ids client flows with NaN and infinities mixed
// in for the model's preprocessing to replace.
func TestScoreRowsBatch(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(shared(t, "data/seeds/ml-ids"), "api_client_dataset.csv"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := defaultmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	l := &loaded{id: "default", art: a, profile: flowmeter.Profiles[a.Schema.Profile]}
	in, err := decodeBody(bytes.NewReader(raw), formatCSV, l, decodeOptions{allowNonFinite: true, maxRows: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(in.x); i += 97 {
		in.x[i] = []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[i%3]
	}
	orig := append([]float64(nil), in.x...)
	got := scoreRows(l, in)
	proba := make([]float64, len(a.Schema.Classes))
	for r := range in.n {
		x := append([]float64(nil), orig[r*in.cols:(r+1)*in.cols]...)
		if want := l.score(x, proba); got[r] != want {
			t.Fatalf("row %d: batch verdict %+v, per row %+v", r, got[r], want)
		}
	}
}
