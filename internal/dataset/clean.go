package dataset

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"

	"github.com/flowguard/flowguard/internal/ml"
)

// NonFinitePolicy says what happens to rows with ±Inf or NaN features
// (CIC-IDS2017's zero-duration rates, empty cells).
type NonFinitePolicy string

// Non-finite policies.
const (
	// NonFiniteDrop drops the row (the default): an imputed rate is
	// not what the flow meter will compute at detection time.
	NonFiniteDrop NonFinitePolicy = "drop"
	// NonFiniteMax replaces +Inf by the column's largest finite value,
	// -Inf by its smallest and NaN by 0. The extremes are taken over all
	// loaded rows, before any split.
	NonFiniteMax NonFinitePolicy = "max"
	// NonFiniteZero replaces every non-finite value by 0.
	NonFiniteZero NonFinitePolicy = "zero"
)

// NegativePolicy says what happens to negative values in columns that
// cannot be negative (see LoadOptions.NegativeOK); they come from meter
// bugs such as CIC-IDS2017's negative IATs of out-of-order packets.
type NegativePolicy string

// Negative policies.
const (
	NegativeKeep NegativePolicy = "keep" // the default: counted, kept
	NegativeClip NegativePolicy = "clip" // set to 0
	NegativeDrop NegativePolicy = "drop" // drop the row
)

// ConflictPolicy says what happens to a feature vector that carries more
// than one label after exact duplicates are removed.
type ConflictPolicy string

// Conflict policies.
const (
	// ConflictMajority keeps one row with the label most of its copies
	// had (the first seen on a tie), the default.
	ConflictMajority ConflictPolicy = "majority"
	// ConflictDrop drops every row of the vector.
	ConflictDrop ConflictPolicy = "drop"
)

// DefaultNegativeOK are the features where a negative value is data: the
// initial windows are -1 without TCP (cic2017), ICMP code and type -1 for
// non-ICMP flows (engelen).
var DefaultNegativeOK = []string{"init_fwd_win_byts", "init_bwd_win_byts", "icmp_code", "icmp_type"}

// Drop reasons, in the order the steps run.
const (
	DropEpoch     = "timestamp before 1990"
	DropNonFinite = "Inf/NaN feature"
	DropNegative  = "negative feature"
	DropDuplicate = "exact duplicate"
	DropConflict  = "label conflict"
)

// clean runs the row cleaning steps on a freshly loaded table, in order:
// broken timestamps, non-finite values, negatives, label mapping, exact
// duplicates and label conflicts. Duplicates are judged on the mapped
// labels: two flows a binary model cannot tell apart are one example.
func clean(t *Table, o LoadOptions, m *labelMapper, rep *Report) error {
	rep.RowsRead = t.Rows()
	rep.LabelsRead = count(t.Labels)
	// Each step clears keep for the rows it drops and ignores rows an
	// earlier step dropped; the table is compacted once, at the end.
	keep := make([]bool, t.Rows())
	for i := range keep {
		keep[i] = true
	}
	kept := len(keep)
	step := func(reason string) {
		n := 0
		for _, k := range keep {
			if k {
				n++
			}
		}
		rep.Dropped = append(rep.Dropped, Drop{reason, kept - n})
		kept = n
	}

	if !o.KeepEpochRows {
		for i, ts := range t.Time {
			keep[i] = ts == TimeUnknown || ts >= epochCutoff
		}
		step(DropEpoch)
	}

	rep.NonFinitePolicy = string(or(o.NonFinite, NonFiniteDrop))
	rep.NonFinite = nonFinite(t, or(o.NonFinite, NonFiniteDrop), keep)
	step(DropNonFinite)

	okNames := o.NegativeOK
	if okNames == nil {
		okNames = DefaultNegativeOK
	}
	rep.NegativePolicy = string(or(o.Negative, NegativeKeep))
	rep.Negative = negatives(t, or(o.Negative, NegativeKeep), okNames, keep)
	if o.Negative == NegativeDrop {
		step(DropNegative)
	}

	if err := mapLabels(t, m, rep); err != nil {
		return err
	}

	if !o.KeepDuplicates {
		t.Copies = make([]int32, t.Rows())
		for i := range t.Copies {
			t.Copies[i] = 1
		}
		rep.Duplicates = dedup(t, or(o.Conflicts, ConflictMajority), keep)
		step(DropDuplicate)
		rep.Dropped[len(rep.Dropped)-1].Rows -= rep.Duplicates.ConflictRows
		rep.Dropped = append(rep.Dropped, Drop{DropConflict, rep.Duplicates.ConflictRows})
	}

	if kept < t.Rows() {
		t.keep(keep)
	}
	rep.Rows = t.Rows()
	rep.Labels = count(t.Labels)
	for _, f := range t.File {
		rep.Files[f].Kept++
	}
	t.Profile = rep.Profiles[0]
	if len(rep.Profiles) > 1 {
		t.Profile = "mixed"
	}
	rep.warn(t)
	return nil
}

