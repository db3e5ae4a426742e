package cluster

import (
	"fmt"
	"math"
	"slices"

	"github.com/flowguard/flowguard/internal/ml"
)

// MaxHDBSCANRows bounds HDBSCAN's input: the minimum spanning tree is built
// with Prim's algorithm on the dense mutual-reachability graph, O(n²) time
// and O(n) memory, which stays practical up to about this many rows.
const MaxHDBSCANRows = 50000

// HDBSCANResult is a clustering with outlier scores.
type HDBSCANResult struct {
	Labels []int // clusters numbered from 0 in order of their first row, Noise for the rest
	// Outlier is GLOSH (Campello et al. 2015): 1 − λ(point leaves)/λmax of
	// the cluster it left, in [0, 1], higher = more of an outlier.
	Outlier []float64
}

// HDBSCAN clusters the rows of x (Campello, Moulavi & Sander 2013) as
// scikit-learn's HDBSCAN(min_cluster_size, min_samples) with its defaults
// (Euclidean, excess-of-mass selection, no single root cluster, epsilon 0):
//
//  1. core distance of a row: distance to its minSamples-th nearest row,
//     counting itself (scikit-learn's convention);
//  2. mutual reachability distance max(core_a, core_b, d(a, b));
//  3. its minimum spanning tree (Prim, dense);
//  4. the single-linkage hierarchy from the tree's edges in order of weight;
//  5. the condensed tree: walking down from the root at λ = 1/distance, a
//     split where both sides have ≥ minClusterSize rows makes two new
//     clusters, a smaller side just loses its rows at that λ;
//  6. excess of mass: a cluster's stability is Σ(λ_leave − λ_birth) over
//     its rows; bottom-up, a cluster is selected when its stability is at
//     least its selected descendants' total, replacing them.
//
// Exact duplicates (distance 0 with minSamples 1) make λ infinite; jitter
// or deduplicate first.
func HDBSCAN(x *ml.Matrix, minClusterSize, minSamples int, opts *Options) (*HDBSCANResult, error) {
	if minClusterSize < 2 {
		return nil, fmt.Errorf("hdbscan: min_cluster_size %d must be at least 2", minClusterSize)
	}
	if minSamples < 1 {
		minSamples = minClusterSize // scikit-learn's default
	}
	if x == nil || x.Rows < 2 {
		return nil, fmt.Errorf("hdbscan: need at least 2 rows")
	}
	if x.Rows > MaxHDBSCANRows {
		return nil, fmt.Errorf("hdbscan: %d rows, at most %d (dense minimum spanning tree)", x.Rows, MaxHDBSCANRows)
	}
	if minSamples > x.Rows {
		return nil, fmt.Errorf("hdbscan: min_samples %d is more than the %d rows", minSamples, x.Rows)
	}
	tree, err := opts.tree(x)
	if err != nil {
		return nil, fmt.Errorf("hdbscan: %w", err)
	}
	n := x.Rows
	core := make([]float64, n)
	err = parallelRange(opts.ctx(), n, opts.workers(), func(lo, hi int, _ *[]int) {
		buf := make([]Neighbor, 0, minSamples)
		for i := lo; i < hi; i++ {
			buf = tree.KNearest(buf, x.Row(i), minSamples)
			core[i] = math.Sqrt(buf[minSamples-1].Dist2)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("hdbscan: core distances: %w", err)
	}

	// Prim on the implicit complete graph.
	type edge struct {
		a, b int
		w    float64
	}
	edges := make([]edge, 0, n-1)
	inTree := make([]bool, n)
	best := make([]float64, n)
	from := make([]int, n)
	for i := range best {
		best[i] = math.Inf(1)
	}
	cur := 0
	inTree[0] = true
	for range n - 1 {
		next, nextW := -1, math.Inf(1)
		rc := x.Row(cur)
		for j := range n {
			if inTree[j] {
				continue
			}
			w := max(core[cur], core[j], math.Sqrt(dist2(rc, x.Row(j))))
			if w < best[j] {
				best[j], from[j] = w, cur
			}
			if best[j] < nextW || next < 0 {
				next, nextW = j, best[j]
			}
		}
		edges = append(edges, edge{from[next], next, nextW})
		inTree[next] = true
		cur = next
	}
	slices.SortStableFunc(edges, func(p, q edge) int {
		switch {
		case p.w < q.w:
			return -1
		case p.w > q.w:
			return 1
		}
		return 0
	})

	// Single linkage: node n+k is the k-th merge.
	parent := make([]int, 2*n-1)
	left := make([]int, n-1)
	right := make([]int, n-1)
	height := make([]float64, n-1)
	size := make([]int, 2*n-1)
	for i := range parent {
		parent[i] = i
	}
	for i := range n {
		size[i] = 1
	}
	root := func(v int) int {
		for parent[v] != v {
			parent[v] = parent[parent[v]]
			v = parent[v]
		}
		return v
	}
	for k, e := range edges {
		ra, rb := root(e.a), root(e.b)
		id := n + k
		left[k], right[k], height[k] = ra, rb, e.w
		size[id] = size[ra] + size[rb]
		parent[ra], parent[rb] = id, id
	}

	// Condensed tree, top-down. Clusters are numbered 0 (root) upward in
	// order of creation, so a child's number is always above its parent's.
	var clusterParent []int
	var birth []float64 // λ at which the cluster appeared
	var stability []float64
	leaveCluster := make([]int, n) // cluster a row last belonged to
	leaveLambda := make([]float64, n)
	newCluster := func(p int, lambda float64) int {
		clusterParent = append(clusterParent, p)
		birth = append(birth, lambda)
		stability = append(stability, 0)
		return len(birth) - 1
	}
	lambdaOf := func(d float64) float64 {
		if d <= 0 {
			return math.Inf(1)
		}
		return 1 / d
	}
	// dropAll makes every row under node v leave cluster c at λ.
	var stack []int
	dropAll := func(v, c int, lambda float64) {
		stack = append(stack[:0], v)
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if u < n {
				leaveCluster[u], leaveLambda[u] = c, lambda
				stability[c] += lambda - birth[c]
				continue
			}
			stack = append(stack, left[u-n], right[u-n])
		}
	}
	type task struct{ node, cluster int }
	rootNode := 2*n - 2
	work := []task{{rootNode, newCluster(-1, 0)}}
	for len(work) > 0 {
		t := work[len(work)-1]
		work = work[:len(work)-1]
		v, c := t.node, t.cluster
		for v >= n {
			k := v - n
			lambda := lambdaOf(height[k])
			l, r := left[k], right[k]
			bigL, bigR := size[l] >= minClusterSize, size[r] >= minClusterSize
			switch {
			case bigL && bigR:
				stability[c] += float64(size[v]) * (lambda - birth[c])
				work = append(work, task{r, newCluster(c, lambda)}, task{l, newCluster(c, lambda)})
				v = -1
			case bigL:
				dropAll(r, c, lambda)
				v = l
			case bigR:
				dropAll(l, c, lambda)
				v = r
			default:
				dropAll(l, c, lambda)
				dropAll(r, c, lambda)
				v = -1
			}
			if v < 0 {
				break
			}
		}
		if v >= 0 && v < n { // a lone row reached as the continuing side
			leaveCluster[v], leaveLambda[v] = c, math.Inf(1)
			stability[c] += math.Inf(1)
		}
	}

	// Excess of mass, bottom-up (children have higher numbers).
	nc := len(birth)
	selected := make([]bool, nc)
	childSum := make([]float64, nc)
	hasChild := make([]bool, nc)
	for c := nc - 1; c >= 1; c-- {
		if !hasChild[c] || stability[c] >= childSum[c] {
			selected[c] = true
		} else {
			stability[c] = childSum[c]
		}
		p := clusterParent[c]
		childSum[p] += stability[c]
		hasChild[p] = true
	}
	// A selected cluster deselects everything under it.
	for c := 1; c < nc; c++ {
		for p := clusterParent[c]; p > 0; p = clusterParent[p] {
			if selected[p] {
				selected[c] = false
				break
			}
		}
	}

	// Labels, and GLOSH from each cluster's highest λ.
	owner := make([]int, nc) // selected ancestor-or-self, −1 if none
	for c := range nc {
		owner[c] = -1
		if selected[c] {
			owner[c] = c
		} else if c > 0 {
			owner[c] = owner[clusterParent[c]]
		}
	}
	lmax := make([]float64, nc)
	for i := range n {
		lmax[leaveCluster[i]] = max(lmax[leaveCluster[i]], leaveLambda[i])
	}
	for c := nc - 1; c >= 1; c-- {
		lmax[clusterParent[c]] = max(lmax[clusterParent[c]], lmax[c])
	}
	res := &HDBSCANResult{Labels: make([]int, n), Outlier: make([]float64, n)}
	number := map[int]int{}
	for i := range n {
		c := leaveCluster[i]
		if lm := lmax[c]; lm > 0 && !math.IsInf(lm, 1) {
			res.Outlier[i] = (lm - leaveLambda[i]) / lm
		}
		o := owner[c]
		if o < 0 {
			res.Labels[i] = Noise
			continue
		}
		l, ok := number[o]
		if !ok {
			l = len(number)
			number[o] = l
		}
		res.Labels[i] = l
	}
	return res, nil
}
