package events

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/flowguard/flowguard/internal/ml"
)

// fitRows holds the fit set's raw vectors: the text part sparse (sorted
// global column indexes), the structural part dense.
type fitRows struct {
	start []int // row i's entries are idx/val[start[i]:start[i+1]]
	idx   []int32
	val   []float64
	st    []float64 // n × len(structNames)
}

// Fit learns a Features model from events (normally normal traffic only).
func (c Featurizer) Fit(evs []*Event) (*Features, error) {
	f, _, err := c.fit(evs, false)
	return f, err
}

// FitTransform is Fit also returning the fit set's vectors, computed
// through the same path as Transform. (The rows are the subsample when
// MaxFitRows cut the input.)
func (c Featurizer) FitTransform(evs []*Event) (*Features, *ml.Matrix, error) {
	return c.fit(evs, true)
}

func (c Featurizer) fit(evs []*Event, wantRows bool) (*Features, *ml.Matrix, error) {
	cfg := c.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, nil, fmt.Errorf("featurizer: %w", err)
	}
	if len(evs) < 2 {
		return nil, nil, fmt.Errorf("featurizer: need at least 2 events to fit, have %d", len(evs))
	}
	if len(evs) > cfg.MaxFitRows {
		sub := make([]*Event, cfg.MaxFitRows)
		for i := range sub {
			sub[i] = evs[int(int64(i)*int64(len(evs))/int64(cfg.MaxFitRows))]
		}
		evs = sub
	}
	for i, e := range evs {
		if e == nil {
			return nil, nil, fmt.Errorf("featurizer: event %d is nil", i)
		}
	}
	nNgram, nToken, nStruct := 1<<cfg.NgramBits, 1<<cfg.TokenBits, len(structNames)
	nText := nNgram + nToken
	p := nText + nStruct
	n := len(evs)
	f := &Features{Version: featuresVersion, Config: cfg, NumFit: n,
		IDFNgram: make([]float64, nNgram), IDFToken: make([]float64, nToken),
		Struct: append([]string(nil), structNames...)}

	// Pass 1: raw signed counts per row (sublinear tf, not yet weighted).
	rows := fitRows{start: make([]int, n+1), st: make([]float64, n*nStruct)}
	type part struct {
		idx []int32
		val []float64
		len []int
	}
	parts := make([]part, cfg.Workers)
	chunk := (n + cfg.Workers - 1) / cfg.Workers
	parallel(cfg.Workers, cfg.Workers, func(lo, hi int) {
		for w := lo; w < hi; w++ {
			s := newScratch(cfg)
			pt := &parts[w]
			for i := w * chunk; i < min(n, (w+1)*chunk); i++ {
				cfg.counts(evs[i], s)
				before := len(pt.idx)
				pt.idx, pt.val = tfidf(s.ngram, s.tn, nil, 0, pt.idx, pt.val)
				pt.idx, pt.val = tfidf(s.token, s.tt, nil, int32(nNgram), pt.idx, pt.val)
				pt.len = append(pt.len, len(pt.idx)-before)
				copy(rows.st[i*nStruct:], s.st)
			}
		}
	})
	i := 0
	for w := range parts {
		for _, l := range parts[w].len {
			rows.start[i+1] = rows.start[i] + l
			i++
		}
		rows.idx = append(rows.idx, parts[w].idx...)
		rows.val = append(rows.val, parts[w].val...)
		parts[w] = part{}
	}
	// Document frequencies → smooth idf, ln((1+n)/(1+df)) + 1.
	df := make([]float64, nText)
	for _, j := range rows.idx {
		df[j]++
	}
	for j := 0; j < nText; j++ {
		v := math.Log((1+float64(n))/(1+df[j])) + 1
		if j < nNgram {
			f.IDFNgram[j] = v
		} else {
			f.IDFToken[j-nNgram] = v
		}
	}
	// Pass 2: weight by idf and L2-normalise each block of each row. The
	// stored tf was normalised per block in pass 1; scaling by idf and
	// normalising again gives exactly tf·idf/‖tf·idf‖ (normalisation is
	// scale-invariant), which is what Transform computes.
	for r := 0; r < n; r++ {
		lo, hi := rows.start[r], rows.start[r+1]
		mid := lo + sort.Search(hi-lo, func(k int) bool { return rows.idx[lo+k] >= int32(nNgram) })
		for _, seg := range [2][2]int{{lo, mid}, {mid, hi}} {
			var norm float64
			for k := seg[0]; k < seg[1]; k++ {
				j := rows.idx[k]
				idf := f.IDFNgram
				if int(j) >= nNgram {
					idf, j = f.IDFToken, j-int32(nNgram)
				}
				rows.val[k] *= idf[j]
				norm += rows.val[k] * rows.val[k]
			}
			if norm > 0 {
				inv := 1 / math.Sqrt(norm)
				for k := seg[0]; k < seg[1]; k++ {
					rows.val[k] *= inv
				}
			}
		}
	}

	// Column means and variances; then scales: structural columns
	// z-scored, text columns only centred; each block then scaled so its
	// total variance equals its weight.
	mean, sq := make([]float64, p), make([]float64, p)
	for k, j := range rows.idx {
		v := rows.val[k]
		mean[j] += v
		sq[j] += v * v
	}
	for r := 0; r < n; r++ {
		for j, v := range rows.st[r*nStruct : (r+1)*nStruct] {
			mean[nText+j] += v
			sq[nText+j] += v * v
		}
	}
	scale := make([]float64, p)
	var blockVar [3]float64
	block := func(j int) int {
		switch {
		case j < nNgram:
			return 0
		case j < nText:
			return 1
		}
		return 2
	}
	for j := 0; j < p; j++ {
		mean[j] /= float64(n)
		v := math.Max(sq[j]/float64(n)-mean[j]*mean[j], 0)
		if v <= 1e-12*sq[j]/float64(n) { // constant column up to rounding
			v = 0
		}
		scale[j] = 1
		if j >= nText && v > 1e-12 {
			scale[j] = 1 / math.Sqrt(v)
		}
		blockVar[block(j)] += v * scale[j] * scale[j]
	}
	weights := [3]float64{cfg.NgramWeight, cfg.TokenWeight, cfg.StructWeight}
	for j := 0; j < p; j++ {
		b := block(j)
		if blockVar[b] > 0 {
			scale[j] *= math.Sqrt(weights[b] / blockVar[b])
		} else {
			scale[j] *= weights[b]
		}
	}
	f.Mean, f.Scale = mean, scale

	if cfg.Components > 0 {
		if err := f.fitSVD(&rows, n); err != nil {
			return nil, nil, err
		}
	}
	if err := f.Validate(); err != nil {
		return nil, nil, fmt.Errorf("featurizer: fitted model invalid: %w", err)
	}
	if !wantRows {
		return f, nil, nil
	}
	m := ml.NewMatrix(n, f.Dim())
	parallel(n, cfg.Workers, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			a, b := rows.start[r], rows.start[r+1]
			f.project(rows.idx[a:b], rows.val[a:b], rows.st[r*nStruct:(r+1)*nStruct], m.Row(r))
		}
	})
	return f, m, nil
}