func or[T ~string](v, def T) T {
	if v == "" {
		return def
	}
	return v
}

func count(labels []string) map[string]int {
	m := map[string]int{}
	for _, l := range labels {
		m[l]++
	}
	return m
}

// nonFinite counts the non-finite cells of each kept row's columns and
// applies the policy: replacing in place, or clearing keep for the rows to
// drop.
func nonFinite(t *Table, p NonFinitePolicy, keep []bool) map[string]int {
	cols := t.X.Cols
	counts := make([]int, cols)
	var bad []int
	for i := range t.X.Rows {
		if !keep[i] {
			continue
		}
		for j, v := range t.X.Row(i) {
			if v-v != 0 { // NaN and ±Inf only
				counts[j]++
				if len(bad) == 0 || bad[len(bad)-1] != i {
					bad = append(bad, i)
				}
			}
		}
	}
	if p == NonFiniteDrop {
		for _, i := range bad {
			keep[i] = false
		}
		return perColumn(t.Features, counts)
	}
	hi, lo := make([]float64, cols), make([]float64, cols)
	if p == NonFiniteMax {
		for j := range cols {
			hi[j], lo[j] = math.Inf(-1), math.Inf(1)
		}
		for i := range t.X.Rows {
			if !keep[i] {
				continue
			}
			for j, v := range t.X.Row(i) {
				if v-v == 0 {
					hi[j], lo[j] = max(hi[j], v), min(lo[j], v)
				}
			}
		}
		for j := range cols {
			hi[j], lo[j] = finiteOr(hi[j]), finiteOr(lo[j])
		}
	}
	for _, i := range bad {
		row := t.X.Row(i)
		for j, v := range row {
			switch {
			case math.IsInf(v, 1):
				row[j] = hi[j]
			case math.IsInf(v, -1):
				row[j] = lo[j]
			case math.IsNaN(v):
				row[j] = 0
			}
		}
	}
	return perColumn(t.Features, counts)
}

// finiteOr returns v, or 0 for a column with no finite value at all.
func finiteOr(v float64) float64 {
	if math.IsInf(v, 0) {
		return 0
	}
	return v
}

// negatives counts negative cells outside the allowed columns and applies
// the policy.
func negatives(t *Table, p NegativePolicy, ok []string, keep []bool) map[string]int {
	counts := make([]int, t.X.Cols)
	allowed := make([]bool, t.X.Cols)
	for j, f := range t.Features {
		allowed[j] = slices.Contains(ok, f) || columns[colIndex[f]].Kind != KindFeature
	}
	for i := range t.X.Rows {
		if !keep[i] {
			continue
		}
		row := t.X.Row(i)
		for j, v := range row {
			if v < 0 && !allowed[j] {
				counts[j]++
				switch p {
				case NegativeClip:
					row[j] = 0
				case NegativeDrop:
					keep[i] = false
				}
			}
		}
	}
	return perColumn(t.Features, counts)
}

func perColumn(names []string, counts []int) map[string]int {
	m := map[string]int{}
	for j, n := range counts {
		if n > 0 {
			m[names[j]] = n
		}
	}
	return m
}

