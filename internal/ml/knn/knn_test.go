package knn

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
)

func dataset(classes int, y []int, rows ...[]float64) *ml.Dataset {
	x := ml.NewMatrix(len(rows), len(rows[0]))
	for i, r := range rows {
		copy(x.Row(i), r)
	}
	return &ml.Dataset{X: x, Y: y, Classes: classes}
}

func train(t *testing.T, tr Trainer, d *ml.Dataset) *Model {
	t.Helper()
	m, err := tr.Train(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("fitted model does not validate: %v", err)
	}
	return m
}

// near compares probabilities; NaN matches NaN.
func near(a, b []float64) bool {
	for i := range a {
		if math.IsNaN(a[i]) != math.IsNaN(b[i]) || math.Abs(a[i]-b[i]) > 1e-12 {
			return false
		}
	}
	return len(a) == len(b)
}

// Hand-computed votes on a line: rows at 0, 1, 2, 4 with labels 0, 1, 1, 2.
func TestVotes(t *testing.T) {
	d := dataset(3, []int{0, 1, 1, 2}, []float64{0}, []float64{1}, []float64{2}, []float64{4})
	cases := []struct {
		name string
		tr   Trainer
		x    float64
		want []float64
		pred int
	}{
		// Neighbours of 0.5: 0 and 1 (d 0.5 each), then 2 (d 1.5).
		{"uniform k=3", Trainer{K: 3, Metric: Euclidean, Weights: Uniform}, 0.5, []float64{1. / 3, 2. / 3, 0}, 1},
		// 1/0.5 for class 0, 1/0.5 + 1/1.5 for class 1: 2 / (14/3), (8/3) / (14/3).
		{"distance k=3", Trainer{K: 3, Metric: Euclidean, Weights: Distance}, 0.5, []float64{3. / 7, 4. / 7, 0}, 1},
		// A query on a training row: only zero-distance neighbours vote.
		{"distance exact hit", Trainer{K: 3, Metric: Euclidean, Weights: Distance}, 4, []float64{0, 0, 1}, 2},
		// 0.5 is equidistant from 0 and 1: one vote each, the lower class wins.
		{"uniform tie", Trainer{K: 2, Metric: Euclidean, Weights: Uniform}, 0.5, []float64{0.5, 0.5, 0}, 0},
		// 3 is at distance 1 from both 2 and 4: the lower row index (2, label 1) is the neighbour.
		{"distance tie at k", Trainer{K: 1, Metric: Euclidean, Weights: Uniform}, 3, []float64{0, 1, 0}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := train(t, c.tr, d)
			p := make([]float64, 3)
			if got := m.Predict([]float64{c.x}, p); got != c.pred || !near(p, c.want) {
				t.Fatalf("got class %d %v, want %d %v", got, p, c.pred, c.want)
			}
		})
	}
}

func TestZeroDistanceNeighboursVoteEqually(t *testing.T) {
	// Two duplicates of the query with different labels, a third label at
	// distance 0.1 that 1/d would otherwise make dominant.
	d := dataset(3, []int{2, 1, 0, 2}, []float64{1, 1}, []float64{1, 1}, []float64{1, 1.1}, []float64{5, 5})
	m := train(t, Trainer{K: 3, Metric: Euclidean, Weights: Distance}, d)
	p := make([]float64, 3)
	if got := m.Predict([]float64{1, 1}, p); got != 1 || !near(p, []float64{0, 0.5, 0.5}) {
		t.Fatalf("got %d %v, want class 1 (tie, lower index) with [0 0.5 0.5]", got, p)
	}
}

