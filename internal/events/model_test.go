package events

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/anomaly"
	"github.com/flowguard/flowguard/internal/ml/cluster"
	"github.com/flowguard/flowguard/internal/ml/forest"
)

var attacks = []*Event{
	{Method: "GET", Path: "/tienda1/index.jsp", Query: "id=1%2527%20union%20select%20password%20from%20users--", UserAgent: "Mozilla/5.0", ClientIP: "10.0.0.1", CookieLen: 43},
	{Method: "GET", Path: "/tienda1/index.jsp", Query: "nombre=%3Cscript%3Ealert(1)%3C/script%3E", UserAgent: "Mozilla/5.0", ClientIP: "10.0.0.1", CookieLen: 43},
	{Method: "GET", Path: "/tienda1/index.jsp", Query: "id=../../../../etc/passwd%00", UserAgent: "Mozilla/5.0", ClientIP: "10.0.0.1", CookieLen: 43},
}

func TestModelRoundTrip(t *testing.T) {
	for _, algo := range []string{AlgoParams, AlgoKNN, AlgoIForest, AlgoDBSCAN, AlgoHDBSCAN} {
		t.Run(algo, func(t *testing.T) {
			m, err := Fit(synthEvents(600, 1), ModelOptions{Algo: algo, Featurizer: Featurizer{Components: 8}, MinClusterSize: 20})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if _, err := m.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			back, err := ReadModel(&buf)
			if err != nil {
				t.Fatal(err)
			}
			evs := append(synthEvents(50, 2), attacks...)
			got := back.ScoreAll(evs)
			for i, e := range evs {
				s, l, c := m.Score(e)
				if got[i] != (Result{s, l, c}) {
					t.Fatalf("event %d: decoded model gives %+v, fitted one %v %v %v", i, got[i], s, l, c)
				}
			}
			if !m.Clustering() {
				for i, r := range got[50:] {
					if r.Label != NameAnomaly {
						t.Errorf("attack %d: %+v, want anomaly (threshold %g)", i, r, m.Threshold)
					}
				}
			} else if !m.Clustering() || len(m.Clusters) == 0 {
				t.Errorf("%s found no clusters", algo)
			}
		})
	}
}

func TestModelErrors(t *testing.T) {
	if _, err := Fit(synthEvents(100, 1), ModelOptions{Algo: "svm"}); err == nil {
		t.Error("unknown algorithm accepted")
	}
	if _, err := Fit(synthEvents(3, 1), ModelOptions{}); err == nil {
		t.Error("3 events accepted")
	}
	m, err := Fit(synthEvents(200, 1), ModelOptions{Algo: AlgoKNN, Featurizer: Featurizer{Components: 4}})
	if err != nil {
		t.Fatal(err)
	}
	m.Ref = m.Ref[1:]
	if err := m.Validate(); err == nil {
		t.Error("ragged reference rows accepted")
	}
}

// atTestFPR is the detection rate at the threshold giving 1% FPR on the
// test normals themselves: not a deployable threshold, but the same
// operating point for every method.
func atTestFPR(ns, as []float64) float64 {
	thr, _ := anomaly.Threshold(ns, 0.01)
	return flagged(as, thr)
}

func flagged(s []float64, thr float64) float64 {
	n := 0
	for _, v := range s {
		if v > thr {
			n++
		}
	}
	return float64(n) / float64(len(s))
}

type benchData struct {
	train, normTest, anomTest []*Event
	// supervised baseline's labelled training set: train plus a share of
	// the attacks, which are then left out of anomTest
	superAnom []*Event
}

func csicData(t *testing.T) benchData {
	train := readFile(t, sharedFile(t, "http/csic2010/normalTrafficTraining.txt.gz"), FormatAuto, nil)
	normTest := readFile(t, sharedFile(t, "http/csic2010/normalTrafficTest.txt.gz"), FormatAuto, nil)
	anom := readFile(t, sharedFile(t, "http/csic2010/anomalousTrafficTest.txt.gz"), FormatAuto, nil)
	return benchData{train: train, normTest: normTest, anomTest: anom}
}

// splitLabelled splits labelled events: normal ones into train (even
// rows) and test, anomalous ones into a supervised-only half and test.
func splitLabelled(evs []*Event) benchData {
	var d benchData
	var ni, ai int
	for _, e := range evs {
		if e.Label == LabelAnomalous {
			if ai%2 == 0 {
				d.superAnom = append(d.superAnom, e)
			} else {
				d.anomTest = append(d.anomTest, e)
			}
			ai++
			continue
		}
		if ni%2 == 0 {
			d.train = append(d.train, e)
		} else {
			d.normTest = append(d.normTest, e)
		}
		ni++
	}
	return d
}

