// Package report turns the results of `flowguard train` and `flowguard eval`
// into what a security analyst reads: one self-contained HTML file (inline
// CSS, charts as inline SVG drawn here, no scripts, fonts or CDNs) and a JSON
// metrics file with the same content.
//
// The caller fills a Data with plain numbers and strings; the package only
// presents them, plus two view helpers that need the feature matrix (PCA2 for
// the 2-D projection and Correlation for the feature correlation heatmap).
// The report states the evaluation protocol first and spells out the limits
// of the numbers (tiny classes, FPR targets the test set cannot resolve), so
// that a headline metric is never read without its footing.
//
// Class and feature names come from data files and are treated as untrusted:
// every string is HTML-escaped, in tables and inside the SVG charts.
package report

import (
	"math"
	"time"
)

// Data is everything one report shows. The same struct, written by
// WriteJSON, is the machine-readable metrics file. Metrics that could not be
// computed are NaN: the HTML shows "n/a" and the JSON null.
type Data struct {
	Title     string    `json:"title"`
	Generated time.Time `json:"generated"`
	// Model names the algorithm (and key settings) whose detailed results
	// the report shows; the comparison table may list others.
	Model string `json:"model,omitempty"`
	// Protocol describes how the numbers were obtained, in display order:
	// data sources, rows, split kind and seed, cleaning and dedup counts,
	// excluded identifier columns, flow-meter profile, and so on.
	Protocol []KV `json:"protocol"`
	// Notes are caveats the caller knows of; they are listed with the limits
	// the report derives itself.
	Notes []string `json:"notes,omitempty"`
	// Anomaly marks the report of an anomaly detector: one score that says
	// "unusual", never which class, so each attack class is measured
	// against the benign rows and there is no confusion matrix, accuracy
	// or F1 average.
	Anomaly bool `json:"anomaly,omitempty"`

	// Classes are the class names; every per-class slice and the confusion
	// matrix use this order.
	Classes []string `json:"classes"`
	// Benign is the index in Classes of benign traffic, or -1 when there is
	// none (then FPR-based metrics are undefined and left out).
	Benign int `json:"benign"`
	// Confusion counts test rows: Confusion[true][predicted].
	Confusion [][]int        `json:"confusion"`
	PerClass  []ClassMetrics `json:"per_class"`

	MacroF1    float64 `json:"macro_f1"`
	WeightedF1 float64 `json:"weighted_f1"`
	Accuracy   float64 `json:"accuracy"`
	// ROCAUC and PRAUC are macro averages of the one-vs-rest curves.
	ROCAUC float64 `json:"roc_auc"`
	PRAUC  float64 `json:"pr_auc"`

	// ROC and PR hold one-vs-rest curves, usually one per class (matched to
	// a class by Name for its colour) and optionally aggregate curves such
	// as "attack vs benign", drawn in black.
	ROC []Curve `json:"roc,omitempty"`
	PR  []Curve `json:"pr,omitempty"`

	// AttackFPR is the fraction of benign test rows flagged as any attack,
	// at Threshold when one is set, otherwise at the arg-max prediction.
	AttackFPR float64 `json:"attack_fpr"`
	// RecallAtFPR is attack-vs-benign detection: the fraction of attack rows
	// flagged when the score threshold lets through the given FPR on benign
	// test rows.
	RecallAtFPR []RecallAtFPR `json:"recall_at_fpr,omitempty"`
	// FlowRate is the benign flow rate (flows per second) the alert volume
	// is stated for, and ExpectedFalseAlertsPerDay = AttackFPR × FlowRate ×
	// 86 400 (see FalseAlertsPerDay). Zero FlowRate leaves both out.
	FlowRate                  float64 `json:"flow_rate"`
	ExpectedFalseAlertsPerDay float64 `json:"expected_false_alerts_per_day"`
	// Threshold is the operating point when the model alerts on a score
	// threshold rather than on the arg-max class; nil when it does not.
	Threshold *Threshold `json:"threshold,omitempty"`

	// FeatureImportance need not be sorted; the chart shows the top 25.
	FeatureImportance []Importance `json:"feature_importance,omitempty"`
	// ImportanceMethod says what the values mean, e.g. "split gain" or
	// "permutation: drop in macro F1".
	ImportanceMethod string `json:"importance_method,omitempty"`
	// Correlation and PCA are views of the feature space (see Correlation
	// and PCA2); nil leaves their sections out.
	Correlation *CorrelationMatrix `json:"correlation,omitempty"`
	PCA         *PCA               `json:"pca,omitempty"`

	// Comparison has one row per algorithm when several ran; the table is
	// shown sorted by Rank. ComparisonProtocol says how its numbers were
	// obtained (e.g. "5-fold stratified CV on the training split").
	Comparison         []Comparison `json:"comparison,omitempty"`
	ComparisonProtocol string       `json:"comparison_protocol,omitempty"`
}

