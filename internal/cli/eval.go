package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flowguard/flowguard/internal/dataset"
	"github.com/flowguard/flowguard/internal/model"
)

func newEvalCmd(e *env) *cobra.Command {
	var (
		modelPath, reportPath, metricsPath string
		data                               []string
		asJSON                             bool
		flowRate                           float64
		keepDup                            bool
		threads                            int
	)
	cmd := &cobra.Command{
		Use:   "eval --model MODEL --data PATH...",
		Short: "Evaluate a trained model on labelled flow files",
		Long: `Scores labelled flow files with a model and reports per-class precision,
recall and F1, macro/weighted F1, ROC-AUC, PR-AUC, the confusion matrix, and
the attack detector's false-positive rate, recall at FPR 1e-3/1e-4 and the
model's calibrated threshold measured on this data. The data's labels are
mapped as they were in training. Exact duplicate rows are removed unless
--keep-duplicates.

For an anomaly model (train --algo iforest) it reports ROC-AUC, PR-AUC and
recall at the calibrated threshold overall and per attack class (each class
against the benign rows), and the benign false-alert rate.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if modelPath == "" || len(data) == 0 {
				return fmt.Errorf("--model and --data are required")
			}
			a, err := model.Load(modelPath)
			if err != nil {
				return err
			}
			res, err := model.Evaluate(cmd.Context(), a, data, dataset.LoadOptions{KeepDuplicates: keepDup}, flowRate, threads)
			if err != nil {
				return err
			}
			if reportPath != "" || metricsPath != "" {
				rd := res.ReportData("flowguard eval: "+modelPath+" on "+strings.Join(data, ", "), res.EvalProtocol(modelPath, data))
				if err := writeReport(reportPath, metricsPath, rd); err != nil {
					return err
				}
			}
			if res.Anomaly != nil {
				if asJSON {
					enc := json.NewEncoder(e.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(res.Anomaly)
				}
				fmt.Fprintf(e.stdout, "anomaly model %s (%s) on %d rows\n", modelPath, a.Algorithm, res.Anomaly.Rows)
				return res.Anomaly.WriteText(e.stdout)
			}
			if asJSON {
				out := struct {
					model.EvalReport
					Threshold any `json:"threshold,omitempty"`
				}{EvalReport: model.EvalReport{Report: res.Test}}
				if a.Threshold != nil {
					out.Threshold = res.Operating
				}
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			fmt.Fprintf(e.stdout, "model %s (%s) on %d rows\n", modelPath, a.Algorithm, len(res.TestRows))
			if err := res.Test.WriteText(e.stdout); err != nil {
				return err
			}
			if a.Threshold != nil {
				fmt.Fprintf(e.stdout, "at the model's threshold %.6g: FPR %.4g, recall %.4f, %.0f false alerts/day at %g flows/s\n",
					a.Threshold.Value, float64(res.Operating.FPR), float64(res.Operating.Recall), float64(res.Operating.FalseAlertsPerDay), flowRate)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelPath, "model", "", "model file")
	f.StringSliceVar(&data, "data", nil, "labelled flow files or directories")
	f.BoolVar(&asJSON, "json", false, "print one JSON object with the metrics")
	f.StringVar(&reportPath, "report", "", "also write an HTML report here")
	f.StringVar(&metricsPath, "metrics", "", "also write the report's JSON metrics here")
	f.Float64Var(&flowRate, "flow-rate", 1000, "benign flows per second, to state expected false alerts per day")
	f.BoolVar(&keepDup, "keep-duplicates", false, "keep exact duplicate rows")
	f.IntVar(&threads, "threads", 0, "threads (0: all cores)")
	return cmd
}
