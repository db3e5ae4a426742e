package model

import (
	"context"
	"fmt"
	"strings"

	"github.com/flowguard/flowguard/internal/dataset"
	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/eval"
	"github.com/flowguard/flowguard/internal/report"
)

// LoadFor reads flow files for use with a trained model: its label mapping,
// its features (each one must be present; extra columns are ignored) in its
// order, non-finite values replaced as the model's preprocessing says.
// opts are the caller's cleaning choices; labels come from the artifact.
func (a *Artifact) LoadFor(paths []string, opts dataset.LoadOptions) (*dataset.Table, *dataset.Report, *ml.Matrix, error) {
	mode, file, _ := strings.Cut(a.Training.Labels, "file:")
	if a.Training.Labels != "" && mode != "" {
		opts.Labels = dataset.LabelMode(mode)
	} else if file != "" {
		opts.LabelFile = file
	}
	t, rep, err := dataset.Load(paths, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	if t.Profile != a.Schema.Profile && t.Profile != "" {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("data was metered with profile %s, the model was trained on %s features", t.Profile, a.Schema.Profile))
	}
	cols, err := a.Columns(t.Features)
	if err != nil {
		return nil, nil, nil, err
	}
	x := ml.NewMatrix(t.Rows(), len(cols))
	for i := range t.Rows() {
		src, dst := t.X.Row(i), x.Row(i)
		for j, c := range cols {
			dst[j] = src[c]
		}
		a.Clean(dst)
	}
	return t, rep, x, nil
}

