package tree

import "github.com/flowguard/flowguard/internal/ml"

// An ensemble's trees add their leaf values into a row of len(init) sums:
// tree i, with Outputs values per leaf, adds them at offset
// (i mod (len(init)/Outputs))·Outputs. One-output boosting trees thus
// take turns over the classes; K-output forest trees add to all K.

// SumRow adds the leaf values of x in every tree to sums, which the caller
// has set to the ensemble's starting values.
func SumRow(trees []Tree, x []float64, sums []float64) {
	for i := range trees {
		t := &trees[i]
		o := t.Outputs
		at := (i % (len(sums) / o)) * o
		l := int(t.Leaf(x)) * o
		for k, v := range t.Values[l : l+o] {
			sums[at+k] += v
		}
	}
}

// predictBlock is the number of rows scored together: every tree is walked
// for the whole block while its nodes are in cache.
const predictBlock = 64

// SumBatch computes, for every row r of X, init plus the leaf values of
// all trees, and hands the sums to done(r, sums). Rows are scored in
// blocks over up to threads goroutines (0 means GOMAXPROCS); done is
// called concurrently for different rows and must not keep sums.
func SumBatch(trees []Tree, X *ml.Matrix, init []float64, threads int, done func(r int, sums []float64)) {
	w := len(init)
	blocks := (X.Rows + predictBlock - 1) / predictBlock
	ParallelChunks(blocks, threads, func(_, lo, hi int) {
		acc := make([]float64, predictBlock*w)
		for bl := lo; bl < hi; bl++ {
			r0 := bl * predictBlock
			n := min(predictBlock, X.Rows-r0)
			for j := range n {
				copy(acc[j*w:(j+1)*w], init)
			}
			for i := range trees {
				t := &trees[i]
				o := t.Outputs
				at := (i % (w / o)) * o
				for j := range n {
					r := r0 + j
					l := int(t.Leaf(X.Data[r*X.Cols:(r+1)*X.Cols])) * o
					dst := acc[j*w+at : j*w+at+o]
					for k, v := range t.Values[l : l+o] {
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
