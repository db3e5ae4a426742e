package gbdt_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowguard/flowguard/internal/dataset"
	"github.com/flowguard/flowguard/internal/detect/defaultmodel"
	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/gbdt"
)

// defaultRows returns the embedded default model and the CIC-IDS2017
// sample rows in its feature space, skipping when the shared data is
// absent.
func defaultRows(t testing.TB) (*gbdt.Model, *ml.Matrix) {
	t.Helper()
	root := os.Getenv("FLOWGUARD_SHARED")
	if root == "" {
		root = "../../../../shared"
	}
	p := filepath.Join(root, "data/flows/cic-ids2017/lccde-sample")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data absent (%s): %v", p, err)
	}
	a, err := defaultmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	m, ok := a.Classifier().(*gbdt.Model)
	if !ok {
		t.Fatalf("default model is %T, not a gbdt model", a.Classifier())
	}
	_, _, x, err := a.LoadFor([]string{p}, dataset.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m, x
}

// referenceProba is the plain walk of every tree in model order, margins
// summed per output as the model's trees take turns over them, then the
// link function written out as the package writes it.
func referenceProba(m *gbdt.Model, x []float64, p []float64) {
	margin := append([]float64(nil), m.BaseScore...)
	for i := range m.Trees {
		t := &m.Trees[i]
		margin[i%m.Outputs] += t.Values[t.Leaf(x)]
	}
	if m.Outputs == 1 {
		p[1] = 1 / (1 + math.Exp(-margin[0]))
		p[0] = 1 - p[1]
		return
	}
	mx := margin[0]
	for _, v := range margin[1:] {
		mx = max(mx, v)
	}
	s := 0.0
	for i, v := range margin {
		p[i] = math.Exp(v - mx)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
}

// TestDefaultModelMatchesReference requires the compiled evaluators (one
// row, and batches on one and two threads, with and without NaN) to give
// bit for bit the probabilities of the reference walk on the embedded
// default model over the CIC-IDS2017 sample.
func TestDefaultModelMatchesReference(t *testing.T) {
	m, x := defaultRows(t)
	c := m.Classes
	for _, withNaN := range []bool{false, true} {
		X := ml.NewMatrix(x.Rows, x.Cols)
		copy(X.Data, x.Data)
		if withNaN {
			// NaN in every seventh row, at a column that moves.
			for r := 0; r < X.Rows; r += 7 {
				X.Data[r*X.Cols+(r/7)%X.Cols] = math.NaN()
			}
		}
		want := make([]float64, X.Rows*c)
		for r := range X.Rows {
			referenceProba(m, X.Row(r), want[r*c:(r+1)*c])
		}
		check := func(what string, got []float64) {
			t.Helper()
			for i := range want {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("%s (NaN rows %v): row %d class %d: %v, reference %v", what, withNaN, i/c, i%c, got[i], want[i])
				}
			}
		}
		got := make([]float64, len(want))
		for r := range X.Rows {
			m.PredictProba(X.Row(r), got[r*c:(r+1)*c])
		}
		check("PredictProba", got)
		for _, threads := range []int{1, 2} {
			clear(got)
			if err := m.PredictProbaBatch(X, got, threads); err != nil {
				t.Fatal(err)
			}
			check("PredictProbaBatch", got)
		}
		// Batches of every small size, so that partial blocks are covered.
		for n := 1; n <= 70; n++ {
			sub := &ml.Matrix{Rows: n, Cols: X.Cols, Data: X.Data[:n*X.Cols]}
			clear(got)
			if err := m.PredictProbaBatch(sub, got[:n*c], 1); err != nil {
				t.Fatal(err)
			}
			for i := range n * c {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("batch of %d rows (NaN rows %v): row %d class %d: %v, reference %v", n, withNaN, i/c, i%c, got[i], want[i])
				}
			}
		}
	}
}

// BenchmarkDefaultModel times the embedded default model over the
// CIC-IDS2017 sample: one row at a time, and as a batch on one thread
// and on all cores.
func BenchmarkDefaultModel(b *testing.B) {
	m, x := defaultRows(b)
	c := m.Classes
	out := make([]float64, x.Rows*c)
	b.Run("row", func(b *testing.B) {
		b.ReportAllocs()
		r := 0
		for b.Loop() {
			m.PredictProba(x.Row(r), out[:c])
			r++
			if r == x.Rows {
				r = 0
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/row")
	})
	for _, threads := range []int{1, 0} {
		name := "batch1"
		if threads == 0 {
			name = "batch"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := m.PredictProbaBatch(x, out, threads); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*x.Rows), "ns/row")
		})
	}
}