// Evaluate scores every row of labelled data with the model and reports as
// Train does for its test rows. Rows of classes the model does not know are
// counted in the result and left out of the metrics.
func Evaluate(ctx context.Context, a *Artifact, paths []string, opts dataset.LoadOptions, flowRate float64, threads int) (*Result, error) {
	if a.IsAnomalyModel() {
		return EvaluateAnomaly(ctx, a, paths, opts, flowRate)
	}
	t, rep, x, err := a.LoadFor(paths, opts)
	if err != nil {
		return nil, err
	}
	classes := a.Schema.Classes
	known := make(map[string]bool, len(classes))
	for _, c := range classes {
		known[c] = true
	}
	unseen := map[string]int{}
	var rows []int
	for i, l := range t.Labels {
		if known[l] {
			rows = append(rows, i)
		} else {
			unseen[l]++
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no row has a class the model knows (model classes %v, data classes %v)", classes, keys(unseen))
	}
	p, err := predictRows(ctx, a.clf, x, rows, threads)
	if err != nil {
		return nil, err
	}
	y := labelIndex(t.Labels, rows, classes)
	benign := a.Schema.Benign
	if flowRate == 0 {
		flowRate = 1000
	}
	ev, err := eval.Evaluate(y, nil, p, classes, eval.Options{Benign: benign, FlowsPerSecond: flowRate})
	if err != nil {
		return nil, err
	}
	var op eval.OperatingPoint
	if a.Threshold != nil && benign >= 0 {
		if op, err = eval.AtThreshold(eval.AttackScores(p, benign), attackMask(y, benign), a.Threshold.Value); err != nil {
			return nil, err
		}
		op.TargetFPR = eval.Float(a.Threshold.TargetFPR)
		op.FalseAlertsPerDay = eval.Float(eval.FalseAlertsPerDay(float64(op.FPR), flowRate))
	}
	for c, n := range unseen {
		ev.Notes = append(ev.Notes, fmt.Sprintf("%d rows of class %q, unknown to the model, are left out of these metrics", n, c))
	}
	ft := *t
	ft.X, ft.Features = x, a.Schema.Features
	return &Result{Artifact: a, Test: ev, Operating: op, Load: rep, Table: &ft, TestRows: rows,
		Importance: importance(a.clf), Unseen: unseen}, nil
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// EvalReport is what `flowguard eval --json` prints: the evaluation report
// at the top level, so its keys (macro_f1, per_class, ...) are first-class.
type EvalReport struct {
	eval.Report
}

// EvalProtocol describes an evaluation of a saved model, for the report.
func (r *Result) EvalProtocol(modelPath string, data []string) []report.KV {
	a := r.Artifact
	kv := []report.KV{
		{Key: "Model", Value: fmt.Sprintf("%s (%s, trained %s on %s)", modelPath, a.Algorithm, a.Created.Format("2006-01-02"), strings.Join(a.Training.Sources, ", "))},
		{Key: "Data", Value: strings.Join(data, ", ")},
		{Key: "Rows", Value: fmt.Sprintf("%d read, %d after cleaning, %d scored", r.Load.RowsRead, r.Load.Rows, len(r.TestRows))},
		{Key: "Flow-meter profile", Value: fmt.Sprintf("data %s, model %s", r.Table.Profile, a.Schema.Profile)},
		{Key: "Labels", Value: a.Training.Labels},
	}
	return kv
}

// Predictions are a model's answers for every row of a table.
type Predictions struct {
	Table   *dataset.Table
	Classes []string
	Rows    []PredictedRow
	Alerts  int
}

// PredictedRow is one row's answer. Score is 1 − P(benign) (0 without a
// benign class); Alert is Score ≥ the calibrated threshold, or a non-benign
// arg-max class when the model has no threshold.
type PredictedRow struct {
	Row   int
	Class int
	Prob  float64
	Score float64
	Alert bool
}

// Predict scores every row of the flow files.
func (a *Artifact) Predict(ctx context.Context, paths []string, opts dataset.LoadOptions, threads int) (*Predictions, error) {
	if a.IsAnomalyModel() {
		return nil, fmt.Errorf("%s is an anomaly model: evaluate it with flowguard eval, or detect with --anomaly-model", a.Algorithm)
	}
	t, _, x, err := a.LoadFor(paths, opts)
	if err != nil {
		return nil, err
	}
	p, err := predictRows(ctx, a.clf, x, nil, threads)
	if err != nil {
		return nil, err
	}
	out := &Predictions{Table: t, Classes: a.Schema.Classes, Rows: make([]PredictedRow, p.Rows)}
	best := argmax(p)
	b := a.Schema.Benign
	for i := range out.Rows {
		r := PredictedRow{Row: i, Class: best[i], Prob: p.At(i, best[i])}
		if b >= 0 {
			r.Score = 1 - p.At(i, b)
			if a.Threshold != nil {
				r.Alert = r.Score >= a.Threshold.Value
			} else {
				r.Alert = best[i] != b
			}
		}
		if r.Alert {
			out.Alerts++
		}
		out.Rows[i] = r
	}
	return out, nil
}

// EvaluateAnomaly scores every row of labelled data with an anomaly model
// and reports ROC-AUC, PR-AUC and recall at the calibrated threshold,
// overall and per attack class, and the benign false-alert rate. Every
// class but the model's benign one counts as attack, known in training
// or not.
func EvaluateAnomaly(ctx context.Context, a *Artifact, paths []string, opts dataset.LoadOptions, flowRate float64) (*Result, error) {
	if !a.IsAnomalyModel() {
		return nil, fmt.Errorf("%s model is not an anomaly model", a.Algorithm)
	}
	t, rep, x, err := a.LoadFor(paths, opts)
	if err != nil {
		return nil, err
	}
	scores := make([]float64, x.Rows)
	z := make([]float64, x.Cols)
	for i := range scores {
		if i%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		scores[i] = a.ScoreAnomaly(x.Row(i), z).Score
	}
	ar, err := evaluateAnomaly(scores, t.Labels, a.Schema.Classes[a.Schema.Benign], a.Threshold, flowRate)
	if err != nil {
		return nil, err
	}
	rows := make([]int, x.Rows)
	for i := range rows {
		rows[i] = i
	}
	ft := *t
	ft.X, ft.Features = x, a.Schema.Features
	return &Result{Artifact: a, Anomaly: ar, Load: rep, Table: &ft, TestRows: rows}, nil
}
