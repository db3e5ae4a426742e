package eval

import (
	"context"
	"fmt"
	"math"
	"strconv"
)

// CV is the outcome of a k-fold cross-validation: each fold's report and,
// per metric, its mean and spread over the folds.
type CV struct {
	Folds   []Report `json:"folds"`
	Summary []Stat   `json:"summary"`
}

// Stat summarises one metric over the folds where it is defined (an AUC
// is not in a fold whose test rows hold one class).
type Stat struct {
	Metric string `json:"metric"`
	Mean   Float  `json:"mean"`
	// Std is the population standard deviation (numpy's default, what
	// scikit-learn's cross-validation examples print); null with no
	// defined value.
	Std   Float `json:"std"`
	Folds int   `json:"folds"` // folds in which the metric is defined
}

// CrossValidate runs fn on every fold in order (each fold is its training
// and test row indices, as the dataset package splits them) and summarises
// the reports. fn trains on trainIdx only and evaluates on testIdx; it may
// use all cores itself, so folds do not run concurrently. It stops at the
// first error or when ctx ends.
func CrossValidate(ctx context.Context, folds [][2][]int, fn func(trainIdx, testIdx []int) (Report, error)) (*CV, error) {
	if len(folds) == 0 {
		return nil, fmt.Errorf("eval: cross-validation without folds")
	}
	cv := &CV{Folds: make([]Report, 0, len(folds))}
	for f, fold := range folds {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("eval: cross-validation before fold %d: %w", f, err)
		}
		if len(fold[0]) == 0 || len(fold[1]) == 0 {
			return nil, fmt.Errorf("eval: fold %d has %d training and %d test rows", f, len(fold[0]), len(fold[1]))
		}
		r, err := fn(fold[0], fold[1])
		if err != nil {
			return nil, fmt.Errorf("eval: fold %d: %w", f, err)
		}
		cv.Folds = append(cv.Folds, r)
	}
	cv.Summary = Summarize(cv.Folds)
	return cv, nil
}

// Summarize returns mean and standard deviation across reports of every
// headline metric, the detector metrics, and each class's precision, recall
// and F1 (named "f1/<class>" etc.; classes are matched by name).
func Summarize(reports []Report) []Stat {
	var order []string
	values := map[string][]float64{}
	add := func(name string, v Float) {
		if _, seen := values[name]; !seen {
			order = append(order, name)
			values[name] = nil
		}
		if v.Defined() {
			values[name] = append(values[name], float64(v))
		}
	}
	for _, r := range reports {
		add("accuracy", r.Accuracy)
		add("balanced_accuracy", r.BalancedAccuracy)
		add("macro_precision", r.MacroPrecision)
		add("macro_recall", r.MacroRecall)
		add("macro_f1", r.MacroF1)
		add("weighted_f1", r.WeightedF1)
		add("roc_auc", r.ROCAUC)
		add("pr_auc", r.PRAUC)
		if a := r.Attack; a != nil {
			add("attack/fpr", a.FPR)
			add("attack/recall", a.Recall)
			add("attack/false_alerts_per_day", a.FalseAlertsPerDay)
			add("attack/roc_auc", a.ROCAUC)
			add("attack/pr_auc", a.PRAUC)
			for _, op := range a.RecallAtFPR {
				add("attack/recall_at_fpr_"+strconv.FormatFloat(float64(op.TargetFPR), 'g', -1, 64), op.Recall)
			}
		}
		for _, c := range r.PerClass {
			add("precision/"+c.Name, c.Precision)
			add("recall/"+c.Name, c.Recall)
			add("f1/"+c.Name, c.F1)
		}
	}
	stats := make([]Stat, len(order))
	for i, name := range order {
		stats[i] = summarize(name, values[name])
	}
	return stats
}

func summarize(name string, v []float64) Stat {
	s := Stat{Metric: name, Mean: NaN(), Std: NaN(), Folds: len(v)}
	if len(v) == 0 {
		return s
	}
	var sum float64
	for _, x := range v {
		sum += x
	}
	mean := sum / float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	s.Mean, s.Std = Float(mean), Float(math.Sqrt(ss/float64(len(v))))
	return s
}
