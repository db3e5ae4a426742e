package tree

import (
	"math"

	"github.com/flowguard/flowguard/internal/ml"
)

// An ensemble's trees add their leaf values into a row of sums: tree i,
// with Outputs values per leaf, adds them at offset
// (i mod (width/Outputs))·Outputs. One-output boosting trees thus take
// turns over the classes; K-output forest trees add to all K.

// Ensemble is the prediction layout of a list of trees, built by Compile:
// 16-byte nodes with both children side by side and, for one-output trees,
// the leaf value in the node itself, so a walk touches half the cache
// lines of the Tree layout. It is derived data, never stored.
type Ensemble struct {
	nodes  []flatNode
	roots  []int32
	outs   []int32 // outputs per tree
	values []float64
	// depth is each tree's depth; leafVal, for one-output leaves, their
	// value by node index. A one-output leaf is its own left child with
	// threshold +Inf, so that any walk of depth steps without NaN ends
	// on it: see walkFixed.
	depth   []uint8
	leafVal []float64
	// single: every tree has one output and depth at most maxFixedDepth.
	single bool
}

// maxFixedDepth is the deepest tree walked with a fixed number of steps;
// deeper ones have too many leaves far above their depth.
const maxFixedDepth = 12

type flatNode struct {
	// thr is the split threshold; +Inf in a one-output leaf.
	thr float64
	// info holds the feature, or marks a leaf, and the NaN direction.
	info uint32
	// left is the left child, the right one being left+1; in a leaf with
	// several outputs, the offset of its values; in a one-output leaf,
	// the leaf itself.
	left int32
}

const (
	leafBit  = 1 << 31
	nanLeft  = 1 << 30
	featMask = nanLeft - 1
)

// Compile lays trees out for prediction. The trees must have passed
// Validate.
func Compile(trees []Tree) *Ensemble {
	e := &Ensemble{roots: make([]int32, len(trees)), outs: make([]int32, len(trees)),
		depth: make([]uint8, len(trees)), single: true}
	var queue, level []int32
	for ti := range trees {
		t := &trees[ti]
		e.outs[ti] = int32(t.Outputs)
		base := int32(len(e.values))
		e.values = append(e.values, t.Values...)
		// Breadth first, placing each node's children next to each
		// other; slot[i] is where the node popped i-th goes.
		e.roots[ti] = int32(len(e.nodes))
		e.nodes = append(e.nodes, flatNode{})
		queue = append(queue[:0], 0)
		level = append(level[:0], 0)
		slots := []int32{e.roots[ti]}
		maxLevel := int32(0)
		for k := 0; k < len(queue); k++ {
			n := &t.Nodes[queue[k]]
			at := slots[k]
			maxLevel = max(maxLevel, level[k])
			if n.Feature < 0 {
				f := flatNode{info: leafBit}
				if t.Outputs == 1 {
					f.thr, f.left = math.Inf(1), at
					for len(e.leafVal) <= int(at) {
						e.leafVal = append(e.leafVal, 0)
					}
					e.leafVal[at] = t.Values[n.Leaf]
				} else {
					f.left = base + n.Leaf*int32(t.Outputs)
				}
				e.nodes[at] = f
				continue
			}
			f := flatNode{thr: n.Threshold, info: uint32(n.Feature), left: int32(len(e.nodes))}
			if n.DefaultLeft {
				f.info |= nanLeft
			}
			e.nodes[at] = f
			e.nodes = append(e.nodes, flatNode{}, flatNode{})
			queue = append(queue, n.Left, n.Right)
			level = append(level, level[k]+1, level[k]+1)
			slots = append(slots, f.left, f.left+1)
		}
		e.depth[ti] = uint8(min(maxLevel, 255))
		if t.Outputs != 1 || maxLevel > maxFixedDepth {
			e.single = false
		}
	}
	return e
}

// leaf walks from node i to a leaf.
func (e *Ensemble) leaf(i int32, x []float64) *flatNode {
	n := &e.nodes[i]
	for n.info&leafBit == 0 {
		v := x[n.info&featMask]
		i = n.left
		if !(v <= n.thr) && (v == v || n.info&nanLeft == 0) {
			i++
		}
		n = &e.nodes[i]
	}
	return n
}

// slot is where tree t adds its values in a row of width sums.
func (e *Ensemble) slot(t, width int) (at, o int) {
	o = int(e.outs[t])
	return (t % (width / o)) * o, o
}

// SumRow adds the leaf values of x in every tree to sums, which the caller
// has set to the ensemble's starting values.
func (e *Ensemble) SumRow(x []float64, sums []float64) {
	for t, root := range e.roots {
		n := e.leaf(root, x)
		at, o := e.slot(t, len(sums))
		if o == 1 {
			sums[at] += e.leafVal[n.left]
			continue
		}
		for k, v := range e.values[n.left : int(n.left)+o] {
			sums[at+k] += v
		}
	}
}

