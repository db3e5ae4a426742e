package tree

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
)

// Params configures tree growth. The zero value of an optional field means
// "no limit" or "all".
type Params struct {
	// Outputs is K, the number of gradients per row and values per leaf.
	Outputs int
	// SharedHessian says every row has one hessian for all K outputs
	// (gradient layout g_0..g_{K-1}, h) instead of K (g_0..g_{K-1},
	// h_0..h_{K-1}).
	SharedHessian bool
	// MaxDepth bounds the depth (root = 0); 0 means unlimited.
	MaxDepth int
	// MaxLeaves bounds the number of leaves; 0 means unlimited.
	MaxLeaves int
	// LeafWise grows the leaf of largest gain first instead of level by
	// level.
	LeafWise bool
	// Lambda is the L2 penalty on leaf values.
	Lambda float64
	// Gamma is the smallest gain a split must exceed.
	Gamma float64
	// MinChildWeight is the smallest hessian sum a child may have (for K
	// separate hessians, their sum).
	MinChildWeight float64
	// ColsampleByTree, ByLevel and ByNode are the fractions of features
	// drawn per tree, per depth from the tree's draw and per node from the
	// level's draw; 0 means 1. Per-level or per-node sampling turns
	// histogram subtraction off, since children then need features their
	// parent did not build.
	ColsampleByTree, ColsampleByLevel, ColsampleByNode float64
	// OneHot says each row's K gradients are zero but for one, which is
	// minus the row's (shared) hessian: the forest's classification
	// targets. Histograms then cost one add per row instead of K+1.
	OneHot bool
	// NodeFeatures, when > 0, replaces ColsampleByNode by an exact count
	// of features per node, drawn from the features that are not
	// constant (scikit-learn's max_features).
	NodeFeatures int
	// RandomSplits draws one random cut per candidate feature (extra
	// trees) instead of searching every bin.
	RandomSplits bool
	// Scale multiplies leaf values (the learning rate); 0 means 1.
	Scale float64
	// Threads bounds the goroutines used per tree; 0 means GOMAXPROCS.
	Threads int
}

// Grower grows trees over one binned matrix. It owns every buffer a tree
// needs and reuses them from tree to tree; it is not safe for concurrent
// use, so parallel tree builders each take their own.
type Grower struct {
	data    *Binned
	bins    *Bins
	p       Params
	k       int  // outputs
	stride  int  // floats per row in gh and per bin in a histogram
	shared  bool // one hessian slot
	threads int

	off     []int   // first bin of feature f in a histogram
	nbins   []int   // value bins of feature f
	histLen int     // floats in a full histogram
	usable  []int32 // features with at least two value bins

	rows, scratch []int32
	ogh           []float64 // gradients in the order of rows
	og2           []int64   // the same for one output, quantised (see quantise)
	q             []int64   // quantised gradients of every row of the matrix
	qTotal        int64     // their sum over the tree's rows
	sg, sh        float64   // quantisation steps of gradient and hessian
	ogc           []int32   // the same for one-hot gradients: hot output
	ogw           []float64 // and weight
	hot           []int32   // hot output of every row of the matrix
	mult          []float64 // one-hot: how often each row is in this tree's rows
	exact         [2]float64
	gh            []float64 // this tree's gradients, by row index

	pool    [][]float64 // free histograms
	held    int         // histograms kept by open leaves
	maxHeld int

	pend     []pending // one per node, same index
	nodes    []Node
	gains    []float64
	arena    []float64 // node sums and best-split left sums
	featBuf  []int32   // per-node feature draws
	treeFeat []int32
	level    [][]int32 // per-depth draws
	levelSet []bool
	rnd      []uint64 // random cut draws of extra trees, per node and feature
	queue    []int32  // expandable nodes: FIFO from head, or a heap
	head     int
	leafNode []int32 // node of each leaf of the last tree
	workers  []worker
	identity bool      // the tree's rows are all rows, in order
	alive    [2][]bool // per sibling and feature: can still split
	span     [2][]span // per sibling and feature: occupied value bins
	job      job
	wg       sync.WaitGroup
	rng      *rand.Rand
	tmpFeat  []int32
}

// pending is the growth state of one node.
type pending struct {
	start, end int
	depth      int
	sum        int // offset of the node's stride sums in arena
	hist       []float64
	feats      []int32 // candidate features, whose histograms are built
	live       []int32 // features that can still split this node's rows
	best       split
	rnd        int // offset in Grower.rnd of the node's random cuts
}

// split is the best split found for a node.
type split struct {
	ok          bool
	gain        float64
	feature     int32
	bin         uint8
	defaultLeft bool
	left        int // offset of the left child's sums in arena
}

