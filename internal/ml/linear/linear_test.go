package linear

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
)

// Forty-five rows of three overlapping classes in three features, the
// second on a scale a hundred times the others. Generated and rounded with
// numpy (default_rng(7), class centres (0,0,0), (1.5,1,−1), (0.5,2.5,1),
// unit noise, feature 1 ×100); the expected values below come from
// scikit-learn 1.2.1:
//
//	make_pipeline(StandardScaler(), LogisticRegression(C=0.5, tol=1e-12, max_iter=10000))
//
// fitted on these rows (with the options each case names) and asked for
// predict_proba of sklearnQueries.
//
// scikit-learn 1.2.1 leaves scipy's default ftol (2.2e-9) in place, so its
// fits stop a little short of the optimum: minimising the same objective
// with scipy's L-BFGS-B at ftol=0, gtol=1e-13 moves its probabilities by up
// to 1.9e-6 (and lands within 1e-8 of ours). Hence the tolerances.
var sklearnX = [][]float64{
	{0.0, 29.87, -0.27}, {-0.89, -45.47, -0.99}, {0.06, 134.02, -0.49}, {-0.62, 48.98, 0.36},
	{0.11, -93.05, -0.03}, {0.7, -134.42, -0.46}, {-1.9, -128.95, -1.84}, {-0.24, -126.74, 0.27},
	{0.16, -18.69, -2.52}, {-0.54, -4.85, 0.11}, {-1.53, -47.78, -0.98}, {-0.81, 106.09, -0.81},
	{-0.03, 88.44, -0.58}, {-0.11, 11.05, 0.06}, {-1.23, 7.61, 1.36}, {-0.05, 185.94, -0.88},
	{0.86, 300.04, -0.24}, {0.3, 107.45, -0.42}, {1.31, 168.29, -1.07}, {2.17, 243.85, -1.68},
	{1.7, 53.67, -0.87}, {0.31, 42.07, -1.2}, {2.4, 214.52, -2.32}, {0.71, 164.69, -2.99},
	{1.04, 90.27, 0.26}, {2.19, 67.28, -1.37}, {1.25, 252.35, -1.43}, {1.2, 135.26, -1.12},
	{1.3, -11.41, -1.01}, {1.06, 216.61, -0.35}, {0.48, 316.84, 0.66}, {1.55, 249.46, 1.58},
	{-0.79, 284.67, -0.69}, {-1.54, 219.55, 0.1}, {0.66, 474.48, 0.17}, {-0.12, 270.54, 1.49},
	{0.32, 229.41, 1.7}, {1.02, 146.63, 0.92}, {0.54, 144.55, 1.26}, {-0.36, 347.21, 1.19},
	{0.59, 190.9, 0.88}, {-1.5, 136.86, 1.36}, {-1.63, 334.66, -0.75}, {1.26, 165.45, 1.78},
	{0.63, 96.32, 2.25},
}

var sklearnW = []float64{
	1.97, 1.27, 1.28, 1.84, 1.61, 1.37, 1.14, 1.82, 1.12, 1.88, 0.6, 1.14, 1.28, 1.93, 0.88,
	1.71, 1.51, 1.58, 1.44, 1.96, 1.0, 1.1, 0.8, 0.58, 0.82, 1.87, 1.76, 0.67, 1.41, 1.22,
	1.39, 1.49, 0.96, 1.94, 1.2, 1.44, 1.45, 0.78, 0.59, 1.12, 1.65, 1.72, 1.59, 0.67, 1.87,
}

var sklearnQueries = [][]float64{{0, 0, 0}, {1, 150, -0.5}, {0.3, 250, 1.2}, {2, -50, -2}}

// sklearnData returns the first n rows of sklearnX, labelled 15 per class.
func sklearnData(n, classes int, weighted bool) *ml.Dataset {
	d := &ml.Dataset{X: ml.NewMatrix(n, 3), Y: make([]int, n), Classes: classes}
	for i := range n {
		copy(d.X.Row(i), sklearnX[i])
		d.Y[i] = i / 15
	}
	if weighted {
		d.W = sklearnW[:n]
	}
	return d
}

