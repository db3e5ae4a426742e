package cluster

import "fmt"

// AdjustedRandIndex measures how well two labelings of the same points
// agree, corrected for chance (Hubert & Arabie 1985), as scikit-learn's
// adjusted_rand_score: 1 for identical partitions whatever the label
// numbers, about 0 for independent ones. Noise (−1) is treated as one
// more label, as scikit-learn does. It panics if the lengths differ.
func AdjustedRandIndex(a, b []int) float64 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("cluster: adjusted Rand index of %d and %d labels", len(a), len(b)))
	}
	n := len(a)
	type pair struct{ a, b int }
	cont := map[pair]int{}
	ra := map[int]int{}
	rb := map[int]int{}
	for i := range a {
		cont[pair{a[i], b[i]}]++
		ra[a[i]]++
		rb[b[i]]++
	}
	// One cluster each (or none), or every point alone in both: the
	// partitions are identical and the formula below would divide 0 by 0.
	if len(ra) == len(rb) && (len(ra) <= 1 || len(ra) == n) && len(cont) == len(ra) {
		return 1
	}
	c2 := func(m int) float64 { return float64(m) * float64(m-1) / 2 }
	var sumC, sumA, sumB float64
	for _, m := range cont {
		sumC += c2(m)
	}
	for _, m := range ra {
		sumA += c2(m)
	}
	for _, m := range rb {
		sumB += c2(m)
	}
	expected := sumA * sumB / c2(n)
	maxIdx := (sumA + sumB) / 2
	if maxIdx == expected {
		return 1
	}
	return (sumC - expected) / (maxIdx - expected)
}

// Purity is the share of points whose cluster's most common true class is
// their own class: each cluster votes for its majority class. Noise points
// (label −1) count as wrong unless skipNoise, which leaves them out of
// both the numerator and the denominator. It panics if the lengths differ.
func Purity(labels, truth []int, skipNoise bool) float64 {
	if len(labels) != len(truth) {
		panic(fmt.Sprintf("cluster: purity of %d labels against %d classes", len(labels), len(truth)))
	}
	counts := map[int]map[int]int{}
	total := 0
	for i, l := range labels {
		if l == Noise {
			if !skipNoise {
				total++
			}
			continue
		}
		total++
		m := counts[l]
		if m == nil {
			m = map[int]int{}
			counts[l] = m
		}
		m[truth[i]]++
	}
	if total == 0 {
		return 0
	}
	hit := 0
	for _, m := range counts {
		best := 0
		for _, c := range m {
			best = max(best, c)
		}
		hit += best
	}
	return float64(hit) / float64(total)
}
