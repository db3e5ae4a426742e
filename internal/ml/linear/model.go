// Package linear is multinomial (softmax) logistic regression with an L2
// penalty, fitted by L-BFGS on standardised features. Two classes use the
// same softmax code as many; see Trainer for how its penalty maps onto
// scikit-learn's C. It is the fast, well-calibrated baseline next to the
// tree ensembles, and its coefficients read directly as feature importance.
package linear

import (
	"fmt"
	"math"
)

// Model is a fitted softmax regression. It is plain data for
// encoding/json; call Validate after decoding one.
//
// A row x is standardised to z = (x−Mean)/Scale, class k scores
// Intercept[k] + Σ_j Coef[k·Features+j]·z_j, and the probabilities are
// the softmax of the scores.
type Model struct {
	Classes   int       `json:"classes"`
	Features  int       `json:"features"`
	Mean      []float64 `json:"mean"`      // per feature, from the training rows
	Scale     []float64 `json:"scale"`     // per feature standard deviation; 1 for constant features
	Coef      []float64 `json:"coef"`      // Classes × Features, row-major, in standardised units
	Intercept []float64 `json:"intercept"` // per class
	// Training records how the fit ended; it does not affect predictions.
	Training Training `json:"training"`
}

// Training summarises an L-BFGS run.
type Training struct {
	Iterations  int     `json:"iterations"`
	Evaluations int     `json:"evaluations"` // passes over the training rows
	Loss        float64 `json:"loss"`        // final objective, penalty included
	GradMax     float64 `json:"grad_max"`    // final largest gradient component
	Converged   bool    `json:"converged"`   // false when MaxIter ran out or the line search failed
}

// NumClasses implements ml.Classifier.
func (m *Model) NumClasses() int { return m.Classes }

// NumFeatures implements ml.Classifier.
func (m *Model) NumFeatures() int { return m.Features }

// Validate reports the first inconsistency of a decoded model. A model that
// passes never makes PredictProba panic, and gives finite probabilities for
// every finite row.
func (m *Model) Validate() error {
	switch {
	case m.Classes < 2:
		return fmt.Errorf("linear: %d classes, need at least 2", m.Classes)
	case m.Features < 1:
		return fmt.Errorf("linear: %d features, need at least 1", m.Features)
	case len(m.Mean) != m.Features || len(m.Scale) != m.Features:
		return fmt.Errorf("linear: %d means and %d scales for %d features", len(m.Mean), len(m.Scale), m.Features)
	case len(m.Coef) != m.Classes*m.Features:
		return fmt.Errorf("linear: %d coefficients for %d classes × %d features", len(m.Coef), m.Classes, m.Features)
	case len(m.Intercept) != m.Classes:
		return fmt.Errorf("linear: %d intercepts for %d classes", len(m.Intercept), m.Classes)
	}
	for j := range m.Mean {
		if !finite(m.Mean[j]) || !finite(m.Scale[j]) || m.Scale[j] <= 0 {
			return fmt.Errorf("linear: feature %d: mean %v, scale %v", j, m.Mean[j], m.Scale[j])
		}
	}
	for i, v := range m.Coef {
		if !finite(v) {
			return fmt.Errorf("linear: class %d feature %d: coefficient %v", i/m.Features, i%m.Features, v)
		}
	}
	for k, v := range m.Intercept {
		if !finite(v) {
			return fmt.Errorf("linear: class %d: intercept %v", k, v)
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// PredictProba implements ml.Classifier. x must have NumFeatures values and
// out NumClasses; a non-finite x gives NaN probabilities.
func (m *Model) PredictProba(x []float64, out []float64) {
	if len(x) != m.Features || len(out) != m.Classes {
		panic(fmt.Sprintf("linear: predict with %d features into %d classes; model has %d and %d",
			len(x), len(out), m.Features, m.Classes))
	}
	copy(out, m.Intercept)
	for j, v := range x {
		z := (v - m.Mean[j]) / m.Scale[j]
		if !finite(z) {
			for k := range out {
				out[k] = math.NaN()
			}
			return
		}
		for k := range out {
			out[k] += m.Coef[k*m.Features+j] * z
		}
	}
	softmax(out)
}

// Predict returns the most probable class of x (the lowest index on a
// tie); probs, when not nil, receives the probabilities.
func (m *Model) Predict(x []float64, probs []float64) int {
	if probs == nil {
		var buf [16]float64 // enough for most class counts without allocating
		if m.Classes <= len(buf) {
			probs = buf[:m.Classes]
		} else {
			probs = make([]float64, m.Classes)
		}
	}
	m.PredictProba(x, probs)
	best := 0
	for k, p := range probs {
		if p > probs[best] {
			best = k
		}
	}
	return best
}

// Importance returns one score per feature: the mean absolute coefficient
// over the classes. Coefficients apply to standardised features, so the
// scores compare across features whatever their units; they say how
// strongly a feature moves the class scores, not in which direction.
func (m *Model) Importance() []float64 {
	imp := make([]float64, m.Features)
	for i, v := range m.Coef {
		imp[i%m.Features] += math.Abs(v)
	}
	for j := range imp {
		imp[j] /= float64(m.Classes)
	}
	return imp
}

// softmax turns scores into probabilities in place. Subtracting the largest
// score first keeps exp from overflowing; NaN scores stay NaN.
func softmax(s []float64) {
	top := math.Inf(-1)
	for _, v := range s {
		top = max(top, v) // max propagates NaN
	}
	var sum float64
	for k, v := range s {
		e := math.Exp(v - top)
		s[k] = e
		sum += e
	}
	for k := range s {
		s[k] /= sum
	}
}
