package anomaly

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
)

func gaussian(rng *rand.Rand, rows, cols int, shift float64) *ml.Matrix {
	x := ml.NewMatrix(rows, cols)
	for i := range x.Data {
		x.Data[i] = rng.NormFloat64() + shift
	}
	return x
}

// auc is the probability that a random anomaly outscores a random normal
// row (ties count half).
func auc(anom, norm []float64) float64 {
	wins := 0.0
	for _, a := range anom {
		for _, n := range norm {
			switch {
			case a > n:
				wins++
			case a == n:
				wins += 0.5
			}
		}
	}
	return wins / float64(len(anom)*len(norm))
}

func TestIsolationForestRanksAnomalies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	train := gaussian(rng, 5000, 5, 0)
	f, err := Fit(train, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	normal := gaussian(rng, 2000, 5, 0)
	// Anomalies: points 4–6 standard deviations out in a random direction.
	anom := ml.NewMatrix(200, 5)
	for i := range anom.Rows {
		r := anom.Row(i)
		norm := 0.0
		for j := range r {
			r[j] = rng.NormFloat64()
			norm += r[j] * r[j]
		}
		rad := 4 + 2*rng.Float64()
		for j := range r {
			r[j] *= rad / math.Sqrt(norm)
		}
	}
	ns, err := f.ScoreMatrix(normal, 3)
	if err != nil {
		t.Fatal(err)
	}
	as, err := f.ScoreMatrix(anom, 3)
	if err != nil {
		t.Fatal(err)
	}
	if a := auc(as, ns); a <= 0.95 {
		t.Errorf("AUC %.4f, want > 0.95", a)
	} else {
		t.Logf("AUC %.4f", a)
	}

	// Threshold from one half of the held-out normal rows; the other half
	// must see about the target false-positive rate.
	for _, fpr := range []float64{0.01, 0.05, 0.1} {
		th, err := Threshold(ns[:1000], fpr)
		if err != nil {
			t.Fatal(err)
		}
		calib, held := 0, 0
		for _, s := range ns[:1000] {
			if s > th {
				calib++
			}
		}
		for _, s := range ns[1000:] {
			if s > th {
				held++
			}
		}
		if calib > int(fpr*1000) {
			t.Errorf("fpr %v: %d of 1000 calibration rows above the threshold, want at most %d", fpr, calib, int(fpr*1000))
		}
		// Binomial spread of 1000 draws: allow 4 standard deviations.
		sd := math.Sqrt(fpr * (1 - fpr) * 1000)
		if math.Abs(float64(held)-fpr*1000) > 4*sd+1 {
			t.Errorf("fpr %v: %d of 1000 held-out normal rows flagged", fpr, held)
		}
		t.Logf("fpr %v: threshold %.4f, held-out flagged %d/1000", fpr, th, held)
	}
}

func TestThresholdOrderStatistic(t *testing.T) {
	s := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0}
	for _, c := range []struct{ fpr, want float64 }{{0, 1.0}, {0.1, 0.9}, {0.25, 0.8}, {0.5, 0.5}} {
		if got, err := Threshold(s, c.fpr); err != nil || got != c.want {
			t.Errorf("Threshold(fpr %v) = %v, %v; want %v", c.fpr, got, err, c.want)
		}
	}
	for _, bad := range []float64{-0.1, 1, math.NaN()} {
		if _, err := Threshold(s, bad); err == nil {
			t.Errorf("fpr %v: no error", bad)
		}
	}
}

func TestAveragePathLength(t *testing.T) {
	// c(256) from the paper's formula, 2(ln 255 + γ) − 2·255/256.
	want := 2*(math.Log(255)+0.5772156649015329) - 2*255.0/256
	if got := AveragePathLength(256); math.Abs(got-want) > 1e-12 {
		t.Errorf("c(256) = %v, want %v", got, want)
	}
	if AveragePathLength(1) != 0 || AveragePathLength(2) != 1 {
		t.Error("c(1) must be 0 and c(2) 1")
	}
}

func TestIsolationForestDeterministicAndRoundTrips(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	x := gaussian(rng, 3000, 4, 0)
	a, err := Fit(x, Options{Seed: 9, Trees: 40, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Fit(x, Options{Seed: 9, Trees: 40, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different forests with 1 and 4 workers")
	}
	c, _ := Fit(x, Options{Seed: 10, Trees: 40})
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same forest")
	}
	a.Threshold = 0.6
	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back IsolationForest
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if a.Score(x.Row(i)) != back.Score(x.Row(i)) {
			t.Fatalf("row %d scores differently after the JSON round trip", i)
		}
	}
}

func TestValidateRejectsCorruptModels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	good, err := Fit(gaussian(rng, 500, 3, 0), Options{Trees: 3})
	if err != nil {
		t.Fatal(err)
	}
	clone := func() *IsolationForest {
		js, _ := json.Marshal(good)
		var f IsolationForest
		_ = json.Unmarshal(js, &f)
		return &f
	}
	internal := slices.IndexFunc(good.Trees[0].Nodes, func(n Node) bool { return n.Feature >= 0 })
	for name, corrupt := range map[string]func(f *IsolationForest){
		"no features":      func(f *IsolationForest) { f.Features = 0 },
		"sample size 1":    func(f *IsolationForest) { f.SampleSize = 1 },
		"no trees":         func(f *IsolationForest) { f.Trees = nil },
		"empty tree":       func(f *IsolationForest) { f.Trees[1].Nodes = nil },
		"feature too big":  func(f *IsolationForest) { f.Trees[0].Nodes[internal].Feature = 3 },
		"child loops back": func(f *IsolationForest) { f.Trees[0].Nodes[internal].Left = internal },
		"child past end":   func(f *IsolationForest) { f.Trees[0].Nodes[internal].Right = len(f.Trees[0].Nodes) },
		"NaN split":        func(f *IsolationForest) { f.Trees[0].Nodes[internal].Split = math.NaN() },
		"negative feature": func(f *IsolationForest) { f.Trees[0].Nodes[0].Feature = -2 },
		"NaN threshold":    func(f *IsolationForest) { f.Threshold = math.NaN() },
	} {
		f := clone()
		corrupt(f)
		if err := f.Validate(); err == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
	}
}

func FuzzModelJSON(f *testing.F) {
	rng := rand.New(rand.NewPCG(4, 4))
	m, err := Fit(gaussian(rng, 300, 3, 0), Options{Trees: 2, SampleSize: 16})
	if err != nil {
		f.Fatal(err)
	}
	js, _ := json.Marshal(m)
	f.Add(js)
	f.Add([]byte(`{"features":1,"sample_size":2,"trees":[{"nodes":[{"f":0,"s":1,"l":1,"r":2},{"f":-1,"n":1},{"f":-1,"n":1}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m IsolationForest
		if json.Unmarshal(data, &m) != nil || m.Validate() != nil {
			return
		}
		if m.Features > 1000 {
			return
		}
		x := ml.NewMatrix(3, m.Features)
		for i := range x.Data {
			x.Data[i] = float64(i) - 2
		}
		if _, err := m.ScoreMatrix(x, 2); err != nil {
			t.Fatal(err)
		}
	})
}
