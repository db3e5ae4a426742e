// Package eval computes what an honest evaluation of a flowguard classifier
// reports: from true labels, predicted labels and class probabilities it
// builds the confusion matrix, per-class and averaged precision/recall/F1,
// ROC-AUC and PR-AUC (one-vs-rest), and the numbers an intrusion detector
// is judged by: the false-positive rate of the "attack" decision, recall at
// a fixed low FPR, the threshold that achieves a target FPR on validation
// data, and the false alerts a day that FPR means at a stated flow rate. It
// also aggregates k-fold cross-validation. Definitions follow
// scikit-learn's where it has one (each function says where they differ).
// It knows nothing about models or files.
package eval

import (
	"fmt"
	"math"
	"strconv"

	"github.com/flowguard/flowguard/internal/ml"
)

// NoBenign is Options.Benign for label sets without a benign class.
const NoBenign = -1

// Options tunes Evaluate. The zero value is usable: class 0 is benign (the
// convention of every flowguard data set), recall is reported at FPR 1e-3
// and 1e-4, curves have at most 200 points, and no flow rate is stated.
type Options struct {
	// Benign is the index of the benign class, or NoBenign. Any other class
	// counts as "attack" for the detector metrics.
	Benign int
	// FlowsPerSecond, when > 0, turns false-positive rates into expected
	// false alerts a day.
	FlowsPerSecond float64
	// TargetFPRs are the false-positive rates to report recall at; nil
	// means 1e-3 and 1e-4.
	TargetFPRs []float64
	// CurvePoints bounds each ROC and PR curve; 0 means 200.
	CurvePoints int
}

// Report is the result of Evaluate, shaped for `--json`. Metrics that the
// data leaves undefined are NaN in Go and null in JSON, with the reason in
// Notes.
type Report struct {
	Rows    int      `json:"rows"`
	Classes []string `json:"classes"`
	// ConfusionMatrix[t][p] counts rows of true class t predicted as p.
	ConfusionMatrix [][]int `json:"confusion_matrix"`
	Accuracy        Float   `json:"accuracy"`
	// BalancedAccuracy is the mean recall over the classes present in the
	// true labels.
	BalancedAccuracy Float `json:"balanced_accuracy"`
	// Macro averages weigh every class present in the true or the
	// predicted labels equally (scikit-learn's default label set); classes
	// absent from both are left out rather than counted as zeros.
	MacroPrecision Float `json:"macro_precision"`
	MacroRecall    Float `json:"macro_recall"`
	MacroF1        Float `json:"macro_f1"`
	// WeightedF1 weighs each class's F1 by its support.
	WeightedF1 Float          `json:"weighted_f1"`
	PerClass   []ClassMetrics `json:"per_class"`
	// ROCAUC and PRAUC need class scores. With two classes they are class
	// 1's (scikit-learn's binary convention); with more, the macro average
	// of the one-vs-rest values of the classes where they are defined.
	// PRAUC is average precision.
	ROCAUC Float `json:"roc_auc"`
	PRAUC  Float `json:"pr_auc"`
	// Attack holds the benign-vs-attack detector view; nil when the
	// options name no benign class.
	Attack *Attack  `json:"attack,omitempty"`
	Notes  []string `json:"notes,omitempty"`
}

// ClassMetrics are one class's one-vs-rest numbers.
type ClassMetrics struct {
	Class     int    `json:"class"`
	Name      string `json:"name"`
	Support   int    `json:"support"`   // rows with this true label
	Predicted int    `json:"predicted"` // rows predicted as this class
	// Precision is 0 when the class is never predicted and Recall 0 when it
	// never occurs, as scikit-learn's zero_division default; all three are
	// null when the class is in neither the true nor the predicted labels.
	Precision Float `json:"precision"`
	Recall    Float `json:"recall"`
	F1        Float `json:"f1"`
	ROCAUC    Float `json:"roc_auc"` // one-vs-rest, on this class's score column
	PRAUC     Float `json:"pr_auc"`
}

