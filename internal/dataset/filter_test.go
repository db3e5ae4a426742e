package dataset

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
)

// filterMatrix has 100 rows, 0..79 for training:
//
//	0 constant            1 one odd value in training
//	2 random              3 = 2·col2 + 1       4 = -col2
//	5 random              6 constant in training, varying in test
func filterMatrix(seed uint64) *ml.Matrix {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := ml.NewMatrix(100, 7)
	for i := range 100 {
		r := x.Row(i)
		r[0] = 5
		if i == 3 {
			r[1] = 1
		}
		r[2] = rng.NormFloat64()
		r[3] = 2*r[2] + 1
		r[4] = -r[2]
		r[5] = rng.NormFloat64()
		if i >= 80 {
			r[6] = rng.Float64()
		}
	}
	return x
}

func TestColumnFilter(t *testing.T) {
	train := seq(80)
	names := []string{"const", "odd", "a", "a2", "neg_a", "b", "test_only"}
	cases := []struct {
		name    string
		f       ColumnFilter
		keep    []int
		reasons []string
	}{
		{name: "defaults", f: ColumnFilter{}, keep: []int{1, 2, 5},
			reasons: []string{"constant", "constant", "correlated", "correlated"}},
		{name: "near-constant", f: ColumnFilter{NearConstant: 0.98}, keep: []int{2, 5},
			reasons: []string{"constant", "near-constant", "constant", "correlated", "correlated"}},
		{name: "no correlation step", f: ColumnFilter{Correlation: 1.5}, keep: []int{1, 2, 3, 4, 5},
			reasons: []string{"constant", "constant"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			f.Names = names
			if err := f.Fit(filterMatrix(1), train); err != nil {
				t.Fatal(err)
			}
			var reasons []string
			for _, d := range f.Dropped {
				reasons = append(reasons, d.Reason)
			}
			if !slices.Equal(f.Keep, c.keep) || !slices.Equal(reasons, c.reasons) {
				t.Errorf("keep %v dropped %v; want %v %v\n%s", f.Keep, reasons, c.keep, c.reasons, &f)
			}
		})
	}
}

// The filter sees only the training rows: column 6, constant there, goes
// although the test rows vary it, and changing the test rows changes
// nothing it decides.
func TestColumnFilterFitsTrainingRowsOnly(t *testing.T) {
	x1, x2 := filterMatrix(1), filterMatrix(1)
	for i := 80; i < 100; i++ {
		copy(x2.Row(i), filterMatrix(99).Row(i))
	}
	var f1, f2 ColumnFilter
	if err := f1.Fit(x1, seq(80)); err != nil {
		t.Fatal(err)
	}
	f2.Fit(x2, seq(80))
	if !reflect.DeepEqual(f1, f2) {
		t.Error("test rows changed the fitted filter")
	}
	if slices.Contains(f1.Keep, 6) {
		t.Error("a column constant in training was kept")
	}
	var all ColumnFilter
	all.Fit(x1, nil)
	if !slices.Contains(all.Keep, 6) {
		t.Error("fitted on all rows the column varies: the test should see the difference")
	}
}

func TestColumnFilterApply(t *testing.T) {
	x := filterMatrix(2)
	f := ColumnFilter{Names: []string{"c0", "c1", "c2", "c3", "c4", "c5", "c6"}}
	if err := f.Fit(x, seq(80)); err != nil {
		t.Fatal(err)
	}
	y, err := f.Apply(x)
	if err != nil || y.Rows != 100 || y.Cols != len(f.Keep) {
		t.Fatalf("apply: %v, %d×%d", err, y.Rows, y.Cols)
	}
	for i := range x.Rows {
		row := f.ApplyRow(make([]float64, len(f.Keep)), x.Row(i))
		if !slices.Equal(row, y.Row(i)) {
			t.Fatalf("row %d: ApplyRow %v, Apply %v", i, row, y.Row(i))
		}
	}
	if got := f.Kept(f.Names); !slices.Equal(got, []string{"c1", "c2", "c5"}) {
		t.Errorf("kept %v", got)
	}
	if s := f.String(); !strings.Contains(s, "c3: correlated with c2") {
		t.Errorf("report:\n%s", s)
	}
	if _, err := f.Apply(ml.NewMatrix(2, 3)); err == nil {
		t.Error("a matrix of another width accepted")
	}
	if err := (&ColumnFilter{NearConstant: 0.3}).Fit(x, nil); err == nil {
		t.Error("near-constant share 0.3 accepted")
	}
}
