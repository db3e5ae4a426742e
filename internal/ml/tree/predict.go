package tree

import "github.com/flowguard/flowguard/internal/ml"

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
}

type flatNode struct {
	// thr is the split threshold; in a one-output leaf, its value.
	thr float64
	// info holds the feature, or marks a leaf, and the NaN direction.
	info uint32
	// left is the left child, the right one being left+1; in a leaf with
	// several outputs, the offset of its values.
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
	e := &Ensemble{roots: make([]int32, len(trees)), outs: make([]int32, len(trees))}
	var queue []int32
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
		slots := []int32{e.roots[ti]}
		for k := 0; k < len(queue); k++ {
			n := &t.Nodes[queue[k]]
			at := slots[k]
			if n.Feature < 0 {
				f := flatNode{info: leafBit}
				if t.Outputs == 1 {
					f.thr = t.Values[n.Leaf]
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
			slots = append(slots, f.left, f.left+1)
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
			sums[at] += n.thr
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
			for t, root := range e.roots {
				at, o := e.slot(t, w)
				for j := range n {
					r := r0 + j
					leaf := e.leaf(root, X.Data[r*X.Cols:(r+1)*X.Cols])
					if o == 1 {
						acc[j*w+at] += leaf.thr
						continue
					}
					dst := acc[j*w+at : j*w+at+o]
					for k, v := range e.values[leaf.left : int(leaf.left)+o] {
						dst[k] += v
					}
				}
			}
			for j := range n {
				done(r0+j, acc[j*w:(j+1)*w])
			}
		}
	})
}
