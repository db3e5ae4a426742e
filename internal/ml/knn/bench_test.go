package knn

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
)

// benchBatch reports queries per second of batch prediction over all cores.
func benchBatch(b *testing.B, m *Model, q *ml.Matrix) {
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := m.PredictBatch(context.Background(), q, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*q.Rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkBatchMisuse is the predecessor's model (39,617 rows, 9 PCA
// features, k=4, cosine, distance votes) scoring 2,000 of its own rows.
func BenchmarkBatchMisuse(b *testing.B) {
	d := loadMisuse(b)
	m, err := misuseTrainer.Train(context.Background(), d)
	if err != nil {
		b.Fatal(err)
	}
	rows := make([]int, 2000)
	for i := range rows {
		rows[i] = i * (d.X.Rows / len(rows))
	}
	benchBatch(b, m, d.X.Subset(rows))
}

// BenchmarkBatchSynthetic scores 1,000 queries against 50,000 random rows
// of 40 features (roughly a CIC flow vector), Euclidean, standardised.
func BenchmarkBatchSynthetic(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, cols = 50_000, 40
	d := &ml.Dataset{X: ml.NewMatrix(rows, cols), Y: make([]int, rows), Classes: 5}
	for i := range d.X.Data {
		d.X.Data[i] = rng.NormFloat64()
	}
	for i := range d.Y {
		d.Y[i] = rng.IntN(5)
	}
	m, err := Trainer{K: 5, Metric: Euclidean, Weights: Distance, Standardize: true}.Train(context.Background(), d)
	if err != nil {
		b.Fatal(err)
	}
	benchBatch(b, m, d.X.Subset(rng.Perm(rows)[:1000]))
}