func TestCosine(t *testing.T) {
	// Direction matters, length does not: (10, 0) is the same direction as
	// (1, 0), so it is at distance 0 from it. The zero row has distance 1
	// to everything (similarity 0), as in scikit-learn.
	d := dataset(3, []int{0, 1, 2}, []float64{1, 0}, []float64{0, 1}, []float64{0, 0})
	m := train(t, Trainer{K: 2, Metric: Cosine, Weights: Distance}, d)
	p := make([]float64, 3)
	if got := m.Predict([]float64{10, 0}, p); got != 0 || !near(p, []float64{1, 0, 0}) {
		t.Fatalf("(10,0): got %d %v", got, p)
	}
	// (1, 1): distance 1−1/√2 to both axes; k=2 takes rows 0 and 1.
	if got := m.Predict([]float64{1, 1}, p); got != 0 || !near(p, []float64{0.5, 0.5, 0}) {
		t.Fatalf("(1,1): got %d %v", got, p)
	}
	// Opposite direction: distance 2 to row 0, 1 to rows 1 and 2.
	m = train(t, Trainer{K: 3, Metric: Cosine, Weights: Distance}, d)
	if got := m.Predict([]float64{-1, 0}, p); got != 1 || !near(p, []float64{0.2, 0.4, 0.4}) {
		t.Fatalf("(-1,0): got %d %v", got, p)
	}
}

func TestStandardize(t *testing.T) {
	// Feature 1 has a large range and decides alone without scaling.
	d := dataset(2, []int{0, 1}, []float64{0, 0}, []float64{1, 100})
	raw := train(t, Trainer{K: 1, Metric: Euclidean, Weights: Uniform}, d)
	std := train(t, Trainer{K: 1, Metric: Euclidean, Weights: Uniform, Standardize: true}, d)
	// Raw squared distances 900.81 and 4900.01; standardised the query is
	// (0.8, −0.4) against (−1, −1) and (1, 1): 3.6 and 2.0.
	x := []float64{0.9, 30}
	if got := raw.Predict(x, nil); got != 0 {
		t.Fatalf("unscaled: got %d, want 0", got)
	}
	if got := std.Predict(x, nil); got != 1 {
		t.Fatalf("standardised: got %d, want 1", got)
	}
	if !near(std.Mean, []float64{0.5, 50}) || !near(std.Scale, []float64{0.5, 50}) {
		t.Fatalf("mean %v scale %v", std.Mean, std.Scale)
	}
}

func TestNonFiniteQuery(t *testing.T) {
	m := train(t, Trainer{K: 1, Metric: Euclidean, Weights: Uniform}, dataset(2, []int{0, 1}, []float64{0}, []float64{1}))
	p := make([]float64, 2)
	m.PredictProba([]float64{math.NaN()}, p)
	if !math.IsNaN(p[0]) || !math.IsNaN(p[1]) {
		t.Fatalf("NaN query gave %v", p)
	}
}

