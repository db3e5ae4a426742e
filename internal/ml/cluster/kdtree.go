package cluster

import (
	"fmt"
	"math"
	"slices"

	"github.com/flowguard/flowguard/internal/ml"
)

// DefaultLeafSize is the largest number of points in a KD-tree leaf when
// the caller does not choose one; scikit-learn's default is 40, and
// smaller leaves prune better on the dense near-duplicate clouds that
// network events form.
const DefaultLeafSize = 16

// KDTree is a static KD-tree over the rows of a matrix. It is built once
// and is safe for concurrent queries. Points are stored permuted into
// tree order so a leaf's points are contiguous in memory.
type KDTree struct {
	dims  int
	pts   []float64 // points in tree order, row-major
	idx   []int32   // idx[k] = original row of the k-th point in tree order
	nodes []kdNode
	box   []float64 // per node: dims lows then dims highs
}

type kdNode struct {
	start, end  int32 // points [start, end) in tree order
	left, right int32 // children, -1 for a leaf
}

// maxDepth bounds the query stack: the split is at the median, so a tree
// over fewer than 2^40 points is never deeper than this.
const maxDepth = 48

// NewKDTree builds a tree over the rows of x. leafSize <= 0 means
// DefaultLeafSize. Rows containing NaN or infinities are rejected: they
// have no place in a Euclidean box.
func NewKDTree(x *ml.Matrix, leafSize int) (*KDTree, error) {
	if x == nil || x.Rows == 0 || x.Cols == 0 {
		return nil, fmt.Errorf("kd-tree: empty matrix")
	}
	if len(x.Data) != x.Rows*x.Cols {
		return nil, fmt.Errorf("kd-tree: matrix has %d values, want %d×%d", len(x.Data), x.Rows, x.Cols)
	}
	if x.Rows > math.MaxInt32 {
		return nil, fmt.Errorf("kd-tree: %d rows is more than the index holds", x.Rows)
	}
	for i, v := range x.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("kd-tree: row %d column %d is %v", i/x.Cols, i%x.Cols, v)
		}
	}
	if leafSize <= 0 {
		leafSize = DefaultLeafSize
	}
	t := &KDTree{dims: x.Cols, idx: make([]int32, x.Rows)}
	for i := range t.idx {
		t.idx[i] = int32(i)
	}
	t.build(x, 0, x.Rows, leafSize)
	t.pts = make([]float64, len(x.Data))
	for k, i := range t.idx {
		copy(t.pts[k*t.dims:(k+1)*t.dims], x.Row(int(i)))
	}
	return t, nil
}

// build adds the node over idx[start:end] and its subtree, returning its
// number. Nodes are numbered in preorder.
func (t *KDTree) build(x *ml.Matrix, start, end, leafSize int) int32 {
	id := int32(len(t.nodes))
	t.nodes = append(t.nodes, kdNode{start: int32(start), end: int32(end), left: -1, right: -1})
	d := t.dims
	lo := make([]float64, d)
	hi := make([]float64, d)
	copy(lo, x.Row(int(t.idx[start])))
	copy(hi, lo)
	for _, i := range t.idx[start+1 : end] {
		for j, v := range x.Row(int(i)) {
			lo[j] = min(lo[j], v)
			hi[j] = max(hi[j], v)
		}
	}
	t.box = append(t.box, lo...)
	t.box = append(t.box, hi...)
	if end-start <= leafSize {
		return id
	}
	// Split the widest dimension at the median; identical points (zero
	// spread everywhere) stay together in one leaf however many there are.
	dim, spread := 0, 0.0
	for j := range d {
		if s := hi[j] - lo[j]; s > spread {
			dim, spread = j, s
		}
	}
	if spread == 0 {
		return id
	}
	seg := t.idx[start:end]
	slices.SortFunc(seg, func(a, b int32) int {
		va, vb := x.Data[int(a)*d+dim], x.Data[int(b)*d+dim]
		switch {
		case va < vb:
			return -1
		case va > vb:
			return 1
		}
		return int(a - b)
	})
	mid := (start + end) / 2
	l := t.build(x, start, mid, leafSize)
	r := t.build(x, mid, end, leafSize)
	t.nodes[id].left, t.nodes[id].right = l, r
	return id
}

// Len is the number of points in the tree.
func (t *KDTree) Len() int { return len(t.idx) }

// Dims is the number of coordinates per point.
func (t *KDTree) Dims() int { return t.dims }

// dist2 is the squared distance summed in dimension order. The explicit
// float64 conversion forbids fusing into FMA, which would round
// differently from scikit-learn's loop.
func dist2(a, b []float64) float64 {
	b = b[:len(a)]
	s := 0.0
	for j, v := range a {
		d := v - b[j]
		s += float64(d * d)
	}
	return s
}

