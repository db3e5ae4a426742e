package dataset

import (
	"math"
	"slices"
	"testing"
)

func TestDataset(t *testing.T) {
	tab, _ := load(t, LoadOptions{}, fixture("cic-ids2017-machinelearningcve.csv"))
	classes := Classes(tab.Labels, nil)
	if want := []string{Benign, "DoS Hulk", "Web Attack - Brute Force", "Web Attack - XSS"}; !slices.Equal(classes, want) {
		t.Fatalf("classes %q, want %q", classes, want)
	}
	rows := []int{0, 1, 2, 5}
	rowW := []float64{1, 2, 3, 4}
	w := ClassWeights(tab.Labels, rows, nil)
	d, err := tab.Dataset(rows, classes, w, rowW)
	if err != nil {
		t.Fatal(err)
	}
	if d.X.Rows != 4 || d.Classes != 4 || len(d.W) != 4 {
		t.Fatalf("dataset %d rows, %d classes, %d weights", d.X.Rows, d.Classes, len(d.W))
	}
	for k, i := range rows {
		if classes[d.Y[k]] != tab.Labels[i] || d.W[k] != w[tab.Labels[i]]*rowW[k] || !slices.Equal(d.X.Row(k), tab.X.Row(i)) {
			t.Errorf("row %d: y %d w %v", k, d.Y[k], d.W[k])
		}
	}
	if d, _ := tab.Dataset(rows, classes, nil, nil); d.W != nil {
		t.Errorf("unweighted dataset has weights %v", d.W)
	}
	if _, err := tab.Dataset(rows, classes[:1], nil, nil); err == nil {
		t.Error("a label outside the classes accepted")
	}
	if _, err := tab.Dataset(rows, classes, nil, rowW[:2]); err == nil {
		t.Error("row weights of the wrong length accepted")
	}
}

func TestRowWeights(t *testing.T) {
	tab := &Table{Copies: []int32{1, 3, 1, 20}}
	rows := []int{3, 1, 0}
	for _, c := range []struct {
		mode DuplicateWeight
		want []float64
	}{
		{"", nil},
		{DuplicatesOnce, nil},
		{DuplicatesLog, []float64{1 + math.Log(20), 1 + math.Log(3), 1}},
		{DuplicatesCount, []float64{20, 3, 1}},
	} {
		got, err := tab.RowWeights(rows, c.mode)
		if err != nil || !slices.EqualFunc(got, c.want, func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }) || (got == nil) != (c.want == nil) {
			t.Errorf("%q: %v %v, want %v", c.mode, got, err, c.want)
		}
	}
	if got, _ := (&Table{}).RowWeights(rows, DuplicatesCount); !slices.Equal(got, []float64{1, 1, 1}) {
		t.Errorf("a table without copy counts: %v, want ones", got)
	}
	if _, err := tab.RowWeights(rows, "square"); err == nil {
		t.Error("unknown mode accepted")
	}
}