// worker is one goroutine's scratch for split search.
type worker struct {
	ints          []int64 // one-output integer histogram windows, 256 per feature
	dense, sparse []int32 // scratch feature lists
	pos           []int   // per sparse feature, next entry
	acc, l, r, l2 []float64
	best          [2]split
	left          [2][]float64
}

// NewGrower prepares a grower for data binned with bins.
func NewGrower(data *Binned, bins *Bins, p Params) (*Grower, error) {
	if p.Outputs < 1 {
		return nil, fmt.Errorf("tree: %d outputs", p.Outputs)
	}
	if data.Cols != len(bins.Cuts) {
		return nil, fmt.Errorf("tree: binned data has %d columns, bins %d", data.Cols, len(bins.Cuts))
	}
	for _, f := range []float64{p.ColsampleByTree, p.ColsampleByLevel, p.ColsampleByNode} {
		if f < 0 || f > 1 || math.IsNaN(f) {
			return nil, fmt.Errorf("tree: column sample fraction %v outside [0, 1]", f)
		}
	}
	if p.Lambda < 0 || p.Gamma < 0 || p.MinChildWeight < 0 || p.MaxDepth < 0 || p.MaxLeaves < 0 || p.MaxLeaves == 1 || p.NodeFeatures < 0 {
		return nil, fmt.Errorf("tree: negative lambda, gamma, min child weight, depth or leaves, or one leaf")
	}
	g := &Grower{data: data, bins: bins, p: p, k: p.Outputs, shared: p.SharedHessian}
	g.stride = 2 * g.k
	if g.shared {
		g.stride = g.k + 1
	}
	if g.p.Scale == 0 {
		g.p.Scale = 1
	}
	// One-output histograms give every feature a 256-bin window, the
	// layout of the workers' integer windows they are converted from; with
	// more outputs, windows are packed to save memory.
	g.off = make([]int, data.Cols+1)
	g.nbins = make([]int, data.Cols)
	for f := range data.Cols {
		nb := bins.NumBins(f)
		g.nbins[f] = nb
		g.off[f+1] = g.off[f] + nb + 1
		if g.stride == 2 {
			g.off[f+1] = g.off[f] + 256
		}
		if nb > 1 {
			g.usable = append(g.usable, int32(f))
		}
	}
	g.histLen = g.off[data.Cols] * g.stride
	g.alive = [2][]bool{make([]bool, data.Cols), make([]bool, data.Cols)}
	g.span = [2][]span{make([]span, data.Cols), make([]span, data.Cols)}
	// Open leaves keep their histogram only up to about 1 GiB; past it a
	// split builds both children instead of subtracting.
	g.maxHeld = max(4, (1<<30)/(8*max(1, g.histLen)))
	g.SetThreads(p.Threads)
	return g, nil
}

// SetThreads changes the goroutines used per tree; 0 means GOMAXPROCS.
func (g *Grower) SetThreads(n int) {
	g.threads = threadsOr(n)
	for len(g.workers) < g.threads {
		w := worker{acc: make([]float64, g.stride), l: make([]float64, g.stride), r: make([]float64, g.stride), l2: make([]float64, g.stride)}
		if g.stride == 2 {
			w.ints = make([]int64, 256*g.data.Cols)
		}
		w.left[0] = make([]float64, g.stride)
		w.left[1] = make([]float64, g.stride)
		g.workers = append(g.workers, w)
	}
}

