package gbdt

import (
	"fmt"
	"math"
	"sync"

	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/tree"
)

// ModelVersion is the version of the Model layout this package writes and
// reads.
const ModelVersion = 1

// Model is a trained booster as plain data: it round-trips through
// encoding/json and holds no code. Trees are round-major: tree r*Outputs+c
// adds to the margin of output c in round r. A binary model has one output,
// the log-odds of class 1; a multiclass model one per class, turned into
// probabilities by softmax. Call Validate on a decoded model before use.
// The first prediction caches a compiled layout of the trees, so a model
// is used through a pointer and not changed after it has predicted.
type Model struct {
	Version   int         `json:"version"`
	Features  int         `json:"features"`
	Classes   int         `json:"classes"`
	Outputs   int         `json:"outputs"`
	Rounds    int         `json:"rounds"`
	BaseScore []float64   `json:"base_score"`
	Bins      tree.Bins   `json:"bins"`
	Trees     []tree.Tree `json:"trees"`
	Options   Options     `json:"options"`

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
// index out of range: known version, outputs matching classes, finite base
// scores, valid bins over Features features, Rounds×Outputs trees of one
// output each, every split on a feature < Features at one of its cuts.
func (m *Model) Validate() error {
	switch {
	case m.Version != ModelVersion:
		return fmt.Errorf("gbdt model: version %d, this build reads %d", m.Version, ModelVersion)
	case m.Classes < 2:
		return fmt.Errorf("gbdt model: %d classes", m.Classes)
	case m.Classes == 2 && m.Outputs != 1, m.Classes > 2 && m.Outputs != m.Classes:
		return fmt.Errorf("gbdt model: %d outputs for %d classes", m.Outputs, m.Classes)
	case len(m.BaseScore) != m.Outputs:
		return fmt.Errorf("gbdt model: %d base scores for %d outputs", len(m.BaseScore), m.Outputs)
	case m.Rounds < 0 || len(m.Trees) != m.Rounds*m.Outputs:
		return fmt.Errorf("gbdt model: %d trees for %d rounds × %d outputs", len(m.Trees), m.Rounds, m.Outputs)
	}
	for i, v := range m.BaseScore {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("gbdt model: base score %d is %v", i, v)
		}
	}
	if err := tree.ValidateEnsemble(m.Features, m.Classes, 1, &m.Bins, m.Trees); err != nil {
		return fmt.Errorf("gbdt model: %w", err)
	}
	return nil
}

// PredictProba implements ml.Classifier. x must hold Features values.
func (m *Model) PredictProba(x []float64, out []float64) {
	var buf [16]float64
	var margin []float64
	if m.Outputs <= len(buf) {
		margin = buf[:m.Outputs]
	} else {
		margin = make([]float64, m.Outputs)
	}
	copy(margin, m.BaseScore)
	m.ensemble().SumRow(x, margin)
	probs(margin, out)
}

// PredictProbaBatch writes the class probabilities of every row of X to
// out (X.Rows × Classes, row-major), using up to threads goroutines (0
// means GOMAXPROCS).
func (m *Model) PredictProbaBatch(X *ml.Matrix, out []float64, threads int) error {
	if X.Cols != m.Features {
		return fmt.Errorf("gbdt: matrix has %d columns, model %d features", X.Cols, m.Features)
	}
	if len(out) != X.Rows*m.Classes {
		return fmt.Errorf("gbdt: output has %d values, want %d", len(out), X.Rows*m.Classes)
	}
	c := m.Classes
	m.ensemble().SumBatch(X, m.BaseScore, threads, func(r int, margin []float64) {
		probs(margin, out[r*c:(r+1)*c])
	})
	return nil
}

// Importance returns, per feature, the total split gain and the number of
// splits over all trees.
func (m *Model) Importance() (gain, splits []float64) {
	return tree.Importance(m.Trees, m.Features)
}
