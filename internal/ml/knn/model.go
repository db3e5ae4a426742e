package knn

import (
	"fmt"
	"math"
	"sync"
)

// Model is a fitted k-NN classifier: the training rows themselves plus the
// settings. It is plain data for encoding/json; call Validate after
// decoding one.
//
// Prediction follows scikit-learn's KNeighborsClassifier (brute force):
//   - The k rows nearest to the query are its neighbours. Among rows at the
//     same distance the lower row index wins; scikit-learn's argpartition
//     leaves that order unspecified, so only exact distance ties at the
//     k-th place can differ from it.
//   - Each neighbour votes for its label with weight 1 (Uniform) or 1/d
//     (Distance). With Distance, if any neighbour is at distance exactly 0,
//     those neighbours vote with weight 1 and the others not at all.
//   - Probabilities are the votes divided by their sum. The predicted class
//     is the one with the most votes, the lowest class index on a tie, as
//     scikit-learn's weighted_mode and argmax both do.
//
// Euclidean distances are computed from coordinate differences, so a
// duplicate of a training row is at distance exactly 0; scikit-learn's
// |x|²−2x·y+|y|² expansion can leave a rounding residue there instead.
// Cosine distances are 1 − x̂·ŷ clipped to [0, 2] like scikit-learn's, so
// rounding just below 0 also counts as a zero distance.
type Model struct {
	K        int       `json:"k"`
	Metric   Metric    `json:"metric"`
	Weights  Weighting `json:"weights"`
	Classes  int       `json:"classes"`
	Features int       `json:"features"`
	// Mean and Scale standardise a row (x−Mean)/Scale before anything
	// else; both nil when the model was fitted without standardisation.
	Mean  []float64 `json:"mean,omitempty"`
	Scale []float64 `json:"scale,omitempty"`
	// X holds the training rows, row-major, already standardised and, for
	// the cosine metric, scaled to unit length (zero rows stay zero), so a
	// query pays for none of that per row.
	X []float64 `json:"x"`
	Y []int     `json:"y"` // label of each row of X
}

// NumClasses implements ml.Classifier.
func (m *Model) NumClasses() int { return m.Classes }

// NumFeatures implements ml.Classifier.
func (m *Model) NumFeatures() int { return m.Features }

// Rows is the number of stored training rows.
func (m *Model) Rows() int { return len(m.Y) }

// checkSettings validates the scalar settings for a model of n rows.
func (m *Model) checkSettings(n int) error {
	switch {
	case m.Metric != Euclidean && m.Metric != Cosine:
		return fmt.Errorf("knn: unknown metric %q (want %q or %q)", m.Metric, Euclidean, Cosine)
	case m.Weights != Uniform && m.Weights != Distance:
		return fmt.Errorf("knn: unknown weighting %q (want %q or %q)", m.Weights, Uniform, Distance)
	case m.K < 1:
		return fmt.Errorf("knn: k = %d, need at least 1", m.K)
	case m.K > n:
		return fmt.Errorf("knn: k = %d exceeds the %d training rows", m.K, n)
	case m.Classes < 2:
		return fmt.Errorf("knn: %d classes, need at least 2", m.Classes)
	case m.Features < 1:
		return fmt.Errorf("knn: %d features, need at least 1", m.Features)
	}
	return nil
}

// unitTolerance is how far from 1 the length of a stored cosine row may be.
// Normalising leaves an error of a few ulps; a row off by more was not
// written by Train.
const unitTolerance = 1e-9