// Grow grows one tree. gh holds the gradient statistics of every row of
// the binned matrix in the layout Params.SharedHessian describes (rows outside the given ones are never read); rows
// lists the rows to fit, ascending, repeats allowed (a bootstrap). rng
// drives feature sampling and random splits and may be nil when neither is
// on.
func (g *Grower) Grow(gh []float64, rows []int32, rng *rand.Rand) (*Tree, error) {
	if len(gh) < g.data.Rows*g.stride {
		return nil, fmt.Errorf("tree: %d gradient values for %d rows × %d", len(gh), g.data.Rows, g.stride)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("tree: no rows to grow on")
	}
	needRNG := g.p.RandomSplits || g.nodeSampling() ||
		(g.p.ColsampleByTree > 0 && g.p.ColsampleByTree < 1) || (g.p.ColsampleByLevel > 0 && g.p.ColsampleByLevel < 1)
	if needRNG && rng == nil {
		return nil, fmt.Errorf("tree: sampling or random splits need a random source")
	}
	g.gh, g.rng = gh, rng
	if g.p.OneHot {
		// The hot output of every row, found once per tree rather than
		// once per node.
		if len(g.hot) != g.data.Rows {
			g.hot = make([]int32, g.data.Rows)
		}
		for r := range g.hot {
			row := gh[r*g.stride : r*g.stride+g.k]
			g.hot[r] = 0
			for k, v := range row {
				if v != 0 {
					g.hot[r] = int32(k)
				}
			}
		}
	}
	n := len(rows)
	if cap(g.rows) < n {
		g.rows = make([]int32, n)
		g.scratch = make([]int32, n)
		switch {
		case g.stride == 2:
			g.og2 = make([]int64, n)
		case g.p.OneHot:
			g.ogc = make([]int32, n)
			g.ogw = make([]float64, n)
		default:
			g.ogh = make([]float64, n*g.stride)
		}
	}
	g.rows, g.scratch = g.rows[:n], g.scratch[:n]
	copy(g.rows, rows)
	if g.p.OneHot {
		n = g.merge()
		g.rows, g.scratch = g.rows[:n], g.scratch[:n]
	}
	g.identity = true
	for i, r := range rows {
		if int(r) != i {
			g.identity = false
			break
		}
	}
	g.identity = g.identity && n == g.data.Rows && g.stride == 2
	g.pend, g.nodes, g.gains, g.arena, g.featBuf, g.queue = g.pend[:0], g.nodes[:0], g.gains[:0], g.arena[:0], g.featBuf[:0], g.queue[:0]
	clear(g.levelSet)
	g.rnd = g.rnd[:0]
	g.held, g.head = 0, 0

	g.treeFeat = g.draw(g.treeFeat[:0], g.usable, g.p.ColsampleByTree)

	// Root.
	sum := g.alloc()
	if g.stride == 2 {
		g.quantise(rng)
		g.arena[sum], g.arena[sum+1] = g.unpack(g.qTotal)
	} else {
		for _, r := range g.rows {
			src := gh[int(r)*g.stride : int(r)*g.stride+g.stride]
			c := 1.0
			if g.p.OneHot {
				c = g.mult[r]
			}
			for k, v := range src {
				g.arena[sum+k] += v * c
			}
		}
	}
	g.newNode(0, n, 0, sum)
	g.evaluate([2]int32{0}, 1, nil, g.treeFeat)
	g.enqueue(0)

	leaves := 1
	for len(g.queue) > g.head && (g.p.MaxLeaves == 0 || leaves < g.p.MaxLeaves) {
		g.expand(g.next())
		leaves++
	}
	// Histograms of leaves that were never expanded go back to the pool.
	for i := range g.pend {
		if g.pend[i].hist != nil {
			g.release(&g.pend[i])
		}
	}
	return g.finish(), nil
}

// alloc reserves stride zeroed floats in the arena and returns their offset.
func (g *Grower) alloc() int {
	o := len(g.arena)
	for range g.stride {
		g.arena = append(g.arena, 0)
	}
	return o
}

func (g *Grower) newNode(start, end, depth, sum int) int32 {
	g.pend = append(g.pend, pending{start: start, end: end, depth: depth, sum: sum})
	g.nodes = append(g.nodes, Node{Feature: -1})
	g.gains = append(g.gains, 0)
	return int32(len(g.nodes) - 1)
}

// draw appends to dst a sorted random fraction of from (all of it when
// frac is 0 or 1), at least one feature.
func (g *Grower) draw(dst, from []int32, frac float64) []int32 {
	if frac == 0 || frac >= 1 {
		return append(dst, from...)
	}
	return g.drawN(dst, from, max(1, int(frac*float64(len(from))+1e-9)))
}

// drawN appends to dst k features drawn from from without replacement,
// sorted.
func (g *Grower) drawN(dst, from []int32, k int) []int32 {
	if k >= len(from) {
		return append(dst, from...)
	}
	g.tmpFeat = append(g.tmpFeat[:0], from...)
	for i := 0; i < k; i++ {
		j := i + g.rng.IntN(len(g.tmpFeat)-i)
		g.tmpFeat[i], g.tmpFeat[j] = g.tmpFeat[j], g.tmpFeat[i]
	}
	start := len(dst)
	dst = append(dst, g.tmpFeat[:k]...)
	slices.Sort(dst[start:])
	return dst
}

// subtracting reports whether children reuse their parent's histogram:
// only when every node of the tree considers the same features.
func (g *Grower) subtracting() bool {
	return (g.p.ColsampleByLevel == 0 || g.p.ColsampleByLevel >= 1) && !g.nodeSampling()
}

func (g *Grower) nodeSampling() bool {
	if g.p.NodeFeatures > 0 {
		return g.p.NodeFeatures < len(g.usable)
	}
	return g.p.ColsampleByNode > 0 && g.p.ColsampleByNode < 1
}

