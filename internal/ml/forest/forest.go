// Package forest trains random forests and extra trees on the histogram
// core of package tree. Classification uses the core's K-output trees on
// one-hot targets: with g = −w·one-hot(y), one shared hessian h = w and no
// L2 penalty, the core's split gain is the decrease of the weighted Gini
// impurity and a leaf's values are its weighted class proportions. A
// forest averages those proportions over its trees.
//
// Random forests draw a bootstrap sample per tree and search every cut of
// √p features per node; extra trees use every row and one random cut per
// candidate feature. Trees are grown in parallel, one goroutine each.
package forest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/tree"
)

// Options configures a forest. DefaultOptions gives scikit-learn's
// RandomForestClassifier defaults, ExtraTreesOptions its
// ExtraTreesClassifier's.
type Options struct {
	// Trees is the number of trees (default 100).
	Trees int `json:"trees"`
	// MaxFeatures is the number of features considered at each node,
	// drawn from the non-constant ones; 0 means ⌊√p⌋, scikit-learn's
	// "sqrt".
	MaxFeatures int `json:"max_features,omitempty"`
	// MaxDepth bounds tree depth; 0 means unlimited (default).
	MaxDepth int `json:"max_depth,omitempty"`
	// MaxLeaves bounds leaves per tree; 0 means unlimited (default).
	MaxLeaves int `json:"max_leaves,omitempty"`
	// MinLeafWeight is the smallest total row weight of a leaf (default
	// 1: one row, scikit-learn's min_samples_leaf).
	MinLeafWeight float64 `json:"min_leaf_weight"`
	// Bootstrap draws n rows with replacement per tree (random forest).
	Bootstrap bool `json:"bootstrap"`
	// RandomSplits draws one random cut per candidate feature (extra
	// trees).
	RandomSplits bool `json:"random_splits"`
	// ClassWeights multiply the weight of every row of a class; nil means
	// all 1.
	ClassWeights []float64 `json:"class_weights,omitempty"`
	// MaxBins is the number of value bins per feature, 2..255 (default 255).
	MaxBins int `json:"max_bins"`
	// Threads bounds the goroutines; 0 means GOMAXPROCS.
	Threads int `json:"-"`
	// Seed drives the bootstrap, feature draws and random cuts.
	Seed uint64 `json:"seed"`
	// Progress, when set, is called after each tree with the number of
	// trees done and the total, from one goroutine at a time.
	Progress func(done, total int) `json:"-"`
}

// DefaultOptions returns random-forest defaults.
func DefaultOptions() Options {
	return Options{Trees: 100, MinLeafWeight: 1, Bootstrap: true, MaxBins: tree.MaxBins}
}

// ExtraTreesOptions returns extra-trees defaults: no bootstrap, random
// cuts.
func ExtraTreesOptions() Options {
	return Options{Trees: 100, MinLeafWeight: 1, RandomSplits: true, MaxBins: tree.MaxBins}
}

// Trainer fits a Model; it implements ml.Trainer.
type Trainer struct {
	Options Options
}

// New returns a trainer with the given options.
func New(opt Options) *Trainer { return &Trainer{Options: opt} }

// Fit trains a forest on train. Forests do not early-stop, so valid is
// not used.
func (t *Trainer) Fit(ctx context.Context, train, _ *ml.Dataset) (ml.Classifier, error) {
	return t.Train(ctx, train)
}

// Train is Fit with the concrete model type.
func (t *Trainer) Train(ctx context.Context, train *ml.Dataset) (*Model, error) {
	o := t.Options
	if err := train.Validate(); err != nil {
		return nil, fmt.Errorf("forest: training set: %w", err)
	}
	n, p, k := train.X.Rows, train.X.Cols, train.Classes
	switch {
	case n == 0:
		return nil, fmt.Errorf("forest: empty training set")
	case o.Trees < 1:
		return nil, fmt.Errorf("forest: %d trees", o.Trees)
	case o.MaxFeatures < 0:
		return nil, fmt.Errorf("forest: max features %d", o.MaxFeatures)
	case o.ClassWeights != nil && len(o.ClassWeights) != k:
		return nil, fmt.Errorf("forest: %d class weights for %d classes", len(o.ClassWeights), k)
	}
	threads := o.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	bins, err := tree.FitBins(train.X, nil, tree.BinOptions{MaxBins: o.MaxBins, Seed: o.Seed, Threads: threads})
	if err != nil {
		return nil, fmt.Errorf("forest: binning: %w", err)
	}
	binned, err := bins.Transform(train.X, threads)
	if err != nil {
		return nil, fmt.Errorf("forest: binning: %w", err)
	}
	nf := o.MaxFeatures
	if nf == 0 {
		nf = max(1, int(math.Sqrt(float64(p))))
	}
	params := tree.Params{
		Outputs: k, SharedHessian: true, OneHot: true, MaxDepth: o.MaxDepth, MaxLeaves: o.MaxLeaves,
		MinChildWeight: o.MinLeafWeight, NodeFeatures: nf, RandomSplits: o.RandomSplits, Threads: 1,
	}
	// Gradients are the same for every tree (a bootstrap repeats row
	// indices rather than reweighting), so one buffer serves all.
	s := k + 1
	gh := make([]float64, n*s)
	for i, y := range train.Y {
		w := 1.0
		if train.W != nil {
			w = train.W[i]
		}
		if o.ClassWeights != nil {
			w *= o.ClassWeights[y]
		}
		gh[i*s+y] = -w
		gh[i*s+k] = w
	}
	trees := make([]tree.Tree, o.Trees)
	var next, done atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(threads, o.Trees) {
		g, err := tree.NewGrower(binned, bins, params)
		if err != nil {
			return nil, fmt.Errorf("forest: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows := make([]int32, 0, n)
			counts := make([]int32, n)
			for i := int(next.Add(1)) - 1; i < o.Trees; i = int(next.Add(1)) - 1 {
				if err := ctx.Err(); err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, fmt.Errorf("forest: tree %d: %w", i, err))
					mu.Unlock()
					return
				}
				rng := rand.New(rand.NewPCG(o.Seed, uint64(i)))
				rows = sampleRows(rows[:0], counts, n, o.Bootstrap, rng)
				t, err := g.Grow(gh, rows, rng)
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, fmt.Errorf("forest: tree %d: %w", i, err))
					mu.Unlock()
					return
				}
				trees[i] = *t
				d := int(done.Add(1))
				if o.Progress != nil {
					mu.Lock()
					o.Progress(d, o.Trees)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	opts := o
	opts.ClassWeights = slices.Clone(o.ClassWeights)
	return &Model{Version: ModelVersion, Features: p, Classes: k, Bins: *bins, Trees: trees, Options: opts}, nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// sampleRows returns the rows of one tree, ascending: all of them, or a
// bootstrap of n draws with replacement where a row drawn c times appears
// c times, which weights it c-fold in every histogram.
func sampleRows(rows, counts []int32, n int, bootstrap bool, rng *rand.Rand) []int32 {
	if !bootstrap {
		for i := range n {
			rows = append(rows, int32(i))
		}
		return rows
	}
	clear(counts)
	for range n {
		counts[rng.IntN(n)]++
	}
	for i, c := range counts {
		for range c {
			rows = append(rows, int32(i))
		}
	}
	return rows
}
