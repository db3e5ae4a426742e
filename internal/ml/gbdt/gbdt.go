// Package gbdt trains gradient-boosted decision trees on the histogram core
// of package tree: binary logistic loss (one tree per round) and multiclass
// softmax (one tree per class per round, as XGBoost's multi:softprob does),
// with shrinkage, L2 and γ regularisation, row and column sampling, class
// weights and early stopping on a validation set.
//
// Features are binned once (package tree); every round computes the
// softmax or sigmoid gradients over all rows in parallel, grows the
// round's trees, and adds their leaf values to the training margins
// straight from the grower's leaf row ranges, without walking the trees.
// The K trees of a round only share the gradients, so as many grow side by
// side as there are threads, one goroutine each; the rest grow one at a
// time with every thread. The trees do not depend on the thread count.
package gbdt

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/tree"
)

// Options configures training. DefaultOptions gives XGBoost's defaults
// (depth 6, λ = 1, γ = 0, min_child_weight 1, no sampling, 256 bins)
// except for a smaller step, 0.1, over 200 rounds in place of XGBoost's
// 0.3 over 100: the usual trade of training time for a smoother fit.
type Options struct {
	// Rounds is the number of boosting rounds (default 200).
	Rounds int `json:"rounds"`
	// LearningRate (eta) shrinks every tree's leaf values (default 0.1).
	LearningRate float64 `json:"learning_rate"`
	// MaxDepth bounds tree depth (default 6); 0 means unlimited, then
	// MaxLeaves must be set.
	MaxDepth int `json:"max_depth"`
	// MaxLeaves bounds leaves per tree; 0 means unlimited (default).
	MaxLeaves int `json:"max_leaves,omitempty"`
	// LeafWise grows the best leaf first (LightGBM, XGBoost's lossguide)
	// instead of level by level (default false).
	LeafWise bool `json:"leaf_wise,omitempty"`
	// Lambda is the L2 penalty on leaf values (default 1).
	Lambda float64 `json:"lambda"`
	// Gamma is the smallest loss reduction a split must give (default 0).
	Gamma float64 `json:"gamma,omitempty"`
	// MinChildWeight is the smallest hessian sum of a child (default 1).
	MinChildWeight float64 `json:"min_child_weight"`
	// Subsample is the fraction of rows drawn for each round (default 1).
	Subsample float64 `json:"subsample"`
	// ColsampleByTree, ByLevel, ByNode are feature fractions (default 1).
	ColsampleByTree  float64 `json:"colsample_bytree"`
	ColsampleByLevel float64 `json:"colsample_bylevel"`
	ColsampleByNode  float64 `json:"colsample_bynode"`
	// ClassWeights multiply the weight of every row of a class; nil means
	// all 1. BalancedWeights computes inverse-frequency weights.
	ClassWeights []float64 `json:"class_weights,omitempty"`
	// EarlyStoppingRounds stops training when the validation log loss has
	// not improved for that many rounds, keeping the best round; 0 turns
	// it off. It needs a validation set.
	EarlyStoppingRounds int `json:"early_stopping_rounds,omitempty"`
	// MaxBins is the number of value bins per feature, 2..255 (default 255).
	MaxBins int `json:"max_bins"`
	// Threads bounds the goroutines; 0 means GOMAXPROCS.
	Threads int `json:"-"`
	// Seed drives binning samples, row and feature sampling.
	Seed uint64 `json:"seed"`
	// Progress, when set, is called after every round with the round
	// (1-based) and the training and validation log loss (NaN without a
	// validation set).
	Progress func(round int, trainLoss, validLoss float64) `json:"-"`
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{
		Rounds:           200,
		LearningRate:     0.1,
		MaxDepth:         6,
		Lambda:           1,
		MinChildWeight:   1,
		Subsample:        1,
		ColsampleByTree:  1,
		ColsampleByLevel: 1,
		ColsampleByNode:  1,
		MaxBins:          tree.MaxBins,
	}
}

// BalancedWeights returns class weights n/(K·n_k), which give every class
// the same total weight; a class with no rows gets weight 1.
func BalancedWeights(y []int, classes int) []float64 {
	counts := make([]float64, classes)
	for _, c := range y {
		counts[c]++
	}
	w := make([]float64, classes)
	for k, n := range counts {
		w[k] = 1
		if n > 0 {
			w[k] = float64(len(y)) / (float64(classes) * n)
		}
	}
	return w
}

// Trainer fits a Model; it implements ml.Trainer.
type Trainer struct {
	Options Options
}

// New returns a trainer with the given options.
func New(opt Options) *Trainer { return &Trainer{Options: opt} }

