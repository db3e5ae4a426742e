package dataset

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/flowguard/flowguard/internal/ml"
)

// Table is a loaded, cleaned data set: one row per flow, the features in
// canonical order, and per row what splits and reports need.
type Table struct {
	// Features names the columns of X (canonical IDs, schema order).
	Features []string
	X        *ml.Matrix
	// Labels are the classes after label mapping; Original the dataset's
	// class names, normalised, before it (both interned strings).
	Labels, Original []string
	// Time is the flow start in µs since the Unix epoch, UTC, or
	// TimeUnknown.
	Time []int64
	// File indexes Files.
	File  []int
	Files []FileInfo
	// IDs holds the identifier columns when LoadOptions.KeepIdentifiers
	// is set, else nil.
	IDs *Identifiers
	// Profile is the flow-meter profile of all files, or "mixed".
	Profile string
	// IdentifierFeatures records that ports and protocol were loaded as
	// features on request (LoadOptions.IncludeIdentifiers).
	IdentifierFeatures bool
	// Copies is, per row, how many loaded rows it stands for: itself and
	// the exact duplicates removed for it. Nil means one each (duplicates
	// kept). RowWeights turns it into training weights.
	Copies []int32
}

// FileInfo describes one loaded file.
type FileInfo struct {
	Path    string `json:"path"`
	Format  string `json:"format"`
	Dialect string `json:"dialect"`
	Profile string `json:"profile"`
}

// Identifiers are the per-row identifier columns, for predictions output.
// A file without a column leaves "" or -1.
type Identifiers struct {
	FlowID, SrcIP, DstIP, CommunityID []string
	SrcPort, DstPort, Protocol        []int32
}

// Rows returns the number of rows.
func (t *Table) Rows() int { return t.X.Rows }

// Days returns each row's UTC date ("2006-01-02"), "" when its time is
// unknown: the groups of a by-day hold-out (HoldOut(t.Days(), ...)).
func (t *Table) Days() []string {
	out := make([]string, len(t.Time))
	names := map[int64]string{}
	const day = 86400 * 1e6
	for i, ts := range t.Time {
		if ts == TimeUnknown {
			continue
		}
		d := ts / day
		if ts < 0 && ts%day != 0 {
			d--
		}
		s, ok := names[d]
		if !ok {
			s = time.UnixMicro(d * day).UTC().Format(time.DateOnly)
			names[d] = s
		}
		out[i] = s
	}
	return out
}