// candidates draws the features node i may split on.
func (g *Grower) candidates(i int32) []int32 {
	d := g.pend[i].depth
	for len(g.level) <= d {
		g.level = append(g.level, nil)
		g.levelSet = append(g.levelSet, false)
	}
	if !g.levelSet[d] {
		g.level[d] = g.draw(g.level[d][:0], g.treeFeat, g.p.ColsampleByLevel)
		g.levelSet[d] = true
	}
	if !g.nodeSampling() {
		return g.level[d]
	}
	start := len(g.featBuf)
	if g.p.NodeFeatures > 0 {
		g.featBuf = g.drawN(g.featBuf, g.level[d], g.p.NodeFeatures)
	} else {
		g.featBuf = g.draw(g.featBuf, g.level[d], g.p.ColsampleByNode)
	}
	// The buffer may move on a later append; hand out a copy-free view
	// that stays valid by capping it.
	return g.featBuf[start:len(g.featBuf):len(g.featBuf)]
}

func (g *Grower) weight(s []float64) float64 {
	if g.shared {
		return s[g.k]
	}
	w := 0.0
	for _, h := range s[g.k:] {
		w += h
	}
	return w
}

// splittable reports whether node i may be split at all.
func (g *Grower) splittable(i int32) bool {
	p := &g.pend[i]
	if g.p.MaxDepth > 0 && p.depth >= g.p.MaxDepth {
		return false
	}
	// A node of one distinct row can split only when it holds several
	// copies of it (merge): nothing separates them, but the search draws
	// its features as it did on the copies, keeping the random stream
	// and so the trees of a seed the same.
	if n := p.end - p.start; n < 2 && (n < 1 || !g.p.OneHot || g.mult[g.rows[p.start]] < 2) {
		return false
	}
	w := g.weight(g.arena[p.sum : p.sum+g.stride])
	return w > 0 && w >= 2*g.p.MinChildWeight
}

func (g *Grower) getHist() []float64 {
	if n := len(g.pool); n > 0 {
		h := g.pool[n-1]
		g.pool = g.pool[:n-1]
		return h
	}
	return make([]float64, g.histLen)
}

func (g *Grower) release(p *pending) {
	g.pool = append(g.pool, p.hist)
	p.hist = nil
}

// enqueue makes node i a candidate for expansion if it has a split.
func (g *Grower) enqueue(i int32) {
	if !g.pend[i].best.ok {
		return
	}
	g.queue = append(g.queue, i)
	if g.p.LeafWise {
		// Sift up on gain, ties to the lower node index.
		c := len(g.queue) - 1
		for c > 0 {
			par := (c - 1) / 2
			if !g.before(g.queue[c], g.queue[par]) {
				break
			}
			g.queue[c], g.queue[par] = g.queue[par], g.queue[c]
			c = par
		}
	}
}

func (g *Grower) before(a, b int32) bool {
	ga, gb := g.pend[a].best.gain, g.pend[b].best.gain
	return ga > gb || (ga == gb && a < b)
}

// next removes and returns the next node to expand: the oldest
// (depth-wise) or the one of largest gain (leaf-wise).
func (g *Grower) next() int32 {
	if !g.p.LeafWise {
		g.head++
		return g.queue[g.head-1]
	}
	top := g.queue[0]
	last := len(g.queue) - 1
	g.queue[0] = g.queue[last]
	g.queue = g.queue[:last]
	c := 0
	for {
		l, r, m := 2*c+1, 2*c+2, c
		if l < last && g.before(g.queue[l], g.queue[m]) {
			m = l
		}
		if r < last && g.before(g.queue[r], g.queue[m]) {
			m = r
		}
		if m == c {
			return top
		}
		g.queue[c], g.queue[m] = g.queue[m], g.queue[c]
		c = m
	}
}

// expand applies node i's best split and evaluates its two children.
func (g *Grower) expand(i int32) {
	p := g.pend[i]
	s := p.best
	mid := g.partition(p.start, p.end, s.feature, s.bin, s.defaultLeft)
	right := g.alloc()
	for k := range g.stride {
		g.arena[right+k] = g.arena[p.sum+k] - g.arena[s.left+k]
	}
	li := g.newNode(p.start, mid, p.depth+1, s.left)
	ri := g.newNode(mid, p.end, p.depth+1, right)
	g.nodes[i] = Node{Feature: s.feature, Left: li, Right: ri, Threshold: g.bins.Cuts[s.feature][s.bin], Bin: s.bin, DefaultLeft: s.defaultLeft}
	g.gains[i] = s.gain
	g.pend[i].hist = nil // handed to a child or released in evaluate
	g.evaluate([2]int32{li, ri}, 2, p.hist, p.live)
	g.enqueue(li)
	g.enqueue(ri)
}