func TestTrainErrors(t *testing.T) {
	d := dataset(2, []int{0, 1}, []float64{0}, []float64{1})
	cases := []struct {
		name string
		tr   Trainer
		d    *ml.Dataset
		want string
	}{
		{"k too large", Trainer{K: 3, Metric: Euclidean, Weights: Uniform}, d, "exceeds"},
		{"k zero", Trainer{Metric: Euclidean, Weights: Uniform}, d, "k = 0"},
		{"metric", Trainer{K: 1, Metric: "manhattan", Weights: Uniform}, d, "unknown metric"},
		{"weights", Trainer{K: 1, Metric: Euclidean}, d, "unknown weighting"},
		{"row weights", Trainer{K: 1, Metric: Euclidean, Weights: Uniform},
			&ml.Dataset{X: d.X, Y: d.Y, W: []float64{1, 2}, Classes: 2}, "weights are not supported"},
		{"nan", Trainer{K: 1, Metric: Euclidean, Weights: Uniform},
			dataset(2, []int{0, 1}, []float64{0}, []float64{math.NaN()}), "row 1 feature 0"},
		{"bad dataset", Trainer{K: 1, Metric: Euclidean, Weights: Uniform},
			&ml.Dataset{X: d.X, Y: []int{0, 2}, Classes: 2}, "label 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.tr.Train(context.Background(), c.d)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	d := dataset(3, []int{0, 1, 2, 1}, []float64{1, 2}, []float64{-1, 0.5}, []float64{3, -2}, []float64{0.1, 0.2})
	m := train(t, Trainer{K: 2, Metric: Cosine, Weights: Distance, Standardize: true}, d)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Model
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, x := range [][]float64{{0, 0}, {2, 1}, {-3, 7}} {
		p, q := make([]float64, 3), make([]float64, 3)
		m.PredictProba(x, p)
		back.PredictProba(x, q)
		if !near(p, q) {
			t.Fatalf("%v: %v before, %v after the round trip", x, p, q)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	good := func() *Model {
		return train(t, Trainer{K: 1, Metric: Cosine, Weights: Uniform, Standardize: true},
			dataset(2, []int{0, 1}, []float64{1, 0}, []float64{0, 1}))
	}
	cases := []struct {
		name  string
		spoil func(m *Model)
	}{
		{"short X", func(m *Model) { m.X = m.X[:3] }},
		{"label out of range", func(m *Model) { m.Y[0] = 2 }},
		{"negative label", func(m *Model) { m.Y[0] = -1 }},
		{"NaN row", func(m *Model) { m.X[1] = math.NaN() }},
		{"not unit length", func(m *Model) { m.X[0] = 3 }},
		{"k beyond rows", func(m *Model) { m.K = 3 }},
		{"zero scale", func(m *Model) { m.Scale[1] = 0 }},
		{"mean without scale", func(m *Model) { m.Scale = nil }},
		{"short mean", func(m *Model) { m.Mean = m.Mean[:1] }},
		{"infinite mean", func(m *Model) { m.Mean[0] = math.Inf(1) }},
		{"one class", func(m *Model) { m.Classes = 1 }},
		{"no features", func(m *Model) { m.Features = 0 }},
		{"metric", func(m *Model) { m.Metric = "" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := good()
			c.spoil(m)
			if err := m.Validate(); err == nil {
				t.Fatal("Validate accepted a broken model")
			}
		})
	}
}

func TestBatchMatchesSingle(t *testing.T) {
	d := dataset(3, []int{0, 1, 2, 1, 0}, []float64{1, 2}, []float64{-1, 0.5}, []float64{3, -2}, []float64{0.1, 0.2}, []float64{2, 2})
	m := train(t, Trainer{K: 3, Metric: Euclidean, Weights: Distance}, d)
	x := ml.NewMatrix(100, 2)
	for i := range x.Data {
		x.Data[i] = math.Sin(float64(i)) * 3
	}
	x.Data[5*2] = math.NaN() // one bad row inside a block of four
	for _, workers := range []int{1, 3, 0} {
		p, err := m.PredictProbaBatch(context.Background(), x, workers)
		if err != nil {
			t.Fatal(err)
		}
		y, err := m.PredictBatch(context.Background(), x, workers)
		if err != nil {
			t.Fatal(err)
		}
		q := make([]float64, 3)
		for i := 0; i < x.Rows; i++ {
			if c := m.Predict(x.Row(i), q); c != y[i] || !near(q, p.Row(i)) {
				t.Fatalf("workers %d row %d: batch %d %v, single %d %v", workers, i, y[i], p.Row(i), c, q)
			}
		}
	}
	if _, err := m.PredictProbaBatch(context.Background(), ml.NewMatrix(2, 3), 1); err == nil {
		t.Fatal("accepted a batch with the wrong number of features")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.PredictBatch(ctx, x, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled batch: %v", err)
	}
}

// raceEnabled is set by race_test.go.
var raceEnabled bool

func TestPredictProbaDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	m := train(t, Trainer{K: 2, Metric: Cosine, Weights: Distance}, dataset(2, []int{0, 1, 1}, []float64{1, 0}, []float64{0, 1}, []float64{1, 1}))
	x, p := []float64{0.3, 0.7}, make([]float64, 2)
	m.PredictProba(x, p) // warm the scratch pool
	if n := testing.AllocsPerRun(100, func() { m.PredictProba(x, p) }); n != 0 {
		t.Fatalf("PredictProba allocates %v times per call", n)
	}
	if n := testing.AllocsPerRun(100, func() { m.Predict(x, nil) }); n != 0 {
		t.Fatalf("Predict allocates %v times per call", n)
	}
}