// Attack is the detector view: benign against every other class together.
type Attack struct {
	BenignClass int `json:"benign_class"`
	BenignRows  int `json:"benign_rows"`
	AttackRows  int `json:"attack_rows"`
	// FPR is the share of benign rows predicted as any attack class, and
	// Recall the share of attack rows predicted as any attack class (the
	// wrong attack class still raises an alert).
	FPR    Float `json:"fpr"`
	Recall Float `json:"recall"`
	// FalseAlertsPerDay is FPR × flows/s × 86,400; null without a flow rate.
	FalseAlertsPerDay Float   `json:"false_alerts_per_day"`
	FlowsPerSecond    float64 `json:"flows_per_second,omitempty"`
	// The rest rank rows by the attack score 1 − P(benign) and need class
	// scores.
	ROCAUC      Float            `json:"roc_auc"`
	PRAUC       Float            `json:"pr_auc"`
	RecallAtFPR []OperatingPoint `json:"recall_at_fpr,omitempty"`
	ROC         []ROCPoint       `json:"roc_curve,omitempty"`
	PR          []PRPoint        `json:"pr_curve,omitempty"`
}

// Evaluate scores predictions against the truth. names gives the class
// names (their count is the number of classes). yPred may be nil when
// scores is given: each row is then predicted as its highest-scoring class
// (the lowest index on a tie). scores, when not nil, holds one row of class
// probabilities per row (any score where higher means more likely works for
// the AUCs; the attack score assumes probabilities).
func Evaluate(yTrue, yPred []int, scores *ml.Matrix, names []string, opts Options) (Report, error) {
	k := len(names)
	n := len(yTrue)
	switch {
	case k < 2:
		return Report{}, fmt.Errorf("eval: %d class names, need at least 2", k)
	case n == 0:
		return Report{}, fmt.Errorf("eval: no rows")
	case yPred == nil && scores == nil:
		return Report{}, fmt.Errorf("eval: neither predictions nor scores")
	case yPred != nil && len(yPred) != n:
		return Report{}, fmt.Errorf("eval: %d predictions for %d labels", len(yPred), n)
	case opts.Benign != NoBenign && (opts.Benign < 0 || opts.Benign >= k):
		return Report{}, fmt.Errorf("eval: benign class %d outside [0, %d)", opts.Benign, k)
	case opts.FlowsPerSecond < 0 || math.IsNaN(opts.FlowsPerSecond) || math.IsInf(opts.FlowsPerSecond, 0):
		return Report{}, fmt.Errorf("eval: flow rate %v", opts.FlowsPerSecond)
	}
	for i := range yTrue {
		if yTrue[i] < 0 || yTrue[i] >= k {
			return Report{}, fmt.Errorf("eval: row %d: true label %d outside [0, %d)", i, yTrue[i], k)
		}
		if yPred != nil && (yPred[i] < 0 || yPred[i] >= k) {
			return Report{}, fmt.Errorf("eval: row %d: predicted label %d outside [0, %d)", i, yPred[i], k)
		}
	}
	if scores != nil {
		if scores.Rows != n || scores.Cols != k || len(scores.Data) != n*k {
			return Report{}, fmt.Errorf("eval: scores are %d×%d for %d rows of %d classes", scores.Rows, scores.Cols, n, k)
		}
		for i, v := range scores.Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return Report{}, fmt.Errorf("eval: row %d class %d: score %v", i/k, i%k, v)
			}
		}
		if yPred == nil {
			yPred = make([]int, n)
			for i := range yPred {
				yPred[i] = argmax(scores.Row(i))
			}
		}
	}
	if opts.CurvePoints <= 0 {
		opts.CurvePoints = 200
	}
	if opts.TargetFPRs == nil {
		opts.TargetFPRs = []float64{1e-3, 1e-4}
	}
	for _, f := range opts.TargetFPRs {
		if !(f > 0 && f < 1) {
			return Report{}, fmt.Errorf("eval: target FPR %v outside (0, 1)", f)
		}
	}

	r := Report{Rows: n, Classes: names, ROCAUC: NaN(), PRAUC: NaN()}
	r.ConfusionMatrix = make([][]int, k)
	for c := range r.ConfusionMatrix {
		r.ConfusionMatrix[c] = make([]int, k)
	}
	for i, t := range yTrue {
		r.ConfusionMatrix[t][yPred[i]]++
	}
	r.classMetrics()
	if scores != nil {
		r.rankingMetrics(yTrue, scores, opts.CurvePoints)
	} else {
		r.note("no class scores: ROC-AUC, PR-AUC and the threshold metrics are not computed")
	}
	if opts.Benign != NoBenign {
		r.attack(yTrue, yPred, scores, opts)
	}
	return r, nil
}