// partition reorders rows[start:end] so the rows going left come first,
// keeping both sides in ascending order, and returns the first right row.
func (g *Grower) partition(start, end int, f int32, bin uint8, defaultLeft bool) int {
	col := g.data.Col(int(f))
	missing := g.data.Missing[f]
	rows := g.rows[start:end]
	nl, nr := 0, 0
	for _, r := range rows {
		b := col[r]
		if b <= bin || (b == missing && defaultLeft) {
			rows[nl] = r
			nl++
		} else {
			g.scratch[nr] = r
			nr++
		}
	}
	copy(rows[nl:], g.scratch[:nr])
	return start + nl
}

// merge keeps one copy of each row of g.rows, in their order, and records
// in g.mult how many there were: a bootstrap's repeats then cost one pass
// per node instead of several, and no longer follow each other into the
// same histogram cell, which chains every add on the one before. A
// one-hot row's weight is its own times its count. It returns the number
// of distinct rows.
func (g *Grower) merge() int {
	if len(g.mult) != g.data.Rows {
		g.mult = make([]float64, g.data.Rows)
	}
	for _, r := range g.rows {
		g.mult[r] = 0
	}
	m := 0
	for _, r := range g.rows {
		if g.mult[r] == 0 {
			g.rows[m] = r
			m++
		}
		g.mult[r]++
	}
	return m
}

// gather copies the gradients of rows[start:end] into ogh at the same
// positions, so histogram passes read them sequentially.
func (g *Grower) gather(start, end int) {
	s := g.stride
	if s == 2 {
		rows := g.rows[start:end]
		og := g.og2[start:end]
		og = og[:len(rows)]
		for j, r := range rows {
			og[j] = g.q[r]
		}
		return
	}
	if g.p.OneHot {
		for j, r := range g.rows[start:end] {
			g.ogc[start+j], g.ogw[start+j] = g.hot[r], g.gh[int(r)*s+g.k]*g.mult[r]
		}
		return
	}
	for j, r := range g.rows[start:end] {
		copy(g.ogh[(start+j)*s:(start+j+1)*s], g.gh[int(r)*s:int(r)*s+s])
	}
}

// job is what the workers of one evaluate call do: build histograms of the
// kids marked build, derive kid derive (if >= 0) as parent minus sibling,
// and search the kids marked want.
type job struct {
	kids        [2]int32
	n           int
	build, want [2]bool
	derive      int
}

// evaluate gives each of the n nodes in kids (the root, or two siblings) a
// histogram and its best split. parent is the siblings' parent histogram,
// or nil; live the features that could still split the parent. With
// subtraction, a feature whose parent rows all share one bin is neither
// built nor searched again below it, which prunes most features deep in a
// tree.
func (g *Grower) evaluate(kidArr [2]int32, n int, parent []float64, live []int32) {
	kids := kidArr[:n]
	sub := g.subtracting()
	var want [2]bool
	wanted := false
	for c, i := range kids {
		want[c] = g.splittable(i)
		switch {
		case sub:
			g.pend[i].feats = live
		case want[c]:
			g.pend[i].feats = g.candidates(i)
		}
		want[c] = want[c] && len(g.pend[i].feats) > 0
		wanted = wanted || want[c]
	}
	if !wanted {
		if parent != nil {
			g.pool = append(g.pool, parent)
		}
		return
	}
	// Decide what to build: with subtraction, the smaller child from rows
	// and the larger as parent minus smaller (in the parent's buffer);
	// otherwise each wanted child from rows, over its own candidates.
	var build [2]bool
	derive := -1
	if sub && parent != nil && len(kids) == 2 {
		small := 0
		if g.pend[kids[1]].end-g.pend[kids[1]].start < g.pend[kids[0]].end-g.pend[kids[0]].start {
			small = 1
		}
		build[small] = true
		derive = 1 - small
		g.pend[kids[derive]].hist = parent
	} else {
		if parent != nil {
			g.pool = append(g.pool, parent)
		}
		for c := range kids {
			build[c] = want[c]
		}
	}
	work := 0
	for c, i := range kids {
		if build[c] {
			p := &g.pend[i]
			p.hist = g.getHist()
			g.gather(p.start, p.end)
			work += (p.end - p.start) * len(g.buildFeats(i))
		}
	}
	if g.p.RandomSplits {
		for c, i := range kids {
			if want[c] {
				g.drawCuts(i)
			}
		}
	}
	threads := g.threads
	if work < 1<<15 {
		threads = 1
	}
	g.job = job{kids: kidArr, n: n, build: build, want: want, derive: derive}
	if threads == 1 {
		g.work(0, 1)
	} else {
		g.wg.Add(threads)
		for t := range threads {
			go g.workAsync(t, threads)
		}
		g.wg.Wait()
	}
	for c, i := range kids {
		p := &g.pend[i]
		if sub && want[c] {
			start := len(g.featBuf)
			for _, f := range p.feats {
				if g.alive[c][f] {
					g.featBuf = append(g.featBuf, f)
				}
			}
			p.live = g.featBuf[start:len(g.featBuf):len(g.featBuf)]
		}
		if want[c] {
			// Workers hold ascending feature chunks; a strict > keeps the
			// lowest feature among equal gains whatever the thread count.
			var best *worker
			bc := -1
			for t := range threads {
				w := &g.workers[t]
				if w.best[c].ok && (bc < 0 || w.best[c].gain > best.best[c].gain) {
					best, bc = w, t
				}
			}
			if bc >= 0 {
				p.best = best.best[c]
				p.best.left = g.alloc()
				copy(g.arena[p.best.left:p.best.left+g.stride], best.left[c])
			}
		}
		if p.hist != nil && (!sub || !p.best.ok || g.held >= g.maxHeld) {
			g.release(p)
		} else if p.hist != nil {
			g.held++
		}
	}
}