// blockRows is the number of rows scored together: every tree is walked
// for the whole block while its nodes are in cache. Shallow trees (a
// booster's) stay in the first-level cache whatever the block, so short
// blocks that keep the rows close win; deep trees with K values per leaf
// (a forest's) are streamed from memory once per block, so long blocks
// amortise them.
func (e *Ensemble) blockRows() int {
	if len(e.roots) > 0 && 16*len(e.nodes)+8*len(e.values) > len(e.roots)<<14 {
		return 1024 // trees average over 16 KiB
	}
	return 128
}

// SumBatch computes, for every row r of X, init plus the leaf values of
// all trees, and hands the sums to done(r, sums). Rows are scored in
// blocks over up to threads goroutines (0 means GOMAXPROCS); done is
// called concurrently for different rows and must not keep sums.
func (e *Ensemble) SumBatch(X *ml.Matrix, init []float64, threads int, done func(r int, sums []float64)) {
	w := len(init)
	size := e.blockRows()
	// Each goroutine takes an equal share of rows, then goes through it
	// block by block.
	ParallelChunks(X.Rows, threads, func(_, lo, hi int) {
		acc := make([]float64, size*w)
		for r0 := lo; r0 < hi; r0 += size {
			n := min(size, hi-r0)
			for j := range n {
				copy(acc[j*w:(j+1)*w], init)
			}
			if e.single && !hasNaN(X.Data[r0*X.Cols:(r0+n)*X.Cols]) {
				e.sumFixed(X, r0, n, acc, w)
			} else {
				e.sumWalk(X, r0, n, acc, w)
			}
			for j := range n {
				done(r0+j, acc[j*w:(j+1)*w])
			}
		}
	})
}

// sumWalk adds every tree's leaf values for rows r0… r0+n-1 of X to acc
// (n rows of w sums).
func (e *Ensemble) sumWalk(X *ml.Matrix, r0, n int, acc []float64, w int) {
	for t, root := range e.roots {
		at, o := e.slot(t, w)
		for j := range n {
			r := r0 + j
			leaf := e.leaf(root, X.Data[r*X.Cols:(r+1)*X.Cols])
			if o == 1 {
				acc[j*w+at] += e.leafVal[leaf.left]
				continue
			}
			dst := acc[j*w+at : j*w+at+o]
			for k, v := range e.values[leaf.left : int(leaf.left)+o] {
				dst[k] += v
			}
		}
	}
}

func hasNaN(xs []float64) bool {
	for _, v := range xs {
		if v != v {
			return true
		}
	}
	return false
}

// sumFixed is sumWalk for one-output trees and rows without NaN. Every
// tree is walked for exactly its depth, leaves stepping onto themselves,
// so the walk has no data-dependent branch: the child is picked by
// arithmetic, and four rows go down each tree together as independent
// chains of loads that the CPU overlaps. A walk that stops at leaves
// instead mispredicts about one branch in two on each level, which costs
// more than the steps that loop on a leaf.
func (e *Ensemble) sumFixed(X *ml.Matrix, r0, n int, acc []float64, w int) {
	nodes, cols := e.nodes, X.Cols
	for t, root := range e.roots {
		at, _ := e.slot(t, w)
		d := int(e.depth[t])
		j := 0
		for ; j+4 <= n; j += 4 {
			x0 := X.Data[(r0+j)*cols : (r0+j+1)*cols]
			x1 := X.Data[(r0+j+1)*cols : (r0+j+2)*cols]
			x2 := X.Data[(r0+j+2)*cols : (r0+j+3)*cols]
			x3 := X.Data[(r0+j+3)*cols : (r0+j+4)*cols]
			i0, i1, i2, i3 := root, root, root, root
			for range d {
				i0 = next(nodes, i0, x0)
				i1 = next(nodes, i1, x1)
				i2 = next(nodes, i2, x2)
				i3 = next(nodes, i3, x3)
			}
			acc[j*w+at] += e.leafVal[i0]
			acc[(j+1)*w+at] += e.leafVal[i1]
			acc[(j+2)*w+at] += e.leafVal[i2]
			acc[(j+3)*w+at] += e.leafVal[i3]
		}
		for ; j < n; j++ {
			x := X.Data[(r0+j)*cols : (r0+j+1)*cols]
			i := root
			for range d {
				i = next(nodes, i, x)
			}
			acc[j*w+at] += e.leafVal[i]
		}
	}
}

// next is the child of node i for a row x without NaN: left+1 when x's
// value exceeds the threshold. A one-output leaf returns itself.
func next(nodes []flatNode, i int32, x []float64) int32 {
	n := &nodes[i]
	r := int32(0)
	if x[n.info&featMask] > n.thr {
		r = 1
	}
	return n.left + r
}