func TestMatchesSklearn(t *testing.T) {
	const c = 0.5
	cases := []struct {
		name    string
		d       *ml.Dataset
		tr      Trainer
		want    [][]float64
		wantCoe []float64 // coef_ in standardised units, when checked
	}{
		{
			name: "multinomial",
			d:    sklearnData(45, 3, false),
			tr:   Trainer{L2: 1 / (c * 45)},
			want: [][]float64{
				{0.7635574992337475, 0.14654504099034074, 0.08989745977591161},
				{0.1251015441876131, 0.7334918966481344, 0.1414065591642523},
				{0.029439953538106144, 0.06633602565218198, 0.904224020809712},
				{0.11000262394603767, 0.8887296157545688, 0.0012677602993936739},
			},
			wantCoe: []float64{
				-0.7111211601320209, -1.212919435046433, -0.26035814803275964,
				1.010890471032277, 0.19348974637532662, -0.8540102609240977,
				-0.2997693109002565, 1.0194296886711065, 1.114368408956857,
			},
		},
		{
			// class_weight={0: 1, 1: 2, 2: 0.5} and sample_weight=sklearnW;
			// scikit-learn scales the penalty by the sample weights' sum
			// (60.42) before applying class weights.
			name: "row and class weights",
			d:    sklearnData(45, 3, true),
			tr:   Trainer{L2: 1 / (c * 60.42), ClassWeight: []float64{1, 2, 0.5}},
			want: [][]float64{
				{0.7803890556209375, 0.16852755716570236, 0.05108338721336004},
				{0.06451829369301312, 0.8857049906957839, 0.0497767156112031},
				{0.033184378917703476, 0.13418013110307636, 0.8326354899792201},
				{0.04601573844241152, 0.9537165464889726, 0.00026771506861579525},
			},
		},
		{
			// class_weight="balanced" on the first 40 rows (15, 15, 10).
			name: "balanced",
			d:    sklearnData(40, 3, false),
			tr:   Trainer{L2: 1 / (c * 40), Balanced: true},
			want: [][]float64{
				{0.7592515063546589, 0.14906275576091854, 0.09168573788442269},
				{0.1338902166369075, 0.7098662091093324, 0.15624357425376012},
				{0.03907301702160749, 0.06790832274360273, 0.8930186602347897},
				{0.09772301808538929, 0.9005426000675821, 0.0017343818470286353},
			},
		},
		{
			// Classes 0 and 1 only: scikit-learn fits one sigmoid vector;
			// the two-class softmax matches it with twice the penalty.
			name: "binary",
			d:    sklearnData(30, 2, false),
			tr:   Trainer{L2: 2 / (c * 30)},
			want: [][]float64{
				{0.776431087525268, 0.22356891247473196},
				{0.2022455882819325, 0.7977544117180675},
				{0.3171887922196618, 0.6828112077803382},
				{0.19219294145866328, 0.8078070585413367},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := tc.tr
			tr.Tol = 1e-8
			m, err := tr.Train(context.Background(), tc.d)
			if err != nil {
				t.Fatal(err)
			}
			if !m.Training.Converged || m.Training.GradMax > tr.Tol {
				t.Fatalf("did not converge: %+v", m.Training)
			}
			p := make([]float64, m.Classes)
			for q, x := range sklearnQueries {
				m.PredictProba(x, p)
				for k := range p {
					if math.Abs(p[k]-tc.want[q][k]) > 5e-6 {
						t.Fatalf("query %v: got %v, scikit-learn %v", x, p, tc.want[q])
					}
				}
			}
			for i, w := range tc.wantCoe {
				if math.Abs(m.Coef[i]-w) > 2e-5 {
					t.Fatalf("coef %v, scikit-learn %v", m.Coef, tc.wantCoe)
				}
			}
		})
	}
}

