package dataset

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Split is a partition of row indices into training and test rows, both
// ascending. Every splitter takes the rows to partition (nil means all
// rows of the columns it is given) and is deterministic for a seed.
type Split struct {
	Train []int `json:"train"`
	Test  []int `json:"test"`
}

func rowsOf(n int, rows []int) []int {
	if rows != nil {
		return rows
	}
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// byClass returns the rows of each class, classes sorted, rows in order.
func byClass(labels []string, rows []int) [][]int {
	m := map[string][]int{}
	for _, i := range rows {
		m[labels[i]] = append(m[labels[i]], i)
	}
	classes := make([]string, 0, len(m))
	for c := range m {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	out := make([][]int, len(classes))
	for k, c := range classes {
		out[k] = m[c]
	}
	return out
}

func fraction(f float64) error {
	if !(f > 0 && f < 1) {
		return fmt.Errorf("test fraction %v outside (0, 1)", f)
	}
	return nil
}

// Stratified puts testFraction of each class's rows, chosen at random, in
// the test set. A class of two or more rows has at least one on each side;
// a class of one row trains.
func Stratified(labels []string, rows []int, testFraction float64, seed uint64) (Split, error) {
	if err := fraction(testFraction); err != nil {
		return Split{}, err
	}
	rng := newRand(seed)
	var s Split
	for _, c := range byClass(labels, rowsOf(len(labels), rows)) {
		c = slices.Clone(c)
		rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
		n := int(math.Round(testFraction * float64(len(c))))
		if len(c) >= 2 {
			n = min(max(n, 1), len(c)-1)
		} else {
			n = 0
		}
		s.Test = append(s.Test, c[:n]...)
		s.Train = append(s.Train, c[n:]...)
	}
	return s.sorted()
}

func (s Split) sorted() (Split, error) {
	slices.Sort(s.Train)
	slices.Sort(s.Test)
	switch {
	case len(s.Train) == 0:
		return s, errors.New("split leaves no training rows")
	case len(s.Test) == 0:
		return s, errors.New("split leaves no test rows")
	}
	return s, nil
}

// StratifiedKFold deals each class's shuffled rows over k folds in turn,
// so every fold holds about 1/k of each class; fold f tests on its rows
// and trains on the others.
func StratifiedKFold(labels []string, rows []int, k int, seed uint64) ([]Split, error) {
	rows = rowsOf(len(labels), rows)
	if k < 2 || k > len(rows) {
		return nil, fmt.Errorf("%d folds for %d rows", k, len(rows))
	}
	rng := newRand(seed)
	fold := make([]int, len(labels))
	next := 0
	for _, c := range byClass(labels, rows) {
		c = slices.Clone(c)
		rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
		for _, i := range c {
			fold[i] = next
			next = (next + 1) % k
		}
	}
	return folds(rows, k, func(i int) int { return fold[i] })
}

func folds(rows []int, k int, foldOf func(int) int) ([]Split, error) {
	out := make([]Split, k)
	for f := range out {
		for _, i := range rows {
			if foldOf(i) == f {
				out[f].Test = append(out[f].Test, i)
			} else {
				out[f].Train = append(out[f].Train, i)
			}
		}
		var err error
		if out[f], err = out[f].sorted(); err != nil {
			return nil, fmt.Errorf("fold %d: %w", f, err)
		}
	}
	return out, nil
}

// HoldOut tests on the rows whose group is one of test and trains on the
// rest: by file (HoldOut(t.File, nil, 3)) or by day (HoldOut(t.Days(),
// nil, "2017-07-07")).
func HoldOut[G comparable](groups []G, rows []int, test ...G) (Split, error) {
	in := map[G]bool{}
	for _, g := range test {
		in[g] = false
	}
	var s Split
	for _, i := range rowsOf(len(groups), rows) {
		if _, ok := in[groups[i]]; ok {
			in[groups[i]] = true
			s.Test = append(s.Test, i)
		} else {
			s.Train = append(s.Train, i)
		}
	}
	for _, g := range test {
		if !in[g] {
			return Split{}, fmt.Errorf("test group %v has no rows", g)
		}
	}
	return s.sorted()
}

// GroupKFold keeps each group's rows in one fold, filling the folds
// largest group first into the smallest fold (scikit-learn's GroupKFold),
// so no group is on both sides of any fold.
func GroupKFold[G comparable](groups []G, rows []int, k int) ([]Split, error) {
	rows = rowsOf(len(groups), rows)
	size := map[G]int{}
	var order []G
	for _, i := range rows {
		if size[groups[i]] == 0 {
			order = append(order, groups[i])
		}
		size[groups[i]]++
	}
	if k < 2 || k > len(order) {
		return nil, fmt.Errorf("%d folds for %d groups", k, len(order))
	}
	slices.SortStableFunc(order, func(a, b G) int { return cmp.Compare(size[b], size[a]) })
	load := make([]int, k)
	fold := map[G]int{}
	for _, g := range order {
		f := 0
		for j := range load {
			if load[j] < load[f] {
				f = j
			}
		}
		fold[g] = f
		load[f] += size[g]
	}
	return folds(rows, k, func(i int) int { return fold[groups[i]] })
}

// Temporal sorts rows by time and tests on the last testFraction of them,
// widened so that rows sharing the boundary time are all tested: nothing
// trained on happens after anything tested. Every row needs a time.
func Temporal(times []int64, rows []int, testFraction float64) (Split, error) {
	if err := fraction(testFraction); err != nil {
		return Split{}, err
	}
	rows = slices.Clone(rowsOf(len(times), rows))
	unknown := 0
	for _, i := range rows {
		if times[i] == TimeUnknown {
			unknown++
		}
	}
	if unknown > 0 {
		return Split{}, fmt.Errorf("temporal split: %d of %d rows have no timestamp", unknown, len(rows))
	}
	slices.SortStableFunc(rows, func(a, b int) int { return cmp.Compare(times[a], times[b]) })
	cut := len(rows) - int(math.Round(testFraction*float64(len(rows))))
	cut = min(max(cut, 0), len(rows)-1)
	for cut > 0 && times[rows[cut-1]] == times[rows[cut]] {
		cut--
	}
	return Split{Train: rows[:cut], Test: rows[cut:]}.sorted()
}

// ClassWeights returns scikit-learn's "balanced" weights over rows: total
// / (classes × total of the class), so every class weighs the same in
// total. A row counts as its entry in rowWeights (aligned with rows, see
// Table.RowWeights), or 1 when rowWeights is nil.
func ClassWeights(labels []string, rows []int, rowWeights []float64) map[string]float64 {
	rows = rowsOf(len(labels), rows)
	sum := map[string]float64{}
	total := 0.0
	for k, i := range rows {
		w := 1.0
		if rowWeights != nil {
			w = rowWeights[k]
		}
		sum[labels[i]] += w
		total += w
	}
	out := make(map[string]float64, len(sum))
	for c, s := range sum {
		out[c] = total / (float64(len(sum)) * s)
	}
	return out
}

func checkRatio(r float64) error {
	if !(r > 0 && r <= 1) {
		return fmt.Errorf("class ratio %v outside (0, 1]", r)
	}
	return nil
}

// Undersample drops random rows of the larger classes until none has more
// than (smallest class)/ratio rows; ratio 1 balances them. Apply it to
// training rows only.
func Undersample(labels []string, rows []int, ratio float64, seed uint64) ([]int, error) {
	if err := checkRatio(ratio); err != nil {
		return nil, err
	}
	classes := byClass(labels, rowsOf(len(labels), rows))
	smallest := math.MaxInt
	for _, c := range classes {
		smallest = min(smallest, len(c))
	}
	limit := int(math.Ceil(float64(smallest) / ratio))
	rng := newRand(seed)
	var out []int
	for _, c := range classes {
		if len(c) > limit {
			c = slices.Clone(c)
			rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
			c = c[:limit]
		}
		out = append(out, c...)
	}
	slices.Sort(out)
	return out, nil
}

// Oversample repeats random rows of the smaller classes until each has at
// least ratio × (largest class) rows; ratio 1 balances them. The copies
// are exact duplicates, so apply it to training rows only, after splitting.
func Oversample(labels []string, rows []int, ratio float64, seed uint64) ([]int, error) {
	if err := checkRatio(ratio); err != nil {
		return nil, err
	}
	classes := byClass(labels, rowsOf(len(labels), rows))
	largest := 0
	for _, c := range classes {
		largest = max(largest, len(c))
	}
	target := int(math.Ceil(ratio * float64(largest)))
	rng := newRand(seed)
	var out []int
	for _, c := range classes {
		out = append(out, c...)
		for range target - len(c) {
			out = append(out, c[rng.IntN(len(c))])
		}
	}
	slices.Sort(out)
	return out, nil
}
