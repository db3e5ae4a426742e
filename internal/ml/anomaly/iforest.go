// Package anomaly scores how unusual a flow is after training on normal
// traffic only: an isolation forest (Liu, Ting & Zhou 2008) and the
// threshold that flags a chosen false-positive rate of normal traffic.
package anomaly

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
)

// Node is one node of an isolation tree. A leaf has Feature −1 and the
// number of training rows that reached it in Size; an internal node sends
// a row with x[Feature] < Split to Left, the rest to Right.
type Node struct {
	Feature int     `json:"f"`
	Split   float64 `json:"s,omitempty"`
	Left    int     `json:"l,omitempty"`
	Right   int     `json:"r,omitempty"`
	Size    int     `json:"n,omitempty"`
}

// Tree is an isolation tree in preorder: node 0 is the root, and
// children always come after their parent.
type Tree struct {
	Nodes []Node `json:"nodes"`
}

// IsolationForest is a fitted model. It is plain data for encoding/json;
// call Validate after decoding one.
type IsolationForest struct {
	Features   int    `json:"features"`
	SampleSize int    `json:"sample_size"` // ψ, rows per tree
	Trees      []Tree `json:"trees"`
	// Threshold is the score above which a row is anomalous, usually set
	// with Threshold on held-out normal scores; 0 means not set.
	Threshold float64 `json:"threshold,omitempty"`
}

// Options configures Fit; the zero value means 100 trees of 256 rows,
// seed 0, all cores.
type Options struct {
	Trees      int    // default 100
	SampleSize int    // ψ, default 256 (or every row if fewer)
	MaxDepth   int    // default ceil(log2 ψ), the paper's height limit
	Seed       uint64 // same seed, same data → same forest, whatever Workers
	Workers    int    // <= 0 means GOMAXPROCS
	Context    context.Context
}

// Fit grows an isolation forest on x, which should hold normal rows only.
// Each tree sees ψ rows drawn without replacement and splits on a random
// non-constant feature at a uniform random point between its min and max
// in the node, until the row is isolated or the height limit is reached.
func Fit(x *ml.Matrix, o Options) (*IsolationForest, error) {
	if x == nil || x.Rows < 2 || x.Cols < 1 || len(x.Data) != x.Rows*x.Cols {
		return nil, fmt.Errorf("isolation forest: need a well-formed matrix of at least 2 rows")
	}
	for i, v := range x.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("isolation forest: row %d column %d is %v", i/x.Cols, i%x.Cols, v)
		}
	}
	if o.Trees <= 0 {
		o.Trees = 100
	}
	if o.SampleSize <= 0 {
		o.SampleSize = 256
	}
	psi := min(o.SampleSize, x.Rows)
	if psi < 2 {
		return nil, fmt.Errorf("isolation forest: sample size %d must be at least 2", psi)
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = int(math.Ceil(math.Log2(float64(psi))))
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	f := &IsolationForest{Features: x.Cols, SampleSize: psi, Trees: make([]Tree, o.Trees)}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, o.Trees) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := grower{x: x, maxDepth: o.MaxDepth}
			for ctx.Err() == nil {
				t := int(next.Add(1)) - 1
				if t >= o.Trees {
					return
				}
				// One stream per tree keeps the forest independent of
				// which goroutine grows which tree.
				g.rng = rand.New(rand.NewPCG(o.Seed, uint64(t)))
				f.Trees[t] = g.grow(psi)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("isolation forest: %w", err)
	}
	return f, nil
}

type grower struct {
	x        *ml.Matrix
	maxDepth int
	rng      *rand.Rand
	rows     []int
	feats    []int
	nodes    []Node
}

func (g *grower) grow(psi int) Tree {
	n := g.x.Rows
	if cap(g.rows) < n {
		g.rows = make([]int, n)
	}
	g.rows = g.rows[:n]
	for i := range g.rows {
		g.rows[i] = i
	}
	// Partial Fisher–Yates: the first ψ entries become the sample.
	for i := range psi {
		j := i + g.rng.IntN(n-i)
		g.rows[i], g.rows[j] = g.rows[j], g.rows[i]
	}
	g.nodes = g.nodes[:0]
	g.split(g.rows[:psi], 0)
	return Tree{Nodes: slices.Clone(g.nodes)}
}

func (g *grower) split(rows []int, depth int) int {
	id := len(g.nodes)
	g.nodes = append(g.nodes, Node{Feature: -1, Size: len(rows)})
	if len(rows) <= 1 || depth >= g.maxDepth {
		return id
	}
	// Only features that vary in this node can split it.
	g.feats = g.feats[:0]
	for j := range g.x.Cols {
		v0 := g.x.At(rows[0], j)
		for _, r := range rows[1:] {
			if g.x.At(r, j) != v0 {
				g.feats = append(g.feats, j)
				break
			}
		}
	}
	if len(g.feats) == 0 {
		return id
	}
	feat := g.feats[g.rng.IntN(len(g.feats))]
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		v := g.x.At(r, feat)
		lo, hi = min(lo, v), max(hi, v)
	}
	s := lo + g.rng.Float64()*(hi-lo)
	if s <= lo { // keep both sides non-empty
		s = math.Nextafter(lo, hi)
	}
	// Partition rows in place: < s first.
	k := 0
	for i, r := range rows {
		if g.x.At(r, feat) < s {
			rows[i], rows[k] = rows[k], rows[i]
			k++
		}
	}
	l := g.split(rows[:k], depth+1)
	r := g.split(rows[k:], depth+1)
	g.nodes[id] = Node{Feature: feat, Split: s, Left: l, Right: r}
	return id
}

