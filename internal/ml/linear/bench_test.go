package linear

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
)

// BenchmarkFit fits 100,000 rows of 40 features (roughly a CIC flow
// vector) in 5 overlapping classes for at most 50 iterations on all cores;
// rows/s counts rows × gradient evaluations, the unit of work.
func BenchmarkFit(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	const rows, cols, classes = 100_000, 40, 5
	d := &ml.Dataset{X: ml.NewMatrix(rows, cols), Y: make([]int, rows), Classes: classes}
	for i := range d.Y {
		y := rng.IntN(classes)
		d.Y[i] = y
		for j, row := 0, d.X.Row(i); j < cols; j++ {
			row[j] = rng.NormFloat64()*float64(j+1) + float64(y*(j%3))
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	evals := 0
	for range b.N {
		m, err := Trainer{L2: DefaultL2, MaxIter: 50}.Train(context.Background(), d)
		if err != nil {
			b.Fatal(err)
		}
		evals += m.Training.Evaluations
	}
	b.ReportMetric(float64(evals*rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(evals)/float64(b.N), "evals/op")
}
