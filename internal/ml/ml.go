// Package ml holds what flowguard's learning algorithms share: the dense
// feature matrix they train on and the interfaces a trained model and a
// trainer satisfy. The algorithms live in subpackages (tree, gbdt, forest,
// linear, knn, ...) and know nothing about networks or files.
package ml

import (
	"context"
	"fmt"
	"math"
)

// Matrix is a dense row-major matrix of float64 features.
type Matrix struct {
	Rows, Cols int
	Data       []float64 // len Rows*Cols
}

// NewMatrix allocates a zero matrix.
func NewMatrix(rows, cols int) *Matrix {
	return &Matrix{Rows: rows, Cols: cols, Data: make([]float64, rows*cols)}
}

// Row returns row i as a slice aliasing the matrix.
func (m *Matrix) Row(i int) []float64 { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// At returns element (i, j).
func (m *Matrix) At(i, j int) float64 { return m.Data[i*m.Cols+j] }

// Subset returns a new matrix of the given rows, in that order.
func (m *Matrix) Subset(rows []int) *Matrix {
	s := NewMatrix(len(rows), m.Cols)
	for k, i := range rows {
		copy(s.Row(k), m.Row(i))
	}
	return s
}

// Classifier is a trained model: it scores one row into class
// probabilities (len(out) == NumClasses(), summing to 1).
type Classifier interface {
	NumClasses() int
	NumFeatures() int
	PredictProba(x []float64, out []float64)
}

// Dataset is what a trainer fits: X with integer class labels Y in
// [0, Classes) and optional per-row weights W (nil means all 1).
type Dataset struct {
	X       *Matrix
	Y       []int
	W       []float64
	Classes int
}

// Validate reports the first inconsistency in d.
func (d *Dataset) Validate() error {
	switch {
	case d.X == nil:
		return fmt.Errorf("dataset has no feature matrix")
	case len(d.X.Data) != d.X.Rows*d.X.Cols:
		return fmt.Errorf("matrix data has %d values, want %d×%d", len(d.X.Data), d.X.Rows, d.X.Cols)
	case len(d.Y) != d.X.Rows:
		return fmt.Errorf("%d labels for %d rows", len(d.Y), d.X.Rows)
	case d.W != nil && len(d.W) != d.X.Rows:
		return fmt.Errorf("%d weights for %d rows", len(d.W), d.X.Rows)
	case d.Classes < 2:
		return fmt.Errorf("%d classes: need at least 2", d.Classes)
	}
	for i, y := range d.Y {
		if y < 0 || y >= d.Classes {
			return fmt.Errorf("row %d: label %d outside [0, %d)", i, y, d.Classes)
		}
	}
	return nil
}

// Trainer fits a classifier. valid, when not nil, is held-out data a
// trainer may use for early stopping; it must never be fitted on.
// Implementations report progress through the optional Progress callback
// in their own options, honour ctx cancellation, and use at most their
// configured number of goroutines.
type Trainer interface {
	Fit(ctx context.Context, train, valid *Dataset) (Classifier, error)
}

// MeanScale returns each column's mean and population standard deviation,
// as scikit-learn's StandardScaler fits them; a constant (or non-finite)
// column gets scale 1 so that it maps to 0 instead of dividing by zero.
// Two passes: summing squared deviations stays accurate where the one-pass
// E[x²]−E[x]² cancels catastrophically (byte counters of 10¹²).
func (m *Matrix) MeanScale() (mean, scale []float64) {
	mean = make([]float64, m.Cols)
	scale = make([]float64, m.Cols)
	for i := 0; i < m.Rows; i++ {
		for j, v := range m.Row(i) {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(m.Rows)
	}
	for i := 0; i < m.Rows; i++ {
		for j, v := range m.Row(i) {
			d := v - mean[j]
			scale[j] += d * d
		}
	}
	for j := range scale {
		s := math.Sqrt(scale[j] / float64(m.Rows))
		if s == 0 || math.IsInf(s, 0) || math.IsNaN(s) {
			s = 1
		}
		scale[j] = s
	}
	return mean, scale
}
