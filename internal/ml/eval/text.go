package eval

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes the report for a terminal: headline metrics, the
// per-class table, the detector view and the notes. Curves are left to the
// JSON form.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	line := func(label string, value string) { fmt.Fprintf(&b, "%-20s %s\n", label, value) }
	line("rows", fmt.Sprint(r.Rows))
	line("accuracy", num(r.Accuracy))
	line("balanced accuracy", num(r.BalancedAccuracy))
	line("macro F1", num(r.MacroF1))
	line("weighted F1", num(r.WeightedF1))
	line("ROC-AUC", num(r.ROCAUC))
	line("PR-AUC", num(r.PRAUC))
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "class\tsupport\tpredicted\tprecision\trecall\tF1\tROC-AUC\tPR-AUC\t\n")
	for _, c := range r.PerClass {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", c.Name, c.Support, c.Predicted,
			num(c.Precision), num(c.Recall), num(c.F1), num(c.ROCAUC), num(c.PRAUC))
	}
	tw.Flush() // into a strings.Builder: cannot fail
	if a := r.Attack; a != nil {
		fmt.Fprintf(&b, "\nbenign vs attack (benign class %s: %d rows; attack: %d rows)\n",
			r.Classes[a.BenignClass], a.BenignRows, a.AttackRows)
		line("false-positive rate", num(a.FPR))
		line("attack recall", num(a.Recall))
		if a.FalseAlertsPerDay.Defined() {
			line("false alerts a day", fmt.Sprintf("%.4g at %g flows/s", float64(a.FalseAlertsPerDay), a.FlowsPerSecond))
		}
		line("ROC-AUC", num(a.ROCAUC))
		line("PR-AUC", num(a.PRAUC))
		for _, op := range a.RecallAtFPR {
			s := fmt.Sprintf("%s (threshold %.6g, %d of %d benign flagged", num(op.Recall),
				float64(op.Threshold), op.FalsePositives, op.Negatives)
			if op.FalseAlertsPerDay.Defined() {
				s += fmt.Sprintf(", %.4g false alerts a day", float64(op.FalseAlertsPerDay))
			}
			if !op.Resolved {
				s += "; not resolved: too few benign rows"
			}
			line(fmt.Sprintf("recall at FPR %g", float64(op.TargetFPR)), s+")")
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(&b, "\nnotes:\n  %s\n", strings.Join(r.Notes, "\n  "))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("eval: writing report: %w", err)
	}
	return nil
}

// num formats a metric with four decimals, or "-" when undefined.
func num(f Float) string {
	if !f.Defined() {
		return "-"
	}
	return fmt.Sprintf("%.4f", float64(f))
}