func (g *Grower) workAsync(t, T int) {
	defer g.wg.Done()
	g.work(t, T)
}

// work is worker t of T on the current job; each worker owns the t-th
// chunk of every feature list, so no two touch the same histogram slots.
func (g *Grower) work(t, T int) {
	j := &g.job
	w := &g.workers[t]
	kids := j.kids[:j.n]
	for c, i := range kids {
		if j.build[c] {
			g.buildHist(w, c, i, chunk(g.buildFeats(i), t, T))
		}
	}
	if j.derive >= 0 {
		small, big := &g.pend[kids[1-j.derive]], &g.pend[kids[j.derive]]
		for _, f := range chunk(big.feats, t, T) {
			bh, sh := g.histOf(big.hist, f), g.histOf(small.hist, f)
			for x := range bh {
				bh[x] -= sh[x]
			}
		}
	}
	for c, i := range kids {
		w.best[c] = split{}
		if j.want[c] {
			n := len(g.pend[i].feats)
			g.searchNode(w, c, i, t*n/T, (t+1)*n/T)
		}
	}
}

// buildFeats is the list of features whose histogram node i needs.
func (g *Grower) buildFeats(i int32) []int32 {
	return g.pend[i].feats
}

// chunk returns the t-th of T contiguous parts of fs.
func chunk(fs []int32, t, T int) []int32 {
	return fs[t*len(fs)/T : (t+1)*len(fs)/T]
}

// histBlock is the number of rows whose gradients every feature pass
// reads before moving on, so they stay in cache across features.
const histBlock = 4096

// span is the range of value bins, lo..hi, that may hold rows of a node;
// bins outside it are not even cleared.
type span struct{ lo, hi int }

// buildHist fills node i's histogram (sibling c) for the given features.
func (g *Grower) buildHist(w *worker, c int, i int32, feats []int32) {
	p := &g.pend[i]
	s := g.stride
	if s != 2 && !g.subtracting() {
		// Several outputs and no subtraction (forests): deep nodes hold
		// few rows, so clearing and scanning all 256 bins would cost more
		// than the rows; only the occupied range is touched.
		for _, f := range feats {
			g.buildSpan(c, p, f)
		}
		return
	}
	for _, f := range feats {
		g.span[c][f] = span{0, g.nbins[f] - 1}
		if s == 2 {
			clear(w.iwin(f)[:])
		} else {
			clear(g.histOf(p.hist, f))
		}
	}
	if s == 2 {
		// Integer sums into the worker's windows, then one conversion
		// per bin into the node's histogram.
		defer g.convert(w, p, feats)
	}
	if i == 0 && g.identity {
		feats = g.buildSparse(w, feats)
	}
	for b0 := p.start; b0 < p.end; b0 += histBlock {
		b1 := min(b0+histBlock, p.end)
		rows := g.rows[b0:b1]
		if s != 2 {
			for _, f := range feats {
				g.accumulateK(g.histOf(p.hist, f), g.data.Col(int(f)), b0, b1)
			}
			continue
		}
		og := g.og2[b0:b1]
		fs := feats
		// Four features per pass: the row's gradients are loaded once
		// and the four histograms' dependency chains overlap.
		for ; len(fs) >= 4; fs = fs[4:] {
			accumulate2x4(w.iwin(fs[0]), w.iwin(fs[1]), w.iwin(fs[2]), w.iwin(fs[3]),
				g.data.Col(int(fs[0])), g.data.Col(int(fs[1])), g.data.Col(int(fs[2])), g.data.Col(int(fs[3])), rows, og)
		}
		for _, f := range fs {
			accumulate2(w.iwin(f), g.data.Col(int(f)), rows, og)
		}
	}
}