// separable returns two Gaussian-free clouds split by x0 + x1 = 0.
func separable(n int) *ml.Dataset {
	d := &ml.Dataset{X: ml.NewMatrix(n, 2), Y: make([]int, n), Classes: 2}
	for i := range n {
		a, b := math.Sin(float64(i)*1.7)*3, math.Cos(float64(i)*2.3)*3
		if math.Abs(a+b) < 0.2 {
			b += 0.5 // keep a margin
		}
		copy(d.X.Row(i), []float64{a, b})
		if a+b > 0 {
			d.Y[i] = 1
		}
	}
	return d
}

func TestLearnsSeparable(t *testing.T) {
	d := separable(400)
	m, err := Trainer{L2: 1e-5, MaxIter: 500}.Train(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float64, 2)
	var logLoss float64
	for i := range d.Y {
		if got := m.Predict(d.X.Row(i), p); got != d.Y[i] {
			t.Fatalf("row %d %v: predicted %d %v, want %d", i, d.X.Row(i), got, p, d.Y[i])
		}
		logLoss -= math.Log(p[d.Y[i]]) / float64(len(d.Y))
	}
	if logLoss > 0.05 {
		t.Fatalf("mean log-loss %.3f on separable data", logLoss)
	}
	// The boundary is x0 + x1 = 0, so both features matter equally.
	imp := m.Importance()
	if r := imp[0] / imp[1]; r < 0.8 || r > 1.25 {
		t.Fatalf("importance %v, want two similar values", imp)
	}
}

