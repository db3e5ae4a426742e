package knn

// neighbours is a bounded max-heap of the k best (distance, row) pairs seen
// so far: the root is the worst of them, so a candidate is a single
// comparison away from rejection, which is the common case in a scan.
// Pairs order by distance, then by row index, making the kept set and its
// order independent of how the heap happens to be arranged.
type neighbours struct {
	dist []float64
	idx  []int
	n, k int
}

func (h *neighbours) reset(k int) {
	if cap(h.dist) < k {
		h.dist = make([]float64, k)
		h.idx = make([]int, k)
	}
	h.dist, h.idx = h.dist[:k], h.idx[:k]
	h.n, h.k = 0, k
}

// worse reports whether pair a sorts after pair b.
func (h *neighbours) worse(a, b int) bool {
	da, db := h.dist[a], h.dist[b]
	return da > db || (da == db && h.idx[a] > h.idx[b])
}

func (h *neighbours) swap(a, b int) {
	h.dist[a], h.dist[b] = h.dist[b], h.dist[a]
	h.idx[a], h.idx[b] = h.idx[b], h.idx[a]
}

// offer considers row i at distance d. Rows are offered in increasing index
// order, so a candidate that only ties the root's distance has the larger
// index and is rejected: equal distances keep the lower rows.
func (h *neighbours) offer(d float64, i int) {
	if h.n < h.k {
		h.dist[h.n], h.idx[h.n] = d, i
		h.n++
		for c := h.n - 1; c > 0; {
			p := (c - 1) / 2
			if !h.worse(c, p) {
				break
			}
			h.swap(c, p)
			c = p
		}
		return
	}
	if !(d < h.dist[0]) { // also rejects NaN
		return
	}
	h.dist[0], h.idx[0] = d, i
	for p := 0; ; {
		c := 2*p + 1
		if c >= h.n {
			break
		}
		if c+1 < h.n && h.worse(c+1, c) {
			c++
		}
		if !h.worse(c, p) {
			break
		}
		h.swap(c, p)
		p = c
	}
}

// sort orders the kept pairs nearest first, the order in which
// scikit-learn accumulates votes (so sums round the same way). It breaks
// the heap; the next query resets it.
func (h *neighbours) sort() {
	for i := 1; i < h.n; i++ {
		for j := i; j > 0 && h.worse(j-1, j); j-- {
			h.swap(j-1, j)
		}
	}
}