func (o *Options) check(classes int) error {
	switch {
	case o.Rounds < 1:
		return fmt.Errorf("gbdt: %d rounds", o.Rounds)
	case !(o.LearningRate > 0):
		return fmt.Errorf("gbdt: learning rate %v", o.LearningRate)
	case o.MaxDepth == 0 && o.MaxLeaves == 0:
		return fmt.Errorf("gbdt: trees need a depth or a leaf limit")
	case !(o.Subsample > 0 && o.Subsample <= 1):
		return fmt.Errorf("gbdt: subsample %v outside (0, 1]", o.Subsample)
	case o.ClassWeights != nil && len(o.ClassWeights) != classes:
		return fmt.Errorf("gbdt: %d class weights for %d classes", len(o.ClassWeights), classes)
	case o.EarlyStoppingRounds < 0:
		return fmt.Errorf("gbdt: negative early stopping rounds")
	}
	for k, w := range o.ClassWeights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("gbdt: class %d weight %v", k, w)
		}
	}
	return nil
}

// Fit trains a model on train; valid, if not nil, drives early stopping
// and the validation loss reported to Progress.
func (t *Trainer) Fit(ctx context.Context, train, valid *ml.Dataset) (ml.Classifier, error) {
	return t.Train(ctx, train, valid)
}

// Train is Fit with the concrete model type.
func (t *Trainer) Train(ctx context.Context, train, valid *ml.Dataset) (*Model, error) {
	o := t.Options
	if err := train.Validate(); err != nil {
		return nil, fmt.Errorf("gbdt: training set: %w", err)
	}
	if train.X.Rows == 0 {
		return nil, fmt.Errorf("gbdt: empty training set")
	}
	if valid != nil {
		if err := valid.Validate(); err != nil {
			return nil, fmt.Errorf("gbdt: validation set: %w", err)
		}
		if valid.X.Cols != train.X.Cols || valid.Classes != train.Classes {
			return nil, fmt.Errorf("gbdt: validation set has %d features and %d classes, training set %d and %d",
				valid.X.Cols, valid.Classes, train.X.Cols, train.Classes)
		}
	}
	if err := o.check(train.Classes); err != nil {
		return nil, err
	}
	if o.EarlyStoppingRounds > 0 && valid == nil {
		return nil, fmt.Errorf("gbdt: early stopping needs a validation set")
	}
	threads := o.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	b := newBooster(o, train, threads)
	if err := b.prepare(valid); err != nil {
		return nil, err
	}
	return b.run(ctx, valid)
}

// booster is the state of one training run.
type booster struct {
	o       Options
	train   *ml.Dataset
	threads int
	k       int // outputs: 1 for binary, else classes
	n       int

	bins    *tree.Bins
	binned  *tree.Binned
	vbinned *tree.Binned
	w       []float64   // row weights with class weights applied
	margin  []float64   // n × k
	vmargin []float64   // valid rows × k
	gh      [][]float64 // per output, n × 2
	growers []*tree.Grower
	all     []int32
	rows    []int32
	model   *Model
}

func newBooster(o Options, train *ml.Dataset, threads int) *booster {
	k := train.Classes
	if k == 2 {
		k = 1
	}
	return &booster{o: o, train: train, threads: threads, k: k, n: train.X.Rows}
}

