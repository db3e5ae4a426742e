package dataset

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// allSplits makes every kind of split of t that applies to it.
func allSplits(t *testing.T, tab *Table) map[string]Split {
	t.Helper()
	out := map[string]Split{}
	for seed := range uint64(20) {
		s, err := Stratified(tab.Labels, nil, 0.3, seed)
		if err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprint("stratified, seed ", seed)] = s
	}
	folds, err := StratifiedKFold(tab.Labels, nil, min(3, tab.Rows()), 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range folds {
		out[fmt.Sprint("fold ", i)] = f
	}
	if !slices.Contains(tab.Time, TimeUnknown) {
		if s, err := Temporal(tab.Time, nil, 0.3); err == nil {
			out["temporal"] = s
		}
	}
	return out
}

// The guard against the commonest leak: exact duplicate flows on both
// sides of a split. A table loaded by default has none, so no split of it
// leaks; forgetting deduplication (KeepDuplicates, or a regression in
// the loader) must make Verify fail.
func TestVerifyDuplicates(t *testing.T) {
	ml := fixture("cic-ids2017-machinelearningcve.csv")
	tab, _ := load(t, LoadOptions{}, ml, fixture("cic-ids2017-trafficlabelling.csv"))
	for name, s := range allSplits(t, tab) {
		if err := Verify(tab, s); err != nil {
			t.Errorf("%s of a deduplicated table: %v", name, err)
		}
	}
	groups := groupRows(tab.X, allTrue(tab.Rows()))
	for i, g := range groups {
		if int(g) != i {
			t.Errorf("rows %d and %d of a loaded table have equal features", g, i)
		}
	}

	raw, _ := load(t, LoadOptions{KeepDuplicates: true}, ml)
	leaked := 0
	for _, s := range allSplits(t, raw) {
		var le *LeakError
		if err := Verify(raw, s); errors.As(err, &le) && le.Duplicates > 0 {
			leaked++
		}
	}
	if leaked == 0 {
		t.Error("no split of a table with duplicates was caught leaking")
	}
	// Rows 0 and 1 of the fixture are the same flow.
	err := Verify(raw, Split{Train: []int{0, 2}, Test: []int{1, 3}})
	var le *LeakError
	if !errors.As(err, &le) || le.Duplicates != 1 || le.Example != [2]int{0, 1} {
		t.Errorf("duplicate across a hand-made split: %v", err)
	}
}

func allTrue(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}

func TestVerifyOverlap(t *testing.T) {
	tab, _ := load(t, LoadOptions{}, fixture("cic-ids2017-machinelearningcve.csv"))
	err := Verify(tab, Split{Train: []int{0, 1, 2}, Test: []int{2, 3, 99}})
	var le *LeakError
	if !errors.As(err, &le) || le.Overlap != 1 || le.Invalid != 1 {
		t.Errorf("overlap and out-of-range rows: %v", err)
	}
}

// Identifiers among the features fail the check unless the table was
// loaded with them on purpose; text identifiers and time always fail.
func TestVerifyIdentifiers(t *testing.T) {
	tab, _ := load(t, LoadOptions{IncludeIdentifiers: true}, fixture("cic-ids2017-trafficlabelling.csv"))
	s := Split{Train: []int{0}, Test: []int{2}}
	if err := Verify(tab, s); err != nil {
		t.Errorf("ports included on request: %v", err)
	}
	tab.IdentifierFeatures = false // as if a loader put them in by itself
	var le *LeakError
	if err := Verify(tab, s); !errors.As(err, &le) || !slices.Equal(le.Identifiers, []string{"src_port", "dst_port", "protocol"}) {
		t.Errorf("ports slipped in: %v", err)
	}
	tab.IdentifierFeatures = true
	tab.Features = append(slices.Clone(tab.Features[:len(tab.Features)-2]), "src_ip", "timestamp")
	if err := Verify(tab, s); !errors.As(err, &le) || !slices.Equal(le.Identifiers, []string{"src_ip", "timestamp"}) {
		t.Errorf("address and time as features: %v", err)
	}
}
