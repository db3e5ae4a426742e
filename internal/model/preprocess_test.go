package model

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestNthSmallest checks the selection behind the preprocessing medians
// against a sort, on the shapes flow columns take: mostly one value,
// sorted, reversed, few distinct values, all equal, one element.
func TestNthSmallest(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	gen := map[string]func(n int) []float64{
		"random": func(n int) []float64 {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = rng.NormFloat64() * 1e6
			}
			return xs
		},
		"mostly zero": func(n int) []float64 {
			xs := make([]float64, n)
			for i := range xs {
				if rng.IntN(10) == 0 {
					xs[i] = float64(rng.IntN(1000)) - 1
				}
			}
			return xs
		},
		"sorted": func(n int) []float64 {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = float64(i)
			}
			return xs
		},
		"reversed": func(n int) []float64 {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = float64(n - i)
			}
			return xs
		},
		"three values": func(n int) []float64 {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = float64(rng.IntN(3))
			}
			return xs
		},
		"all equal": func(n int) []float64 {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = 7
			}
			return xs
		},
	}
	for name, g := range gen {
		for _, n := range []int{1, 2, 3, 10, 1001, 20000} {
			xs := g(n)
			sorted := slices.Sorted(slices.Values(xs))
			for _, k := range []int{0, n / 2, n - 1, rng.IntN(n)} {
				if got := nthSmallest(slices.Clone(xs), k); got != sorted[k] {
					t.Errorf("%s, n %d, k %d: %v, want %v", name, n, k, got, sorted[k])
				}
			}
		}
	}
}