// fitSVD fits a truncated SVD of the *scaled, centred* fit set
// X = S − 1·mᵀ (S_ij = x_ij·Scale_j, m_j = Mean_j·Scale_j) by randomised
// range finding with power iterations (Halko, Martinsson & Tropp 2011).
// X is never materialised: it is 36,000 × 5,000 for CSIC and sparse.
func (f *Features) fitSVD(rows *fitRows, n int) error {
	cfg := f.Config
	p := f.Cols()
	nText := len(f.IDFNgram) + len(f.IDFToken)
	nStruct := len(f.Struct)
	d := min(cfg.Components, n, p)
	l := min(d+cfg.Oversample, n, p)
	m := make([]float64, p)
	for j := range m {
		m[j] = f.Mean[j] * f.Scale[j]
	}
	// mulX: Y (n×l) = X·Z for Z (p×l), both row-major.
	mulX := func(z, y []float64) {
		mz := make([]float64, l)
		for j := 0; j < p; j++ {
			if m[j] != 0 {
				for k := 0; k < l; k++ {
					mz[k] += m[j] * z[j*l+k]
				}
			}
		}
		parallel(n, cfg.Workers, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				yr := y[r*l : (r+1)*l]
				for k := range yr {
					yr[k] = -mz[k]
				}
				for e := rows.start[r]; e < rows.start[r+1]; e++ {
					j := int(rows.idx[e])
					axpy(yr, rows.val[e]*f.Scale[j], z[j*l:(j+1)*l])
				}
				for s, v := range rows.st[r*nStruct : (r+1)*nStruct] {
					j := nText + s
					axpy(yr, v*f.Scale[j], z[j*l:(j+1)*l])
				}
			}
		})
	}
	// mulXT: Z (p×l) = Xᵀ·Y for Y (n×l). Column-parallel over a
	// transposed copy of the sparse part, so each z row is summed in row
	// order by one goroutine: the result does not depend on Workers.
	colStart := make([]int, nText+1)
	for _, j := range rows.idx {
		colStart[j+1]++
	}
	for j := 0; j < nText; j++ {
		colStart[j+1] += colStart[j]
	}
	colRow := make([]int32, len(rows.idx))
	colVal := make([]float64, len(rows.idx))
	fill := append([]int(nil), colStart[:nText]...)
	for r := 0; r < n; r++ {
		for e := rows.start[r]; e < rows.start[r+1]; e++ {
			j := rows.idx[e]
			colRow[fill[j]], colVal[fill[j]] = int32(r), rows.val[e]
			fill[j]++
		}
	}
	mulXT := func(y, z []float64) {
		colSum := make([]float64, l)
		for r := 0; r < n; r++ {
			axpy(colSum, 1, y[r*l:(r+1)*l])
		}
		parallel(p, cfg.Workers, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				zj := z[j*l : (j+1)*l]
				clear(zj)
				if j < nText {
					for e := colStart[j]; e < colStart[j+1]; e++ {
						r := int(colRow[e])
						axpy(zj, colVal[e]*f.Scale[j], y[r*l:(r+1)*l])
					}
				} else {
					s := j - nText
					for r := 0; r < n; r++ {
						if v := rows.st[r*nStruct+s]; v != 0 {
							axpy(zj, v*f.Scale[j], y[r*l:(r+1)*l])
						}
					}
				}
				if m[j] != 0 {
					axpy(zj, -m[j], colSum)
				}
			}
		})
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	z := make([]float64, p*l)
	for i := range z {
		z[i] = rng.NormFloat64()
	}
	y := make([]float64, n*l)
	mulX(z, y)
	orthonormalize(y, n, l)
	for it := 0; it < cfg.PowerIters; it++ {
		mulXT(y, z)
		orthonormalize(z, p, l)
		mulX(z, y)
		orthonormalize(y, n, l)
	}
	// B = Qᵀ·X = zᵀ with z = Xᵀ·Q. Small SVD through the l×l Gram zᵀz.
	mulXT(y, z)
	g := make([]float64, l*l)
	for j := 0; j < p; j++ {
		zj := z[j*l : (j+1)*l]
		for a := 0; a < l; a++ {
			if zj[a] == 0 {
				continue
			}
			axpy(g[a*l:(a+1)*l], zj[a], zj)
		}
	}
	evals, evecs := jacobiEigen(g, l)
	f.Components = make([]float64, d*p)
	f.Singular = make([]float64, d)
	for k := 0; k < d; k++ {
		sigma := math.Sqrt(math.Max(evals[k], 0))
		if k == 0 && sigma < 1e-9 {
			return errors.New("featurizer: the fit set has no variance (all events alike)")
		}
		if sigma < 1e-9*f.Singular[0] {
			return fmt.Errorf("featurizer: fit set has rank %d < %d components; lower Components", k, d)
		}
		f.Singular[k] = sigma
		comp := f.Components[k*p : (k+1)*p]
		for j := 0; j < p; j++ {
			var s float64
			zj := z[j*l : (j+1)*l]
			for a := 0; a < l; a++ {
				s += zj[a] * evecs[a*l+k]
			}
			comp[j] = s / sigma
		}
		// Deterministic sign: the largest loading positive.
		big := 0
		for j := range comp {
			if math.Abs(comp[j]) > math.Abs(comp[big]) {
				big = j
			}
		}
		if comp[big] < 0 {
			for j := range comp {
				comp[j] = -comp[j]
			}
		}
	}
	return nil
}

