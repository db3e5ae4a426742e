package eval

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
)

// binaryScores builds the two-column probability matrix of P(class 1) = p.
func binaryScores(p ...float64) *ml.Matrix {
	m := ml.NewMatrix(len(p), 2)
	for i, v := range p {
		m.Data[2*i], m.Data[2*i+1] = 1-v, v
	}
	return m
}

func mustEvaluate(t *testing.T, yTrue, yPred []int, scores *ml.Matrix, names []string, opts Options) Report {
	t.Helper()
	r, err := Evaluate(yTrue, yPred, scores, names, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func hasNote(r Report, part string) bool {
	for _, n := range r.Notes {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

// The example of scikit-learn's roc_auc_score and average_precision_score
// documentation: y = [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8]. By hand:
// of the four positive/negative pairs only (0.35, 0.4) is misordered, so
// AUC = 3/4; thresholds 0.8, 0.4, 0.35 give (recall, precision) (½, 1),
// (½, ½), (1, ⅔), so AP = ½·1 + 0·½ + ½·⅔ = 5/6.
func TestHandBinary(t *testing.T) {
	r := mustEvaluate(t, []int{0, 0, 1, 1}, nil, binaryScores(0.1, 0.4, 0.35, 0.8), []string{"benign", "attack"}, Options{})
	if !same(float64(r.ROCAUC), 0.75) || !same(float64(r.PRAUC), 5.0/6) {
		t.Fatalf("ROC-AUC %v, PR-AUC %v; want 0.75, 5/6", r.ROCAUC, r.PRAUC)
	}
	// Predicted by argmax: 0, 0, 0, 1. Benign precision 2/3, recall 1,
	// F1 0.8; attack precision 1, recall ½, F1 2/3.
	want := [][3]float64{{2.0 / 3, 1, 0.8}, {1, 0.5, 2.0 / 3}}
	for c, w := range want {
		pc := r.PerClass[c]
		if !same(float64(pc.Precision), w[0]) || !same(float64(pc.Recall), w[1]) || !same(float64(pc.F1), w[2]) {
			t.Fatalf("class %d: %+v, want P/R/F1 %v", c, pc, w)
		}
	}
	if !same(float64(r.MacroF1), (0.8+2.0/3)/2) || !same(float64(r.Accuracy), 0.75) || !same(float64(r.BalancedAccuracy), 0.75) {
		t.Fatalf("macro F1 %v accuracy %v balanced %v", r.MacroF1, r.Accuracy, r.BalancedAccuracy)
	}
	a := r.Attack
	if a.BenignRows != 2 || a.AttackRows != 2 || float64(a.FPR) != 0 || float64(a.Recall) != 0.5 {
		t.Fatalf("attack view %+v", a)
	}
	// ROC points: (0,0), then thresholds 0.8 → (0, ½), 0.4 → (½, ½),
	// 0.35 → (½, 1), 0.1 → (1, 1).
	wantROC := []ROCPoint{{0, 0, NaN()}, {0, 0.5, 0.8}, {0.5, 0.5, 0.4}, {0.5, 1, 0.35}, {1, 1, 0.1}}
	if len(a.ROC) != len(wantROC) {
		t.Fatalf("ROC %v, want %v", a.ROC, wantROC)
	}
	for i, p := range wantROC {
		g := a.ROC[i]
		if g.FPR != p.FPR || g.TPR != p.TPR || (i > 0 && !same(float64(g.Threshold), float64(p.Threshold))) {
			t.Fatalf("ROC %v, want %v", a.ROC, wantROC)
		}
	}
	if len(a.PR) != 5 || a.PR[0].Precision != 1 || a.PR[0].Recall != 0 || a.PR[4].Recall != 1 || a.PR[4].Precision != 0.5 {
		t.Fatalf("PR curve %v", a.PR)
	}
}

func TestAbsentAndUnpredictedClasses(t *testing.T) {
	// Class 2 is in neither labels nor predictions; class 1 occurs but is
	// never predicted.
	r := mustEvaluate(t, []int{0, 0, 1, 1}, []int{0, 0, 0, 0}, nil, []string{"a", "b", "c"}, Options{Benign: NoBenign})
	b, c := r.PerClass[1], r.PerClass[2]
	if b.Precision != 0 || b.Recall != 0 || b.F1 != 0 || !hasNote(r, "class b is never predicted: precision set to 0") {
		t.Fatalf("unpredicted class: %+v, notes %q", b, r.Notes)
	}
	if c.Precision.Defined() || c.Recall.Defined() || c.F1.Defined() || !hasNote(r, "class c is in neither") {
		t.Fatalf("absent class: %+v, notes %q", c, r.Notes)
	}
	// Macro F1 over a and b only: a has P ½, R 1, F1 ⅔; b has F1 0.
	if !same(float64(r.MacroF1), 1.0/3) || !same(float64(r.WeightedF1), 1.0/3) || !same(float64(r.BalancedAccuracy), 0.5) {
		t.Fatalf("macro F1 %v weighted %v balanced %v", r.MacroF1, r.WeightedF1, r.BalancedAccuracy)
	}
	if r.ROCAUC.Defined() || r.Attack != nil || !hasNote(r, "no class scores") {
		t.Fatalf("AUC %v attack %v without scores", r.ROCAUC, r.Attack)
	}
	// A class predicted but absent from the truth: recall 0, with a note.
	r = mustEvaluate(t, []int{0, 0}, []int{0, 1}, nil, []string{"a", "b"}, Options{})
	if r.PerClass[1].Recall != 0 || r.PerClass[1].Precision != 0 || !hasNote(r, "class b never occurs in the true labels") {
		t.Fatalf("class b: %+v notes %q", r.PerClass[1], r.Notes)
	}
}

func TestSingleClassTruth(t *testing.T) {
	scores := &ml.Matrix{Rows: 3, Cols: 3, Data: []float64{0.8, 0.1, 0.1, 0.5, 0.4, 0.1, 0.2, 0.3, 0.5}}
	r := mustEvaluate(t, []int{0, 0, 0}, nil, scores, []string{"benign", "x", "y"}, Options{})
	if r.ROCAUC.Defined() || r.PerClass[0].ROCAUC.Defined() || r.Attack.ROCAUC.Defined() || r.Attack.Recall.Defined() {
		t.Fatalf("AUC defined with one class: %v %v %v", r.ROCAUC, r.PerClass[0].ROCAUC, r.Attack.ROCAUC)
	}
	if r.Attack.ROC != nil || float64(r.Attack.FPR) != 1.0/3 || len(r.Attack.RecallAtFPR) != 2 {
		t.Fatalf("attack view %+v", r.Attack)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("undefined metrics do not encode: %v", err)
	}
	if !strings.Contains(string(b), `"roc_auc":null`) {
		t.Fatalf("undefined ROC-AUC not null in %s", b)
	}
	// Two classes, truth all attack: no benign rows, FPR undefined.
	r = mustEvaluate(t, []int{1, 1}, nil, binaryScores(0.3, 0.9), []string{"benign", "attack"}, Options{})
	if r.ROCAUC.Defined() || r.Attack.FPR.Defined() || r.Attack.RecallAtFPR != nil || !hasNote(r, "no benign rows") {
		t.Fatalf("all-attack truth: %+v notes %q", r.Attack, r.Notes)
	}
}

func TestCalibrateThreshold(t *testing.T) {
	// 10,000 negatives scoring 0.0000 … 0.9999 and 100 positives scoring
	// 0.995 … 1.0445 (every tenth one below the top negatives).
	var scores []float64
	var positive []bool
	for i := range 10000 {
		scores = append(scores, float64(i)/10000)
		positive = append(positive, false)
	}
	for i := range 100 {
		scores = append(scores, 0.995+float64(i)*0.0005)
		positive = append(positive, true)
	}
	// FPR 1e-3 allows 10 false positives: the top ten negatives score
	// 0.9990 … 0.9999, so the threshold is 0.9990 and all positives ≥ 0.999
	// (0.9990 … 1.0445 ⇒ 92 of them) are caught.
	op, err := CalibrateThreshold(scores, positive, 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	if op.Threshold != 0.999 || op.FalsePositives != 10 || float64(op.FPR) != 1e-3 || !same(float64(op.Recall), 0.92) || !op.Resolved {
		t.Fatalf("calibrated %+v", op)
	}
	// The same threshold measured on the same data gives the same point.
	at, err := AtThreshold(scores, positive, float64(op.Threshold))
	if err != nil {
		t.Fatal(err)
	}
	if at.FPR != op.FPR || at.Recall != op.Recall {
		t.Fatalf("at threshold %+v, calibrated %+v", at, op)
	}
	// FPR 1e-4 allows exactly one.
	op, _ = CalibrateThreshold(scores, positive, 1e-4)
	if op.Threshold != 0.9999 || op.FalsePositives != 1 || !op.Resolved {
		t.Fatalf("1e-4: %+v", op)
	}
	// FPR 1e-5 cannot be resolved with 10,000 negatives: no false positive
	// allowed, the threshold sits above the top negative.
	op, _ = CalibrateThreshold(scores, positive, 1e-5)
	if op.Resolved || op.FalsePositives != 0 || op.Threshold != 1.0 || !same(float64(op.Recall), 0.9) || !strings.Contains(op.Note, "only 10000 negatives") {
		t.Fatalf("1e-5: %+v", op)
	}
}

func TestCalibrateTiesAndExtremes(t *testing.T) {
	// Two negatives tie with a positive at 0.9: a threshold cannot split
	// them, so with one false positive allowed the tie is not flagged.
	scores := []float64{0.95, 0.9, 0.9, 0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6}
	positive := []bool{true, true, false, false, false, false, false, false, false, false}
	op, err := CalibrateThreshold(scores, positive, 0.125) // 8 negatives: one allowed
	if err != nil {
		t.Fatal(err)
	}
	if op.Threshold != 0.95 || op.FalsePositives != 0 || float64(op.Recall) != 0.5 {
		t.Fatalf("tie: %+v", op)
	}
	// The top score is a negative: nothing can be flagged.
	op, _ = CalibrateThreshold([]float64{0.9, 0.5}, []bool{false, true}, 0.1)
	if !(float64(op.Threshold) > 0.9) || op.Recall != 0 || op.FPR != 0 {
		t.Fatalf("negative on top: %+v", op)
	}
	for _, bad := range []struct {
		scores   []float64
		positive []bool
		target   float64
	}{
		{[]float64{0.1}, []bool{true}, 0.1},         // no negatives
		{[]float64{0.1, 0.2}, []bool{true}, 0.1},    // length mismatch
		{[]float64{math.NaN()}, []bool{false}, 0.1}, // NaN score
		{[]float64{0.1}, []bool{false}, 0},          // target out of range
		{nil, nil, 0.1},                             // empty
	} {
		if _, err := CalibrateThreshold(bad.scores, bad.positive, bad.target); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

func TestFalseAlertsPerDay(t *testing.T) {
	if got := FalseAlertsPerDay(1e-4, 1000); !same(got, 8640) {
		t.Fatalf("1e-4 at 1000 flows/s: %v alerts a day, want 8640", got)
	}
	// 1 benign row of 4 misflagged at 10 flows/s: 0.25·10·86400.
	r := mustEvaluate(t, []int{0, 0, 0, 0, 1}, []int{0, 1, 0, 0, 1}, nil, []string{"benign", "attack"}, Options{FlowsPerSecond: 10})
	if float64(r.Attack.FalseAlertsPerDay) != 216000 {
		t.Fatalf("false alerts %v", r.Attack.FalseAlertsPerDay)
	}
}

func TestCurvesAreThinned(t *testing.T) {
	const n = 20000
	y := make([]int, n)
	p := make([]float64, n)
	for i := range y {
		y[i] = i % 2
		p[i] = math.Mod(float64(i)*0.6180339887, 1) // distinct, interleaved
		if y[i] == 1 {
			p[i] = math.Sqrt(p[i])
		}
	}
	r := mustEvaluate(t, y, nil, binaryScores(p...), []string{"benign", "attack"}, Options{CurvePoints: 50})
	roc, pr := r.Attack.ROC, r.Attack.PR
	if len(roc) > 50 || len(pr) > 50 || len(roc) < 20 {
		t.Fatalf("%d ROC and %d PR points, want at most 50", len(roc), len(pr))
	}
	if roc[0].FPR != 0 || roc[0].TPR != 0 || roc[len(roc)-1].FPR != 1 || roc[len(roc)-1].TPR != 1 {
		t.Fatalf("ROC ends %v %v", roc[0], roc[len(roc)-1])
	}
	lowFPR := 0
	for i := 1; i < len(roc); i++ {
		if roc[i].FPR < roc[i-1].FPR || roc[i].TPR < roc[i-1].TPR {
			t.Fatalf("ROC not monotone at %d", i)
		}
		if roc[i].FPR > 0 && roc[i].FPR < 1e-2 {
			lowFPR++
		}
	}
	if lowFPR < 3 {
		t.Fatalf("only %d points below FPR 1e-2: the log-scale end was thinned away", lowFPR)
	}
}

func TestJSON(t *testing.T) {
	scores := &ml.Matrix{Rows: 4, Cols: 3, Data: []float64{0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.3, 0.3, 0.4, 0.1, 0.2, 0.7}}
	r := mustEvaluate(t, []int{0, 1, 2, 0}, nil, scores, []string{"benign", "dos", "scan"}, Options{FlowsPerSecond: 100})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"macro_f1", "weighted_f1", "per_class", "roc_auc", "pr_auc", "confusion_matrix", "accuracy", "balanced_accuracy", "attack"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("report JSON lacks %q: %s", k, b)
		}
	}
	var pc []map[string]any
	if err := json.Unmarshal(keys["per_class"], &pc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "precision", "recall", "f1", "support"} {
		if _, ok := pc[1][k]; !ok || pc[1]["name"] != "dos" {
			t.Errorf("per_class entry %v lacks %q", pc[1], k)
		}
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.MacroF1 != r.MacroF1 || back.Attack.RecallAtFPR[0].Recall != r.Attack.RecallAtFPR[0].Recall ||
		back.ConfusionMatrix[2][2] != r.ConfusionMatrix[2][2] || back.Attack.ROC[0].Threshold.Defined() {
		t.Fatalf("round trip changed the report:\n%+v\n%+v", r, back)
	}
}

func TestEvaluateErrors(t *testing.T) {
	names := []string{"a", "b"}
	s := binaryScores(0.5, 0.5)
	cases := []struct {
		name         string
		yTrue, yPred []int
		scores       *ml.Matrix
		names        []string
		opts         Options
		want         string
	}{
		{"one class", []int{0}, []int{0}, nil, []string{"a"}, Options{}, "class names"},
		{"no rows", nil, nil, s, names, Options{}, "no rows"},
		{"nothing predicted", []int{0, 1}, nil, nil, names, Options{}, "neither"},
		{"lengths", []int{0, 1}, []int{0}, nil, names, Options{}, "1 predictions"},
		{"label range", []int{0, 2}, []int{0, 1}, nil, names, Options{}, "true label 2"},
		{"prediction range", []int{0, 1}, []int{0, -1}, nil, names, Options{}, "predicted label -1"},
		{"score shape", []int{0, 1, 1}, nil, s, names, Options{}, "scores are 2×2"},
		{"NaN score", []int{0, 1}, nil, &ml.Matrix{Rows: 2, Cols: 2, Data: []float64{0, 1, math.NaN(), 0}}, names, Options{}, "row 1 class 0"},
		{"benign range", []int{0, 1}, []int{0, 1}, nil, names, Options{Benign: 2}, "benign class 2"},
		{"flow rate", []int{0, 1}, []int{0, 1}, nil, names, Options{FlowsPerSecond: -1}, "flow rate"},
		{"target FPR", []int{0, 1}, nil, s, names, Options{TargetFPRs: []float64{1.5}}, "target FPR"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Evaluate(c.yTrue, c.yPred, c.scores, c.names, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestCrossValidate(t *testing.T) {
	y := []int{0, 0, 1, 1, 0, 1}
	pred := []int{0, 1, 1, 1, 0, 0}
	folds := [][2][]int{{{2, 3, 4, 5}, {0, 1}}, {{0, 1, 4, 5}, {2, 3}}, {{0, 1, 2, 3}, {4, 5}}}
	var seen [][]int
	cv, err := CrossValidate(context.Background(), folds, func(trainIdx, testIdx []int) (Report, error) {
		seen = append(seen, testIdx)
		var yt, yp []int
		for _, i := range testIdx {
			yt, yp = append(yt, y[i]), append(yp, pred[i])
		}
		return Evaluate(yt, yp, nil, []string{"benign", "attack"}, Options{})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cv.Folds) != 3 || len(seen) != 3 || seen[2][0] != 4 {
		t.Fatalf("folds run: %v", seen)
	}
	stat := map[string]Stat{}
	for _, s := range cv.Summary {
		stat[s.Metric] = s
	}
	// Accuracies ½, 1, ½: mean ⅔, deviations −⅙, ⅓, −⅙, population std
	// √((1+4+1)/36/3) = √2/6.
	if a := stat["accuracy"]; !same(float64(a.Mean), 2.0/3) || !same(float64(a.Std), math.Sqrt2/6) || a.Folds != 3 {
		t.Fatalf("accuracy %+v", a)
	}
	// Fold 1 has only attacks (FPR undefined), so FPR averages two folds:
	// ½ and 0.
	if f := stat["attack/fpr"]; f.Folds != 2 || !same(float64(f.Mean), 0.25) {
		t.Fatalf("attack FPR %+v", f)
	}
	if _, ok := stat["f1/attack"]; !ok {
		t.Fatalf("no per-class F1 in %v", cv.Summary)
	}
	if _, err := json.Marshal(cv); err != nil {
		t.Fatal(err)
	}

	boom := errors.New("boom")
	_, err = CrossValidate(context.Background(), folds, func(_, _ []int) (Report, error) { return Report{}, boom })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "fold 0") {
		t.Fatalf("fold error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CrossValidate(ctx, folds, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := CrossValidate(context.Background(), nil, nil); err == nil {
		t.Fatal("accepted no folds")
	}
	if _, err := CrossValidate(context.Background(), [][2][]int{{{1}, nil}}, nil); err == nil {
		t.Fatal("accepted an empty test fold")
	}
}

func TestWriteText(t *testing.T) {
	scores := &ml.Matrix{Rows: 4, Cols: 3, Data: []float64{0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.3, 0.3, 0.4, 0.1, 0.2, 0.7}}
	r := mustEvaluate(t, []int{0, 1, 2, 0}, nil, scores, []string{"benign", "dos", "scan"}, Options{FlowsPerSecond: 100})
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Log("\n" + out)
	for _, want := range []string{"macro F1", "benign", "dos", "false-positive rate", "recall at FPR 0.001", "not resolved"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q", want)
		}
	}
}