// buildSparse fills the root histogram of the listed sparse features from
// their uncommon rows only, and returns the other features. Rows go in the
// same blocks as the dense loop so that the gradients read stay in cache.
func (g *Grower) buildSparse(w *worker, feats []int32) []int32 {
	sp := g.data.sparseView()
	w.dense, w.sparse, w.pos = w.dense[:0], w.sparse[:0], w.pos[:0]
	for _, f := range feats {
		if sp.use[f] {
			w.sparse = append(w.sparse, f)
			w.pos = append(w.pos, sp.off[f])
		} else {
			w.dense = append(w.dense, f)
		}
	}
	og := g.og2[:g.data.Rows]
	for b1 := histBlock; len(w.sparse) > 0; b1 += histBlock {
		for k, f := range w.sparse {
			h := w.iwin(f)
			end := sp.off[f+1]
			rows, codes := sp.rows[w.pos[k]:end], sp.codes[w.pos[k]:end]
			codes = codes[:len(rows)]
			j := 0
			for ; j < len(rows) && int(rows[j]) < b1; j++ {
				h[codes[j]] += og[rows[j]]
			}
			w.pos[k] += j
		}
		if b1 >= g.data.Rows {
			break
		}
	}
	for _, f := range w.sparse {
		h := w.iwin(f)
		rest := int64(0)
		for _, v := range h {
			rest += v
		}
		h[sp.common[f]] = g.qTotal - rest
	}
	return w.dense
}

// quantise turns the one-output gradients into integers for the histogram
// loops: g and h are divided by power-of-two steps and rounded
// stochastically (unbiased), and packed as h<<32 + g in one int64, so one
// integer add per row and feature accumulates both; the steps are chosen
// so that no sum over the tree's rows overflows 31 bits. Integer sums are
// exact and their scaled values exactly representable, so histogram
// subtraction stays exact; only split search sees the rounding (a step of
// about 2⁻³¹ of the total absolute gradient), and leaf values are computed
// from the exact gradients. LightGBM trains with far coarser gradients.
func (g *Grower) quantise(rng *rand.Rand) {
	if len(g.q) != g.data.Rows {
		g.q = make([]int64, g.data.Rows)
	}
	// Rounding adds at most one step per row, so a step of at least
	// Σ|g| / (2³¹−1−n) keeps every partial sum within 31 bits. Late in
	// boosting most gradients are tiny and Σ|g| small, so the step shrinks
	// with them.
	sumG, sumH := 0.0, 0.0
	for _, r := range g.rows {
		sumG += math.Abs(g.gh[2*r])
		sumH += g.gh[2*r+1]
	}
	budget := float64(1<<31 - 1 - len(g.rows))
	step := func(m float64) float64 {
		if m == 0 {
			return 1
		}
		_, e := math.Frexp(m / budget)
		return math.Ldexp(1, e)
	}
	g.sg, g.sh = step(sumG), step(sumH)
	seed := uint64(0x71756e74)
	if rng != nil {
		seed = rng.Uint64()
	}
	g.qTotal = 0
	for _, r := range g.rows {
		gq := math.Floor(g.gh[2*r]/g.sg + dither(seed, uint64(r)))
		hq := math.Floor(g.gh[2*r+1]/g.sh + dither(seed, uint64(r)^0x5bd1e995))
		v := int64(hq)<<32 + int64(gq)
		g.q[r] = v
		g.qTotal += v
	}
}

