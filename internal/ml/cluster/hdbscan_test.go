package cluster

import (
	"math/rand/v2"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
)

// Debian's scikit-learn is 1.2.1, which has no HDBSCAN (added in 1.3), so
// these are hand-checked cases rather than parity.

func TestHDBSCANBlobsOfDifferentDensity(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var vals []float64
	var truth []int
	// Three blobs of different spread: one eps cannot fit all of them, a
	// density hierarchy can.
	for c, b := range []struct{ x, y, sd float64 }{{0, 0, 0.2}, {10, 0, 1.0}, {0, 10, 0.5}} {
		for range 150 {
			vals = append(vals, b.x+rng.NormFloat64()*b.sd, b.y+rng.NormFloat64()*b.sd)
			truth = append(truth, c)
		}
	}
	far := [][2]float64{{30, 30}, {-30, 20}, {25, -25}}
	for _, p := range far {
		vals = append(vals, p[0], p[1])
		truth = append(truth, -1)
	}
	x := &ml.Matrix{Rows: len(truth), Cols: 2, Data: vals}
	res, err := HDBSCAN(x, 15, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	clusters := map[int]bool{}
	for _, l := range res.Labels {
		if l != Noise {
			clusters[l] = true
		}
	}
	if len(clusters) != 3 {
		t.Errorf("%d clusters, want 3", len(clusters))
	}
	// Labels per blob should be pure; HDBSCAN may call a blob's fringe noise.
	if p := Purity(res.Labels, truth, true); p != 1 {
		t.Errorf("purity %v without noise, want 1", p)
	}
	noise := 0
	for i := range 450 {
		if res.Labels[i] == Noise {
			noise++
		}
	}
	if noise > 45 {
		t.Errorf("%d of 450 blob rows called noise", noise)
	}
	for i := 450; i < 453; i++ {
		if res.Labels[i] != Noise {
			t.Errorf("far row %d labelled %d", i, res.Labels[i])
		}
		if res.Outlier[i] < 0.9 {
			t.Errorf("far row %d outlier score %.3f, want ≥ 0.9", i, res.Outlier[i])
		}
	}
	for i, s := range res.Outlier {
		if !(s >= 0 && s <= 1) {
			t.Fatalf("row %d outlier score %v outside [0, 1]", i, s)
		}
	}
}

func TestHDBSCANHandChecked(t *testing.T) {
	// Two tight groups of 4 on a line and one loner. min_cluster_size 3,
	// min_samples 2 (self + nearest): core distances 1 inside the groups,
	// so the groups join the hierarchy at λ 1 and split from each other at
	// λ 1/7 (the mutual reachability across the gap 10 − 3).
	// Both sides have ≥ 3 rows, so the root splits into two clusters
	// whose stability (4·(1 − 1/7) each) beats the root's, and the loner
	// at 50, which leaves the root at λ 1/40, is noise.
	x := matrix(1, 0, 1, 2, 3, 10, 11, 12, 13, 50)
	res, err := HDBSCAN(x, 3, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{0, 0, 0, 0, 1, 1, 1, 1, Noise}
	for i := range want {
		if res.Labels[i] != want[i] {
			t.Fatalf("labels %v, want %v", res.Labels, want)
		}
	}
	if _, err := HDBSCAN(x, 1, 2, nil); err == nil {
		t.Error("min_cluster_size 1 accepted")
	}
}