// mapLabels applies the label mode, keeping the dataset classes in
// Original. A mapping file must map every class present.
func mapLabels(t *Table, m *labelMapper, rep *Report) error {
	rep.LabelMode = string(m.mode)
	to := map[string]string{}
	var unmapped []string
	for c := range count(t.Labels) {
		l, ok := m.apply(c)
		if !ok {
			unmapped = append(unmapped, c)
		}
		to[c] = l
	}
	slices.Sort(unmapped)
	switch {
	case len(unmapped) > 0 && m.strict:
		return fmt.Errorf("label file maps no class for %q", unmapped)
	case len(unmapped) > 0:
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("no %s entry for %q: kept as is", m.mode, unmapped))
	}
	t.Original = t.Labels
	identity := true
	for c, l := range to {
		identity = identity && c == l
	}
	if identity {
		return nil // Labels and Original stay one slice
	}
	t.Labels = make([]string, len(t.Original))
	for i, c := range t.Original {
		t.Labels[i] = to[c]
	}
	return nil
}

// dedup marks in keep the rows to remove: every exact duplicate (same
// features and label as an earlier row) and, for a feature vector with
// several labels, the rows the conflict policy rejects. It counts in
// t.Copies, for each row kept, the rows it stands for.
func dedup(t *Table, p ConflictPolicy, keep []bool) DuplicateReport {
	rep := DuplicateReport{Policy: string(p), ByLabel: map[string]int{}, ConflictLabels: map[string]int{}}
	groups := groupRows(t.X, keep)
	size := make([]int32, len(groups))
	for i, g := range groups {
		if keep[i] {
			size[g]++
		}
	}
	// For each vector with several rows: its labels, each with its first
	// row and number of rows.
	type labelled struct {
		label       string
		first, rows int
	}
	multi := map[int32][]labelled{}
	for i, g := range groups {
		if !keep[i] || size[g] == 1 {
			continue
		}
		ls := multi[g]
		k := slices.IndexFunc(ls, func(l labelled) bool { return l.label == t.Labels[i] })
		if k < 0 {
			multi[g] = append(ls, labelled{t.Labels[i], i, 1})
			continue
		}
		ls[k].rows++
		t.Copies[ls[k].first]++
		keep[i] = false
		rep.Removed++
		rep.ByLabel[t.Labels[i]]++
		if t.File[i] != t.File[ls[k].first] {
			rep.CrossFile++
		}
	}
	for _, ls := range multi {
		if len(ls) < 2 {
			continue
		}
		rep.ConflictGroups++
		best := 0
		for k, l := range ls {
			if l.rows > ls[best].rows || l.rows == ls[best].rows && l.first < ls[best].first {
				best = k
			}
		}
		for k, l := range ls {
			if k != best || p == ConflictDrop {
				keep[l.first] = false
				rep.ConflictRows++
				rep.ConflictLabels[l.label]++
			}
		}
	}
	return rep
}

// groupRows returns for each kept row the index of the first kept row
// with the same features, bitwise.
func groupRows(x *ml.Matrix, keep []bool) []int32 {
	h := rowHashes(x.Data, x.Cols)
	first := make(map[uint64]int32, x.Rows)
	next := map[int32]int32{} // the next distinct row with the same hash
	g := make([]int32, x.Rows)
	for i := range x.Rows {
		if !keep[i] {
			continue
		}
		head, ok := first[h[i]]
		if !ok {
			first[h[i]], g[i] = int32(i), int32(i)
			continue
		}
		for {
			if sameRow(x.Row(int(head)), x.Row(i)) {
				g[i] = head
				break
			}
			n, ok := next[head]
			if !ok {
				next[head], g[i] = int32(i), int32(i)
				break
			}
			head = n
		}
	}
	return g
}

// rowHashes hashes every row, in parallel.
func rowHashes(data []float64, cols int) []uint64 {
	rows := len(data) / max(cols, 1)
	h := make([]uint64, rows)
	w := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for k := range w {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				h[i] = hashRow(data[i*cols : (i+1)*cols])
			}
		}(rows*k/w, rows*(k+1)/w)
	}
	wg.Wait()
	return h
}

func hashRow(row []float64) uint64 {
	h := uint64(len(row)) * 0x9E3779B97F4A7C15
	for _, v := range row {
		h ^= math.Float64bits(v) * 0xC2B2AE3D27D4EB4F
		h = bits.RotateLeft64(h, 31) * 0x9E3779B97F4A7C15
	}
	return h ^ h>>29
}

func sameRow(a, b []float64) bool {
	for j := range a {
		if math.Float64bits(a[j]) != math.Float64bits(b[j]) {
			return false
		}
	}
	return true
}
