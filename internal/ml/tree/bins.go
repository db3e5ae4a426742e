package tree

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/flowguard/flowguard/internal/ml"
)

// MaxBins is the largest number of value bins per feature: with the
// missing-value code after them every bin fits in a uint8.
const MaxBins = 255

// Bins is the fitted quantisation of every feature. It is plain data so a
// model can carry it: Cuts[f] holds the ascending, finite cut points of
// feature f. A value v is in bin i when Cuts[f][i-1] < v <= Cuts[f][i], so
// feature f has len(Cuts[f])+1 value bins, and NaN has the code
// len(Cuts[f])+1.
type Bins struct {
	Cuts [][]float64 `json:"cuts"`
}

// BinOptions configures FitBins.
type BinOptions struct {
	// MaxBins is the number of value bins per feature, 2..255; 0 means 255.
	MaxBins int
	// SampleRows bounds the rows sorted to find cut points; 0 means
	// 200,000. Smaller inputs are used whole.
	SampleRows int
	// Seed drives the row sample.
	Seed uint64
	// Threads bounds the goroutines; 0 means GOMAXPROCS.
	Threads int
}

func threadsOr(n int) int {
	if n <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return n
}

// FitBins finds cut points for every column of X from the given rows (nil
// means all rows).
func FitBins(X *ml.Matrix, rows []int, opt BinOptions) (*Bins, error) {
	maxBins := opt.MaxBins
	if maxBins == 0 {
		maxBins = MaxBins
	}
	if maxBins < 2 || maxBins > MaxBins {
		return nil, fmt.Errorf("tree: MaxBins %d outside [2, %d]", maxBins, MaxBins)
	}
	if X == nil || len(X.Data) != X.Rows*X.Cols {
		return nil, fmt.Errorf("tree: malformed feature matrix")
	}
	sampleRows := opt.SampleRows
	if sampleRows <= 0 {
		sampleRows = 200_000
	}
	if rows == nil {
		rows = make([]int, X.Rows)
		for i := range rows {
			rows[i] = i
		}
	}
	for _, r := range rows {
		if r < 0 || r >= X.Rows {
			return nil, fmt.Errorf("tree: row %d outside the %d-row matrix", r, X.Rows)
		}
	}
	sample := rows
	if len(rows) > sampleRows {
		// Partial Fisher–Yates on a copy, then sorted so that each
		// column is read in memory order.
		sample = slices.Clone(rows)
		rng := rand.New(rand.NewPCG(opt.Seed, 0x62696e73))
		for i := 0; i < sampleRows; i++ {
			j := i + rng.IntN(len(sample)-i)
			sample[i], sample[j] = sample[j], sample[i]
		}
		sample = sample[:sampleRows]
		slices.Sort(sample)
	}
	b := &Bins{Cuts: make([][]float64, X.Cols)}
	parallelFor(X.Cols, threadsOr(opt.Threads), func(lo, hi int) {
		keys := make([]uint64, 0, len(sample))
		tmp := make([]uint64, len(sample))
		vals := make([]float64, len(sample))
		for f := lo; f < hi; f++ {
			keys = keys[:0]
			for _, r := range sample {
				if v := X.Data[r*X.Cols+f]; !math.IsNaN(v) {
					keys = append(keys, orderKey(v))
				}
			}
			radixSort(keys, tmp[:len(keys)])
			vals = vals[:len(keys)]
			for i, k := range keys {
				vals[i] = fromOrderKey(k)
			}
			b.Cuts[f] = cutPoints(vals, maxBins)
		}
	})
	return b, nil
}

// orderKey maps a non-NaN float to a uint64 with the same order: negative
// numbers have all bits flipped, others only the sign bit.
func orderKey(v float64) uint64 {
	u := math.Float64bits(v)
	if u>>63 == 1 {
		return ^u
	}
	return u | 1<<63
}

func fromOrderKey(k uint64) float64 {
	if k>>63 == 1 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}

