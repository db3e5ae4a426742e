package forest

import (
	"fmt"
	"sync"

	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/tree"
)

// ModelVersion is the version of the Model layout this package writes and
// reads.
const ModelVersion = 1

// Model is a trained forest as plain data: it round-trips through
// encoding/json and holds no code. Every tree has Classes outputs, the
// class proportions of its leaves. Call Validate on a decoded model before
// use.
// The first prediction caches a compiled layout of the trees, so a model
// is used through a pointer and not changed after it has predicted.
type Model struct {
	Version  int         `json:"version"`
	Features int         `json:"features"`
	Classes  int         `json:"classes"`
	Bins     tree.Bins   `json:"bins"`
	Trees    []tree.Tree `json:"trees"`
	Options  Options     `json:"options"`

	compileOnce sync.Once
	compiled    *tree.Ensemble
}

var _ ml.Classifier = (*Model)(nil)

// ensemble returns the prediction layout of the trees, built on first
// use; a model must not change once it has predicted.
func (m *Model) ensemble() *tree.Ensemble {
	m.compileOnce.Do(func() { m.compiled = tree.Compile(m.Trees) })
	return m.compiled
}

// NumClasses implements ml.Classifier.
func (m *Model) NumClasses() int { return m.Classes }

// NumFeatures implements ml.Classifier.
func (m *Model) NumFeatures() int { return m.Features }

// Validate checks that m is self-consistent, so that prediction cannot
// index out of range: known version, at least one tree, valid bins over
// Features features, every tree with Classes outputs and every split on a
// feature < Features at one of its cuts.
func (m *Model) Validate() error {
	switch {
	case m.Version != ModelVersion:
		return fmt.Errorf("forest model: version %d, this build reads %d", m.Version, ModelVersion)
	case len(m.Trees) == 0:
		return fmt.Errorf("forest model: no trees")
	}
	if err := tree.ValidateEnsemble(m.Features, m.Classes, m.Classes, &m.Bins, m.Trees); err != nil {
		return fmt.Errorf("forest model: %w", err)
	}
	return nil
}

// normalise turns summed leaf proportions into probabilities. Leaves hold
// proportions, so the sum is the tree count unless rows of zero weight
// left a leaf empty; dividing by the actual sum covers both.
func normalise(sums, out []float64) {
	s := 0.0
	for _, v := range sums {
		s += v
	}
	for k, v := range sums {
		if s > 0 {
			out[k] = v / s
		} else {
			out[k] = 1 / float64(len(sums))
		}
	}
}

// PredictProba implements ml.Classifier. x must hold Features values.
func (m *Model) PredictProba(x []float64, out []float64) {
	var buf [16]float64
	var sums []float64
	if m.Classes <= len(buf) {
		sums = buf[:m.Classes]
	} else {
		sums = make([]float64, m.Classes)
	}
	m.ensemble().SumRow(x, sums)
	normalise(sums, out)
}

// PredictProbaBatch writes the class probabilities of every row of X to
// out (X.Rows × Classes, row-major), using up to threads goroutines (0
// means GOMAXPROCS).
func (m *Model) PredictProbaBatch(X *ml.Matrix, out []float64, threads int) error {
	if X.Cols != m.Features {
		return fmt.Errorf("forest: matrix has %d columns, model %d features", X.Cols, m.Features)
	}
	c := m.Classes
	if len(out) != X.Rows*c {
		return fmt.Errorf("forest: output has %d values, want %d", len(out), X.Rows*c)
	}
	m.ensemble().SumBatch(X, make([]float64, c), threads, func(r int, sums []float64) {
		normalise(sums, out[r*c:(r+1)*c])
	})
	return nil
}

// Importance returns, per feature, the total Gini decrease and the number
// of splits over all trees.
func (m *Model) Importance() (gain, splits []float64) {
	return tree.Importance(m.Trees, m.Features)
}
