package dataset

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"testing"
)

// classLabels returns labels with the given class sizes, interleaved.
func classLabels(sizes map[string]int) []string {
	var out []string
	left := maps.Clone(sizes)
	for len(left) > 0 {
		for _, c := range slices.Sorted(maps.Keys(left)) {
			out = append(out, c)
			if left[c]--; left[c] == 0 {
				delete(left, c)
			}
		}
	}
	return out
}

func countOf(labels []string, rows []int) map[string]int {
	m := map[string]int{}
	for _, i := range rows {
		m[labels[i]]++
	}
	return m
}

// checkPartition asserts s splits rows: sorted, disjoint, complete.
func checkPartition(t *testing.T, s Split, rows []int) {
	t.Helper()
	if !slices.IsSorted(s.Train) || !slices.IsSorted(s.Test) {
		t.Error("split sides are not sorted")
	}
	all := append(slices.Clone(s.Train), s.Test...)
	slices.Sort(all)
	want := slices.Clone(rows)
	slices.Sort(want)
	if !slices.Equal(all, want) {
		t.Errorf("split of %d rows has %d train + %d test rows, not a partition", len(rows), len(s.Train), len(s.Test))
	}
}

func TestStratified(t *testing.T) {
	labels := classLabels(map[string]int{"a": 100, "b": 10, "c": 2, "d": 1})
	s, err := Stratified(labels, nil, 0.3, 7)
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, s, seq(len(labels)))
	if got := countOf(labels, s.Test); !maps.Equal(got, map[string]int{"a": 30, "b": 3, "c": 1}) {
		t.Errorf("test classes %v", got)
	}
	again, _ := Stratified(labels, nil, 0.3, 7)
	other, _ := Stratified(labels, nil, 0.3, 8)
	if !reflect.DeepEqual(s, again) || reflect.DeepEqual(s, other) {
		t.Error("not deterministic in its seed")
	}
	sub := s.Train // splitting a subset stays inside it
	inner, err := Stratified(labels, sub, 0.5, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, inner, sub)
	for _, f := range []float64{0, 1, -0.1, math.NaN()} {
		if _, err := Stratified(labels, nil, f, 1); err == nil {
			t.Errorf("test fraction %v accepted", f)
		}
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestStratifiedKFold(t *testing.T) {
	labels := classLabels(map[string]int{"a": 100, "b": 10, "c": 3})
	folds, err := StratifiedKFold(labels, nil, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	tested := map[int]int{}
	for f, s := range folds {
		checkPartition(t, s, seq(len(labels)))
		if got := countOf(labels, s.Test); got["a"] != 20 || got["b"] != 2 {
			t.Errorf("fold %d tests on %v", f, got)
		}
		for _, i := range s.Test {
			tested[i]++
		}
	}
	if len(tested) != len(labels) || slices.Max(slices.Collect(maps.Values(tested))) != 1 {
		t.Error("not every row is tested exactly once")
	}
	if _, err := StratifiedKFold(labels, nil, 1, 1); err == nil {
		t.Error("1 fold accepted")
	}
}

func TestHoldOut(t *testing.T) {
	files := []int{0, 0, 1, 1, 1, 2}
	s, err := HoldOut(files, nil, 1)
	if err != nil || !slices.Equal(s.Test, []int{2, 3, 4}) || !slices.Equal(s.Train, []int{0, 1, 5}) {
		t.Errorf("hold out file 1: %v %v", s, err)
	}
	days := []string{"2017-07-03", "2017-07-07", "2017-07-07", ""}
	s, err = HoldOut(days, nil, "2017-07-07")
	if err != nil || !slices.Equal(s.Test, []int{1, 2}) {
		t.Errorf("hold out a day: %v %v", s, err)
	}
	if _, err := HoldOut(files, nil, 9); err == nil {
		t.Error("a test group without rows accepted")
	}
	if _, err := HoldOut(files, nil, 0, 1, 2); err == nil {
		t.Error("a split without training rows accepted")
	}
}

func TestGroupKFold(t *testing.T) {
	var groups []string
	for g, n := range []int{50, 30, 20, 20, 10, 5, 5, 1} {
		for range n {
			groups = append(groups, fmt.Sprint("host", g))
		}
	}
	folds, err := GroupKFold(groups, nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	for f, s := range folds {
		checkPartition(t, s, seq(len(groups)))
		train := map[string]bool{}
		for _, i := range s.Train {
			train[groups[i]] = true
		}
		for _, i := range s.Test {
			if train[groups[i]] {
				t.Errorf("fold %d: group %s on both sides", f, groups[i])
			}
		}
		if n := len(s.Test); n < 40 || n > 50 {
			t.Errorf("fold %d tests %d rows, want a third of 141", f, n)
		}
	}
	if _, err := GroupKFold([]int{1, 1, 2}, nil, 3); err == nil {
		t.Error("3 folds of 2 groups accepted")
	}
}

func TestTemporal(t *testing.T) {
	times := []int64{50, 10, 40, 30, 30, 20, 30, 60, 70, 80}
	s, err := Temporal(times, nil, 0.6)
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, s, seq(len(times)))
	maxTrain, minTest := int64(math.MinInt64), int64(math.MaxInt64)
	for _, i := range s.Train {
		maxTrain = max(maxTrain, times[i])
	}
	for _, i := range s.Test {
		minTest = min(minTest, times[i])
	}
	if maxTrain >= minTest {
		t.Errorf("train ends at %d, test starts at %d", maxTrain, minTest)
	}
	// The cut falls among the three rows at 30: all go to test.
	if len(s.Test) != 8 {
		t.Errorf("%d test rows, want 8 (ties at the boundary tested)", len(s.Test))
	}
	if _, err := Temporal([]int64{1, TimeUnknown, 3}, nil, 0.3); err == nil {
		t.Error("rows without time accepted")
	}
}

func TestClassWeights(t *testing.T) {
	labels := classLabels(map[string]int{"a": 90, "b": 9, "c": 1})
	rows := seq(len(labels))
	// Row weights as duplicate counts give: the one "c" row stands for 50.
	rowW := make([]float64, len(rows))
	for i := range rowW {
		rowW[i] = 1
		if labels[i] == "c" {
			rowW[i] = 50
		}
	}
	for _, c := range []struct {
		name  string
		rowW  []float64
		total float64
	}{{"rows", nil, 100}, {"weighted rows", rowW, 149}} {
		w := ClassWeights(labels, rows, c.rowW)
		total := map[string]float64{}
		sum := 0.0
		for k, l := range labels {
			v := w[l]
			if c.rowW != nil {
				v *= c.rowW[k]
			}
			total[l] += v
			sum += v
		}
		for cl, v := range total {
			if math.Abs(v-c.total/3) > 1e-9 {
				t.Errorf("%s: class %s weighs %v in total, want %v/3", c.name, cl, v, c.total)
			}
		}
		if math.Abs(sum-c.total) > 1e-9 {
			t.Errorf("%s: weights sum to %v, want %v", c.name, sum, c.total)
		}
	}
}

func TestResampling(t *testing.T) {
	labels := classLabels(map[string]int{"a": 90, "b": 9, "c": 3})
	rows := seq(len(labels))
	under, err := Undersample(labels, rows, 1, 1)
	if err != nil || !maps.Equal(countOf(labels, under), map[string]int{"a": 3, "b": 3, "c": 3}) {
		t.Errorf("undersample 1: %v %v", countOf(labels, under), err)
	}
	under, _ = Undersample(labels, rows, 0.5, 1)
	if got := countOf(labels, under); got["a"] != 6 || got["b"] != 6 || got["c"] != 3 {
		t.Errorf("undersample 0.5: %v", got)
	}
	over, err := Oversample(labels, rows, 1, 1)
	if err != nil || !maps.Equal(countOf(labels, over), map[string]int{"a": 90, "b": 90, "c": 90}) || !slices.IsSorted(over) {
		t.Errorf("oversample 1: %v %v", countOf(labels, over), err)
	}
	for _, i := range over {
		if i < 0 || i >= len(labels) {
			t.Fatalf("oversampled row %d is not a row", i)
		}
	}
	over, _ = Oversample(labels, rows, 0.2, 1)
	if got := countOf(labels, over); got["a"] != 90 || got["b"] != 18 || got["c"] != 18 {
		t.Errorf("oversample 0.2: %v", got)
	}
	if _, err := Oversample(labels, rows, 1.5, 1); err == nil {
		t.Error("ratio 1.5 accepted")
	}
}
