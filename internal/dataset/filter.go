package dataset

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/flowguard/flowguard/internal/ml"
)

// DefaultCorrelation is the |Pearson r| at or above which ColumnFilter
// drops the later of two columns: they carry the same information
// (Subflow Fwd Pkts and Tot Fwd Pkts are equal in cic2017 flows).
const DefaultCorrelation = 0.99

// corrRows bounds the rows correlations are estimated on; r is stable to
// far fewer digits than a threshold needs long before that.
const corrRows = 200_000

// ColumnFilter drops features that carry no or almost no information
// (constant and near-constant columns) or repeat another (highly
// correlated ones). It learns which from data, so it must be fitted on the
// training rows only and then applied unchanged to validation, test and
// detection-time rows: fitted on all rows it would choose features by
// looking at the test set, and a column constant in training but not in
// test would be silently dropped or kept depending on data the model must
// not have seen.
type ColumnFilter struct {
	// NearConstant drops a column whose most frequent value covers at
	// least this share of the training rows, in [0.5, 1]; 0 means 1, so
	// only constant columns go. Near-constant columns can carry a rare
	// class (Heartbleed is 11 flows in 2.8 million): lower it knowingly.
	NearConstant float64 `json:"near_constant"`
	// Correlation drops a column whose |Pearson r| with an earlier kept
	// column is at least this; 0 means DefaultCorrelation, a value above
	// 1 turns the step off.
	Correlation float64 `json:"correlation"`
	// Names, when set, names the columns in Dropped and String.
	Names []string `json:"-"`

	// Learned by Fit.
	Cols    int             `json:"cols"`
	Keep    []int           `json:"keep"`
	Dropped []DroppedColumn `json:"dropped"`
}

// DroppedColumn records one column Fit dropped and why.
type DroppedColumn struct {
	Column int    `json:"column"`
	Name   string `json:"name,omitempty"`
	Reason string `json:"reason"` // constant, near-constant, correlated
	// Share is the most frequent value's share of the training rows.
	Share float64 `json:"share,omitempty"`
	// With is the kept column it correlates with, R their coefficient.
	With int     `json:"with"`
	R    float64 `json:"r,omitempty"`
}

// Fit chooses the columns to keep from x's rows (all rows when nil).
func (f *ColumnFilter) Fit(x *ml.Matrix, rows []int) error {
	share := f.NearConstant
	if share == 0 {
		share = 1
	}
	if share < 0.5 || share > 1 {
		return fmt.Errorf("near-constant share %v outside [0.5, 1]", f.NearConstant)
	}
	corr := f.Correlation
	if corr == 0 {
		corr = DefaultCorrelation
	}
	if corr < 0 {
		return fmt.Errorf("correlation threshold %v is negative", f.Correlation)
	}
	if rows == nil {
		rows = make([]int, x.Rows)
		for i := range rows {
			rows[i] = i
		}
	}
	if len(rows) == 0 {
		return fmt.Errorf("fit on no rows")
	}
	f.Cols, f.Keep, f.Dropped = x.Cols, nil, nil
	var candidates []int
	for j, s := range modeShares(x, rows) {
		switch {
		case s == 1:
			f.drop(DroppedColumn{Column: j, Reason: "constant", Share: s})
		case s >= share:
			f.drop(DroppedColumn{Column: j, Reason: "near-constant", Share: s})
		default:
			candidates = append(candidates, j)
		}
	}
	if corr > 1 {
		f.Keep = candidates
		return nil
	}
	sample := rows
	if len(rows) > corrRows {
		sample = make([]int, corrRows)
		for k := range sample {
			sample[k] = rows[k*len(rows)/corrRows]
		}
	}
	r := correlations(x, sample, candidates)
	var kept []int // positions in candidates
	for a, j := range candidates {
		k := slices.IndexFunc(kept, func(b int) bool { return math.Abs(r[a][b]) >= corr })
		if k >= 0 {
			b := kept[k]
			f.drop(DroppedColumn{Column: j, Reason: "correlated", With: candidates[b], R: r[a][b]})
			continue
		}
		kept = append(kept, a)
		f.Keep = append(f.Keep, j)
	}
	return nil
}

