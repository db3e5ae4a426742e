package cluster

import (
	"fmt"
	"math"
	"slices"

	"github.com/flowguard/flowguard/internal/ml"
)

// KDistance returns every row's distance to its k-th nearest row, sorted
// ascending: the k-distance curve whose knee suggests DBSCAN's eps. The
// row itself counts as its own first neighbour, as in scikit-learn's
// NearestNeighbors(n_neighbors=k).fit(X).kneighbors(X) (ML-PT's recipe),
// so with k = min_samples a row is a DBSCAN core point exactly when its
// k-distance is ≤ eps.
func KDistance(x *ml.Matrix, k int, opts *Options) ([]float64, error) {
	if k < 1 {
		return nil, fmt.Errorf("k-distance: k %d must be at least 1", k)
	}
	tree, err := opts.tree(x)
	if err != nil {
		return nil, fmt.Errorf("k-distance: %w", err)
	}
	if k > x.Rows {
		return nil, fmt.Errorf("k-distance: k %d is more than the %d rows", k, x.Rows)
	}
	out := make([]float64, x.Rows)
	err = parallelRange(opts.ctx(), x.Rows, opts.workers(), func(lo, hi int, _ *[]int) {
		buf := make([]Neighbor, 0, k)
		for i := lo; i < hi; i++ {
			buf = tree.KNearest(buf, x.Row(i), k)
			out[i] = math.Sqrt(buf[k-1].Dist2)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("k-distance: %w", err)
	}
	slices.Sort(out)
	return out, nil
}

// CurvePoint is one point of a downsampled curve for a report.
type CurvePoint struct {
	Index int     `json:"index"` // position in the full sorted curve
	Value float64 `json:"value"`
}

// KneeResult is the suggested eps and the curve it came from.
type KneeResult struct {
	Index int          `json:"index"` // position of the knee in the sorted curve
	Eps   float64      `json:"eps"`   // the curve's value there
	Curve []CurvePoint `json:"curve"` // downsampled, always including the knee and both ends
}

// Knee finds the elbow of an ascending curve: the point farthest from the
// chord joining its first and last points, after scaling both axes to
// [0, 1] (the geometric idea behind Kneedle, Satopää et al. 2011). It
// returns that point and the curve downsampled to about points entries.
func Knee(sorted []float64, points int) (KneeResult, error) {
	n := len(sorted)
	if n < 3 {
		return KneeResult{}, fmt.Errorf("knee: a curve of %d points has no knee", n)
	}
	if !slices.IsSorted(sorted) {
		return KneeResult{}, fmt.Errorf("knee: curve is not sorted ascending")
	}
	y0, y1 := sorted[0], sorted[n-1]
	best, bestD := 0, -1.0
	if y1 > y0 {
		for i, v := range sorted {
			// Distance from (t, u) to the diagonal u = t is (t−u)/√2;
			// a convex rising curve lies below it.
			t := float64(i) / float64(n-1)
			u := (v - y0) / (y1 - y0)
			if d := t - u; d > bestD {
				best, bestD = i, d
			}
		}
	}
	res := KneeResult{Index: best, Eps: sorted[best]}
	points = max(points, 2)
	step := max(1, n/points)
	for i := 0; i < n; i += step {
		if best > i && best < i+step && i != best {
			res.Curve = append(res.Curve, CurvePoint{i, sorted[i]}, CurvePoint{best, sorted[best]})
			continue
		}
		res.Curve = append(res.Curve, CurvePoint{i, sorted[i]})
	}
	if last := res.Curve[len(res.Curve)-1]; last.Index != n-1 {
		res.Curve = append(res.Curve, CurvePoint{n - 1, sorted[n-1]})
	}
	return res, nil
}