func (b *booster) prepare(valid *ml.Dataset) error {
	o, tr := &b.o, b.train
	bins, err := tree.FitBins(tr.X, nil, tree.BinOptions{MaxBins: o.MaxBins, Seed: o.Seed, Threads: b.threads})
	if err != nil {
		return fmt.Errorf("gbdt: binning: %w", err)
	}
	b.bins = bins
	if b.binned, err = bins.Transform(tr.X, b.threads); err != nil {
		return fmt.Errorf("gbdt: binning: %w", err)
	}
	if valid != nil {
		if b.vbinned, err = bins.Transform(valid.X, b.threads); err != nil {
			return fmt.Errorf("gbdt: binning validation set: %w", err)
		}
		b.vmargin = make([]float64, valid.X.Rows*b.k)
	}
	b.w = rowWeights(tr, o.ClassWeights)
	p := tree.Params{
		Outputs: 1, MaxDepth: o.MaxDepth, MaxLeaves: o.MaxLeaves, LeafWise: o.LeafWise,
		Lambda: o.Lambda, Gamma: o.Gamma, MinChildWeight: o.MinChildWeight,
		ColsampleByTree: o.ColsampleByTree, ColsampleByLevel: o.ColsampleByLevel, ColsampleByNode: o.ColsampleByNode,
		Scale: o.LearningRate, Threads: b.threads,
	}
	// One grower per concurrent tree: the K trees of a round are
	// independent given the gradients, so with K >= threads they grow side
	// by side, one goroutine each, with no synchronisation per node.
	ng := 1
	if b.k >= b.threads {
		ng = b.threads
	}
	for range ng {
		g, err := tree.NewGrower(b.binned, bins, p)
		if err != nil {
			return fmt.Errorf("gbdt: %w", err)
		}
		b.growers = append(b.growers, g)
	}
	b.gh = make([][]float64, b.k)
	for k := range b.gh {
		b.gh[k] = make([]float64, 2*b.n)
	}
	b.all = make([]int32, b.n)
	for i := range b.all {
		b.all[i] = int32(i)
	}
	base := baseScore(tr.Y, b.w, tr.Classes, b.k)
	b.margin = make([]float64, b.n*b.k)
	for i := range b.n {
		copy(b.margin[i*b.k:(i+1)*b.k], base)
	}
	for i := 0; i < len(b.vmargin); i += b.k {
		copy(b.vmargin[i:i+b.k], base)
	}
	opts := *o
	opts.ClassWeights = append([]float64(nil), o.ClassWeights...)
	b.model = &Model{
		Version: ModelVersion, Features: tr.X.Cols, Classes: tr.Classes, Outputs: b.k,
		Bins: *bins, BaseScore: base, Options: opts,
	}
	return nil
}

func rowWeights(d *ml.Dataset, cw []float64) []float64 {
	w := make([]float64, d.X.Rows)
	for i := range w {
		w[i] = 1
		if d.W != nil {
			w[i] = d.W[i]
		}
		if cw != nil {
			w[i] *= cw[d.Y[i]]
		}
	}
	return w
}

// baseScore is the margin of the weighted class priors: the log-odds of
// class 1 for binary, the log priors for softmax.
func baseScore(y []int, w []float64, classes, k int) []float64 {
	prior := make([]float64, classes)
	total := 0.0
	for i, c := range y {
		prior[c] += w[i]
		total += w[i]
	}
	const floor = 1e-6
	p := func(c int) float64 {
		if total <= 0 {
			return 1 / float64(classes)
		}
		return min(max(prior[c]/total, floor), 1-floor)
	}
	if k == 1 {
		p1 := p(1)
		return []float64{math.Log(p1 / (1 - p1))}
	}
	base := make([]float64, k)
	for c := range base {
		base[c] = math.Log(p(c))
	}
	return base
}

func (b *booster) run(ctx context.Context, valid *ml.Dataset) (*Model, error) {
	o := &b.o
	best, bestRound := math.Inf(1), 0
	for round := range o.Rounds {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("gbdt: round %d: %w", round+1, err)
		}
		b.gradients()
		b.sampleRows(round)
		trees, err := b.growRound(round)
		if err != nil {
			return nil, fmt.Errorf("gbdt: round %d: %w", round+1, err)
		}
		b.model.Trees = append(b.model.Trees, trees...)
		vloss := math.NaN()
		if valid != nil {
			vloss = logLoss(b.vmargin, valid.Y, valid.W, b.k, b.threads)
		}
		if o.Progress != nil {
			o.Progress(round+1, logLoss(b.margin, b.train.Y, b.w, b.k, b.threads), vloss)
		}
		if valid != nil && o.EarlyStoppingRounds > 0 {
			if vloss < best {
				best, bestRound = vloss, round+1
			} else if round+1-bestRound >= o.EarlyStoppingRounds {
				break
			}
		}
	}
	m := b.model
	m.Rounds = len(m.Trees) / b.k
	if valid != nil && o.EarlyStoppingRounds > 0 && bestRound > 0 {
		m.Trees = m.Trees[:bestRound*b.k]
		m.Rounds = bestRound
	}
	m.Trees = append([]tree.Tree(nil), m.Trees...)
	return m, nil
}

// gradients fills gh with the loss's first and second derivatives at the
// current margins, weighted. For softmax the hessian is 2p(1−p), the
// bound XGBoost's multi:softprob uses, so that equal settings give equal
// step sizes in a side-by-side comparison.
func (b *booster) gradients() {
	tr := b.train
	k := b.k
	tree.ParallelChunks(b.n, b.threads, func(_, lo, hi int) {
		p := make([]float64, k)
		for i := lo; i < hi; i++ {
			w := b.w[i]
			if k == 1 {
				pr := sigmoid(b.margin[i])
				y := float64(tr.Y[i])
				b.gh[0][2*i] = (pr - y) * w
				b.gh[0][2*i+1] = max(pr*(1-pr), 1e-16) * w
				continue
			}
			softmax(b.margin[i*k:(i+1)*k], p)
			for c := range k {
				y := 0.0
				if tr.Y[i] == c {
					y = 1
				}
				b.gh[c][2*i] = (p[c] - y) * w
				b.gh[c][2*i+1] = max(2*p[c]*(1-p[c]), 1e-16) * w
			}
		}
	})
}