// radixSort sorts keys with 16-bit least-significant-digit passes, using
// tmp (same length) as the other buffer. A pass whose digit is the same
// for every key is skipped, which is most of them for small integers.
// -0 and +0 sort apart but equal values still end adjacent.
func radixSort(keys, tmp []uint64) {
	if len(keys) < 2 {
		return
	}
	var count [1 << 16]int
	src, dst := keys, tmp
	for shift := uint(0); shift < 64; shift += 16 {
		clear(count[:])
		for _, k := range src {
			count[(k>>shift)&0xffff]++
		}
		if count[(src[0]>>shift)&0xffff] == len(src) {
			continue
		}
		pos := 0
		for d, c := range count {
			count[d] = pos
			pos += c
		}
		for _, k := range src {
			d := (k >> shift) & 0xffff
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}

// cutPoints returns at most maxBins-1 cuts for the sorted values.
func cutPoints(vals []float64, maxBins int) []float64 {
	if len(vals) == 0 {
		return []float64{}
	}
	// Distinct values and their counts.
	type run struct {
		v float64
		n int
	}
	var runs []run
	for _, v := range vals {
		if k := len(runs); k > 0 && runs[k-1].v == v {
			runs[k-1].n++
		} else {
			runs = append(runs, run{v, 1})
		}
	}
	cuts := make([]float64, 0, min(len(runs), maxBins)-1)
	if len(runs) <= maxBins {
		for i := 1; i < len(runs); i++ {
			if c, ok := cutBetween(runs[i-1].v, runs[i].v); ok {
				cuts = append(cuts, c)
			}
		}
		return cuts
	}
	// More distinct values than bins: cuts before values picked at evenly
	// spaced ranks, the way XGBoost prunes its quantile summary. The
	// ranks run from the end of the smallest value to the start of the
	// largest, so a feature whose minimum holds most rows (0 or −1 for
	// "not measured") spends its cuts on the rows that are measured; a
	// heavy value elsewhere takes every rank that falls on it and leaves
	// the cuts it would have had unused, instead of handing them to the
	// light tail. Each rank goes to the value whose rank range it is
	// closest to the middle of.
	last := len(runs) - 1
	mid := make([]float64, len(runs)) // middle rank of each value
	cum := 0
	for j, r := range runs {
		mid[j] = float64(cum) + float64(r.n)/2
		cum += r.n
	}
	begin := float64(runs[0].n)
	span := float64(len(vals)-runs[last].n) - begin
	nt := maxBins - 1 // ranks, as XGBoost: a summary of maxBins+1 values
	picked, j := 0, 0
	for i := 1; i < nt; i++ {
		t := begin + float64(i)*span/float64(nt)
		for j < last && mid[j+1] <= t {
			j++
		}
		k := j
		if k < last && mid[k+1]-t < t-mid[k] {
			k++
		}
		if k > picked {
			if c, ok := cutBetween(runs[k-1].v, runs[k].v); ok {
				cuts = append(cuts, c)
			}
			picked = k
		}
	}
	if picked < last {
		if c, ok := cutBetween(runs[last-1].v, runs[last].v); ok {
			cuts = append(cuts, c)
		}
	}
	return cuts
}

// cutBetween returns a finite c with a <= c < b, for a < b.
func cutBetween(a, b float64) (float64, bool) {
	c := a/2 + b/2
	if c >= b {
		c = a
	}
	if math.IsInf(c, 0) || math.IsNaN(c) {
		switch {
		case !math.IsInf(a, 0):
			c = a
		case b > -math.MaxFloat64:
			c = -math.MaxFloat64
		default:
			return 0, false
		}
	}
	return c, a <= c && c < b
}

// NumFeatures is the number of features the bins were fitted on.
func (b *Bins) NumFeatures() int { return len(b.Cuts) }

// NumBins is the number of value bins of feature f; NaN has the code
// NumBins(f).
func (b *Bins) NumBins(f int) int { return len(b.Cuts[f]) + 1 }

// Bin returns the bin code of v for feature f.
func (b *Bins) Bin(f int, v float64) uint8 {
	cuts := b.Cuts[f]
	if v != v {
		return uint8(len(cuts) + 1)
	}
	return uint8(searchCuts(cuts, v))
}

// searchCuts returns the number of cuts strictly below v: the first i with
// v <= cuts[i]. The window halves every step whatever the comparison says,
// so the loop compiles to conditional moves instead of branches that
// random data mispredicts half of the time.
func searchCuts(cuts []float64, v float64) int {
	base, n := 0, len(cuts)
	if n == 0 {
		return 0
	}
	for n > 1 {
		half := n >> 1
		if cuts[base+half-1] < v {
			base += half
		}
		n -= half
	}
	if cuts[base] < v {
		base++
	}
	return base
}

// Validate reports whether b is usable: at most 255 value bins per feature,
// cuts finite and strictly ascending.
func (b *Bins) Validate() error {
	if b == nil {
		return fmt.Errorf("tree: no bins")
	}
	for f, cuts := range b.Cuts {
		if len(cuts) > MaxBins-1 {
			return fmt.Errorf("tree: feature %d has %d cuts, at most %d allowed", f, len(cuts), MaxBins-1)
		}
		for i, c := range cuts {
			if math.IsNaN(c) || math.IsInf(c, 0) {
				return fmt.Errorf("tree: feature %d cut %d is %v", f, i, c)
			}
			if i > 0 && !(cuts[i-1] < c) {
				return fmt.Errorf("tree: feature %d cuts not ascending at %d", f, i)
			}
		}
	}
	return nil
}

// Binned is a column-major matrix of bin codes: column f is
// Data[f*Rows:(f+1)*Rows], so a histogram pass over one feature reads
// one contiguous byte run.
type Binned struct {
	Rows, Cols int
	Data       []uint8
	// Missing[f] is the code of NaN in column f.
	Missing []uint8

	sparseOnce sync.Once
	sparse     sparseCols
}

// sparseCols lists, for every feature whose most frequent code covers at
// least half of the rows, the rows outside that code. A histogram over all
// rows then only visits those and gets the common bin as the node total
// minus the others, as LightGBM does for its most frequent bin; flow
// features are mostly zero, so this skips most of the work at the root.
type sparseCols struct {
	common []uint8 // most frequent code of each feature
	use    []bool  // feature f is listed
	off    []int   // rows of feature f: rows[off[f]:off[f+1]]
	rows   []int32
	codes  []uint8 // the codes of those rows
}

// sparseView builds the lists on first use.
func (m *Binned) sparseView() *sparseCols {
	m.sparseOnce.Do(func() {
		sp := &m.sparse
		sp.common = make([]uint8, m.Cols)
		sp.use = make([]bool, m.Cols)
		sp.off = make([]int, m.Cols+1)
		var count [256]int
		for f := range m.Cols {
			col := m.Col(f)
			clear(count[:])
			for _, c := range col {
				count[c]++
			}
			best := 0
			for c, n := range count {
				if n > count[best] {
					best = c
				}
			}
			sp.common[f] = uint8(best)
			sp.use[f] = 2*count[best] >= m.Rows
			if sp.use[f] {
				for r, c := range col {
					if c != uint8(best) {
						sp.rows = append(sp.rows, int32(r))
						sp.codes = append(sp.codes, c)
					}
				}
			}
			sp.off[f+1] = len(sp.rows)
		}
	})
	return &m.sparse
}

// Col returns the bin codes of feature f.
func (m *Binned) Col(f int) []uint8 { return m.Data[f*m.Rows : (f+1)*m.Rows] }

// Transform bins every row of X.
func (b *Bins) Transform(X *ml.Matrix, threads int) (*Binned, error) {
	if X.Cols != len(b.Cuts) {
		return nil, fmt.Errorf("tree: matrix has %d columns, bins were fitted on %d", X.Cols, len(b.Cuts))
	}
	m := &Binned{Rows: X.Rows, Cols: X.Cols, Data: make([]uint8, X.Rows*X.Cols), Missing: make([]uint8, X.Cols)}
	for f, cuts := range b.Cuts {
		m.Missing[f] = uint8(len(cuts) + 1)
	}
	// Work is split by row blocks, each writing every column, so the
	// row-major input is read once in order.
	// Within a chunk, rows go in blocks small enough that the block of
	// input stays in cache while every column is filled.
	const block = 256
	parallelFor(X.Rows, threadsOr(threads), func(lo, hi int) {
		for b0 := lo; b0 < hi; b0 += block {
			b1 := min(b0+block, hi)
			for f := 0; f < X.Cols; f++ {
				cuts := b.Cuts[f]
				missing := uint8(len(cuts) + 1)
				col := m.Data[f*X.Rows : (f+1)*X.Rows]
				for r := b0; r < b1; r++ {
					v := X.Data[r*X.Cols+f]
					if v != v {
						col[r] = missing
					} else {
						col[r] = uint8(searchCuts(cuts, v))
					}
				}
			}
		}
	})
	return m, nil
}