func (r *Report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// classMetrics fills the per-class rows and their averages from the
// confusion matrix.
func (r *Report) classMetrics() {
	k := len(r.Classes)
	r.PerClass = make([]ClassMetrics, k)
	correct := 0
	var sumP, sumR, sumF, sumWF, sumBal float64
	averaged, present := 0, 0
	for c := range r.PerClass {
		m := ClassMetrics{Class: c, Name: r.Classes[c], ROCAUC: NaN(), PRAUC: NaN()}
		tp := r.ConfusionMatrix[c][c]
		correct += tp
		for o := 0; o < k; o++ {
			m.Support += r.ConfusionMatrix[c][o]
			m.Predicted += r.ConfusionMatrix[o][c]
		}
		if m.Support == 0 && m.Predicted == 0 {
			m.Precision, m.Recall, m.F1 = NaN(), NaN(), NaN()
			r.note("class %s is in neither the true nor the predicted labels: its metrics are undefined and left out of the averages", m.Name)
			r.PerClass[c] = m
			continue
		}
		if m.Predicted == 0 {
			r.note("class %s is never predicted: precision set to 0", m.Name)
		} else {
			m.Precision = Float(tp) / Float(m.Predicted)
		}
		if m.Support == 0 {
			r.note("class %s never occurs in the true labels: recall set to 0", m.Name)
		} else {
			m.Recall = Float(tp) / Float(m.Support)
			sumBal += float64(m.Recall)
			present++
		}
		// 2·tp/(2·tp+fp+fn) equals 2PR/(P+R) and is 0, not undefined, when
		// tp is 0 but the class occurs or is predicted.
		m.F1 = Float(2*tp) / Float(m.Support+m.Predicted)
		sumP += float64(m.Precision)
		sumR += float64(m.Recall)
		sumF += float64(m.F1)
		sumWF += float64(m.F1) * float64(m.Support)
		averaged++
		r.PerClass[c] = m
	}
	r.Accuracy = ratio(correct, r.Rows)
	r.BalancedAccuracy = Float(sumBal / float64(present))
	r.MacroPrecision = Float(sumP / float64(averaged))
	r.MacroRecall = Float(sumR / float64(averaged))
	r.MacroF1 = Float(sumF / float64(averaged))
	r.WeightedF1 = Float(sumWF / float64(r.Rows))
}

// rankingMetrics fills the one-vs-rest AUCs per class and their summary.
func (r *Report) rankingMetrics(yTrue []int, scores *ml.Matrix, curvePoints int) {
	k := len(r.Classes)
	col := make([]float64, r.Rows)
	var sumROC, sumPR float64
	nROC, nPR := 0, 0
	for c := 0; c < k; c++ {
		for i := range col {
			col[i] = scores.At(i, c)
		}
		rk := rank(col, func(i int) bool { return yTrue[i] == c })
		m := &r.PerClass[c]
		m.ROCAUC, m.PRAUC = rk.rocAUC(), rk.averagePrecision()
		if m.ROCAUC.Defined() {
			sumROC += float64(m.ROCAUC)
			nROC++
		}
		if m.PRAUC.Defined() {
			sumPR += float64(m.PRAUC)
			nPR++
		}
	}
	if k == 2 {
		r.ROCAUC, r.PRAUC = r.PerClass[1].ROCAUC, r.PerClass[1].PRAUC
		if !r.ROCAUC.Defined() {
			r.note("only one class in the true labels: ROC-AUC is undefined")
		}
		if !r.PRAUC.Defined() {
			r.note("class %s never occurs in the true labels: PR-AUC is undefined", r.Classes[1])
		}
		return
	}
	if nROC > 0 {
		r.ROCAUC = Float(sumROC / float64(nROC))
	}
	if nPR > 0 {
		r.PRAUC = Float(sumPR / float64(nPR))
	}
	if nROC < k {
		r.note("one-vs-rest ROC-AUC is defined for %d of %d classes (a class needs rows in and out of it); the macro average uses those", nROC, k)
	}
}

// attack fills the benign-vs-attack view.
func (r *Report) attack(yTrue, yPred []int, scores *ml.Matrix, opts Options) {
	b := opts.Benign
	a := &Attack{BenignClass: b, FlowsPerSecond: opts.FlowsPerSecond, ROCAUC: NaN(), PRAUC: NaN(), FalseAlertsPerDay: NaN()}
	r.Attack = a
	var fp, tp int
	for i, t := range yTrue {
		alert := yPred[i] != b
		if t == b {
			a.BenignRows++
			if alert {
				fp++
			}
		} else {
			a.AttackRows++
			if alert {
				tp++
			}
		}
	}
	a.FPR, a.Recall = ratio(fp, a.BenignRows), ratio(tp, a.AttackRows)
	if a.BenignRows == 0 {
		r.note("no benign rows: the false-positive rate is undefined")
	}
	if a.AttackRows == 0 {
		r.note("no attack rows: attack recall is undefined")
	}
	if opts.FlowsPerSecond > 0 && a.FPR.Defined() {
		a.FalseAlertsPerDay = Float(FalseAlertsPerDay(float64(a.FPR), opts.FlowsPerSecond))
	}
	if scores == nil {
		return
	}
	attack := AttackScores(scores, b)
	rk := rank(attack, func(i int) bool { return yTrue[i] != b })
	a.ROCAUC, a.PRAUC = rk.rocAUC(), rk.averagePrecision()
	a.ROC, a.PR = rk.rocCurve(opts.CurvePoints), rk.prCurve(opts.CurvePoints)
	if a.BenignRows == 0 {
		return
	}
	for _, f := range opts.TargetFPRs {
		op := rk.operatingPoint(f)
		if opts.FlowsPerSecond > 0 {
			op.FalseAlertsPerDay = Float(FalseAlertsPerDay(float64(op.FPR), opts.FlowsPerSecond))
		}
		a.RecallAtFPR = append(a.RecallAtFPR, op)
	}
}

// AttackScores returns each row's attack score, 1 − P(benign): the
// probability that the row is some attack, whichever. Thresholds chosen on
// it (CalibrateThreshold) apply to a detector computing the same.
func AttackScores(proba *ml.Matrix, benign int) []float64 {
	s := make([]float64, proba.Rows)
	for i := range s {
		s[i] = 1 - proba.At(i, benign)
	}
	return s
}

// argmax returns the index of the largest value, the first one on a tie.
func argmax(p []float64) int {
	best := 0
	for c, v := range p {
		if v > p[best] {
			best = c
		}
	}
	return best
}

// ClassNames returns "0", "1", … for label sets without names.
func ClassNames(k int) []string {
	names := make([]string, k)
	for c := range names {
		names[c] = strconv.Itoa(c)
	}
	return names
}
