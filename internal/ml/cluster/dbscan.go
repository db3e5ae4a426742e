package cluster

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/flowguard/flowguard/internal/ml"
)

// Noise is the label of a point DBSCAN or HDBSCAN leaves in no cluster.
const Noise = -1

// Options tunes how the clustering runs; the zero value is ready to use.
// None of it changes the result.
type Options struct {
	Workers  int     // goroutines for neighbour queries; <= 0 means GOMAXPROCS
	LeafSize int     // KD-tree leaf size; <= 0 means DefaultLeafSize
	Tree     *KDTree // an already built tree over the same rows, reused if set
	Context  context.Context
}

func (o *Options) workers() int {
	if o != nil && o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

func (o *Options) ctx() context.Context {
	if o != nil && o.Context != nil {
		return o.Context
	}
	return context.Background()
}

func (o *Options) tree(x *ml.Matrix) (*KDTree, error) {
	if o != nil && o.Tree != nil {
		if o.Tree.Len() != x.Rows || o.Tree.Dims() != x.Cols {
			return nil, fmt.Errorf("given tree holds %d×%d points, matrix is %d×%d", o.Tree.Len(), o.Tree.Dims(), x.Rows, x.Cols)
		}
		return o.Tree, nil
	}
	leaf := 0
	if o != nil {
		leaf = o.LeafSize
	}
	return NewKDTree(x, leaf)
}

// DBSCAN clusters the rows of x as scikit-learn's DBSCAN(eps, min_samples,
// metric="euclidean") does and returns one label per row: clusters
// numbered from 0, Noise for the rest.
//
// The semantics are scikit-learn's exactly:
//   - a core point has at least minSamples points within distance ≤ eps,
//     counting itself;
//   - clusters are the connected components of core points (two cores are
//     connected when within eps), numbered in order of their lowest row,
//     because dbscan_inner starts a cluster at each still-unlabelled core
//     in row order and labels its whole component before moving on;
//   - a non-core point within eps of some core is a border point and gets
//     the label of the first cluster whose expansion reaches it, which,
//     since clusters are expanded one after the other, is the lowest label
//     among its core neighbours; the depth-first order inside one
//     cluster's expansion cannot change which label that is.
//
// Instead of storing every neighbourhood (136 million neighbour entries
// on the 57,833 ML-PT rows), it runs three parallel passes over the
// KD-tree: count neighbours, join each core with its core neighbours in a
// lock-free union-find whose root is always the lowest row, then give each
// border point the lowest label among its core neighbours.
func DBSCAN(x *ml.Matrix, eps float64, minSamples int, opts *Options) ([]int, error) {
	if !(eps > 0) || math.IsInf(eps, 0) {
		return nil, fmt.Errorf("dbscan: eps %v must be positive and finite", eps)
	}
	if minSamples < 1 {
		return nil, fmt.Errorf("dbscan: min_samples %d must be at least 1", minSamples)
	}
	tree, err := opts.tree(x)
	if err != nil {
		return nil, fmt.Errorf("dbscan: %w", err)
	}
	ctx := opts.ctx()
	workers := opts.workers()
	n := x.Rows

	// Pass 1: core points.
	core := make([]bool, n)
	err = parallelRange(ctx, n, workers, func(lo, hi int, _ *[]int) {
		for k := lo; k < hi; k++ {
			i := int(tree.idx[k])
			core[i] = tree.CountWithin(x.Row(i), eps) >= minSamples
		}
	})
	if err != nil {
		return nil, fmt.Errorf("dbscan: counting neighbours: %w", err)
	}

	// Pass 2: components of core points.
	parent := make([]atomic.Int32, n)
	for i := range parent {
		parent[i].Store(int32(i))
	}
	err = parallelRange(ctx, n, workers, func(lo, hi int, buf *[]int) {
		for k := lo; k < hi; k++ {
			i := int(tree.idx[k])
			if !core[i] {
				continue
			}
			*buf = tree.AppendWithin((*buf)[:0], x.Row(i), eps)
			for _, j := range *buf {
				// Each pair is seen from both ends; joining from the
				// higher one is enough.
				if j < i && core[j] {
					union(parent, int32(i), int32(j))
				}
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("dbscan: joining core points: %w", err)
	}
	labels := make([]int, n)
	next := 0
	for i := range labels {
		labels[i] = Noise
		if !core[i] {
			continue
		}
		r := find(parent, int32(i))
		if int(r) == i {
			labels[i] = next
			next++
		} else {
			labels[i] = labels[r] // r < i is labelled already
		}
	}

	// Pass 3: border points. They have fewer than minSamples neighbours,
	// so these queries are cheap.
	err = parallelRange(ctx, n, workers, func(lo, hi int, buf *[]int) {
		for k := lo; k < hi; k++ {
			i := int(tree.idx[k])
			if core[i] {
				continue
			}
			*buf = tree.AppendWithin((*buf)[:0], x.Row(i), eps)
			best := Noise
			for _, j := range *buf {
				if core[j] && (best == Noise || labels[j] < best) {
					best = labels[j]
				}
			}
			labels[i] = best // only core labels are read, so no race
		}
	})
	if err != nil {
		return nil, fmt.Errorf("dbscan: labelling border points: %w", err)
	}
	return labels, nil
}

// find returns the root of x, halving the path as it goes. Parents only
// ever point to lower rows, so concurrent halving is safe: a stale CAS
// just fails.
func find(parent []atomic.Int32, x int32) int32 {
	for {
		p := parent[x].Load()
		if p == x {
			return x
		}
		g := parent[p].Load()
		if g != p {
			parent[x].CompareAndSwap(p, g)
		}
		x = g
	}
}

// union joins the sets of a and b by hanging the higher root under the
// lower, so each component's root is its lowest row. The CAS only
// succeeds while the higher root is still a root; otherwise retry.
func union(parent []atomic.Int32, a, b int32) {
	for {
		ra, rb := find(parent, a), find(parent, b)
		if ra == rb {
			return
		}
		if ra < rb {
			ra, rb = rb, ra
		}
		if parent[ra].CompareAndSwap(ra, rb) {
			return
		}
	}
}

// parallelRange calls fn on consecutive chunks of [0, n) (the passes
// above walk tree order, so a chunk's queries touch the same leaves) from the given
// number of goroutines, each with its own reusable neighbour buffer.
// Chunks are small so that dense regions, where queries are slow, spread
// over all workers.
func parallelRange(ctx context.Context, n, workers int, fn func(lo, hi int, buf *[]int)) error {
	const chunk = 256
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(workers, (n+chunk-1)/chunk)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []int
			for ctx.Err() == nil {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				fn(lo, min(lo+chunk, n), &buf)
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}
