package cluster

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
)

// blobs draws n rows around each centre with standard deviation sd.
func blobs(rng *rand.Rand, centres [][]float64, n int, sd float64) (*ml.Matrix, []int) {
	x := ml.NewMatrix(n*len(centres), len(centres[0]))
	truth := make([]int, x.Rows)
	for i := range x.Rows {
		c := i % len(centres)
		truth[i] = c
		for j, m := range centres[c] {
			x.Row(i)[j] = m + sd*rng.NormFloat64()
		}
	}
	return x, truth
}

func TestKMeansRecoversBlobs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	centres := [][]float64{{0, 0, 0}, {10, 0, 0}, {0, 10, 0}, {0, 0, 10}}
	x, truth := blobs(rng, centres, 250, 1)
	r, err := KMeans(x, 4, KMeansOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ari := AdjustedRandIndex(r.Labels, truth); ari < 0.999 {
		t.Errorf("ARI %.4f against the generating blobs, want 1", ari)
	}
	for c, n := range r.Sizes {
		if n != 250 {
			t.Errorf("cluster %d has %d rows, want 250", c, n)
		}
	}
	// Every centroid lies within a few standard errors of a true centre.
	for c := range r.Centroids.Rows {
		best := math.Inf(1)
		for _, m := range centres {
			best = min(best, math.Sqrt(dist2(r.Centroids.Row(c), m)))
		}
		if best > 0.5 {
			t.Errorf("centroid %d is %.3f from the nearest true centre", c, best)
		}
	}
	if want := float64(x.Rows * x.Cols); r.Inertia > 1.2*want || r.Inertia < 0.8*want {
		t.Errorf("inertia %.1f, want about %.0f (unit variance per dimension)", r.Inertia, want)
	}
}

func TestKMeansDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	x := ml.NewMatrix(600, 4)
	for i := range x.Data {
		x.Data[i] = rng.ExpFloat64()
	}
	a, err := KMeans(x, 7, KMeansOptions{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	b, err := KMeans(x, 7, KMeansOptions{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("same data and seed gave different clusterings")
	}
	// Lloyd iterations never increase the inertia over the seeding alone.
	one, err := KMeans(x, 7, KMeansOptions{Seed: 9, MaxIter: 1})
	if err != nil {
		t.Fatal(err)
	}
	if a.Inertia > one.Inertia+1e-9 {
		t.Errorf("inertia %.4f after convergence above %.4f after one iteration", a.Inertia, one.Inertia)
	}
	for i := range x.Rows {
		if c, _ := Nearest(a.Centroids, x.Row(i)); c != a.Labels[i] {
			t.Fatalf("row %d labelled %d, nearest centroid %d", i, a.Labels[i], c)
		}
	}
}

func TestKMeansEdgeCases(t *testing.T) {
	// Fewer distinct rows than k: one centroid per distinct row.
	x := &ml.Matrix{Rows: 6, Cols: 2, Data: []float64{1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2}}
	r, err := KMeans(x, 5, KMeansOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Centroids.Rows != 2 || r.Inertia != 0 || r.Sizes[0]+r.Sizes[1] != 6 {
		t.Errorf("got %d centroids, sizes %v, inertia %v", r.Centroids.Rows, r.Sizes, r.Inertia)
	}
	if c, d := Nearest(r.Centroids, []float64{2, 5}); d != 3 || r.Centroids.At(c, 1) != 2 {
		t.Errorf("nearest to (2,5): centroid %v at %v", r.Centroids.Row(c), d)
	}
	for name, c := range map[string]struct {
		x *ml.Matrix
		k int
	}{
		"k zero":  {x, 0},
		"no rows": {ml.NewMatrix(0, 2), 1},
		"NaN":     {&ml.Matrix{Rows: 1, Cols: 1, Data: []float64{math.NaN()}}, 1},
	} {
		if _, err := KMeans(c.x, c.k, KMeansOptions{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
