package events

import (
	"math"
	"os"
	"sort"
	"testing"
	"time"
)

// rocAUC is the probability that a random anomalous score exceeds a
// random normal one (ties count half).
func rocAUC(normal, anomalous []float64) float64 {
	type sl struct {
		s float64
		a bool
	}
	all := make([]sl, 0, len(normal)+len(anomalous))
	for _, s := range normal {
		all = append(all, sl{s, false})
	}
	for _, s := range anomalous {
		all = append(all, sl{s, true})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].s < all[j].s })
	var rankSum float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].s == all[i].s {
			j++
		}
		mid := float64(i+j+1) / 2 // mean 1-based rank of the tie group
		for k := i; k < j; k++ {
			if all[k].a {
				rankSum += mid
			}
		}
		i = j
	}
	na, nn := float64(len(anomalous)), float64(len(normal))
	return (rankSum - na*(na+1)/2) / (na * nn)
}

// TestSharedCSICSanity fits on normalTrafficTraining only and scores the
// two test files with simple unsupervised scores, to show the features
// separate normal from anomalous. It reports, it asserts only a floor.
func TestSharedCSICSanity(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: fits on 36,000 requests")
	}
	train := readFile(t, sharedFile(t, "http/csic2010/normalTrafficTraining.txt.gz"), FormatCSIC, nil)
	normal := readFile(t, sharedFile(t, "http/csic2010/normalTrafficTest.txt.gz"), FormatCSIC, nil)
	anom := readFile(t, sharedFile(t, "http/csic2010/anomalousTrafficTest.txt.gz"), FormatCSIC, nil)
	start := time.Now()
	cfg := Featurizer{}
	if os.Getenv("EVENTS_SANITY_WIDE") != "" { // the wider variant, for comparison
		cfg = Featurizer{NgramMin: 2, NgramMax: 4, NgramBits: 14, Components: 64}
	}
	f, err := cfg.Fit(train)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fit on %d events in %v, dim %d", len(train), time.Since(start), f.Dim())
	xn, xa := f.TransformAll(normal), f.TransformAll(anom)
	d := len(f.Singular)
	score := func(x []float64, kind int) float64 {
		switch kind {
		case 0: // distance to the (zero) training centroid in SVD space
			var s float64
			for _, v := range x[:d] {
				s += v * v
			}
			return math.Sqrt(s)
		case 1: // residual off the fitted subspace
			return x[d]
		default: // whitened distance + residual: Mahalanobis-like
			var s float64
			sn := math.Sqrt(float64(f.NumFit))
			for k, v := range x[:d] {
				z := v / (f.Singular[k] / sn)
				s += z * z
			}
			return math.Sqrt(s) + x[d]
		}
	}
	for kind, name := range []string{"centroid distance", "SVD residual", "whitened distance + residual"} {
		var sn, sa []float64
		for i := 0; i < xn.Rows; i++ {
			sn = append(sn, score(xn.Row(i), kind))
		}
		for i := 0; i < xa.Rows; i++ {
			sa = append(sa, score(xa.Row(i), kind))
		}
		auc := rocAUC(sn, sa)
		t.Logf("CSIC 2010 ROC-AUC, %s: %.4f", name, auc)
		if kind == 1 && auc < 0.9 {
			t.Errorf("SVD residual AUC %.4f fell below the 0.90 floor: the featurization lost its signal", auc)
		}
	}
}
