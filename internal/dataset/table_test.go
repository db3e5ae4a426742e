package dataset

import (
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
	w := ClassWeights(tab.Labels, rows)
	d, err := tab.Dataset(rows, classes, w)
	if err != nil {
		t.Fatal(err)
	}
	if d.X.Rows != 4 || d.Classes != 4 || len(d.W) != 4 {
		t.Fatalf("dataset %d rows, %d classes, %d weights", d.X.Rows, d.Classes, len(d.W))
	}
	for k, i := range rows {
		if classes[d.Y[k]] != tab.Labels[i] || d.W[k] != w[tab.Labels[i]] || !slices.Equal(d.X.Row(k), tab.X.Row(i)) {
			t.Errorf("row %d: y %d w %v", k, d.Y[k], d.W[k])
		}
	}
	if _, err := tab.Dataset(rows, classes[:1], nil); err == nil {
		t.Error("a label outside the classes accepted")
	}
}
