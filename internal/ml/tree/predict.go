package tree

import (
	"math"
	"sync/atomic"
	"unsafe"

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
	// fixed holds, when single, the nodes again for the fixed-depth walk,
	// node i at byte offset 16·i as in nodes; maxFeature is the largest
	// feature a split reads (−1 without splits).
	fixed      []fixedNode
	maxFeature int
}

// fixedNode is a node of the fixed-depth walk: offsets in bytes, so that
// a step is a few adds and no multiplications or masks.
type fixedNode struct {
	// thr is the split threshold; +Inf in a leaf.
	thr float64
	// feat is the byte offset of the split's feature in a row (0 in a
	// leaf).
	feat uint32
	// left is the byte offset of the left child in fixed, the right one
	// following it; a leaf's own offset in a leaf.
	left uint32
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
		depth: make([]uint8, len(trees)), single: true, maxFeature: -1}
	nodes, values, one := 0, 0, false
	for i := range trees {
		nodes += len(trees[i].Nodes)
		values += len(trees[i].Values)
		one = one || trees[i].Outputs == 1
	}
	e.nodes = make([]flatNode, nodes)
	e.values = make([]float64, 0, values)
	if one {
		e.leafVal = make([]float64, nodes)
	}
	var queue, level []int32
	next := int32(0) // the first free slot of e.nodes
	for ti := range trees {
		t := &trees[ti]
		e.outs[ti] = int32(t.Outputs)
		base := int32(len(e.values))
		e.values = append(e.values, t.Values...)
		// Breadth first, placing each node's children next to each
		// other: the node popped k-th goes to slot root+k.
		root := next
		e.roots[ti] = root
		next++
		queue = append(queue[:0], 0)
		level = append(level[:0], 0)
		maxLevel := int32(0)
		for k := 0; k < len(queue); k++ {
			n := &t.Nodes[queue[k]]
			at := root + int32(k)
			maxLevel = max(maxLevel, level[k])
			if n.Feature < 0 {
				f := flatNode{info: leafBit}
				if t.Outputs == 1 {
					f.thr, f.left = math.Inf(1), at
					e.leafVal[at] = t.Values[n.Leaf]
				} else {
					f.left = base + n.Leaf*int32(t.Outputs)
				}
				e.nodes[at] = f
				continue
			}
			e.maxFeature = max(e.maxFeature, int(n.Feature))
			f := flatNode{thr: n.Threshold, info: uint32(n.Feature), left: next}
			if n.DefaultLeft {
				f.info |= nanLeft
			}
			e.nodes[at] = f
			next += 2
			queue = append(queue, n.Left, n.Right)
			level = append(level, level[k]+1, level[k]+1)
		}
		e.depth[ti] = uint8(min(maxLevel, 255))
		if t.Outputs != 1 || maxLevel > maxFixedDepth {
			e.single = false
		}
	}
	if one {
		e.leafVal = e.leafVal[:next]
	}
	if len(e.nodes) > math.MaxUint32/16 {
		e.single = false
	}
	if e.single {
		e.fixed = make([]fixedNode, len(e.nodes))
		for i, n := range e.nodes {
			e.fixed[i] = fixedNode{thr: n.thr, feat: (n.info & featMask) * 8, left: uint32(n.left) * 16}
			if n.info&leafBit != 0 {
				e.fixed[i].feat = 0
			}
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
	if e.single && len(x) > e.maxFeature && !hasNaN(x) {
		e.sumRowFixed(x, sums)
		return
	}
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

// rowLanes is the number of trees one row goes down together.
const rowLanes = 64

// sumRowFixed is SumRow for a single ensemble and a row without NaN that
// holds every feature the trees read: rowLanes trees at a time are walked
// level by level for the deepest one's depth, as sumFixed walks a block
// of rows down one tree, and their leaf values are then added in tree
// order.
func (e *Ensemble) sumRowFixed(x []float64, sums []float64) {
	var buf [rowLanes]uint32
	np, xp := unsafe.Pointer(unsafe.SliceData(e.fixed)), unsafe.Pointer(unsafe.SliceData(x))
	w, at := len(sums), 0
	for t0 := 0; t0 < len(e.roots); t0 += rowLanes {
		roots := e.roots[t0:min(t0+rowLanes, len(e.roots))]
		lanes, d := buf[:len(roots)], uint8(0)
		for k, root := range roots {
			lanes[k] = uint32(root) * 16
			d = max(d, e.depth[t0+k])
		}
		for range d {
			stepLanes(np, xp, 0, lanes)
		}
		for _, i := range lanes {
			sums[at] += e.leafVal[i>>4]
			if at++; at == w {
				at = 0
			}
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
	return 64
}

// SumBatch computes, for every row r of X, init plus the leaf values of
// all trees, and hands the sums to done(r, sums). Rows are scored in
// blocks over up to threads goroutines (0 means GOMAXPROCS); done is
// called concurrently for different rows and must not keep sums.
func (e *Ensemble) SumBatch(X *ml.Matrix, init []float64, threads int, done func(r int, sums []float64)) {
	w := len(init)
	size := e.blockRows()
	// The goroutines take blocks in turn until none is left, so that one
	// slowed down by other work on its core leaves the rest to the others.
	fixed := e.single && X.Cols > e.maxFeature
	blocks := (X.Rows + size - 1) / size
	var taken atomic.Int64
	ParallelChunks(blocks, threads, func(_, _, _ int) {
		acc := make([]float64, size*w)
		var lanes []uint32
		if fixed {
			lanes = make([]uint32, size)
		}
		for {
			b := int(taken.Add(1)) - 1
			if b >= blocks {
				return
			}
			r0 := b * size
			n := min(size, X.Rows-r0)
			for j := range n {
				copy(acc[j*w:(j+1)*w], init)
			}
			if fixed && !hasNaN(X.Data[r0*X.Cols:(r0+n)*X.Cols]) {
				e.sumFixed(X, r0, n, acc, w, lanes[:n])
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

// sumFixed is sumWalk for a single ensemble and rows without NaN that
// hold every feature the trees read (lanes has room for n). Every tree is
// walked for exactly its depth, leaves stepping onto themselves, so the
// walk has no data-dependent branch: the child is picked by arithmetic.
// The block's rows go down a tree together level by level (stepLanes),
// each level a loop over the rows whose iterations do not depend on each
// other, so the CPU overlaps the node and value loads of many rows. A walk
// that stops at leaves instead mispredicts about one branch in two on
// each level, which costs more than the steps that loop on a leaf.
func (e *Ensemble) sumFixed(X *ml.Matrix, r0, n int, acc []float64, w int, lanes []uint32) {
	cols := X.Cols
	xb := X.Data[r0*cols : (r0+n)*cols]
	np, xp := unsafe.Pointer(unsafe.SliceData(e.fixed)), unsafe.Pointer(unsafe.SliceData(xb))
	stride := uintptr(cols) * 8
	lp := unsafe.Pointer(unsafe.SliceData(e.leafVal))
	at := 0
	_ = acc[len(lanes)*w-1]
	for t, root := range e.roots {
		if d := e.depth[t]; d == 0 {
			for j := range lanes {
				lanes[j] = uint32(root) * 16
			}
		} else {
			// Every row starts at the root.
			rootLanes(&e.fixed[root], xp, stride, lanes)
			for range d - 1 {
				stepLanes(np, xp, stride, lanes)
			}
		}
		addLeaves(lp, unsafe.Pointer(&acc[at]), uintptr(w)*8, lanes)
		if at++; at == w {
			at = 0
		}
	}
}

// stepLanes moves every lane one level down its tree: lane j is at the
// node at byte offset lanes[j] of nodes and reads the row at x + j·stride
// bytes. The caller guarantees that every offset is a node of a single
// ensemble and every row holds its features, which is what makes the
// unchecked loads safe. Rows are reached by integer offsets from x, so
// that no pointer past the rows is ever formed.
func stepLanes(nodes, x unsafe.Pointer, stride uintptr, lanes []uint32) {
	var o uintptr
	for ; len(lanes) >= 8; lanes = lanes[8:] {
		l := (*[8]uint32)(lanes)
		o4 := o + 4*stride
		l[0] = step(nodes, x, o, l[0])
		l[1] = step(nodes, x, o+stride, l[1])
		l[2] = step(nodes, x, o+2*stride, l[2])
		l[3] = step(nodes, x, o+3*stride, l[3])
		l[4] = step(nodes, x, o4, l[4])
		l[5] = step(nodes, x, o4+stride, l[5])
		l[6] = step(nodes, x, o4+2*stride, l[6])
		l[7] = step(nodes, x, o4+3*stride, l[7])
		o = o4 + 4*stride
	}
	for j, i := range lanes {
		lanes[j] = step(nodes, x, o, i)
		o += stride
	}
}

// step is the child of the node at byte offset i for the row at byte
// offset o from x.
func step(nodes, x unsafe.Pointer, o uintptr, i uint32) uint32 {
	nd := (*fixedNode)(unsafe.Add(nodes, i))
	next := nd.left
	if *(*float64)(unsafe.Add(x, o+uintptr(nd.feat))) > nd.thr {
		next += 16
	}
	return next
}

// addLeaves adds, for every lane j, the value of the leaf it is at (leaf
// values lie 8 bytes apart where nodes lie 16) to the float64 at acc +
// j·stride bytes.
func addLeaves(leafVal, acc unsafe.Pointer, stride uintptr, lanes []uint32) {
	var o uintptr
	for _, i := range lanes {
		*(*float64)(unsafe.Add(acc, o)) += *(*float64)(unsafe.Add(leafVal, i>>1))
		o += stride
	}
}

// rootLanes is stepLanes for lanes that are all at node nd.
func rootLanes(nd *fixedNode, x unsafe.Pointer, stride uintptr, lanes []uint32) {
	thr, left := nd.thr, nd.left
	o := uintptr(nd.feat)
	for j := range lanes {
		next := left
		if *(*float64)(unsafe.Add(x, o)) > thr {
			next += 16
		}
		lanes[j] = next
		o += stride
	}
}
