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

// cutPoints returns at most maxBins-1 cuts for the sorted values, chosen
// by XGBoost 1.7's hist procedure for max_bin = maxBins+1 (modelled in
// bench/train/xgbcuts.py, which reproduces every split value of its trees):
// the values as float32, summarised exactly as distinct values with rank
// ranges; the summary pruned (WQSummary::SetPrune) to the sketch's size
// limit, then to max_bin*8 entries, then to max_bin+1; entries 1..max_bin-1
// are the values the cuts go before. A value v of XGBoost's goes right of
// its cut (x < v goes left), so the cut here lies between v and the value
// before it. With a missing-value code after them only maxBins-1 cuts fit
// in a byte, so when XGBoost would use maxBins the highest is left out.
// XGBoost's cuts are these exactly while a column fits its sketch's
// buffer (twice the size limit); longer columns it merges in a streaming
// sketch first, which this does not follow.
func cutPoints(vals []float64, maxBins int) []float64 {
	if len(vals) == 0 {
		return []float64{}
	}
	// The exact summary: distinct float32 values, each with the smallest
	// float64 value that rounds to it and the largest of the one before.
	var s []sumEntry
	for i, v := range vals {
		v32 := float32(v)
		if k := len(s); k > 0 && s[k-1].v == v32 {
			s[k-1].n++
		} else {
			prev := math.NaN()
			if i > 0 {
				prev = vals[i-1]
			}
			s = append(s, sumEntry{v: v32, lo: v, prev: prev, n: 1})
		}
	}
	cum := 0
	for i := range s {
		cum += s[i].n
		s[i].w = float32(s[i].n)
		s[i].rmax = float32(cum)
		s[i].rmin = s[i].rmax - s[i].w
	}
	maxBin := maxBins + 1 // XGBoost's max_bin
	n := len(vals)
	inter := min(n, maxBin*8)
	s = pruneSummary(pruneSummary(s, sketchLimit(n, maxBin)), inter)
	nb := min(inter, maxBin)
	a := pruneSummary(s, nb+1)
	chosen := a[1:max(1, min(len(a), nb))]
	if len(chosen) > maxBins-1 {
		chosen = chosen[:maxBins-1]
	}
	cuts := make([]float64, 0, len(chosen))
	for _, e := range chosen {
		if c, ok := cutBetween(e.prev, e.lo); ok {
			cuts = append(cuts, c)
		}
	}
	return cuts
}

// sumEntry is one distinct (float32) value of a quantile summary with its
// rank range [rmin, rmax) and weight, kept in float32 as XGBoost does so
// that the prunes round as its do.
type sumEntry struct {
	v             float32
	lo, prev      float64 // smallest value in the entry, largest before it
	n             int
	rmin, rmax, w float32
}

// pruneSummary is WQSummary::SetPrune: it keeps the first and last entry
// and, for the ranks begin + k*span/(maxsize-1), k = 1..maxsize-2, the
// entry whose rank range holds the rank, each once. Every float32
// operation is rounded explicitly, as in XGBoost.
func pruneSummary(s []sumEntry, maxsize int) []sumEntry {
	m := len(s)
	if m <= maxsize {
		return s
	}
	begin := s[0].rmax
	span := float32(s[m-1].rmin - s[0].rmax)
	div := maxsize - 1
	out := []sumEntry{s[0]}
	i, last := 1, 0
	for k := 1; k < div; k++ {
		dx2 := float32(2 * float32(float32(float32(float32(k)*span)/float32(div))+begin))
		for i < m-1 && dx2 >= float32(s[i+1].rmax+s[i+1].rmin) {
			i++
		}
		if i == m-1 {
			break
		}
		if dx2 < float32(float32(s[i].rmin+s[i].w)+float32(s[i+1].rmax-s[i+1].w)) {
			if i != last {
				out = append(out, s[i])
				last = i
			}
		} else if i+1 != last {
			out = append(out, s[i+1])
			last = i + 1
		}
	}
	if last != m-1 {
		out = append(out, s[m-1])
	}
	return out
}

// sketchLimit is the size limit of XGBoost's quantile sketch for n rows
// and max_bin (WQuantileSketch::LimitSizeLevel with eps 1/(8*max_bin)).
func sketchLimit(n, maxBin int) int {
	eps := 1.0 / (float64(float32(min(maxBin, n))) * 8)
	for level := 1; ; level++ {
		limit := min(n, int(math.Ceil(float64(level)/eps))+1)
		if (1<<level)*limit >= n {
			return limit
		}
	}
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