func (f *ColumnFilter) drop(d DroppedColumn) {
	if d.Column < len(f.Names) {
		d.Name = f.Names[d.Column]
	}
	f.Dropped = append(f.Dropped, d)
}

// modeShares returns, for every column, the share of the rows held by its
// most frequent value when that value is a majority, else 0 (a share below
// one half is never near-constant). One Boyer-Moore vote per column finds
// the only candidate; both passes read the rows in memory order, all
// columns at once, since a column-at-a-time walk of a row-major matrix
// misses the cache on every row.
func modeShares(x *ml.Matrix, rows []int) []float64 {
	cand := make([]float64, x.Cols)
	votes := make([]int, x.Cols)
	for _, i := range rows {
		for j, v := range x.Row(i) {
			switch {
			case votes[j] == 0:
				cand[j], votes[j] = v, 1
			case v == cand[j]:
				votes[j]++
			default:
				votes[j]--
			}
		}
	}
	count := make([]int, x.Cols)
	for _, i := range rows {
		for j, v := range x.Row(i) {
			if v == cand[j] {
				count[j]++
			}
		}
	}
	share := make([]float64, x.Cols)
	for j, c := range count {
		if 2*c > len(rows) {
			share[j] = float64(c) / float64(len(rows))
		}
	}
	return share
}

// correlations returns the Pearson matrix of cols over rows; a column
// without variance correlates with nothing (r = 0).
func correlations(x *ml.Matrix, rows, cols []int) [][]float64 {
	m := len(cols)
	mean := make([]float64, m)
	for _, i := range rows {
		for a, j := range cols {
			mean[a] += x.At(i, j)
		}
	}
	for a := range mean {
		mean[a] /= float64(len(rows))
	}
	cov := make([][]float64, m)
	for a := range cov {
		cov[a] = make([]float64, m)
	}
	d := make([]float64, m)
	for _, i := range rows {
		for a, j := range cols {
			d[a] = x.At(i, j) - mean[a]
		}
		for a := range m {
			ca, da := cov[a], d[a]
			for b := 0; b <= a; b++ {
				ca[b] += da * d[b]
			}
		}
	}
	r := make([][]float64, m)
	for a := range r {
		r[a] = make([]float64, m)
		for b := 0; b <= a; b++ {
			if den := math.Sqrt(cov[a][a] * cov[b][b]); den > 0 {
				r[a][b] = cov[a][b] / den
			}
			r[b][a] = r[a][b]
		}
	}
	return r
}

// Apply returns x restricted to the kept columns.
func (f *ColumnFilter) Apply(x *ml.Matrix) (*ml.Matrix, error) {
	if x.Cols != f.Cols {
		return nil, fmt.Errorf("filter fitted on %d columns, matrix has %d", f.Cols, x.Cols)
	}
	out := ml.NewMatrix(x.Rows, len(f.Keep))
	for i := range x.Rows {
		f.ApplyRow(out.Row(i), x.Row(i))
	}
	return out, nil
}

// ApplyRow writes the kept columns of src to dst (len(f.Keep) values) and
// returns it, for one flow at detection time.
func (f *ColumnFilter) ApplyRow(dst, src []float64) []float64 {
	dst = dst[:len(f.Keep)]
	for k, j := range f.Keep {
		dst[k] = src[j]
	}
	return dst
}

// Kept returns the names of the kept columns.
func (f *ColumnFilter) Kept(names []string) []string {
	out := make([]string, len(f.Keep))
	for k, j := range f.Keep {
		out[k] = names[j]
	}
	return out
}

// String lists what Fit dropped.
func (f *ColumnFilter) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "column filter: %d of %d columns kept\n", len(f.Keep), f.Cols)
	name := func(j int) string {
		if j < len(f.Names) {
			return f.Names[j]
		}
		return fmt.Sprintf("#%d", j)
	}
	for _, d := range f.Dropped {
		switch d.Reason {
		case "correlated":
			fmt.Fprintf(&b, "  dropped %s: correlated with %s (r = %.4f)\n", name(d.Column), name(d.With), d.R)
		default:
			fmt.Fprintf(&b, "  dropped %s: %s (most frequent value %.4f%% of rows)\n", name(d.Column), d.Reason, 100*d.Share)
		}
	}
	return b.String()
}
