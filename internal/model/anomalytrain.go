package model

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/flowguard/flowguard/internal/dataset"
	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/anomaly"
	"github.com/flowguard/flowguard/internal/ml/cluster"
	"github.com/flowguard/flowguard/internal/ml/eval"
)

// Defaults of anomaly training (Params.Trees, Params.K and
// Params.SampleSize override them).
//
// ψ is larger than the paper's 256: benign flows come in many shapes, and
// on the shared data (2026-11-21, 100 trees) ψ 2048 raised the overall
// ROC-AUC from 0.84 to 0.87 (CIC-IDS2017 sample and day heads) and from
// 0.70 to 0.77 (Kubernetes) at 8 µs a row; 200 trees added nothing.
const (
	defaultAnomalyTrees      = 100
	defaultAnomalySampleSize = 2048
	defaultProfiles          = 8
	maxProfileRows           = 50000 // k-means runs on at most this many evenly spaced rows
)

// trainAnomaly is Train for AlgoIForest. The split is the supervised
// one (same test rows, same validation rows for the same seed), but only
// benign rows are fitted: the column filter, the preprocessing, the
// scaling, the forest and the profiles see the benign fitting rows, the
// threshold the benign validation rows, and the attack rows of either are
// never used to fit anything. Every test row is scored, attack classes
// unseen in training included (an anomaly detector is meant for those).
func trainAnomaly(ctx context.Context, cfg Config, start time.Time) (*Result, error) {
	if !(cfg.TargetFPR > 0 && cfg.TargetFPR < 1) {
		return nil, fmt.Errorf("target FPR %v outside (0, 1)", cfg.TargetFPR)
	}
	t, lrep, split, err := loadSplit(&cfg)
	if err != nil {
		return nil, err
	}
	classes := dataset.Classes(t.Labels, split.Train)
	benign := benignIndex(classes)
	if benign < 0 {
		return nil, fmt.Errorf("an anomaly detector is trained on benign rows; the training rows have no benign class (classes %v)", classes)
	}
	benignName := classes[benign]
	fitRows, validRows, err := validSplit(t, &cfg, split.Train)
	if err != nil {
		return nil, err
	}
	onlyBenign := func(rows []int) []int {
		var out []int
		for _, r := range rows {
			if t.Labels[r] == benignName {
				out = append(out, r)
			}
		}
		return out
	}
	fitB, validB := onlyBenign(fitRows), onlyBenign(validRows)
	if len(fitB) < 2 || len(validB) < 1 {
		return nil, fmt.Errorf("%d benign fitting and %d benign validation rows: too few for an anomaly detector", len(fitB), len(validB))
	}
	known := map[string]bool{}
	for _, c := range classes {
		known[c] = true
	}
	unseen := map[string]int{}
	for _, r := range split.Test {
		if !known[t.Labels[r]] {
			unseen[t.Labels[r]]++
		}
	}
	cfg.Log("split %s: %d benign fitting rows (of %d), %d benign validation rows (of %d), %d test rows",
		cfg.Split, len(fitB), len(fitRows), len(validB), len(validRows), len(split.Test))

	ft, filter, err := filterColumns(t, cfg.Filter, fitB)
	if err != nil {
		return nil, err
	}
	if n := len(filter.Dropped); n > 0 {
		cfg.Log("dropped %d feature(s) constant or correlated on benign rows; %d left", n, len(ft.Features))
	}

	art := &Artifact{
		Created:    time.Now().UTC(),
		Algorithm:  AlgoIForest,
		Schema:     Schema{Features: ft.Features, Profile: t.Profile, Classes: classes, Benign: benign},
		Preprocess: preprocess(ft.X, fitB),
		Anomaly:    &Anomaly{Transform: TransformLog1p},
	}
	// Cleaned, transformed rows of every row: centre and scale come from
	// the benign fitting rows only.
	n := len(ft.Features)
	clean := ml.NewMatrix(ft.X.Rows, n)
	for i := range clean.Rows {
		row := clean.Row(i)
		copy(row, ft.X.Row(i))
		art.Clean(row)
		for j, v := range row {
			row[j] = log1p(v)
		}
	}
	art.Anomaly.Center, art.Anomaly.Scale = meanScale(clean, fitB)
	// log1p is already applied above: standardise only.
	z := clean
	for i := range z.Rows {
		row := z.Row(i)
		for j, v := range row {
			row[j] = (v - art.Anomaly.Center[j]) / art.Anomaly.Scale[j]
		}
	}

	trees := cmp.Or(cfg.Params.Trees, defaultAnomalyTrees)
	psi := cmp.Or(cfg.Params.SampleSize, defaultAnomalySampleSize)
	fitStart := time.Now()
	forest, err := anomaly.Fit(z.Subset(fitB), anomaly.Options{Trees: trees, SampleSize: psi,
		Seed: cfg.Params.Seed, Workers: cfg.Params.Threads, Context: ctx})
	if err != nil {
		return nil, err
	}
	cfg.Log("isolation forest: %d trees of %d rows in %s", trees, min(psi, len(fitB)), time.Since(fitStart).Round(time.Millisecond))

	// Profiles: k-means on (evenly spaced) benign fitting rows.
	k := cmp.Or(cfg.Params.K, defaultProfiles)
	profRows := fitB
	if len(profRows) > maxProfileRows {
		profRows = make([]int, maxProfileRows)
		for i := range profRows {
			profRows[i] = fitB[i*len(fitB)/maxProfileRows]
		}
	}
	km, err := cluster.KMeans(z.Subset(profRows), k, cluster.KMeansOptions{Seed: cfg.Params.Seed, Context: ctx})
	if err != nil {
		return nil, fmt.Errorf("normal profiles: %w", err)
	}
	art.Anomaly.Profiles = profiles(km, z.Subset(profRows))
	cfg.Log("normal profiles: %d k-means centroids of %d benign rows (%d iterations)", len(art.Anomaly.Profiles), len(profRows), km.Iter)

	// Threshold: the (1 − target) quantile of benign validation scores.
	vs, err := forest.ScoreMatrix(z.Subset(validB), cfg.Params.Threads)
	if err != nil {
		return nil, err
	}
	thr, err := anomaly.Threshold(vs, cfg.TargetFPR)
	if err != nil {
		return nil, fmt.Errorf("calibrate threshold: %w", err)
	}
	art.Threshold = &Threshold{Value: thr, TargetFPR: cfg.TargetFPR, ValidFPR: shareAbove(vs, thr),
		Resolved: float64(len(validB))*cfg.TargetFPR >= 1}
	if va := rowsNot(t.Labels, validRows, benignName); len(va) > 0 {
		as, err := forest.ScoreMatrix(z.Subset(va), cfg.Params.Threads)
		if err != nil {
			return nil, err
		}
		art.Threshold.ValidRecall = shareAbove(as, thr)
	}
	if !art.Threshold.Resolved {
		cfg.Log("threshold: only %d benign validation rows, too few to show FPR %g; the threshold is their highest score", len(validB), cfg.TargetFPR)
	}

	testRows := split.Test
	ts, err := forest.ScoreMatrix(z.Subset(testRows), cfg.Params.Threads)
	if err != nil {
		return nil, err
	}
	rep, err := evaluateAnomaly(ts, rowLabels(t.Labels, testRows), benignName, art.Threshold, cfg.FlowRate)
	if err != nil {
		return nil, err
	}
	for c, cnt := range unseen {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d test rows of class %q never seen in training are scored (an anomaly detector needs no examples of a class)", cnt, c))
	}
	sort.Strings(rep.Notes)

	if art.Model, err = json.Marshal(forest); err != nil {
		return nil, err
	}
	if art.Metrics, err = json.Marshal(rep); err != nil {
		return nil, err
	}
	art.Training = Training{
		DataFingerprint: fingerprint(t, split.Train),
		Sources:         cfg.Data,
		Rows:            len(fitB),
		Params: map[string]any{"algorithm": AlgoIForest, "trees": trees, "sample_size": psi, "profiles": k,
			"transform": TransformLog1p, "target_fpr": cfg.TargetFPR, "seed": cfg.Params.Seed, "fitted_on": "benign rows only"},
		Split:    fmt.Sprintf("%s test %.2f, validation %.2f of the rest; benign rows fitted", cfg.Split, cfg.TestSize, cfg.ValidSize),
		Seed:     int64(cfg.Params.Seed),
		Labels:   labelSpec(cfg.Load),
		Cleaning: lrep,
		Duration: time.Since(start).Round(time.Millisecond).String(),
	}
	if err := art.validate(); err != nil {
		return nil, fmt.Errorf("trained anomaly model invalid: %w", err)
	}
	ft.X = cleanMatrix(art, ft.X)
	return &Result{Artifact: art, Anomaly: rep, Load: lrep, Table: &ft, TestRows: testRows, Unseen: unseen}, nil
}

