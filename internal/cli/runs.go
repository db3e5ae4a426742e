package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/flowguard/flowguard/internal/model"
)

func newRunsCmd(e *env) *cobra.Command {
	var dir string
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "runs [ID...]",
		Short: "List and compare recorded training runs (params, metrics, data fingerprint, artifact)",
		Long: `Lists the training runs recorded by 'flowguard train', newest first, with
their headline test metrics side by side. Name run IDs to compare just those;
--json prints the full records.`,
		RunE: func(cmd *cobra.Command, ids []string) error {
			runs, err := model.ListRuns(runsDir(dir))
			if err != nil && runs == nil {
				return err
			}
			if err != nil {
				fmt.Fprintf(e.stderr, "flowguard: warning: %v\n", err)
			}
			if len(ids) > 0 {
				want := map[string]bool{}
				for _, id := range ids {
					want[id] = true
				}
				var sel []model.Run
				for _, r := range runs {
					if want[r.ID] {
						sel = append(sel, r)
						delete(want, r.ID)
					}
				}
				for id := range want {
					return fmt.Errorf("no run %q in %s", id, runsDir(dir))
				}
				runs = sel
			} else if limit > 0 && len(runs) > limit {
				runs = runs[:limit]
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(runs)
			}
			if len(runs) == 0 {
				fmt.Fprintf(e.stdout, "no runs recorded in %s\n", runsDir(dir))
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "RUN\tALGO\tPROFILE\tTRAIN\tTEST\tMACRO-F1\tW-F1\tPR-AUC\tATTACK FPR\tRECALL\tWORST CLASS\tDATA\tMODEL\t")
			for _, r := range runs {
				m := r.Metrics
				fp := r.DataFingerprint
				if len(fp) > 19 {
					fp = fp[:19]
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%.4f\t%.4f\t%.4f\t%.2e\t%.4f\t%s %.3f\t%s\t%s\t\n", r.ID, r.Algorithm, r.Profile,
					r.TrainRows, r.TestRows, m.MacroF1, m.WeightedF1, m.PRAUC, m.AttackFPR, m.Recall, m.MinClass, m.MinRecall, fp, r.Model)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&dir, "runs-dir", "", "runs directory (default: $FLOWGUARD_RUNS or ~/.local/share/flowguard/runs)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the full run records as JSON")
	cmd.Flags().IntVar(&limit, "limit", 20, "show at most this many runs (0: all)")
	return cmd
}