func TestIrrelevantFeatureHasLowImportance(t *testing.T) {
	d := &ml.Dataset{X: ml.NewMatrix(300, 3), Y: make([]int, 300), Classes: 3}
	for i := range 300 {
		y := i % 3
		d.Y[i] = y
		copy(d.X.Row(i), []float64{float64(y) + math.Sin(float64(i)), 5 * math.Cos(float64(i)*0.37), 7})
	}
	m, err := Trainer{L2: DefaultL2}.Train(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	imp := m.Importance()
	if imp[1] > imp[0]/10 || imp[2] != 0 {
		t.Fatalf("importance %v: feature 0 decides, 1 is noise, 2 is constant", imp)
	}
}

func TestWorkersGiveIdenticalModels(t *testing.T) {
	d := &ml.Dataset{X: ml.NewMatrix(5000, 4), Y: make([]int, 5000), Classes: 4}
	for i := range d.X.Data {
		d.X.Data[i] = math.Sin(float64(i) * 0.731)
	}
	for i := range d.Y {
		d.Y[i] = (i * 7) % 4
		d.X.Row(i)[d.Y[i]] += 1
	}
	var first *Model
	for _, w := range []int{1, 2, 5} {
		m, err := Trainer{L2: 1e-3, Workers: w}.Train(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = m
			continue
		}
		for i := range m.Coef {
			if m.Coef[i] != first.Coef[i] {
				t.Fatalf("%d workers: coef %v, 1 worker: %v", w, m.Coef, first.Coef)
			}
		}
	}
}

func TestProgressAndCancel(t *testing.T) {
	d := sklearnData(45, 3, false)
	var iters []int
	var losses []float64
	m, err := Trainer{L2: 0.01, Tol: 1e-9, Progress: func(p Progress) {
		iters = append(iters, p.Iter)
		losses = append(losses, p.Loss)
	}}.Train(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if len(iters) == 0 || iters[len(iters)-1] != m.Training.Iterations {
		t.Fatalf("progress saw iterations %v, fit reports %d", iters, m.Training.Iterations)
	}
	for i := 1; i < len(losses); i++ {
		if losses[i] > losses[i-1] {
			t.Fatalf("loss rose at iteration %d: %v", iters[i], losses)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Trainer{L2: 0.01, Progress: func(p Progress) {
		if p.Iter == 2 {
			cancel()
		}
	}}.Train(ctx, d)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled fit: %v", err)
	}
}

func TestMaxIterIsNotAnError(t *testing.T) {
	m, err := Trainer{L2: 1e-6, MaxIter: 2, Tol: 1e-12}.Train(context.Background(), sklearnData(45, 3, false))
	if err != nil {
		t.Fatal(err)
	}
	if m.Training.Converged || m.Training.Iterations != 2 {
		t.Fatalf("training %+v, want 2 iterations, not converged", m.Training)
	}
}

func TestTrainErrors(t *testing.T) {
	d := sklearnData(45, 3, false)
	nan := sklearnData(45, 3, false)
	nan.X.Data[7] = math.Inf(1)
	zero := sklearnData(45, 3, false)
	zero.W = make([]float64, 45)
	cases := []struct {
		name string
		tr   Trainer
		d    *ml.Dataset
		want string
	}{
		{"negative L2", Trainer{L2: -1}, d, "L2"},
		{"class weight count", Trainer{ClassWeight: []float64{1, 2}}, d, "2 class weights"},
		{"negative class weight", Trainer{ClassWeight: []float64{1, -2, 1}}, d, "class 1 weight"},
		{"infinite feature", Trainer{}, nan, "row 2 feature 1"},
		{"zero weights", Trainer{}, zero, "all row weights are zero"},
		{"bad dataset", Trainer{}, &ml.Dataset{X: d.X, Y: d.Y, Classes: 1}, "training data"},
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
	m, err := Trainer{L2: 0.01}.Train(context.Background(), sklearnData(45, 3, false))
	if err != nil {
		t.Fatal(err)
	}
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
	p, q := make([]float64, 3), make([]float64, 3)
	for _, x := range sklearnQueries {
		m.PredictProba(x, p)
		back.PredictProba(x, q)
		for k := range p {
			if p[k] != q[k] {
				t.Fatalf("%v: %v before, %v after the round trip", x, p, q)
			}
		}
	}
}

func TestValidateRejects(t *testing.T) {
	good, err := Trainer{L2: 0.01}.Train(context.Background(), sklearnData(45, 3, false))
	if err != nil {
		t.Fatal(err)
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		spoil func(m *Model)
	}{
		{"short coef", func(m *Model) { m.Coef = m.Coef[:8] }},
		{"NaN coef", func(m *Model) { m.Coef[4] = math.NaN() }},
		{"infinite intercept", func(m *Model) { m.Intercept[1] = math.Inf(-1) }},
		{"missing intercept", func(m *Model) { m.Intercept = m.Intercept[:2] }},
		{"zero scale", func(m *Model) { m.Scale[0] = 0 }},
		{"negative scale", func(m *Model) { m.Scale[0] = -1 }},
		{"NaN mean", func(m *Model) { m.Mean[2] = math.NaN() }},
		{"short mean", func(m *Model) { m.Mean = nil }},
		{"one class", func(m *Model) { m.Classes = 1 }},
		{"features mismatch", func(m *Model) { m.Features = 4 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m Model
			b, _ := json.Marshal(good)
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			c.spoil(&m)
			if err := m.Validate(); err == nil {
				t.Fatal("Validate accepted a broken model")
			}
		})
	}
}

func TestPredictEdges(t *testing.T) {
	m := &Model{Classes: 2, Features: 1, Mean: []float64{0}, Scale: []float64{1},
		Coef: []float64{-800, 800}, Intercept: []float64{0, 0}}
	p := make([]float64, 2)
	m.PredictProba([]float64{1}, p) // scores ±800: exp would overflow unshifted
	if p[0] != 0 || p[1] != 1 {
		t.Fatalf("large scores: %v", p)
	}
	m.PredictProba([]float64{math.NaN()}, p)
	if !math.IsNaN(p[0]) || !math.IsNaN(p[1]) {
		t.Fatalf("NaN input: %v", p)
	}
	x := []float64{0.5}
	if n := testing.AllocsPerRun(100, func() { m.Predict(x, nil) }); n != 0 {
		t.Fatalf("Predict allocates %v times", n)
	}
}
