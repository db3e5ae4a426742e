package server

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowguard/flowguard/internal/detect/defaultmodel"
	"github.com/flowguard/flowguard/internal/flowmeter"
)

func benchModel(b *testing.B) *loaded {
	a, err := defaultmodel.Load()
	if err != nil {
		b.Fatal(err)
	}
	return &loaded{id: "default", art: a, profile: flowmeter.Profiles[a.Schema.Profile]}
}

func benchCSV(b *testing.B) []byte {
	raw, err := os.ReadFile(filepath.Join(shared(b, "data/seeds/ml-ids"), "api_client_dataset.csv"))
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkDecodeCSV and BenchmarkScore split the predict path's cost
// between parsing and the model.
func BenchmarkDecodeCSV(b *testing.B) {
	l, raw := benchModel(b), benchCSV(b)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := decodeBody(bytes.NewReader(raw), formatCSV, l, decodeOptions{allowNonFinite: true, maxRows: 1 << 20}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScore(b *testing.B) {
	l, raw := benchModel(b), benchCSV(b)
	in, err := decodeBody(bytes.NewReader(raw), formatCSV, l, decodeOptions{allowNonFinite: true, maxRows: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	proba := make([]float64, len(l.art.Schema.Classes))
	x := make([]float64, in.cols)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := i % in.n
		copy(x, in.x[r*in.cols:(r+1)*in.cols])
		l.score(x, proba)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkScoreRows(b *testing.B) {
	l, raw := benchModel(b), benchCSV(b)
	in, err := decodeBody(bytes.NewReader(raw), formatCSV, l, decodeOptions{allowNonFinite: true, maxRows: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	x := append([]float64(nil), in.x...)
	for b.Loop() {
		copy(in.x, x)
		scoreRows(l, in)
	}
	b.ReportMetric(float64(b.N*in.n)/b.Elapsed().Seconds(), "rows/s")
}
