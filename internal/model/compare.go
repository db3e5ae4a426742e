package model

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/flowguard/flowguard/internal/dataset"
	"github.com/flowguard/flowguard/internal/ml/eval"
)

// compare cross-validates every candidate (algorithms, or settings of a
// search) on the same folds of the training rows and ranks them by the
// objective's mean. The column filter was fitted without labels, so sharing
// it across folds leaks no label information; weights are computed per
// fold.
func compare(ctx context.Context, t *dataset.Table, cfg *Config, rows []int, classes []string, benign int) ([]Compared, error) {
	cands, err := candidates(cfg)
	if err != nil {
		return nil, err
	}
	folds, err := cvFolds(t, cfg, rows)
	if err != nil {
		return nil, fmt.Errorf("cross-validation folds: %w", err)
	}
	pairs := make([][2][]int, len(folds))
	for i, f := range folds {
		pairs[i] = [2][]int{f.Train, f.Test}
	}
	var out []Compared
	for _, cand := range cands {
		name := cand.algo
		a, _ := lookup(name)
		c := Compared{Algorithm: name, Params: paramString(name, cand.params), params: cand.params}
		var trainSec, predRows, predSec float64
		cv, err := eval.CrossValidate(ctx, pairs, func(trainIdx, testIdx []int) (eval.Report, error) {
			// Each fold holds out its own validation rows, as the final fit
			// does, so early stopping never sees the fold's test rows.
			fitIdx, validIdx, err := validSplit(t, cfg, trainIdx)
			if err != nil {
				return eval.Report{}, err
			}
			classW, rowW, err := fitWeights(t, cfg, fitIdx)
			if err != nil {
				return eval.Report{}, err
			}
			train, err := t.Dataset(fitIdx, classes, classW, rowW)
			if err != nil {
				return eval.Report{}, err
			}
			valid, err := t.Dataset(validIdx, classes, nil, nil)
			if err != nil {
				return eval.Report{}, err
			}
			t0 := time.Now()
			clf, err := a.trainer(cand.params, nil).Fit(ctx, train, valid)
			if err != nil {
				return eval.Report{}, err
			}
			trainSec += time.Since(t0).Seconds()
			t1 := time.Now()
			p, err := predictRows(ctx, clf, t.X, testIdx, cfg.Params.Threads)
			if err != nil {
				return eval.Report{}, err
			}
			predSec += time.Since(t1).Seconds()
			predRows += float64(len(testIdx))
			return eval.Evaluate(labelIndex(t.Labels, testIdx, classes), nil, p, classes, eval.Options{Benign: benign})
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			c.Err = err.Error()
			cfg.Log("%s: cross-validation failed: %v", name, err)
			out = append(out, c)
			continue
		}
		for _, s := range cv.Summary {
			switch s.Metric {
			case "macro_f1":
				c.MacroF1 = s
			case "weighted_f1":
				c.WeightedF1 = s
			case "pr_auc":
				c.PRAUC = s
			}
			if s.Metric == cfg.Objective {
				c.objective = float64(s.Mean)
			}
		}
		c.TrainSeconds = trainSec / float64(len(folds))
		if predSec > 0 {
			c.PredictPerSec = predRows / predSec
		}
		cfg.Log("%s %s: macro-F1 %.4f ± %.4f, PR-AUC %.4f over %d folds, %.1fs to train", name, c.Params,
			float64(c.MacroF1.Mean), float64(c.MacroF1.Std), float64(c.PRAUC.Mean), len(folds), c.TrainSeconds)
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Err == "") != (out[j].Err == "") {
			return out[i].Err == ""
		}
		return out[i].objective > out[j].objective
	})
	for i := range out {
		out[i].Rank = i + 1
	}
	if out[0].Err != "" {
		return nil, fmt.Errorf("every algorithm failed cross-validation: %s", out[0].Err)
	}
	return out, nil
}

// cvFolds are stratified folds, or group folds by input file or by day so
// that no file (capture) or day is on both sides of a fold.
func cvFolds(t *dataset.Table, cfg *Config, rows []int) ([]dataset.Split, error) {
	switch cfg.CVSplit {
	case "", "stratified":
		return dataset.StratifiedKFold(t.Labels, rows, cfg.CVFolds, cfg.Params.Seed+2)
	case "file":
		return dataset.GroupKFold(t.File, rows, cfg.CVFolds)
	case "day":
		return dataset.GroupKFold(t.Days(), rows, cfg.CVFolds)
	}
	return nil, fmt.Errorf("unknown cross-validation split %q (want stratified, file or day)", cfg.CVSplit)
}

func paramString(algo string, p Params) string {
	var parts []string
	add := func(k string, v any, set bool) {
		if set {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	switch algo {
	case "gbdt":
		add("trees", p.Trees, p.Trees > 0)
		add("depth", p.Depth, p.Depth > 0)
		add("eta", p.LearningRate, p.LearningRate > 0)
		add("l2", p.L2, p.L2 > 0)
	case "rf", "et":
		add("trees", p.Trees, p.Trees > 0)
		add("depth", p.Depth, p.Depth > 0)
	case "logreg":
		add("l2", p.L2, p.L2 > 0)
	case "knn":
		add("k", p.K, p.K > 0)
		add("metric", p.Metric, p.Metric != "")
		add("weights", p.Weights, p.Weights != "")
	}
	if len(parts) == 0 {
		return "defaults"
	}
	return strings.Join(parts, " ")
}