// report fits m on d.train and logs ROC-AUC and the detection rate at the
// threshold set on held-out training normals.
func report(t *testing.T, name string, d benchData, o ModelOptions) (*Model, float64) {
	t.Helper()
	m, err := Fit(d.train, o)
	if err != nil {
		t.Fatal(err)
	}
	ns := m.ScoreMatrix(d.normTest, m.Features.TransformAll(d.normTest))
	as := m.ScoreMatrix(d.anomTest, m.Features.TransformAll(d.anomTest))
	auc := rocAUC(ns, as)
	t.Logf("%-28s ROC-AUC %.4f  detection %.4f at test FPR %.4f (threshold from held-out training normals, target %.2g); %.4f at 1%% test FPR",
		name, auc, flagged(as, m.Threshold), flagged(ns, m.Threshold), m.FPR, atTestFPR(ns, as))
	return m, auc
}

// residualAndForest logs the residual-off-SVD baseline and the supervised
// forest on the same features.
func residualAndForest(t *testing.T, d benchData, m *Model, superAnom []*Event) {
	t.Helper()
	f := m.Features
	last := func(x *ml.Matrix) []float64 {
		out := make([]float64, x.Rows)
		for i := range out {
			out[i] = x.Row(i)[x.Cols-1]
		}
		return out
	}
	xn, xa := f.TransformAll(d.normTest), f.TransformAll(d.anomTest)
	t.Logf("%-28s ROC-AUC %.4f  %.4f at 1%% test FPR", "residual off SVD", rocAUC(last(xn), last(xa)), atTestFPR(last(xn), last(xa)))

	if len(superAnom) == 0 {
		return
	}
	// Supervised baseline: forest on the same features, trained on the
	// normal training events plus labelled attacks the test never sees.
	xt := f.TransformAll(append(slices.Clone(d.train), superAnom...))
	y := make([]int, xt.Rows)
	for i := len(d.train); i < len(y); i++ {
		y[i] = 1
	}
	opt := forest.DefaultOptions()
	opt.Seed = 1
	fm, err := forest.New(opt).Train(context.Background(), &ml.Dataset{X: xt, Y: y, Classes: 2})
	if err != nil {
		t.Fatal(err)
	}
	p := func(x *ml.Matrix) []float64 {
		out := make([]float64, x.Rows*2)
		if err := fm.PredictProbaBatch(x, out, 0); err != nil {
			t.Fatal(err)
		}
		s := make([]float64, x.Rows)
		for i := range s {
			s[i] = out[2*i+1]
		}
		return s
	}
	pn, pa := p(xn), p(xa)
	// The forest's threshold comes from its normal training scores, which
	// are optimistic; the detection rate is at the test FPR it gives.
	thr, _ := anomaly.Threshold(p(f.TransformAll(d.train)), 0.01)
	t.Logf("%-28s ROC-AUC %.4f  detection %.4f at test FPR %.4f (threshold from training normals); %.4f at 1%% test FPR",
		"supervised forest", rocAUC(pn, pa), flagged(pa, thr), flagged(pn, thr), atTestFPR(pn, pa))
}

// evalFloor is the CSIC 2010 ROC-AUC the default params model measured,
// 0.9948 (see TestCSICEvaluation's log), less a margin.
var evalFloor = 0.99

func TestCSICEvaluation(t *testing.T) {
	if testing.Short() {
		t.Skip("CSIC evaluation takes minutes")
	}
	d := csicData(t)
	feat := Featurizer{Seed: 1}
	m, auc := report(t, "parameter bigram novelty", d, ModelOptions{Featurizer: feat})
	if auc < evalFloor {
		t.Errorf("CSIC ROC-AUC %.4f below the measured floor %.4f", auc, evalFloor)
	}
	report(t, "k-NN distance (k=5)", d, ModelOptions{Algo: AlgoKNN, Featurizer: feat})
	report(t, "isolation forest", d, ModelOptions{Algo: AlgoIForest, Featurizer: feat})
	// The supervised baseline needs labelled attacks: half of the
	// anomalous test file trains it, the other half is scored by all.
	half := splitLabelled(d.anomTest)
	residualAndForest(t, benchData{train: d.train, normTest: d.normTest, anomTest: half.anomTest}, m, half.superAnom)

	// The featurizer sweep (n-gram max/bits/components, 0 = default)
	// takes minutes more.
	if os.Getenv("FLOWGUARD_EVENTS_SWEEP") != "" {
		for _, c := range []Featurizer{{NgramMax: 4, Seed: 1}, {NgramBits: 14, Seed: 1}, {Components: 16, Seed: 1}, {Components: 64, Seed: 1}} {
			cfg := strconv.Itoa(c.NgramMax) + "/" + strconv.Itoa(c.NgramBits) + "/" + strconv.Itoa(c.Components)
			report(t, "params "+cfg, d, ModelOptions{Featurizer: c})
			report(t, "k-NN "+cfg, d, ModelOptions{Algo: AlgoKNN, Featurizer: c})
		}
	}
	purity(t, d)
}

