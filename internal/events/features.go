package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/flowguard/flowguard/internal/ml"
)

// Featurizer configures Fit. The zero value is usable: zero fields take
// the defaults documented beside them.
type Featurizer struct {
	NgramMin, NgramMax int // character n-gram range; default 1..3
	NgramBits          int // 2^NgramBits signed hash buckets; default 12
	TokenBits          int // 2^TokenBits buckets for word tokens; default 10
	KeepDigits         bool
	HTMLEntities       bool // also undo &lt; &#60; … when decoding

	// Share of the total (scaled) variance each block gets before the
	// projection, so neither 4,096 sparse n-gram columns nor ~50 dense
	// structural ones drown the other. Defaults 1, 1, 1.
	NgramWeight, TokenWeight, StructWeight float64

	Components int // SVD output dimension; default 32; -1 keeps all scaled columns (no projection)
	Oversample int // extra random directions in the randomised SVD; default 10
	PowerIters int // power iterations; default 3
	NoResidual bool
	Seed       uint64
	MaxFitRows int // evenly spaced subsample beyond this; default 100,000
	Workers    int // default GOMAXPROCS
}

func (c Featurizer) withDefaults() Featurizer {
	if c.NgramMin <= 0 {
		c.NgramMin = 1
	}
	if c.NgramMax <= 0 {
		c.NgramMax = max(3, c.NgramMin)
	}
	if c.NgramBits <= 0 {
		c.NgramBits = 12
	}
	if c.TokenBits <= 0 {
		c.TokenBits = 10
	}
	if c.NgramWeight == 0 {
		c.NgramWeight = 1
	}
	if c.TokenWeight == 0 {
		c.TokenWeight = 1
	}
	if c.StructWeight == 0 {
		c.StructWeight = 1
	}
	if c.Components == 0 {
		c.Components = 32
	}
	if c.Oversample <= 0 {
		c.Oversample = 10
	}
	if c.PowerIters <= 0 {
		c.PowerIters = 3
	}
	if c.MaxFitRows <= 0 {
		c.MaxFitRows = 100_000
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return c
}

func (c Featurizer) validate() error {
	switch {
	case c.NgramMin < 1 || c.NgramMax < c.NgramMin || c.NgramMax > 8:
		return fmt.Errorf("n-gram range %d..%d: want 1 ≤ min ≤ max ≤ 8", c.NgramMin, c.NgramMax)
	case c.NgramBits < 4 || c.NgramBits > 20 || c.TokenBits < 4 || c.TokenBits > 20:
		return fmt.Errorf("hash bits %d/%d: want 4..20", c.NgramBits, c.TokenBits)
	case c.NgramWeight < 0 || c.TokenWeight < 0 || c.StructWeight < 0 ||
		!finite(c.NgramWeight) || !finite(c.TokenWeight) || !finite(c.StructWeight):
		return errors.New("block weights must be finite and ≥ 0")
	case c.Components < -1:
		return fmt.Errorf("components %d: want -1 or ≥ 1", c.Components)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Features is everything Fit learned, as plain data: the IDF weights of
// both hashed blocks, the per-column centring and scaling, and the SVD
// components fitted on the scaled fit set. Transform applies exactly
// these, in this order, so fit and score cannot disagree.
type Features struct {
	Version int        `json:"version"`
	Config  Featurizer `json:"config"`
	NumFit  int        `json:"num_fit"`

	IDFNgram []float64 `json:"idf_ngram"` // len 2^NgramBits
	IDFToken []float64 `json:"idf_token"` // len 2^TokenBits
	Struct   []string  `json:"struct_names"`

	// Column j of the raw vector [ngram | token | struct] becomes
	// (x_j − Mean_j)·Scale_j.
	Mean  []float64 `json:"mean"`
	Scale []float64 `json:"scale"`

	// Components is Dim×Cols row-major (rows orthonormal); Singular their
	// singular values on the scaled fit set. Empty when Components = -1.
	Components []float64 `json:"components,omitempty"`
	Singular   []float64 `json:"singular,omitempty"`

	// derived, rebuilt by Validate
	offset []float64 // Components · (Mean∘Scale)
	mnorm2 float64   // ‖Mean∘Scale‖²
	compT  []float64 // Components transposed (Cols×Dim), so project reads a column's weights contiguously
	pool   *sync.Pool
}

const featuresVersion = 1

// Cols is the width of the raw (and scaled) vector.
func (f *Features) Cols() int { return len(f.IDFNgram) + len(f.IDFToken) + len(f.Struct) }

// Dim is the length of Transform's output.
func (f *Features) Dim() int {
	d := f.Cols()
	if len(f.Components) > 0 {
		d = len(f.Singular)
	}
	if !f.Config.NoResidual && len(f.Components) > 0 {
		d++
	}
	return d
}

// Names labels each output column.
func (f *Features) Names() []string {
	var out []string
	if len(f.Components) == 0 {
		for i := range f.IDFNgram {
			out = append(out, fmt.Sprintf("ngram_%d", i))
		}
		for i := range f.IDFToken {
			out = append(out, fmt.Sprintf("token_%d", i))
		}
		return append(out, f.Struct...)
	}
	for i := range f.Singular {
		out = append(out, fmt.Sprintf("svd_%d", i))
	}
	if !f.Config.NoResidual {
		out = append(out, "svd_residual")
	}
	return out
}

// Validate checks the model's shapes and values and rebuilds its derived
// state; call it after decoding one from JSON (ReadFeatures does).
func (f *Features) Validate() error {
	if f.Version != featuresVersion {
		return fmt.Errorf("features: version %d, want %d", f.Version, featuresVersion)
	}
	if err := f.Config.validate(); err != nil {
		return fmt.Errorf("features: config: %w", err)
	}
	if len(f.IDFNgram) != 1<<f.Config.NgramBits || len(f.IDFToken) != 1<<f.Config.TokenBits {
		return fmt.Errorf("features: %d/%d IDF weights for %d/%d hash bits", len(f.IDFNgram), len(f.IDFToken), f.Config.NgramBits, f.Config.TokenBits)
	}
	if len(f.Struct) != len(structNames) {
		return fmt.Errorf("features: %d structural features, this build computes %d", len(f.Struct), len(structNames))
	}
	for i, n := range structNames {
		if f.Struct[i] != n {
			return fmt.Errorf("features: structural feature %d is %q, this build computes %q", i, f.Struct[i], n)
		}
	}
	p := f.Cols()
	if len(f.Mean) != p || len(f.Scale) != p {
		return fmt.Errorf("features: %d means and %d scales for %d columns", len(f.Mean), len(f.Scale), p)
	}
	if len(f.Components)%p != 0 || len(f.Components)/p != len(f.Singular) {
		return fmt.Errorf("features: %d component values and %d singular values for %d columns", len(f.Components), len(f.Singular), p)
	}
	if f.Config.Components > 0 && len(f.Singular) == 0 {
		return errors.New("features: no SVD components")
	}
	for _, s := range [][]float64{f.IDFNgram, f.IDFToken, f.Mean, f.Scale, f.Components, f.Singular} {
		for _, v := range s {
			if !finite(v) {
				return errors.New("features: non-finite parameter")
			}
		}
	}
	f.derive()
	return nil
}

func (f *Features) derive() {
	p := f.Cols()
	d := len(f.Singular)
	f.offset = make([]float64, d)
	f.mnorm2 = 0
	f.compT = make([]float64, len(f.Components))
	for k := 0; k < d; k++ {
		for j := 0; j < p; j++ {
			f.compT[j*d+k] = f.Components[k*p+j]
		}
	}
	for j := 0; j < p; j++ {
		m := f.Mean[j] * f.Scale[j]
		f.mnorm2 += m * m
		for k := 0; k < d; k++ {
			f.offset[k] += f.Components[k*p+j] * m
		}
	}
	f.pool = &sync.Pool{New: func() any { return newScratch(f.Config) }}
}

// WriteTo encodes f as JSON.
func (f *Features) WriteTo(w io.Writer) (int64, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return 0, fmt.Errorf("encoding features: %w", err)
	}
	n, err := w.Write(b)
	return int64(n), err
}

// ReadFeatures decodes and validates a model written by WriteTo.
func ReadFeatures(r io.Reader) (*Features, error) {
	var f Features
	if err := json.NewDecoder(r).Decode(&f); err != nil {
		return nil, fmt.Errorf("decoding features: %w", err)
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// scratch is per-call working memory, pooled so Transform does not
// allocate per event in steady state.
type scratch struct {
	text   []byte
	ngram  []float64 // dense accumulators, cleared through touched lists
	token  []float64
	tn, tt []int32
	st     []float64
	idxBuf []int32
	valBuf []float64
}

func newScratch(c Featurizer) *scratch {
	return &scratch{
		ngram: make([]float64, 1<<c.NgramBits),
		token: make([]float64, 1<<c.TokenBits),
		st:    make([]float64, len(structNames)),
	}
}

// hashing: FNV-1a over the n-gram's bytes; the low bits pick the
// bucket, the top bit the sign, so collisions cancel in expectation
// instead of piling up (the signed hashing trick).
const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func addHashed(acc []float64, touched []int32, h uint32) []int32 {
	mask := uint32(len(acc) - 1)
	b := h & mask
	if acc[b] == 0 {
		touched = append(touched, int32(b))
	}
	if h&0x80000000 != 0 {
		acc[b]--
	} else {
		acc[b]++
	}
	return touched
}

// counts fills the raw term counts of one event into s.
func (c *Featurizer) counts(e *Event, s *scratch) docParts {
	d := decodeParts(e, c.HTMLEntities)
	s.text = normText(s.text[:0], &d, c.KeepDigits)
	t := s.text
	s.tn, s.tt = s.tn[:0], s.tt[:0]
	for n := c.NgramMin; n <= c.NgramMax; n++ {
		for i := 0; i+n <= len(t); i++ {
			h := uint32(fnvOffset) ^ uint32(n) // n in the seed: "a" and "aa" never share a hash by construction
			h *= fnvPrime
			for _, b := range t[i : i+n] {
				h ^= uint32(b)
				h *= fnvPrime
			}
			s.tn = addHashed(s.ngram, s.tn, h)
		}
	}
	// Tokens: maximal runs of letters, digits, '_' (non-ASCII counts as a
	// letter so Latin-1 words stay whole).
	start := -1
	for i := 0; i <= len(t); i++ {
		word := i < len(t) && (t[i] >= 'a' && t[i] <= 'z' || t[i] >= '0' && t[i] <= '9' || t[i] == '_' || t[i] >= 0x80)
		if word && start < 0 {
			start = i
		} else if !word && start >= 0 {
			h := uint32(fnvOffset)
			for _, b := range t[start:i] {
				h ^= uint32(b)
				h *= fnvPrime
			}
			s.tt = addHashed(s.token, s.tt, h)
			start = -1
		}
	}
	structFeatures(s.st, e, &d, t)
	return d
}

// tfidf turns the accumulated signed counts in acc (touched entries) into
// sublinear-tf × idf values, L2-normalised, appended to idx/val, and
// clears acc.
func tfidf(acc []float64, touched []int32, idf []float64, base int32, idx []int32, val []float64) ([]int32, []float64) {
	slices.Sort(touched) // equal entries (a bucket that went back to 0 and was touched again) are indistinguishable
	start := len(val)
	var norm float64
	for _, j := range touched {
		c := acc[j]
		acc[j] = 0
		if c == 0 {
			continue
		}
		tf := 1 + math.Log(math.Abs(c))
		if c < 0 {
			tf = -tf
		}
		v := tf
		if idf != nil {
			v *= idf[j]
		}
		norm += v * v
		idx = append(idx, base+j)
		val = append(val, v)
	}
	if norm > 0 {
		inv := 1 / math.Sqrt(norm)
		for i := start; i < len(val); i++ {
			val[i] *= inv
		}
	}
	return idx, val
}

// raw computes the unscaled vector of e: sparse text part (idx, val) and
// dense structural part (s.st).
func (f *Features) raw(e *Event, s *scratch, idx []int32, val []float64) ([]int32, []float64) {
	f.Config.counts(e, s)
	idx, val = tfidf(s.ngram, s.tn, f.IDFNgram, 0, idx, val)
	idx, val = tfidf(s.token, s.tt, f.IDFToken, int32(len(f.IDFNgram)), idx, val)
	return idx, val
}

// Transform writes the feature vector of e into dst (grown when short)
// and returns it: scaled raw vector, projected on the SVD components,
// plus the residual norm off the fitted subspace (an anomaly score of its
// own) unless NoResidual.
func (f *Features) Transform(e *Event, dst []float64) []float64 {
	if f.pool == nil {
		f.derive()
	}
	s := f.pool.Get().(*scratch)
	defer f.pool.Put(s)
	idx, val := f.raw(e, s, s.tn2()[:0], s.val2()[:0])
	dst = f.project(idx, val, s.st, dst)
	s.keep(idx, val)
	return dst
}

// project applies scaling then projection to one raw vector.
func (f *Features) project(idx []int32, val []float64, st []float64, dst []float64) []float64 {
	p := f.Cols()
	nText := len(f.IDFNgram) + len(f.IDFToken)
	dim := f.Dim()
	if cap(dst) < dim {
		dst = make([]float64, dim)
	}
	dst = dst[:dim]
	clear(dst)
	if len(f.Components) == 0 {
		for j := 0; j < p; j++ {
			dst[j] = -f.Mean[j] * f.Scale[j]
		}
		for i, j := range idx {
			dst[j] += val[i] * f.Scale[j]
		}
		for j, v := range st {
			dst[nText+j] += v * f.Scale[nText+j]
		}
		return dst
	}
	d := len(f.Singular)
	// ‖x_s − m‖² = Σ x_s² − 2 Σ x_s·m + ‖m‖², x_s sparse in the text part.
	var x2, xm float64
	out := dst[:d]
	acc := func(j int, xs float64) {
		m := f.Mean[j] * f.Scale[j]
		x2 += xs * xs
		xm += xs * m
		for k, c := range f.compT[j*d : (j+1)*d] {
			out[k] += c * xs
		}
	}
	for i, j := range idx {
		acc(int(j), val[i]*f.Scale[j])
	}
	for j, v := range st {
		acc(nText+j, v*f.Scale[nText+j])
	}
	var y2 float64
	for k := 0; k < d; k++ {
		dst[k] -= f.offset[k]
		y2 += dst[k] * dst[k]
	}
	if !f.Config.NoResidual {
		r2 := x2 - 2*xm + f.mnorm2 - y2
		dst[d] = math.Sqrt(math.Max(r2, 0))
	}
	return dst
}

// TransformAll transforms events in parallel into a matrix.
func (f *Features) TransformAll(evs []*Event) *ml.Matrix {
	m := ml.NewMatrix(len(evs), f.Dim())
	parallel(len(evs), f.Config.withDefaults().Workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			f.Transform(evs[i], m.Row(i))
		}
	})
	return m
}

// The scratch also keeps sparse index/value buffers between calls.
func (s *scratch) tn2() []int32 {
	if s.idxBuf == nil {
		s.idxBuf = make([]int32, 0, 512)
	}
	return s.idxBuf
}
func (s *scratch) val2() []float64 {
	if s.valBuf == nil {
		s.valBuf = make([]float64, 0, 512)
	}
	return s.valBuf
}
func (s *scratch) keep(idx []int32, val []float64) { s.idxBuf, s.valBuf = idx, val }

func parallel(n, workers int, fn func(lo, hi int)) {
	if workers <= 1 || n < 256 {
		fn(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(lo+chunk, n))
	}
	wg.Wait()
}