// dither is a uniform number in [0, 1) from a splitmix64 hash of the seed
// and x.
func dither(seed, x uint64) float64 {
	z := seed + x*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

// unpack returns the gradient and hessian sums a packed integer sum
// stands for.
func (g *Grower) unpack(v int64) (float64, float64) {
	lo := int64(int32(v))
	return float64(lo) * g.sg, float64((v-lo)>>32) * g.sh
}

// convert writes the worker's integer windows of feats into node p's
// histogram.
func (g *Grower) convert(w *worker, p *pending, feats []int32) {
	for _, f := range feats {
		h := g.histOf(p.hist, f)
		win := w.iwin(f)
		for b := range len(h) / 2 {
			h[2*b], h[2*b+1] = g.unpack(win[b])
		}
	}
}

// buildSpan builds feature f's histogram of node p over its occupied bins
// only.
func (g *Grower) buildSpan(c int, p *pending, f int32) {
	s, nb := g.stride, g.nbins[f]
	col := g.data.Col(int(f))
	rows := g.rows[p.start:p.end]
	lo, hi := nb, -1
	for _, r := range rows {
		if b := int(col[r]); b < nb {
			lo, hi = min(lo, b), max(hi, b)
		}
	}
	g.span[c][f] = span{lo, hi}
	h := g.histOf(p.hist, f)
	if hi >= lo {
		clear(h[lo*s : (hi+1)*s])
	}
	clear(h[nb*s:])
	g.accumulateK(h, col, p.start, p.end)
}

// accumulateK adds rows[start:end] to the histogram h of one feature with
// several outputs.
func (g *Grower) accumulateK(h []float64, col []uint8, start, end int) {
	s := g.stride
	rows := g.rows[start:end]
	if !g.p.OneHot {
		accumulate(h, col, rows, g.ogh[start*s:end*s], s)
		return
	}
	cls, wt := g.ogc[start:end], g.ogw[start:end]
	cls = cls[:len(rows)]
	wt = wt[:len(rows)]
	k := g.k
	for j, r := range rows {
		b := int(col[r]) * s
		h[b+int(cls[j])] -= wt[j]
		h[b+k] += wt[j]
	}
}

// histOf is feature f's part of histogram h: its value bins and the
// missing bin.
func (g *Grower) histOf(h []float64, f int32) []float64 {
	o := g.off[f] * g.stride
	return h[o : o+(g.nbins[f]+1)*g.stride]
}

// iwin is feature f's 256-bin integer window of the worker.
func (w *worker) iwin(f int32) *[256]int64 {
	return (*[256]int64)(w.ints[int(f)*256 : int(f)*256+256])
}

// accumulate2 is the histogram loop for one output: one integer add of
// the packed gradient per row.
func accumulate2(h *[256]int64, col []uint8, rows []int32, og []int64) {
	og = og[:len(rows)]
	for j, r := range rows {
		h[col[r]] += og[j]
	}
}

// accumulate2x4 is accumulate2 for four features at once.
func accumulate2x4(h0, h1, h2, h3 *[256]int64, c0, c1, c2, c3 []uint8, rows []int32, og []int64) {
	og = og[:len(rows)]
	for j, r := range rows {
		v := og[j]
		h0[c0[r]] += v
		h1[c1[r]] += v
		h2[c2[r]] += v
		h3[c3[r]] += v
	}
}

func accumulate(h []float64, col []uint8, rows []int32, og []float64, s int) {
	for j, r := range rows {
		b := int(col[r]) * s
		dst := h[b : b+s]
		src := og[j*s : j*s+s]
		for k := range dst {
			dst[k] += src[k]
		}
	}
}

// finish turns the grown nodes into a Tree: leaves numbered in node
// order, values −G/(H+λ)·Scale.
func (g *Grower) finish() *Tree {
	t := &Tree{Outputs: g.k, Nodes: slices.Clone(g.nodes), Gain: slices.Clone(g.gains)}
	t.Values = make([]float64, 0, (len(t.Nodes)+1)/2*g.k)
	g.leafNode = g.leafNode[:0]
	for i := range t.Nodes {
		if t.Nodes[i].Feature >= 0 {
			continue
		}
		t.Nodes[i].Leaf = int32(len(g.leafNode))
		g.leafNode = append(g.leafNode, int32(i))
		sum := g.arena[g.pend[i].sum : g.pend[i].sum+g.stride]
		if g.stride == 2 {
			// Exact sums: the node's are quantised.
			p := &g.pend[i]
			sum = g.exact[:2]
			sum[0], sum[1] = 0, 0
			for _, r := range g.rows[p.start:p.end] {
				sum[0] += g.gh[2*r]
				sum[1] += g.gh[2*r+1]
			}
		}
		for k := range g.k {
			h := sum[g.k]
			if !g.shared {
				h = sum[g.k+k]
			}
			v := 0.0
			if d := h + g.p.Lambda; d > 0 {
				v = -sum[k] / d * g.p.Scale
			}
			t.Values = append(t.Values, v)
		}
	}
	return t
}

// LeafRows returns the rows, of those passed to the last Grow, that fell in
// leaf l of the tree it returned; with OneHot, each distinct row once. The slice is valid until the next Grow.
func (g *Grower) LeafRows(l int32) []int32 {
	p := &g.pend[g.leafNode[l]]
	return g.rows[p.start:p.end]
}