// meanScale returns per-column mean and standard deviation over rows; a
// column without spread gets scale 1.
func meanScale(x *ml.Matrix, rows []int) (mean, scale []float64) {
	mean, scale = make([]float64, x.Cols), make([]float64, x.Cols)
	for _, r := range rows {
		for j, v := range x.Row(r) {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(len(rows))
	}
	for _, r := range rows {
		for j, v := range x.Row(r) {
			d := v - mean[j]
			scale[j] += d * d
		}
	}
	for j := range scale {
		scale[j] = math.Sqrt(scale[j] / float64(len(rows)))
		if !(scale[j] > 1e-9) {
			scale[j] = 1
		}
	}
	return mean, scale
}

// profiles turns a k-means result into normal profiles with radii.
func profiles(km *cluster.KMeansResult, x *ml.Matrix) []Profile {
	dist := make([][]float64, km.Centroids.Rows)
	for i, c := range km.Labels {
		dist[c] = append(dist[c], math.Sqrt(dist2(x.Row(i), km.Centroids.Row(c))))
	}
	out := make([]Profile, km.Centroids.Rows)
	for c := range out {
		out[c] = Profile{Centroid: slices.Clone(km.Centroids.Row(c)), Size: km.Sizes[c]}
		if d := dist[c]; len(d) > 0 {
			slices.Sort(d)
			out[c].Radius = d[min(len(d)-1, int(math.Ceil(0.95*float64(len(d))))-1)]
		}
	}
	return out
}

func dist2(a, b []float64) float64 {
	s := 0.0
	for j, v := range a {
		d := v - b[j]
		s += d * d
	}
	return s
}

func shareAbove(s []float64, thr float64) float64 {
	n := 0
	for _, v := range s {
		if v > thr {
			n++
		}
	}
	return float64(n) / float64(max(len(s), 1))
}

func rowsNot(labels []string, rows []int, class string) []int {
	var out []int
	for _, r := range rows {
		if labels[r] != class {
			out = append(out, r)
		}
	}
	return out
}

func rowLabels(labels []string, rows []int) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = labels[r]
	}
	return out
}

