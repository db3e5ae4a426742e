package model

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/flowguard/flowguard/internal/dataset"
	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/report"
)

// ReportData turns the outcome into what the HTML report and the JSON
// metrics file show. title names the run; protocol lines go first.
func (r *Result) ReportData(title string, protocol []report.KV) *report.Data {
	if r.Anomaly != nil {
		return r.anomalyReportData(title, protocol)
	}
	a := r.Artifact
	t := r.Test
	d := &report.Data{
		Title:      title,
		Generated:  time.Now().UTC(),
		Model:      fmt.Sprintf("%s (%s)", a.Algorithm, algorithms[a.Algorithm].describe),
		Protocol:   protocol,
		Notes:      t.Notes,
		Classes:    a.Schema.Classes,
		Benign:     a.Schema.Benign,
		Confusion:  t.ConfusionMatrix,
		MacroF1:    float64(t.MacroF1),
		WeightedF1: float64(t.WeightedF1),
		Accuracy:   float64(t.Accuracy),
		ROCAUC:     float64(t.ROCAUC),
		PRAUC:      float64(t.PRAUC),
		FlowRate:   0,
	}
	for _, c := range t.PerClass {
		d.PerClass = append(d.PerClass, report.ClassMetrics{Name: c.Name, Precision: float64(c.Precision),
			Recall: float64(c.Recall), F1: float64(c.F1), Support: c.Support})
	}
	if at := t.Attack; at != nil {
		roc := report.Curve{Name: "attack vs benign", AUC: float64(at.ROCAUC)}
		for _, p := range at.ROC {
			roc.Points = append(roc.Points, [2]float64{p.FPR, p.TPR})
		}
		pr := report.Curve{Name: "attack vs benign", AUC: float64(at.PRAUC)}
		for _, p := range at.PR {
			pr.Points = append(pr.Points, [2]float64{p.Recall, p.Precision})
		}
		d.ROC, d.PR = []report.Curve{roc}, []report.Curve{pr}
		for _, op := range at.RecallAtFPR {
			d.RecallAtFPR = append(d.RecallAtFPR, report.RecallAtFPR{FPR: float64(op.TargetFPR),
				Recall: float64(op.Recall), Resolvable: report.Resolvable(float64(op.TargetFPR), at.BenignRows)})
		}
		d.FlowRate = at.FlowsPerSecond
		d.AttackFPR = float64(at.FPR)
		if a.Threshold != nil {
			d.Threshold = &report.Threshold{Value: a.Threshold.Value, TargetFPR: a.Threshold.TargetFPR}
			d.AttackFPR = float64(r.Operating.FPR)
		}
		d.ExpectedFalseAlertsPerDay = report.FalseAlertsPerDay(d.AttackFPR, d.FlowRate)
	}
	if imp := r.Importance; len(imp) == len(a.Schema.Features) {
		for i, v := range imp {
			d.FeatureImportance = append(d.FeatureImportance, report.Importance{Name: a.Schema.Features[i], Value: v})
		}
		d.ImportanceMethod = importanceMethod(a.Algorithm)
	}
	if x, labels := r.sample(20000); x != nil {
		if pca, err := report.PCA2(x.Data, x.Rows, x.Cols, labels, 2000, 1); err == nil {
			pca.Source = "test rows"
			d.PCA = pca
		}
		if corr, err := report.Correlation(x.Data, x.Rows, x.Cols, a.Schema.Features, r.Importance, 30, 1); err == nil {
			corr.Source = "test rows"
			d.Correlation = corr
		}
	}
	for _, c := range r.Comparison {
		d.Comparison = append(d.Comparison, report.Comparison{Algorithm: c.Algorithm, Params: c.Params,
			MacroF1Mean: float64(c.MacroF1.Mean), MacroF1Std: float64(c.MacroF1.Std), WeightedF1Mean: float64(c.WeightedF1.Mean),
			PRAUCMean: float64(c.PRAUC.Mean), TrainSeconds: c.TrainSeconds, PredictRowsPerSec: c.PredictPerSec, Rank: c.Rank})
	}
	if len(d.Comparison) > 0 {
		d.ComparisonProtocol = "stratified k-fold cross-validation on the training split (test rows unseen)"
	}
	return d
}