// purity clusters a sample of the test events, normal and anomalous, and
// measures how pure the clusters are against the true labels.
func purity(t *testing.T, d benchData) {
	t.Helper()
	var evs []*Event
	for i := 0; i < len(d.normTest); i += 12 {
		evs = append(evs, d.normTest[i])
	}
	for i := 0; i < len(d.anomTest); i += 8 {
		evs = append(evs, d.anomTest[i])
	}
	truth := make([]int, len(evs))
	for i, e := range evs {
		if e.Label == LabelAnomalous {
			truth[i] = 1
		}
	}
	for _, algo := range []string{AlgoDBSCAN, AlgoHDBSCAN} {
		m, err := Fit(evs, ModelOptions{Algo: algo, Featurizer: Featurizer{Components: 16, Seed: 1}, HoldOut: 0.02})
		if err != nil {
			t.Fatal(err)
		}
		res := m.ScoreAll(evs)
		labels := make([]int, len(res))
		noise := 0
		for i, r := range res {
			labels[i] = r.Cluster
			if r.Cluster == cluster.Noise {
				noise++
			}
		}
		t.Logf("%-8s on %d CSIC test events: %d clusters, noise %.1f%%, purity %.4f (noise excluded), ARI %.4f",
			algo, len(evs), len(m.Clusters), 100*float64(noise)/float64(len(evs)),
			cluster.Purity(labels, truth, true), cluster.AdjustedRandIndex(labels, truth))
	}
}

// byLabel splits events into normal and anomalous.
func byLabel(evs []*Event) (norm, anom []*Event) {
	for _, e := range evs {
		if e.Label == LabelAnomalous {
			anom = append(anom, e)
		} else {
			norm = append(norm, e)
		}
	}
	return norm, anom
}

// TestHTTPParamsEvaluation fits on the normal payloads of the training
// file, scores the test file, and trains the supervised baseline on the
// whole training file.
func TestHTTPParamsEvaluation(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluation on shared data")
	}
	trNorm, trAnom := byLabel(readFile(t, sharedFile(t, "http/HttpParamsDataset/payload_train.csv.gz"), FormatAuto, nil))
	teNorm, teAnom := byLabel(readFile(t, sharedFile(t, "http/HttpParamsDataset/payload_test.csv"), FormatAuto, nil))
	d := benchData{train: trNorm, normTest: teNorm, anomTest: teAnom}
	m, auc := report(t, "parameter bigram novelty", d, ModelOptions{Featurizer: Featurizer{Seed: 1}})
	report(t, "k-NN distance (k=5)", d, ModelOptions{Algo: AlgoKNN, Featurizer: Featurizer{Seed: 1}})
	report(t, "isolation forest", d, ModelOptions{Algo: AlgoIForest, Featurizer: Featurizer{Seed: 1}})
	residualAndForest(t, d, m, trAnom)
	if auc < 0.995 { // measured 0.9998
		t.Errorf("HttpParamsDataset ROC-AUC %.4f below the measured floor", auc)
	}
}

// TestFWAFEvaluation: FWAF has no split; the even normal queries train,
// the odd ones and half the bad queries test, the other half of the bad
// queries trains the supervised baseline.
func TestFWAFEvaluation(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluation on shared data")
	}
	good := readFile(t, sharedFile(t, "http/fwaf/goodqueries_subset_liuzc188.txt.gz"), FormatAuto, nil)
	bad := readFile(t, sharedFile(t, "http/fwaf/badqueries.txt.gz"), FormatAuto, nil)
	d := splitLabelled(append(good, bad...))
	m, auc := report(t, "parameter bigram novelty", d, ModelOptions{Featurizer: Featurizer{Seed: 1}})
	report(t, "k-NN distance (k=5)", d, ModelOptions{Algo: AlgoKNN, Featurizer: Featurizer{Seed: 1}})
	report(t, "isolation forest", d, ModelOptions{Algo: AlgoIForest, Featurizer: Featurizer{Seed: 1}})
	residualAndForest(t, d, m, d.superAnom)
	if auc < 0.93 { // measured 0.9446; k-NN does better here (0.9856)
		t.Errorf("FWAF ROC-AUC %.4f below the measured floor", auc)
	}
}