// boxDist2 returns the smallest and largest squared distance from q to
// node n's bounding box. Floating-point subtraction, squaring and
// addition are monotonic, so every point in the box has a dist2 between
// the two exactly as computed: pruning and whole-node acceptance never
// disagree with testing each point.
func (t *KDTree) boxDist2(q []float64, n int32) (lo2, hi2 float64) {
	d := t.dims
	b := t.box[int(n)*2*d : int(n+1)*2*d]
	lo, hi := b[:d], b[d:]
	for j, v := range q[:d] {
		var near, far float64
		switch {
		case v < lo[j]:
			near, far = lo[j]-v, hi[j]-v
		case v > hi[j]:
			near, far = v-hi[j], v-lo[j]
		default:
			far = max(v-lo[j], hi[j]-v)
		}
		lo2 += float64(near * near)
		hi2 += float64(far * far)
	}
	return lo2, hi2
}

// CountWithin returns how many points are within distance r of q
// (dist ≤ r), including q itself when it is one of the points.
func (t *KDTree) CountWithin(q []float64, r float64) int {
	r2 := r * r
	var stack [maxDepth + 2]int32
	sp := 1
	count := 0
	for sp > 0 {
		sp--
		n := stack[sp]
		lo2, hi2 := t.boxDist2(q, n)
		if lo2 > r2 {
			continue
		}
		nd := &t.nodes[n]
		if hi2 <= r2 {
			count += int(nd.end - nd.start)
			continue
		}
		if nd.left < 0 {
			d := t.dims
			for k := nd.start; k < nd.end; k++ {
				if dist2(q, t.pts[int(k)*d:int(k+1)*d]) <= r2 {
					count++
				}
			}
			continue
		}
		stack[sp], stack[sp+1] = nd.right, nd.left
		sp += 2
	}
	return count
}

// AppendWithin appends to dst the original row numbers of the points
// within distance r of q, in tree order, and returns the extended slice.
// Reusing dst across calls makes queries allocation-free.
func (t *KDTree) AppendWithin(dst []int, q []float64, r float64) []int {
	r2 := r * r
	var stack [maxDepth + 2]int32
	sp := 1
	for sp > 0 {
		sp--
		n := stack[sp]
		lo2, hi2 := t.boxDist2(q, n)
		if lo2 > r2 {
			continue
		}
		nd := &t.nodes[n]
		if hi2 <= r2 {
			for _, i := range t.idx[nd.start:nd.end] {
				dst = append(dst, int(i))
			}
			continue
		}
		if nd.left < 0 {
			d := t.dims
			for k := nd.start; k < nd.end; k++ {
				if dist2(q, t.pts[int(k)*d:int(k+1)*d]) <= r2 {
					dst = append(dst, int(t.idx[k]))
				}
			}
			continue
		}
		stack[sp], stack[sp+1] = nd.right, nd.left
		sp += 2
	}
	return dst
}

// Neighbor is one result of a nearest-neighbour query.
type Neighbor struct {
	Index int     // original row number
	Dist2 float64 // squared distance
}

// KNearest returns the k points nearest to q, nearest first, reusing
// buf's storage. Ties at equal distance go to the lower row number. q
// itself counts when it is one of the points, as in scikit-learn's
// kneighbors(X) on the training rows.
func (t *KDTree) KNearest(buf []Neighbor, q []float64, k int) []Neighbor {
	k = min(k, len(t.idx))
	h := buf[:0]
	if k <= 0 {
		return h
	}
	// h is a max-heap on (Dist2, Index) of the best k so far.
	worse := func(a, b Neighbor) bool {
		return a.Dist2 > b.Dist2 || (a.Dist2 == b.Dist2 && a.Index > b.Index)
	}
	push := func(nb Neighbor) {
		if len(h) == k {
			if !worse(h[0], nb) {
				return
			}
			h[0] = nb
			siftDown(h, 0, worse)
			return
		}
		h = append(h, nb)
		for c := len(h) - 1; c > 0; {
			p := (c - 1) / 2
			if !worse(h[c], h[p]) {
				break
			}
			h[c], h[p] = h[p], h[c]
			c = p
		}
	}
	var stack [maxDepth + 2]int32
	sp := 1
	d := t.dims
	for sp > 0 {
		sp--
		n := stack[sp]
		lo2, _ := t.boxDist2(q, n)
		if len(h) == k && lo2 > h[0].Dist2 {
			continue
		}
		nd := &t.nodes[n]
		if nd.left < 0 {
			for p := nd.start; p < nd.end; p++ {
				push(Neighbor{int(t.idx[p]), dist2(q, t.pts[int(p)*d:int(p+1)*d])})
			}
			continue
		}
		// Visit the nearer child first so the heap tightens sooner.
		l, r := nd.left, nd.right
		ll, _ := t.boxDist2(q, l)
		rl, _ := t.boxDist2(q, r)
		if ll < rl {
			l, r = r, l
		}
		stack[sp], stack[sp+1] = l, r
		sp += 2
	}
	slices.SortFunc(h, func(a, b Neighbor) int {
		if worse(a, b) {
			return 1
		}
		if worse(b, a) {
			return -1
		}
		return 0
	})
	return h
}

func siftDown(h []Neighbor, i int, worse func(a, b Neighbor) bool) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && worse(h[r], h[l]) {
			m = r
		}
		if !worse(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
