// Package knn is an exact k-nearest-neighbour classifier: brute force over
// every stored training row with a bounded max-heap per query, Euclidean or
// cosine distance, uniform or inverse-distance votes, and optional feature
// standardisation. It reproduces scikit-learn's KNeighborsClassifier with
// algorithm="brute" (see Model for the exact semantics, ties included), so
// models of the predecessor projects can be re-created from their training
// matrices. It has no index structure: a query costs one pass over the rows.
package knn

import (
	"context"
	"fmt"
	"math"

	"github.com/flowguard/flowguard/internal/ml"
)

// Metric names a distance between two feature rows.
type Metric string

const (
	// Euclidean is the L2 distance.
	Euclidean Metric = "euclidean"
	// Cosine is 1 − cos(angle) clipped to [0, 2], as scikit-learn's
	// cosine_distances; a zero row has similarity 0 with everything.
	Cosine Metric = "cosine"
)

// Weighting says how much each of the k neighbours' votes counts.
type Weighting string

const (
	// Uniform gives every neighbour one vote.
	Uniform Weighting = "uniform"
	// Distance weighs a neighbour by 1/d. When some neighbours are at
	// distance 0, only they vote, equally (scikit-learn's rule).
	Distance Weighting = "distance"
)

// Trainer configures a k-NN fit. Fitting only stores the (transformed)
// training rows, so there is no progress to report and no early stopping.
type Trainer struct {
	K           int       // neighbours per query, ≥ 1
	Metric      Metric    // Euclidean or Cosine
	Weights     Weighting // Uniform or Distance
	Standardize bool      // scale features to zero mean, unit variance first
}

// Fit implements ml.Trainer; valid is not used.
func (t Trainer) Fit(ctx context.Context, train, _ *ml.Dataset) (ml.Classifier, error) {
	return t.Train(ctx, train)
}

// Train stores d as a Model. Row weights are refused rather than ignored:
// k-NN has no loss to weight, and a silently unweighted fit would look like
// one that honoured them. Rebalance by resampling rows instead.
func (t Trainer) Train(ctx context.Context, d *ml.Dataset) (*Model, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("knn: training data: %w", err)
	}
	if d.W != nil {
		return nil, fmt.Errorf("knn: per-row weights are not supported; resample rows instead")
	}
	rows, cols := d.X.Rows, d.X.Cols
	m := &Model{
		K:        t.K,
		Metric:   t.Metric,
		Weights:  t.Weights,
		Classes:  d.Classes,
		Features: cols,
		X:        make([]float64, len(d.X.Data)),
		Y:        append([]int(nil), d.Y...),
	}
	if err := m.checkSettings(rows); err != nil {
		return nil, err
	}
	for i, v := range d.X.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("knn: row %d feature %d is %v", i/cols, i%cols, v)
		}
	}
	if t.Standardize {
		m.Mean, m.Scale = d.X.MeanScale()
	}
	for i := 0; i < rows; i++ {
		if i%4096 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("knn: fit: %w", ctx.Err())
		}
		m.transform(d.X.Row(i), m.X[i*cols:(i+1)*cols])
	}
	return m, nil
}