// KV is one line of the protocol description.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ClassMetrics are the one-vs-rest test metrics of one class.
type ClassMetrics struct {
	Name      string  `json:"name"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"` // test rows of this class
}

// Curve is a ROC curve (points are (FPR, TPR)) or a PR curve (points are
// (recall, precision)), in the order they are to be joined.
type Curve struct {
	Name   string       `json:"name"`
	Points [][2]float64 `json:"points"`
	AUC    float64      `json:"auc"`
}

// RecallAtFPR is the attack recall at one benign false-positive rate.
// Resolvable is false when the test set has too few benign rows to measure
// that rate (see Resolvable).
type RecallAtFPR struct {
	FPR        float64 `json:"fpr"`
	Recall     float64 `json:"recall"`
	Resolvable bool    `json:"resolvable"`
}

// Threshold is a score operating point: alert when P(attack) ≥ Value, which
// was chosen to reach TargetFPR on benign rows.
type Threshold struct {
	Value     float64 `json:"value"`
	TargetFPR float64 `json:"target_fpr"`
}

// Importance is one feature's importance value.
type Importance struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// CorrelationMatrix is a Pearson correlation matrix; Values[i][j] is the
// correlation of Names[i] and Names[j], NaN where a feature is constant.
type CorrelationMatrix struct {
	Names  []string    `json:"names"`
	Values [][]float64 `json:"values"`
	Rows   int         `json:"rows"` // rows the correlations were computed on
	// Source names the rows, e.g. "training split"; the caller sets it.
	Source string `json:"source,omitempty"`
}

// PCA is a 2-D projection of standardised features. Labels[i] is the class
// index (into Data.Classes) of Points[i]; ExplainedVariance are the
// fractions of total variance along the two axes.
type PCA struct {
	Points            [][2]float32 `json:"points"`
	Labels            []int        `json:"labels"`
	ExplainedVariance [2]float64   `json:"explained_variance"`
	Rows              int          `json:"rows"`     // rows the sample was drawn from
	FitRows           int          `json:"fit_rows"` // rows the axes were fitted on
	// Balanced is true when the sample gives each class an equal share, so
	// point counts do not show class proportions.
	Balanced bool `json:"balanced"`
	// Source names the rows, e.g. "training split"; the caller sets it.
	Source string `json:"source,omitempty"`
}

// Comparison is one algorithm's row in the comparison table.
type Comparison struct {
	Algorithm         string  `json:"algorithm"`
	Params            string  `json:"params"`
	MacroF1Mean       float64 `json:"macro_f1_mean"`
	MacroF1Std        float64 `json:"macro_f1_std"`
	WeightedF1Mean    float64 `json:"weighted_f1_mean"`
	PRAUCMean         float64 `json:"pr_auc_mean"`
	TrainSeconds      float64 `json:"train_seconds"`
	PredictRowsPerSec float64 `json:"predict_rows_per_sec"`
	Rank              int     `json:"rank"` // 1 is best
}

// MinFalsePositives is how many benign false positives a target FPR must
// allow on the test set before the report treats it as measurable: with
// fewer, the threshold, and so the recall, hinges on one or two rows.
const MinFalsePositives = 10

// Resolvable reports whether a test set with the given number of benign rows
// can measure a false-positive rate of fpr: it must allow at least
// MinFalsePositives false positives.
func Resolvable(fpr float64, benignRows int) bool {
	return fpr > 0 && float64(benignRows)*fpr >= MinFalsePositives
}

// FalseAlertsPerDay is the expected number of false alerts in a day of
// benign traffic at flowsPerSecond flows per second with false-positive rate
// fpr. It assumes the test FPR carries over to the monitored network.
func FalseAlertsPerDay(fpr, flowsPerSecond float64) float64 {
	return fpr * flowsPerSecond * 86400
}

// finite reports whether v is a usable number (not NaN or ±Inf).
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
