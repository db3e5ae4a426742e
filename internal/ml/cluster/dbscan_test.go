package cluster

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
)

func matrix(cols int, vals ...float64) *ml.Matrix {
	return &ml.Matrix{Rows: len(vals) / cols, Cols: cols, Data: vals}
}

// refDBSCAN is scikit-learn's algorithm written out literally: brute-force
// neighbourhoods, then dbscan_inner's depth-first stack expansion in row
// order. DBSCAN must agree with it label for label.
func refDBSCAN(x *ml.Matrix, eps float64, minSamples int) []int {
	n := x.Rows
	nb := make([][]int, n)
	for i := range n {
		for j := range n {
			if dist2(x.Row(i), x.Row(j)) <= eps*eps {
				nb[i] = append(nb[i], j)
			}
		}
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = -1
	}
	label := 0
	var stack []int
	for start := range n {
		if labels[start] != -1 || len(nb[start]) < minSamples {
			continue
		}
		i := start
		for {
			if labels[i] == -1 {
				labels[i] = label
				if len(nb[i]) >= minSamples {
					for _, v := range nb[i] {
						if labels[v] == -1 {
							stack = append(stack, v)
						}
					}
				}
			}
			if len(stack) == 0 {
				break
			}
			i = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
		}
		label++
	}
	return labels
}

func TestDBSCANSharedBorderPoint(t *testing.T) {
	// Row 4 (x=2) is within eps of a core of each cluster but has only 3
	// neighbours itself. scikit-learn 1.2.1 gave
	// DBSCAN(eps=1, min_samples=4) on both orders below the labels
	// [0 0 0 0 0 1 1 1 1 -1]: the border point joins the cluster that
	// comes first in row order, whichever side it is on.
	want := []int{0, 0, 0, 0, 0, 1, 1, 1, 1, -1}
	for _, vals := range [][]float64{
		{3.0, 3.4, 3.7, 4.0, 2.0, 0.0, 0.3, 0.6, 1.0, 10.0},
		{0.0, 0.3, 0.6, 1.0, 2.0, 3.0, 3.4, 3.7, 4.0, 10.0},
	} {
		got, err := DBSCAN(matrix(1, vals...), 1.0, 4, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("points %v: labels %v, want %v", vals, got, want)
		}
	}
}

func TestDBSCANTwoBlobsAndNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var vals []float64
	truth := []int{}
	for c, centre := range [][2]float64{{0, 0}, {5, 5}} {
		for range 100 {
			vals = append(vals, centre[0]+rng.NormFloat64()*0.3, centre[1]+rng.NormFloat64()*0.3)
			truth = append(truth, c)
		}
	}
	for _, p := range [][2]float64{{-10, 10}, {10, -10}, {20, 20}} {
		vals = append(vals, p[0], p[1])
		truth = append(truth, -1)
	}
	got, err := DBSCAN(matrix(2, vals...), 0.5, 5, &Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if ari := AdjustedRandIndex(got, truth); ari < 0.95 {
		t.Errorf("ARI with the blobs %.4f, want ≥ 0.95", ari)
	}
	for i := 200; i < 203; i++ {
		if got[i] != Noise {
			t.Errorf("far point %d labelled %d, want noise", i, got[i])
		}
	}
	if want := refDBSCAN(matrix(2, vals...), 0.5, 5); !slices.Equal(got, want) {
		t.Errorf("labels differ from the reference dbscan_inner")
	}
}

// TestDBSCANMatchesReference compares with the literal algorithm on random
// data with many duplicates and borders, across worker counts and leaf
// sizes.
func TestDBSCANMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 30 {
		n := 50 + rng.IntN(300)
		d := 1 + rng.IntN(4)
		x := ml.NewMatrix(n, d)
		for i := range x.Data {
			// Coarse grid: exact ties at distance eps happen.
			x.Data[i] = float64(rng.IntN(12)) * 0.25
		}
		eps := 0.25 * float64(1+rng.IntN(3))
		ms := 1 + rng.IntN(8)
		want := refDBSCAN(x, eps, ms)
		for _, o := range []*Options{nil, {Workers: 1, LeafSize: 1}, {Workers: 4, LeafSize: 5}} {
			got, err := DBSCAN(x, eps, ms, o)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("trial %d (n=%d d=%d eps=%v ms=%d): labels differ\n got %v\nwant %v", trial, n, d, eps, ms, got, want)
			}
		}
	}
}

func TestDBSCANRejectsBadInput(t *testing.T) {
	x := matrix(1, 0, 1, 2)
	for _, c := range []struct {
		x   *ml.Matrix
		eps float64
		ms  int
	}{{x, 0, 2}, {x, math.NaN(), 2}, {x, 1, 0}, {matrix(1, 0, math.NaN()), 1, 1}, {&ml.Matrix{}, 1, 1}} {
		if _, err := DBSCAN(c.x, c.eps, c.ms, nil); err == nil {
			t.Errorf("eps %v min_samples %d on %v: no error", c.eps, c.ms, c.x.Data)
		}
	}
}

func TestKDTreeRangeQueriesMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 20 {
		n := 1 + rng.IntN(2000)
		d := 1 + rng.IntN(9)
		x := ml.NewMatrix(n, d)
		for i := range x.Data {
			x.Data[i] = rng.NormFloat64()
			if trial%3 == 0 {
				x.Data[i] = math.Round(x.Data[i] * 2) // duplicates
			}
		}
		tree, err := NewKDTree(x, 1+rng.IntN(40))
		if err != nil {
			t.Fatal(err)
		}
		var buf []int
		var nbuf []Neighbor
		for range 50 {
			q := make([]float64, d)
			for j := range q {
				q[j] = rng.NormFloat64()
			}
			if rng.IntN(2) == 0 {
				copy(q, x.Row(rng.IntN(n)))
			}
			r := rng.Float64() * 2
			var want []int
			for i := range n {
				if dist2(q, x.Row(i)) <= r*r {
					want = append(want, i)
				}
			}
			buf = tree.AppendWithin(buf[:0], q, r)
			got := slices.Clone(buf)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("trial %d: within %v: got %d points, want %d", trial, r, len(got), len(want))
			}
			if c := tree.CountWithin(q, r); c != len(want) {
				t.Fatalf("trial %d: count %d, want %d", trial, c, len(want))
			}
			k := 1 + rng.IntN(min(n, 30))
			nbuf = tree.KNearest(nbuf, q, k)
			all := make([]Neighbor, n)
			for i := range n {
				all[i] = Neighbor{i, dist2(q, x.Row(i))}
			}
			slices.SortFunc(all, func(a, b Neighbor) int {
				if a.Dist2 != b.Dist2 {
					if a.Dist2 < b.Dist2 {
						return -1
					}
					return 1
				}
				return a.Index - b.Index
			})
			if !slices.Equal(nbuf, all[:k]) {
				t.Fatalf("trial %d: %d nearest differ:\n got %v\nwant %v", trial, k, nbuf, all[:k])
			}
		}
	}
}

func TestAdjustedRandIndex(t *testing.T) {
	for _, c := range []struct {
		a, b []int
		want float64
	}{
		{[]int{0, 0, 1, 1}, []int{5, 5, 3, 3}, 1},
		{[]int{0, 0, 0, 0}, []int{1, 1, 1, 1}, 1},
		{[]int{0, 1, 2}, []int{3, 4, 5}, 1},
		// sklearn.metrics.adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714285714285715
		{[]int{0, 0, 1, 1}, []int{0, 0, 1, 2}, 0.5714285714285715},
		// adjusted_rand_score([0,0,1,1],[0,1,0,1]) = -0.5
		{[]int{0, 0, 1, 1}, []int{0, 1, 0, 1}, -0.5},
	} {
		if got := AdjustedRandIndex(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("ARI(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	if p := Purity([]int{0, 0, 0, 1, -1}, []int{1, 1, 2, 2, 2}, false); math.Abs(p-0.6) > 1e-12 {
		t.Errorf("purity %v, want 0.6", p)
	}
	if p := Purity([]int{0, 0, 0, 1, -1}, []int{1, 1, 2, 2, 2}, true); math.Abs(p-0.75) > 1e-12 {
		t.Errorf("purity without noise %v, want 0.75", p)
	}
}

func TestKDistanceAndKnee(t *testing.T) {
	// 200 points on a fine grid plus 10 spread far out: the knee of the
	// 4-distance curve sits where the dense points end.
	var vals []float64
	for i := range 200 {
		vals = append(vals, float64(i)*0.01)
	}
	for i := range 10 {
		vals = append(vals, 100+float64(i*i)*10)
	}
	x := matrix(1, vals...)
	kd, err := KDistance(x, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(kd) != 210 || !slices.IsSorted(kd) {
		t.Fatalf("k-distances not sorted or wrong length %d", len(kd))
	}
	// The 4th neighbour counting the point itself of an inner grid point
	// is 2 steps away.
	if math.Abs(kd[0]-0.02) > 1e-9 {
		t.Errorf("smallest 4-distance %v, want 0.02", kd[0])
	}
	k, err := Knee(kd, 50)
	if err != nil {
		t.Fatal(err)
	}
	if k.Index < 195 || k.Index > 205 || k.Eps > 1 {
		t.Errorf("knee at %d (eps %v), want near 200 and below 1", k.Index, k.Eps)
	}
	if k.Curve[0].Index != 0 || k.Curve[len(k.Curve)-1].Index != 209 || !slices.ContainsFunc(k.Curve, func(p CurvePoint) bool { return p.Index == k.Index }) {
		t.Errorf("curve misses an end or the knee: %v", k.Curve)
	}
}