// Classes returns the distinct labels of rows (all rows when nil), sorted.
func Classes(labels []string, rows []int) []string {
	seen := map[string]bool{}
	each(len(labels), rows, func(i int) { seen[labels[i]] = true })
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Dataset builds the training input for rows: X restricted to them and Y
// as indices into classes. A row's weight is its class's weight in
// classWeights (see ClassWeights; a class it lacks weighs 1) times its
// entry in rowWeights (aligned with rows, see RowWeights); both nil leave
// the rows unweighted.
func (t *Table) Dataset(rows []int, classes []string, classWeights map[string]float64, rowWeights []float64) (*ml.Dataset, error) {
	if rowWeights != nil && len(rowWeights) != len(rows) {
		return nil, fmt.Errorf("%d row weights for %d rows", len(rowWeights), len(rows))
	}
	index := make(map[string]int, len(classes))
	for i, c := range classes {
		index[c] = i
	}
	d := &ml.Dataset{X: t.X.Subset(rows), Y: make([]int, len(rows)), Classes: len(classes)}
	if classWeights != nil || rowWeights != nil {
		d.W = make([]float64, len(rows))
	}
	for k, i := range rows {
		y, ok := index[t.Labels[i]]
		if !ok {
			return nil, fmt.Errorf("row %d: label %q is not among the %d classes", i, t.Labels[i], len(classes))
		}
		d.Y[k] = y
		if d.W == nil {
			continue
		}
		w, ok := classWeights[t.Labels[i]]
		if !ok {
			w = 1
		}
		if rowWeights != nil {
			w *= rowWeights[k]
		}
		d.W[k] = w
	}
	return d, d.Validate()
}

// DuplicateWeight says how much a training row's exact duplicates count.
// Deduplication keeps splits honest, but it also turns a flood of
// identical flows into one row among thousands of varied benign ones; a
// weight gives the learner back some of that mass without putting a copy
// on both sides of a split. Evaluation always counts distinct rows.
type DuplicateWeight string

const (
	// DuplicatesOnce weighs every distinct row 1 (the default).
	DuplicatesOnce DuplicateWeight = "none"
	// DuplicatesLog weighs a row standing for n flows 1 + ln n.
	DuplicatesLog DuplicateWeight = "log"
	// DuplicatesCount weighs it n, as if the duplicates were kept (in the
	// training rows only).
	DuplicatesCount DuplicateWeight = "count"
)

// Weighs reports whether w gives rows other than unit weights.
func (w DuplicateWeight) Weighs() bool { return w != "" && w != DuplicatesOnce }

// RowWeights returns the weight of each of rows under mode: nil for
// DuplicatesOnce (or ""), which Dataset reads as 1 each.
func (t *Table) RowWeights(rows []int, mode DuplicateWeight) ([]float64, error) {
	var f func(n float64) float64
	switch mode {
	case "", DuplicatesOnce:
		return nil, nil
	case DuplicatesLog:
		f = func(n float64) float64 { return 1 + math.Log(n) }
	case DuplicatesCount:
		f = func(n float64) float64 { return n }
	default:
		return nil, fmt.Errorf("unknown duplicate weight %q (want none, log or count)", mode)
	}
	w := make([]float64, len(rows))
	for k, i := range rows {
		n := 1.0
		if t.Copies != nil {
			n = float64(t.Copies[i])
		}
		w[k] = f(n)
	}
	return w, nil
}

// each calls f for every index of rows, or 0..n-1 when rows is nil.
func each(n int, rows []int, f func(int)) {
	if rows == nil {
		for i := range n {
			f(i)
		}
		return
	}
	for _, i := range rows {
		f(i)
	}
}

// keep compacts the table to the rows where keep is true, in place.
func (t *Table) keep(keep []bool) {
	cols, n := t.X.Cols, 0
	for i, k := range keep {
		if !k {
			continue
		}
		if n != i {
			copy(t.X.Data[n*cols:(n+1)*cols], t.X.Data[i*cols:(i+1)*cols])
			t.Labels[n], t.Original[n], t.Time[n], t.File[n] = t.Labels[i], t.Original[i], t.Time[i], t.File[i]
			if t.Copies != nil {
				t.Copies[n] = t.Copies[i]
			}
			if ids := t.IDs; ids != nil {
				ids.FlowID[n], ids.SrcIP[n], ids.DstIP[n], ids.CommunityID[n] = ids.FlowID[i], ids.SrcIP[i], ids.DstIP[i], ids.CommunityID[i]
				ids.SrcPort[n], ids.DstPort[n], ids.Protocol[n] = ids.SrcPort[i], ids.DstPort[i], ids.Protocol[i]
			}
		}
		n++
	}
	t.X.Rows, t.X.Data = n, t.X.Data[:n*cols]
	t.Labels, t.Original, t.Time, t.File = t.Labels[:n], t.Original[:n], t.Time[:n], t.File[:n]
	if t.Copies != nil {
		t.Copies = t.Copies[:n]
	}
	if ids := t.IDs; ids != nil {
		ids.FlowID, ids.SrcIP, ids.DstIP, ids.CommunityID = ids.FlowID[:n], ids.SrcIP[:n], ids.DstIP[:n], ids.CommunityID[:n]
		ids.SrcPort, ids.DstPort, ids.Protocol = ids.SrcPort[:n], ids.DstPort[:n], ids.Protocol[:n]
	}
}