// cleanMatrix returns x with every row cleaned by the artifact's
// preprocessing, for the report's feature-space views.
func cleanMatrix(a *Artifact, x *ml.Matrix) *ml.Matrix {
	c := ml.NewMatrix(x.Rows, x.Cols)
	copy(c.Data, x.Data)
	for i := range c.Rows {
		a.Clean(c.Row(i))
	}
	return c
}

// AnomalyReport is the evaluation of an anomaly detector on labelled rows:
// overall (every attack row against the benign rows) and per attack class
// (that class's rows against the same benign rows), by the ranking of the
// anomaly score (ROC-AUC, PR-AUC as average precision) and at the
// calibrated threshold (recall; the benign false-alert rate).
type AnomalyReport struct {
	Rows       int `json:"rows"`
	BenignRows int `json:"benign_rows"`
	AttackRows int `json:"attack_rows"`
	// Threshold flags score > Threshold; TargetFPR is what it was
	// calibrated for on benign validation rows.
	Threshold float64 `json:"threshold"`
	TargetFPR float64 `json:"target_fpr"`
	// FPR is the share of benign rows over the threshold (false alerts),
	// FalseAlertsPerDay that at FlowsPerSecond benign flows a second.
	FPR               eval.Float `json:"benign_false_alert_rate"`
	FalseAlertsPerDay eval.Float `json:"false_alerts_per_day"`
	FlowsPerSecond    float64    `json:"flows_per_second"`
	// Recall is the share of attack rows over the threshold.
	Recall      eval.Float            `json:"recall"`
	ROCAUC      eval.Float            `json:"roc_auc"`
	PRAUC       eval.Float            `json:"pr_auc"`
	RecallAtFPR []eval.OperatingPoint `json:"recall_at_fpr,omitempty"`
	ROC         []eval.ROCPoint       `json:"roc_curve,omitempty"`
	PR          []eval.PRPoint        `json:"pr_curve,omitempty"`
	PerClass    []AnomalyClass        `json:"per_class"`
	Notes       []string              `json:"notes,omitempty"`
}