// Validate reports the first inconsistency of a decoded model. A model that
// passes never makes PredictProba panic or return non-finite values for a
// finite query row.
func (m *Model) Validate() error {
	if err := m.checkSettings(len(m.Y)); err != nil {
		return err
	}
	if len(m.X) != len(m.Y)*m.Features {
		return fmt.Errorf("knn: %d stored values for %d rows of %d features", len(m.X), len(m.Y), m.Features)
	}
	if (m.Mean == nil) != (m.Scale == nil) {
		return fmt.Errorf("knn: standardisation needs both mean and scale")
	}
	if m.Mean != nil {
		if len(m.Mean) != m.Features || len(m.Scale) != m.Features {
			return fmt.Errorf("knn: %d means and %d scales for %d features", len(m.Mean), len(m.Scale), m.Features)
		}
		for j := range m.Mean {
			if !finite(m.Mean[j]) || !finite(m.Scale[j]) || m.Scale[j] <= 0 {
				return fmt.Errorf("knn: feature %d: mean %v, scale %v", j, m.Mean[j], m.Scale[j])
			}
		}
	}
	for i, y := range m.Y {
		if y < 0 || y >= m.Classes {
			return fmt.Errorf("knn: row %d: label %d outside [0, %d)", i, y, m.Classes)
		}
	}
	for i := range m.Y {
		row := m.X[i*m.Features : (i+1)*m.Features]
		var n2 float64
		for j, v := range row {
			if !finite(v) {
				return fmt.Errorf("knn: row %d feature %d is %v", i, j, v)
			}
			n2 += v * v
		}
		if m.Metric == Cosine && n2 != 0 && math.Abs(math.Sqrt(n2)-1) > unitTolerance {
			return fmt.Errorf("knn: cosine row %d has length %v, want 1 or 0", i, math.Sqrt(n2))
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// transform writes x standardised and, for cosine, normalised into dst.
func (m *Model) transform(x, dst []float64) {
	copy(dst, x)
	if m.Mean != nil {
		for j := range dst {
			dst[j] = (dst[j] - m.Mean[j]) / m.Scale[j]
		}
	}
	if m.Metric == Cosine {
		var n2 float64
		for _, v := range dst {
			n2 += v * v
		}
		if n2 > 0 {
			inv := 1 / math.Sqrt(n2)
			for j := range dst {
				dst[j] *= inv
			}
		}
	}
}

// scratch is the per-goroutine working memory of up to four queries.
type scratch struct {
	q    [4][]float64 // transformed queries
	heap [4]neighbours
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (m *Model) getScratch() *scratch {
	s := scratchPool.Get().(*scratch)
	for b := range s.q {
		if cap(s.q[b]) < m.Features {
			s.q[b] = make([]float64, m.Features)
		}
		s.q[b] = s.q[b][:m.Features]
	}
	return s
}

// PredictProba implements ml.Classifier: out[c] is the share of the
// neighbours' votes for class c. x must have NumFeatures values and out
// NumClasses; a non-finite x gives NaN probabilities.
func (m *Model) PredictProba(x []float64, out []float64) {
	m.checkShapes(x, out)
	s := m.getScratch()
	m.predict(x, out, s)
	scratchPool.Put(s)
}

// Predict returns the class with the most votes for x (lowest index on a
// tie); probs, when not nil, receives the probabilities as in PredictProba.
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
	return argmax(probs)
}

func (m *Model) checkShapes(x, out []float64) {
	if len(x) != m.Features || len(out) != m.Classes {
		panic(fmt.Sprintf("knn: predict with %d features into %d classes; model has %d and %d",
			len(x), len(out), m.Features, m.Classes))
	}
}

// argmax returns the index of the largest value, the first one on a tie.
func argmax(p []float64) int {
	best := 0
	for c, v := range p {
		if v > p[best] {
			best = c
		}
	}
	return best
}

// predict scores one query with the caller's scratch.
func (m *Model) predict(x, out []float64, s *scratch) {
	if !m.prepare(x, s.q[0], out) {
		return
	}
	h := &s.heap[0]
	h.reset(m.K)
	m.search(s.q[0], h)
	m.vote(h, out)
}

// predict4 scores four queries in one pass over the stored rows. A query
// that is not finite falls back to its own NaN output and does not disturb
// the others.
func (m *Model) predict4(x, out *[4][]float64, s *scratch) {
	for b := range x {
		if !m.prepare(x[b], s.q[b], out[b]) {
			for b := range x {
				m.predict(x[b], out[b], s)
			}
			return
		}
		s.heap[b].reset(m.K)
	}
	m.search4(&s.q, &s.heap)
	for b := range out {
		m.vote(&s.heap[b], out[b])
	}
}

// prepare transforms x into q. When the result is not finite it fills out
// with NaN and returns false: there is no meaningful neighbour to find.
func (m *Model) prepare(x, q, out []float64) bool {
	m.transform(x, q)
	for _, v := range q {
		if !finite(v) {
			for c := range out {
				out[c] = math.NaN()
			}
			return false
		}
	}
	return true
}

// search fills h with the K stored rows nearest to the transformed query q.
// Keys are squared distances for Euclidean (the square root is monotone and
// only needed for the votes) and clipped cosine distances for Cosine.
func (m *Model) search(q []float64, h *neighbours) {
	xs := m.X
	d := len(q)
	if m.Metric == Cosine {
		for i := 0; len(xs) >= d; i++ {
			row := xs[:d]
			xs = xs[d:]
			q := q[:len(row)]
			var dot float64
			for j, v := range row {
				dot += v * q[j]
			}
			h.offer(min(max(1-dot, 0), 2), i)
		}
		return
	}
	for i := 0; len(xs) >= d; i++ {
		row := xs[:d]
		xs = xs[d:]
		q := q[:len(row)]
		var s float64
		for j, v := range row {
			t := v - q[j]
			s += t * t
		}
		h.offer(s, i)
	}
}

// vote turns the neighbours in h into class probabilities in out.
func (m *Model) vote(h *neighbours, out []float64) {
	h.sort()
	clear(out)
	n := h.n
	if m.Weights == Uniform {
		for k := 0; k < n; k++ {
			out[m.Y[h.idx[k]]]++
		}
	} else {
		zeros := 0
		for k := 0; k < n; k++ {
			if h.dist[k] == 0 {
				out[m.Y[h.idx[k]]]++
				zeros++
			}
		}
		if zeros == 0 {
			for k := 0; k < n; k++ {
				d := h.dist[k]
				if m.Metric == Euclidean {
					d = math.Sqrt(d)
				}
				out[m.Y[h.idx[k]]] += 1 / d
			}
		}
	}
	var sum float64
	for _, v := range out {
		sum += v
	}
	for c := range out {
		out[c] /= sum
	}
}

// search4 is search for four queries at once: each stored row is loaded
// once for all four, and the four independent sums keep the FPU busy, which
// the single-query loop's one dependency chain cannot.
func (m *Model) search4(q *[4][]float64, h *[4]neighbours) {
	xs := m.X
	d := len(q[0])
	q0, q1, q2, q3 := q[0][:d], q[1][:d], q[2][:d], q[3][:d]
	if m.Metric == Cosine {
		for i := 0; len(xs) >= d; i++ {
			row := xs[:d]
			xs = xs[d:]
			q0, q1, q2, q3 := q0[:len(row)], q1[:len(row)], q2[:len(row)], q3[:len(row)]
			var s0, s1, s2, s3 float64
			for j, v := range row {
				s0 += v * q0[j]
				s1 += v * q1[j]
				s2 += v * q2[j]
				s3 += v * q3[j]
			}
			h[0].offer(min(max(1-s0, 0), 2), i)
			h[1].offer(min(max(1-s1, 0), 2), i)
			h[2].offer(min(max(1-s2, 0), 2), i)
			h[3].offer(min(max(1-s3, 0), 2), i)
		}
		return
	}
	for i := 0; len(xs) >= d; i++ {
		row := xs[:d]
		xs = xs[d:]
		q0, q1, q2, q3 := q0[:len(row)], q1[:len(row)], q2[:len(row)], q3[:len(row)]
		var s0, s1, s2, s3 float64
		for j, v := range row {
			t0, t1, t2, t3 := v-q0[j], v-q1[j], v-q2[j], v-q3[j]
			s0 += t0 * t0
			s1 += t1 * t1
			s2 += t2 * t2
			s3 += t3 * t3
		}
		h[0].offer(s0, i)
		h[1].offer(s1, i)
		h[2].offer(s2, i)
		h[3].offer(s3, i)
	}
}
