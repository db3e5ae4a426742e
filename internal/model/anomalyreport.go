package model

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/flowguard/flowguard/internal/ml/eval"
	"github.com/flowguard/flowguard/internal/report"
)

// anomalyReportData is ReportData for an anomaly detector: one row per
// attack class (that class against the benign rows) with recall at the
// calibrated threshold, ROC and PR curves per class and overall, and the
// benign false-alert rate. There is no confusion matrix: the detector
// says "unusual", never which attack.
func (r *Result) anomalyReportData(title string, protocol []report.KV) *report.Data {
	a, ar := r.Artifact, r.Anomaly
	benign := a.Schema.Classes[a.Schema.Benign]
	d := &report.Data{
		Title:      title,
		Anomaly:    true,
		Generated:  time.Now().UTC(),
		Model:      fmt.Sprintf("%s (isolation forest on benign flows, %d normal profiles)", a.Algorithm, len(a.Anomaly.Profiles)),
		Protocol:   protocol,
		Notes:      ar.Notes,
		Classes:    []string{benign},
		Benign:     0,
		ROCAUC:     float64(ar.ROCAUC),
		PRAUC:      float64(ar.PRAUC),
		MacroF1:    float64(eval.NaN()), // the detector predicts no classes
		WeightedF1: float64(eval.NaN()),
		Accuracy:   float64(eval.NaN()),
		FlowRate:   ar.FlowsPerSecond,
		AttackFPR:  float64(ar.FPR),
		Threshold:  &report.Threshold{Value: ar.Threshold, TargetFPR: ar.TargetFPR},
	}
	d.PerClass = append(d.PerClass, report.ClassMetrics{Name: benign, Recall: 1 - float64(ar.FPR), Support: ar.BenignRows,
		Precision: float64(eval.NaN()), F1: float64(eval.NaN())})
	for _, c := range ar.PerClass {
		d.Classes = append(d.Classes, c.Class)
		p, rc := float64(c.Precision), float64(c.Recall)
		f1 := 0.0
		if p+rc > 0 {
			f1 = 2 * p * rc / (p + rc)
		}
		d.PerClass = append(d.PerClass, report.ClassMetrics{Name: c.Class, Precision: p, Recall: rc, F1: f1, Support: c.Rows})
		d.ROC = append(d.ROC, rocCurve(c.Class+" vs benign", c.ROCAUC, c.ROC))
		d.PR = append(d.PR, prCurve(c.Class+" vs benign", c.PRAUC, c.PR))
	}
	d.ROC = append(d.ROC, rocCurve("attack vs benign", ar.ROCAUC, ar.ROC))
	d.PR = append(d.PR, prCurve("attack vs benign", ar.PRAUC, ar.PR))
	for _, op := range ar.RecallAtFPR {
		d.RecallAtFPR = append(d.RecallAtFPR, report.RecallAtFPR{FPR: float64(op.TargetFPR),
			Recall: float64(op.Recall), Resolvable: report.Resolvable(float64(op.TargetFPR), ar.BenignRows)})
	}
	d.ExpectedFalseAlertsPerDay = report.FalseAlertsPerDay(d.AttackFPR, d.FlowRate)
	return d
}

func rocCurve(name string, auc eval.Float, pts []eval.ROCPoint) report.Curve {
	c := report.Curve{Name: name, AUC: float64(auc)}
	for _, p := range pts {
		c.Points = append(c.Points, [2]float64{p.FPR, p.TPR})
	}
	return c
}

func prCurve(name string, auc eval.Float, pts []eval.PRPoint) report.Curve {
	c := report.Curve{Name: name, AUC: float64(auc)}
	for _, p := range pts {
		c.Points = append(c.Points, [2]float64{p.Recall, p.Precision})
	}
	return c
}

// WriteText prints the evaluation as a table: the benign false-alert
// rate, then ROC-AUC, PR-AUC and recall at the threshold per attack class
// and overall.
func (r *AnomalyReport) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "class\trows\tROC-AUC\tPR-AUC\trecall\t\n")
	for _, c := range r.PerClass {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t\n", c.Class, c.Rows, f4(c.ROCAUC), f4(c.PRAUC), f4(c.Recall))
	}
	fmt.Fprintf(tw, "all attacks\t%d\t%s\t%s\t%s\t\n", r.AttackRows, f4(r.ROCAUC), f4(r.PRAUC), f4(r.Recall))
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "benign rows %d: false-alert rate %s at threshold %.6g (calibrated for FPR %g), %s false alerts/day at %g flows/s\n",
		r.BenignRows, f4(r.FPR), r.Threshold, r.TargetFPR, f0(r.FalseAlertsPerDay), r.FlowsPerSecond)
	for _, n := range r.Notes {
		if err == nil {
			_, err = fmt.Fprintf(w, "note: %s\n", n)
		}
	}
	return err
}

func f4(v eval.Float) string {
	if !v.Defined() {
		return "n/a"
	}
	return fmt.Sprintf("%.4f", float64(v))
}

func f0(v eval.Float) string {
	if !v.Defined() {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", float64(v))
}
