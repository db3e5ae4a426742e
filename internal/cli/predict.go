package cli

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/flowguard/flowguard/internal/dataset"
	"github.com/flowguard/flowguard/internal/model"
)

// prediction is one output row of `flowguard predict`.
type prediction struct {
	Row      int     `json:"row"`
	File     string  `json:"file"`
	FlowID   string  `json:"flow_id,omitempty"`
	SrcIP    string  `json:"src_ip,omitempty"`
	SrcPort  int32   `json:"src_port"`
	DstIP    string  `json:"dst_ip,omitempty"`
	DstPort  int32   `json:"dst_port"`
	Protocol int32   `json:"protocol"`
	Class    string  `json:"class"`
	Prob     float64 `json:"probability"`
	// Score is the attack score 1 − P(benign); Alert says whether it
	// reaches the model's calibrated threshold.
	Score float64 `json:"score"`
	Alert bool    `json:"alert"`
	Label string  `json:"label,omitempty"`
}

func newPredictCmd(e *env) *cobra.Command {
	var modelPath, format, output string
	var threads int
	cmd := &cobra.Command{
		Use:   "predict --model MODEL INPUT...",
		Short: "Score flow files (CSV, JSON lines, Parquet) with a model: one prediction per row",
		Long: `Scores every row of the input flow files (no row is dropped or deduplicated)
and writes, per row, the predicted class with its probability, the attack
score 1 − P(benign) and whether it reaches the model's calibrated alert
threshold. Non-finite feature values are replaced as the model's
preprocessing says. Output is JSON lines (default) or CSV.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, inputs []string) error {
			if modelPath == "" {
				return fmt.Errorf("--model is required")
			}
			if format != "jsonl" && format != "csv" {
				return fmt.Errorf("unknown format %q (want jsonl or csv)", format)
			}
			a, err := model.Load(modelPath)
			if err != nil {
				return err
			}
			preds, err := a.Predict(cmd.Context(), inputs, dataset.LoadOptions{KeepDuplicates: true, KeepIdentifiers: true,
				KeepEpochRows: true, NonFinite: dataset.NonFiniteMax}, threads)
			if err != nil {
				return err
			}
			out, closeOut, err := openOutput(e.stdout, output)
			if err != nil {
				return err
			}
			bw := bufio.NewWriterSize(out, 256<<10)
			if format == "jsonl" {
				enc := json.NewEncoder(bw)
				for _, p := range preds.Rows {
					if err := enc.Encode(toPrediction(preds, p)); err != nil {
						return err
					}
				}
			} else {
				cw := csv.NewWriter(bw)
				cw.Write([]string{"row", "file", "flow_id", "src_ip", "src_port", "dst_ip", "dst_port", "protocol", "class", "probability", "score", "alert", "label"})
				for _, p := range preds.Rows {
					q := toPrediction(preds, p)
					cw.Write([]string{strconv.Itoa(q.Row), q.File, q.FlowID, q.SrcIP, itoa32(q.SrcPort), q.DstIP, itoa32(q.DstPort),
						itoa32(q.Protocol), q.Class, ftoa(q.Prob), ftoa(q.Score), strconv.FormatBool(q.Alert), q.Label})
				}
				cw.Flush()
				if err := cw.Error(); err != nil {
					return err
				}
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			if err := closeOut(); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "flowguard predict: %d rows scored, %d alerts (threshold %s)\n", len(preds.Rows), preds.Alerts, thresholdText(a))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelPath, "model", "", "model file")
	f.StringVar(&format, "format", "jsonl", "output format: jsonl|csv")
	f.StringVarP(&output, "output", "o", "-", `output file ("-" for stdout)`)
	f.IntVar(&threads, "threads", 0, "threads (0: all cores)")
	return cmd
}

func toPrediction(p *model.Predictions, r model.PredictedRow) prediction {
	q := prediction{Row: r.Row, File: p.Table.Files[p.Table.File[r.Row]].Path, Class: p.Classes[r.Class], Prob: r.Prob,
		Score: r.Score, Alert: r.Alert, SrcPort: -1, DstPort: -1, Protocol: -1}
	if ids := p.Table.IDs; ids != nil {
		q.FlowID, q.SrcIP, q.DstIP = ids.FlowID[r.Row], ids.SrcIP[r.Row], ids.DstIP[r.Row]
		q.SrcPort, q.DstPort, q.Protocol = ids.SrcPort[r.Row], ids.DstPort[r.Row], ids.Protocol[r.Row]
	}
	if l := p.Table.Original[r.Row]; l != "" {
		q.Label = l
	}
	return q
}

func thresholdText(a *model.Artifact) string {
	if a.Threshold == nil {
		return "none: alerts are non-benign arg-max predictions"
	}
	return strconv.FormatFloat(a.Threshold.Value, 'g', 6, 64)
}

func itoa32(v int32) string { return strconv.Itoa(int(v)) }
func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