func axpy(dst []float64, a float64, x []float64) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] += a * v
	}
}

// orthonormalize replaces the l columns of the row-major rows×l matrix a
// by an orthonormal basis of their span (modified Gram–Schmidt, twice for
// stability). A column that collapses is replaced by zeros.
func orthonormalize(a []float64, rows, l int) {
	for pass := 0; pass < 2; pass++ {
		for k := 0; k < l; k++ {
			for q := 0; q < k; q++ {
				var dot float64
				for r := 0; r < rows; r++ {
					dot += a[r*l+k] * a[r*l+q]
				}
				for r := 0; r < rows; r++ {
					a[r*l+k] -= dot * a[r*l+q]
				}
			}
			var norm float64
			for r := 0; r < rows; r++ {
				norm += a[r*l+k] * a[r*l+k]
			}
			norm = math.Sqrt(norm)
			inv := 0.0
			if norm > 1e-300 {
				inv = 1 / norm
			}
			for r := 0; r < rows; r++ {
				a[r*l+k] *= inv
			}
		}
	}
}

// jacobiEigen diagonalises the symmetric l×l matrix g (destroyed) by
// cyclic Jacobi rotations, returning eigenvalues in decreasing order and
// the eigenvectors as the columns of a row-major l×l matrix.
func jacobiEigen(g []float64, l int) ([]float64, []float64) {
	v := make([]float64, l*l)
	for i := 0; i < l; i++ {
		v[i*l+i] = 1
	}
	for sweep := 0; sweep < 100; sweep++ {
		var off float64
		for i := 0; i < l; i++ {
			for j := i + 1; j < l; j++ {
				off += g[i*l+j] * g[i*l+j]
			}
		}
		if off < 1e-30 {
			break
		}
		for pi := 0; pi < l; pi++ {
			for qi := pi + 1; qi < l; qi++ {
				apq := g[pi*l+qi]
				if math.Abs(apq) < 1e-300 {
					continue
				}
				theta := (g[qi*l+qi] - g[pi*l+pi]) / (2 * apq)
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := 0; k < l; k++ { // rotate columns p, q
					gkp, gkq := g[k*l+pi], g[k*l+qi]
					g[k*l+pi], g[k*l+qi] = c*gkp-s*gkq, s*gkp+c*gkq
				}
				for k := 0; k < l; k++ { // rotate rows p, q
					gpk, gqk := g[pi*l+k], g[qi*l+k]
					g[pi*l+k], g[qi*l+k] = c*gpk-s*gqk, s*gpk+c*gqk
				}
				for k := 0; k < l; k++ {
					vkp, vkq := v[k*l+pi], v[k*l+qi]
					v[k*l+pi], v[k*l+qi] = c*vkp-s*vkq, s*vkp+c*vkq
				}
			}
		}
	}
	order := make([]int, l)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return g[order[a]*l+order[a]] > g[order[b]*l+order[b]] })
	evals := make([]float64, l)
	evecs := make([]float64, l*l)
	for k, o := range order {
		evals[k] = g[o*l+o]
		for r := 0; r < l; r++ {
			evecs[r*l+k] = v[r*l+o]
		}
	}
	return evals, evecs
}