// AveragePathLength is c(n), the average path length of an unsuccessful
// search in a binary search tree of n points (Liu et al. 2008, eq. 1):
// 2H(n−1) − 2(n−1)/n with H(i) ≈ ln i + γ; c(1) = 0 and c(2) = 1.
func AveragePathLength(n int) float64 {
	switch {
	case n <= 1:
		return 0
	case n == 2:
		return 1
	}
	m := float64(n - 1)
	return 2*(math.Log(m)+0.5772156649015329) - 2*m/float64(n)
}

// pathLength is h(x) in one tree: the edges down to x's leaf plus c(size)
// for the rows the height limit left unseparated there.
func (t *Tree) pathLength(x []float64) float64 {
	i, depth := 0, 0
	for {
		nd := &t.Nodes[i]
		if nd.Feature < 0 {
			return float64(depth) + AveragePathLength(nd.Size)
		}
		if x[nd.Feature] < nd.Split {
			i = nd.Left
		} else {
			i = nd.Right
		}
		depth++
	}
}

// Score is s(x) = 2^(−E[h(x)]/c(ψ)): near 1 for rows isolated quickly
// (anomalous), well below 0.5 for ordinary ones. len(x) must be
// Features; ScoreMatrix checks that.
func (f *IsolationForest) Score(x []float64) float64 {
	sum := 0.0
	for t := range f.Trees {
		sum += f.Trees[t].pathLength(x)
	}
	mean := sum / float64(len(f.Trees))
	return math.Exp2(-mean / AveragePathLength(f.SampleSize))
}

// ScoreMatrix scores every row of x on the given number of goroutines
// (<= 0 means GOMAXPROCS).
func (f *IsolationForest) ScoreMatrix(x *ml.Matrix, workers int) ([]float64, error) {
	if x == nil || len(x.Data) != x.Rows*x.Cols {
		return nil, fmt.Errorf("isolation forest: malformed matrix")
	}
	if x.Cols != f.Features {
		return nil, fmt.Errorf("isolation forest: %d features, model has %d", x.Cols, f.Features)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]float64, x.Rows)
	const chunk = 1024
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(workers, (x.Rows+chunk-1)/chunk)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= x.Rows {
					return
				}
				for i := lo; i < min(lo+chunk, x.Rows); i++ {
					out[i] = f.Score(x.Row(i))
				}
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// IsAnomaly reports whether x scores above the model's Threshold.
func (f *IsolationForest) IsAnomaly(x []float64) bool { return f.Score(x) > f.Threshold }

// Threshold returns the score t that flags at most a share fpr of the
// given scores (score > t), which should come from held-out normal rows:
// the (1−fpr) quantile, taken as an order statistic so no interpolation
// can flag more than asked.
func Threshold(scores []float64, fpr float64) (float64, error) {
	if len(scores) == 0 {
		return 0, fmt.Errorf("threshold: no scores")
	}
	if !(fpr >= 0 && fpr < 1) {
		return 0, fmt.Errorf("threshold: false-positive rate %v outside [0, 1)", fpr)
	}
	s := slices.Clone(scores)
	slices.Sort(s)
	if math.IsNaN(s[len(s)-1]) || math.IsNaN(s[0]) {
		return 0, fmt.Errorf("threshold: NaN score")
	}
	m := int(math.Floor(fpr * float64(len(s))))
	return s[len(s)-1-m], nil
}

// Validate reports the first inconsistency that would make scoring wrong
// or panic: it checks every node, so a decoded model is safe to use.
func (f *IsolationForest) Validate() error {
	switch {
	case f.Features < 1:
		return fmt.Errorf("isolation forest: %d features", f.Features)
	case f.SampleSize < 2:
		return fmt.Errorf("isolation forest: sample size %d, need at least 2", f.SampleSize)
	case len(f.Trees) == 0:
		return fmt.Errorf("isolation forest: no trees")
	case math.IsNaN(f.Threshold) || math.IsInf(f.Threshold, 0):
		return fmt.Errorf("isolation forest: threshold %v", f.Threshold)
	}
	for t, tr := range f.Trees {
		if len(tr.Nodes) == 0 {
			return fmt.Errorf("isolation forest: tree %d has no nodes", t)
		}
		for i, nd := range tr.Nodes {
			if nd.Feature < 0 {
				if nd.Feature != -1 || nd.Size < 0 || nd.Size > f.SampleSize {
					return fmt.Errorf("isolation forest: tree %d leaf %d: feature %d size %d", t, i, nd.Feature, nd.Size)
				}
				continue
			}
			// Children after the parent make every path end at a leaf.
			if nd.Feature >= f.Features || math.IsNaN(nd.Split) ||
				nd.Left <= i || nd.Left >= len(tr.Nodes) || nd.Right <= i || nd.Right >= len(tr.Nodes) {
				return fmt.Errorf("isolation forest: tree %d node %d: feature %d split %v children %d, %d", t, i, nd.Feature, nd.Split, nd.Left, nd.Right)
			}
		}
	}
	return nil
}