// AnomalyClass is one attack class against the benign rows.
type AnomalyClass struct {
	Class  string     `json:"class"`
	Rows   int        `json:"rows"`
	ROCAUC eval.Float `json:"roc_auc"`
	PRAUC  eval.Float `json:"pr_auc"` // depends on the class's share of the rows compared
	Recall eval.Float `json:"recall"` // at the calibrated threshold
	// Precision is the share of alerts on this class's rows among the
	// alerts on its rows and on the benign rows.
	Precision eval.Float      `json:"precision"`
	ROC       []eval.ROCPoint `json:"roc_curve,omitempty"`
	PR        []eval.PRPoint  `json:"pr_curve,omitempty"`
}

// evaluateAnomaly scores labelled rows: scores[i] belongs to a row of
// class labels[i]; benign names the benign class.
func evaluateAnomaly(scores []float64, labels []string, benign string, thr *Threshold, flowRate float64) (*AnomalyReport, error) {
	if flowRate == 0 {
		flowRate = 1000
	}
	r := &AnomalyReport{Rows: len(scores), Threshold: thr.Value, TargetFPR: thr.TargetFPR, FlowsPerSecond: flowRate,
		FPR: eval.NaN(), FalseAlertsPerDay: eval.NaN(), Recall: eval.NaN(), ROCAUC: eval.NaN(), PRAUC: eval.NaN()}
	var benignIdx []int
	byClass := map[string][]int{}
	for i, l := range labels {
		if l == benign {
			benignIdx = append(benignIdx, i)
		} else {
			byClass[l] = append(byClass[l], i)
		}
	}
	r.BenignRows, r.AttackRows = len(benignIdx), len(scores)-len(benignIdx)
	if r.BenignRows == 0 {
		return nil, fmt.Errorf("no %s rows: an anomaly detector's false alerts and AUCs need them", benign)
	}
	// detector runs eval's benign-vs-attack view on the benign rows and
	// the given attack rows: scores as a two-column "probability" matrix
	// [1 − s, s], the prediction the threshold decision.
	detector := func(attack []int) (*eval.Attack, error) {
		rows := append(slices.Clone(benignIdx), attack...)
		p := ml.NewMatrix(len(rows), 2)
		y, pred := make([]int, len(rows)), make([]int, len(rows))
		for k, i := range rows {
			p.Row(k)[0], p.Row(k)[1] = 1-scores[i], scores[i]
			if labels[i] != benign {
				y[k] = 1
			}
			if scores[i] > thr.Value {
				pred[k] = 1
			}
		}
		rep, err := eval.Evaluate(y, pred, p, []string{benign, "anomaly"}, eval.Options{Benign: 0, FlowsPerSecond: flowRate})
		if err != nil {
			return nil, err
		}
		return rep.Attack, nil
	}
	var all []int
	for _, rows := range byClass {
		all = append(all, rows...)
	}
	slices.Sort(all)
	at, err := detector(all)
	if err != nil {
		return nil, err
	}
	r.FPR, r.FalseAlertsPerDay, r.Recall = at.FPR, at.FalseAlertsPerDay, at.Recall
	r.ROCAUC, r.PRAUC, r.RecallAtFPR, r.ROC, r.PR = at.ROCAUC, at.PRAUC, at.RecallAtFPR, at.ROC, at.PR
	names := make([]string, 0, len(byClass))
	for c := range byClass {
		names = append(names, c)
	}
	sort.Strings(names)
	fp := 0
	for _, i := range benignIdx {
		if scores[i] > thr.Value {
			fp++
		}
	}
	for _, c := range names {
		ca, err := detector(byClass[c])
		if err != nil {
			return nil, err
		}
		ac := AnomalyClass{Class: c, Rows: len(byClass[c]), ROCAUC: ca.ROCAUC, PRAUC: ca.PRAUC, Recall: ca.Recall,
			ROC: ca.ROC, PR: ca.PR, Precision: eval.NaN()}
		tp := int(math.Round(float64(ca.Recall) * float64(ac.Rows)))
		if tp+fp > 0 {
			ac.Precision = eval.Float(float64(tp) / float64(tp+fp))
		}
		r.PerClass = append(r.PerClass, ac)
	}
	if r.AttackRows == 0 {
		r.Notes = append(r.Notes, "no attack rows: recall and AUCs are undefined")
	}
	return r, nil
}