// sample returns up to n test rows (features in artifact order) and their
// class indices, for the feature-space views.
func (r *Result) sample(n int) (*ml.Matrix, []int) {
	rows := r.TestRows
	if len(rows) == 0 || r.Table == nil {
		return nil, nil
	}
	if len(rows) > n {
		step := float64(len(rows)) / float64(n)
		picked := make([]int, n)
		for i := range picked {
			picked[i] = rows[int(float64(i)*step)]
		}
		rows = picked
	}
	return r.Table.X.Subset(rows), labelIndex(r.Table.Labels, rows, r.Artifact.Schema.Classes)
}

func importanceMethod(algo string) string {
	switch algo {
	case "gbdt", "rf", "et":
		return "total split gain, normalised"
	case "logreg":
		return "mean |coefficient| on standardised features"
	}
	return ""
}

// Protocol describes how a result was obtained, for the report's first
// table.
func (r *Result) Protocol(cfg Config) []report.KV {
	l := r.Load
	kv := []report.KV{
		{Key: "Data sources", Value: strings.Join(cfg.Data, ", ")},
		{Key: "Flow-meter profile", Value: r.Artifact.Schema.Profile},
		{Key: "Rows", Value: fmt.Sprintf("%d read, %d after cleaning", l.RowsRead, l.Rows)},
	}
	var drops []string
	for _, dr := range l.Dropped {
		drops = append(drops, fmt.Sprintf("%s: %d", dr.Reason, dr.Rows))
	}
	if len(drops) > 0 {
		kv = append(kv, report.KV{Key: "Rows removed (before splitting)", Value: strings.Join(drops, "; ")})
	}
	kv = append(kv,
		report.KV{Key: "Split", Value: r.Artifact.Training.Split + fmt.Sprintf(", seed %d", cfg.Params.Seed)},
		report.KV{Key: "Test rows", Value: fmt.Sprint(len(r.TestRows))},
		report.KV{Key: "Features", Value: fmt.Sprintf("%d (identifiers: %s)", len(r.Artifact.Schema.Features), identifierNote(cfg))},
		report.KV{Key: "Labels", Value: l.LabelMode},
	)
	if v := fitNote(cfg); v != "" {
		kv = append(kv, report.KV{Key: "Training rows", Value: v})
	}
	if th := r.Artifact.Threshold; th != nil {
		v := fmt.Sprintf("%.6g for FPR ≤ %g on validation rows (achieved %.3g, recall %.4f)", th.Value, th.TargetFPR, th.ValidFPR, th.ValidRecall)
		if !th.Resolved {
			v += "; too few benign validation rows to resolve the target"
		}
		kv = append(kv, report.KV{Key: "Alert threshold", Value: v})
	}
	if len(r.Unseen) > 0 {
		var us []string
		for c, n := range r.Unseen {
			us = append(us, fmt.Sprintf("%s (%d)", c, n))
		}
		sort.Strings(us)
		kv = append(kv, report.KV{Key: "Test classes unseen in training", Value: strings.Join(us, ", ")})
	}
	return kv
}

// fitNote says how the fitting rows were resampled and weighted, or ""
// when they were taken as they are.
func fitNote(cfg Config) string {
	var parts []string
	if cfg.Undersample > 0 {
		parts = append(parts, fmt.Sprintf("undersampled to a minority/majority ratio of %g", cfg.Undersample))
	}
	if cfg.Oversample > 0 {
		parts = append(parts, fmt.Sprintf("oversampled to a minority/majority ratio of %g", cfg.Oversample))
	}
	if cfg.ClassWeight == "balanced" {
		parts = append(parts, "classes weighted to equal totals")
	}
	switch cfg.DuplicateWeight {
	case dataset.DuplicatesLog:
		parts = append(parts, "each distinct row weighted 1 + ln n for the n flows it stands for")
	case dataset.DuplicatesCount:
		parts = append(parts, "each distinct row weighted by the n flows it stands for")
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ") + " (validation and test rows unweighted)"
}

func identifierNote(cfg Config) string {
	if cfg.Load.IncludeIdentifiers {
		return "ports and protocol included on request"
	}
	return "Flow ID, addresses, ports, protocol and timestamp excluded"
}
