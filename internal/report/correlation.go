package report

import (
	"fmt"
	"math"
	"slices"
)

// Correlation computes the Pearson correlation matrix of at most maxN
// columns of the row-major matrix x (rows × cols), named by names. When
// there are more columns, the maxN with the largest importance (one value
// per column; nil takes the first maxN) are kept, listed in column order so
// that related flow features (the forward and backward statistics of one
// quantity) stay next to each other. At most FitRows random rows are used;
// non-finite values count as the column mean, and a constant column
// correlates NaN with everything, itself included.
func Correlation(x []float64, rows, cols int, names []string, importance []float64, maxN int, seed uint64) (*CorrelationMatrix, error) {
	if err := checkMatrix(x, rows, cols); err != nil {
		return nil, err
	}
	switch {
	case len(names) != cols:
		return nil, fmt.Errorf("report: %d names for %d columns", len(names), cols)
	case importance != nil && len(importance) != cols:
		return nil, fmt.Errorf("report: %d importances for %d columns", len(importance), cols)
	case maxN < 1:
		return nil, fmt.Errorf("report: maxN %d, want at least 1", maxN)
	}
	keep := make([]int, cols)
	for i := range keep {
		keep[i] = i
	}
	if cols > maxN {
		if importance != nil {
			slices.SortStableFunc(keep, func(a, b int) int {
				return compareDesc(importance[a], importance[b])
			})
		}
		keep = keep[:maxN]
		slices.Sort(keep)
	}

	fit := sampleRows(rows, FitRows, newRand(seed))
	mean, scale := columnScales(x, cols, fit)
	n := len(keep)
	sums := make([]float64, n*n)
	z := make([]float64, cols)
	for _, r := range fit {
		standardise(z, x[r*cols:(r+1)*cols], mean, scale)
		for a, i := range keep {
			zi := z[i]
			if zi == 0 {
				continue
			}
			for b := a; b < n; b++ {
				sums[a*n+b] += zi * z[keep[b]]
			}
		}
	}
	m := &CorrelationMatrix{Names: make([]string, n), Values: make([][]float64, n), Rows: len(fit)}
	for a, i := range keep {
		m.Names[a] = names[i]
		m.Values[a] = make([]float64, n)
	}
	for a := range n {
		for b := a; b < n; b++ {
			r := math.NaN()
			switch sa, sb := sums[a*n+a], sums[b*n+b]; {
			case sa == 0 || sb == 0:
			case a == b:
				r = 1
			default:
				r = max(-1, min(1, sums[a*n+b]/math.Sqrt(sa*sb)))
			}
			m.Values[a][b], m.Values[b][a] = r, r
		}
	}
	return m, nil
}

// compareDesc orders larger values first and NaN last.
func compareDesc(a, b float64) int {
	switch {
	case math.IsNaN(a) && math.IsNaN(b):
		return 0
	case math.IsNaN(a):
		return 1
	case math.IsNaN(b):
		return -1
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}