// sampleRows draws this round's rows.
func (b *booster) sampleRows(round int) {
	if b.o.Subsample >= 1 {
		b.rows = b.all
		return
	}
	rng := rand.New(rand.NewPCG(b.o.Seed, 0x726f7773<<32|uint64(round)))
	b.rows = b.rows[:0]
	for i := range b.n {
		if rng.Float64() < b.o.Subsample {
			b.rows = append(b.rows, int32(i))
		}
	}
	if len(b.rows) == 0 {
		b.rows = append(b.rows, int32(rng.IntN(b.n)))
	}
}

// growRound grows the round's K trees: as many side by side as there are
// threads, the rest one at a time with every thread, and adds each tree to
// the training and validation margins.
func (b *booster) growRound(round int) ([]tree.Tree, error) {
	trees := make([]tree.Tree, b.k)
	errs := make([]error, b.k)
	grow := func(g *tree.Grower, c int) {
		rng := rand.New(rand.NewPCG(b.o.Seed, uint64(round)*uint64(b.k)+uint64(c)))
		t, err := g.Grow(b.gh[c], b.rows, rng)
		if err != nil {
			errs[c] = err
			return
		}
		trees[c] = *t
		b.update(g, t, c)
	}
	side := 0
	if len(b.growers) > 1 {
		side = b.k - b.k%len(b.growers)
		var next atomic.Int32
		var wg sync.WaitGroup
		for _, g := range b.growers {
			g.SetThreads(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := int(next.Add(1)) - 1; c < side; c = int(next.Add(1)) - 1 {
					grow(g, c)
				}
			}()
		}
		wg.Wait()
	}
	b.growers[0].SetThreads(b.threads)
	for c := side; c < b.k; c++ {
		grow(b.growers[0], c)
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return trees, nil
}

// update adds tree t (output c) to the margins: sampled training rows
// through the grower's leaf ranges, the others and the validation rows by
// walking the binned tree.
func (b *booster) update(g *tree.Grower, t *tree.Tree, c int) {
	k := b.k
	for l := range int32(len(t.Values)) {
		v := t.Values[l]
		for _, r := range g.LeafRows(l) {
			b.margin[int(r)*k+c] += v
		}
	}
	if len(b.rows) < b.n {
		in := 0
		for i := range b.n {
			if in < len(b.rows) && int(b.rows[in]) == i {
				in++
				continue
			}
			b.margin[i*k+c] += t.Values[t.LeafBinned(b.binned, i)]
		}
	}
	if b.vbinned != nil {
		for i := range b.vbinned.Rows {
			b.vmargin[i*k+c] += t.Values[t.LeafBinned(b.vbinned, i)]
		}
	}
}

// logLoss is the weighted mean negative log-likelihood of the labels.
func logLoss(margin []float64, y []int, w []float64, k, threads int) float64 {
	n := len(y)
	parts := make([][2]float64, max(1, threads))
	tree.ParallelChunks(n, threads, func(t, lo, hi int) {
		p := make([]float64, max(k, 2))
		sum, wsum := 0.0, 0.0
		for i := lo; i < hi; i++ {
			wi := 1.0
			if w != nil {
				wi = w[i]
			}
			probs(margin[i*k:(i+1)*k], p)
			sum -= wi * math.Log(max(p[y[i]], 1e-15))
			wsum += wi
		}
		parts[t] = [2]float64{sum, wsum}
	})
	sum, wsum := 0.0, 0.0
	for _, p := range parts {
		sum += p[0]
		wsum += p[1]
	}
	if wsum == 0 {
		return 0
	}
	return sum / wsum
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// softmax writes the softmax of m to p, shifted by the maximum so that
// large margins do not overflow.
func softmax(m, p []float64) {
	mx := m[0]
	for _, v := range m[1:] {
		mx = max(mx, v)
	}
	s := 0.0
	for i, v := range m {
		p[i] = math.Exp(v - mx)
		s += p[i]
	}
	for i := range p[:len(m)] {
		p[i] /= s
	}
}

// probs turns one row's margins into class probabilities.
func probs(m, p []float64) {
	if len(m) == 1 {
		p[1] = sigmoid(m[0])
		p[0] = 1 - p[1]
		return
	}
	softmax(m, p)
}
