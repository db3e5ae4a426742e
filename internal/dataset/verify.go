package dataset

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// LeakError lists what makes a split of a table dishonest: an evaluation
// on it would score a model on flows it was trained on, or on columns that
// name the testbed rather than describe traffic.
type LeakError struct {
	// Overlap counts rows on both sides; Invalid rows outside the table.
	Overlap, Invalid int
	// Duplicates counts test rows whose features equal a training row's;
	// Example is one such (train, test) pair.
	Duplicates int
	Example    [2]int
	// Identifiers are identifier columns among the features.
	Identifiers []string
}

func (e *LeakError) Error() string {
	var p []string
	if e.Invalid > 0 {
		p = append(p, fmt.Sprintf("%d row indices outside the table", e.Invalid))
	}
	if e.Overlap > 0 {
		p = append(p, fmt.Sprintf("%d rows on both sides", e.Overlap))
	}
	if e.Duplicates > 0 {
		p = append(p, fmt.Sprintf("%d test rows duplicate a training row's features (e.g. train row %d = test row %d)",
			e.Duplicates, e.Example[0], e.Example[1]))
	}
	if len(e.Identifiers) > 0 {
		p = append(p, "identifier columns among the features: "+strings.Join(e.Identifiers, ", "))
	}
	return "leaky split: " + strings.Join(p, "; ")
}

// Verify checks that s is an honest split of t: disjoint sides, no test
// row whose feature vector also appears in training (a duplicate the
// model has memorised), and no identifier among the features — ports and
// protocol only pass when the table was loaded with IncludeIdentifiers.
// It returns a *LeakError listing every problem, or nil.
func Verify(t *Table, s Split) error {
	e := &LeakError{}
	for _, f := range t.Features {
		c, ok := colIndex[f]
		if !ok {
			continue
		}
		switch columns[c].Kind {
		case KindNumericID:
			if !t.IdentifierFeatures {
				e.Identifiers = append(e.Identifiers, f)
			}
		case KindTextID, KindTime, KindLabel:
			e.Identifiers = append(e.Identifiers, f)
		}
	}
	side := make([]int8, t.Rows())
	mark := func(rows []int, v int8) []int {
		var ok []int
		for _, i := range rows {
			switch {
			case i < 0 || i >= len(side):
				e.Invalid++
			case side[i] != 0 && side[i] != v:
				e.Overlap++
			default:
				side[i] = v
				ok = append(ok, i)
			}
		}
		return ok
	}
	train, test := mark(s.Train, 1), mark(s.Test, 2)

	// Sort the training rows' hashes; look each test row up in them.
	type entry struct {
		h   uint64
		row int
	}
	idx := make([]entry, len(train))
	for k, i := range train {
		idx[k] = entry{hashRow(t.X.Row(i)), i}
	}
	slices.SortFunc(idx, func(a, b entry) int { return cmp.Compare(a.h, b.h) })
	for _, i := range test {
		h := hashRow(t.X.Row(i))
		k, _ := slices.BinarySearchFunc(idx, h, func(a entry, h uint64) int { return cmp.Compare(a.h, h) })
		for ; k < len(idx) && idx[k].h == h; k++ {
			if sameRow(t.X.Row(idx[k].row), t.X.Row(i)) {
				if e.Duplicates == 0 {
					e.Example = [2]int{idx[k].row, i}
				}
				e.Duplicates++
				break
			}
		}
	}
	if e.Overlap+e.Invalid+e.Duplicates+len(e.Identifiers) == 0 {
		return nil
	}
	return e
}
