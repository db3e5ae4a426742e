package cli

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flowguard/flowguard/internal/events"
)

func newEventsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Unsupervised detection on HTTP/WAF events: fit a model on normal traffic, score events",
	}
	cmd.AddCommand(newEventsFitCmd(e), newEventsScoreCmd(e))
	return cmd
}

func newEventsFitCmd(e *env) *cobra.Command {
	var (
		data                  []string
		format, algo, scorer  string
		out                   string
		labels                string
		fpr, eps, goodShare   float64
		k, minSamples, minCl  int
		components, ngramMax  int
		ngramBits, maxCluster int
		seed                  uint64
	)
	cmd := &cobra.Command{
		Use:   "fit --data PATH... [--format auto|mlpt|csic|access|modsec|csv] [--algo params|knn|iforest|dbscan|hdbscan] -o MODEL",
		Short: "Fit an events model on (normal) traffic",
		Long: `Featurizes the events of every --data file (format auto-detected unless
--format), fits the anomaly scorer on all but an evenly spaced 20% of them,
and sets the alert threshold at --fpr on that held-out 20%, which the
scorer never saw. params (the default) scores by the character bigrams
of each parameter's value that the fit events never showed for that
parameter, plus the residual off the featurizer's SVD subspace; knn by
the mean distance to the k nearest fit events; iforest by an isolation
forest. dbscan and hdbscan score with --scorer and also cluster
the events (eps from the knee of the k-distance curve unless --eps) and
name each cluster GOOD when it holds at least --good-share of the events,
ATTACK otherwise, or as --labels FILE (CSV cluster,name) says; the
model's k-NN labeler then gives online events their cluster
(POST /predict of flowguard serve --events-model).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(data) == 0 || out == "" {
				return errors.New("--data and -o are required")
			}
			evs, err := readEvents(e, data, format)
			if err != nil {
				return err
			}
			o := events.ModelOptions{
				Featurizer: events.Featurizer{Components: components, NgramMax: ngramMax, NgramBits: ngramBits, Seed: seed},
				Algo:       algo, Scorer: scorer, FPR: fpr, K: k, Eps: eps, MinSamples: minSamples, MinClusterSize: minCl,
				MaxClusterRows: maxCluster, GoodShare: goodShare, Seed: seed,
				Progress: func(f string, a ...any) { fmt.Fprintf(e.stderr, "events fit: "+f+"\n", a...) },
			}
			if labels != "" {
				if o.Names, err = readClusterNames(labels); err != nil {
					return err
				}
			}
			m, err := events.Fit(evs, o)
			if err != nil {
				return err
			}
			if err := events.SaveModel(m, out); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s model (%s scorer) of %d events (%d dimensions) written to %s\n", m.Algo, m.Scorer, len(evs), m.Features.Dim(), out)
			fmt.Fprintf(e.stdout, "threshold %.6g: flags %.2g of held-out normal events\n", m.Threshold, m.FPR)
			if m.Clustering() {
				printClusters(e.stdout, m)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&data, "data", nil, "event file(s), gzip allowed; repeat or comma-separate")
	f.StringVar(&format, "format", "auto", "auto|mlpt|csic|access|modsec|csv|httpparams|lines")
	f.StringVar(&algo, "algo", events.AlgoParams, "params|knn|iforest|dbscan|hdbscan")
	f.StringVar(&scorer, "scorer", events.AlgoParams, "anomaly scorer of dbscan/hdbscan: params|knn|iforest")
	f.StringVarP(&out, "output", "o", "", "model file to write")
	f.Float64Var(&fpr, "fpr", 0.01, "target false-positive rate of the threshold")
	f.IntVar(&k, "k", 5, "neighbours of the k-NN distance and of the cluster labeler")
	f.Float64Var(&eps, "eps", 0, "DBSCAN radius (0: knee of the k-distance curve)")
	f.IntVar(&minSamples, "min-samples", 0, "DBSCAN/HDBSCAN min_samples (0: 2 × dimensions)")
	f.IntVar(&minCl, "min-cluster-size", 50, "HDBSCAN: smallest cluster")
	f.IntVar(&maxCluster, "max-cluster-rows", 20000, "events clustered (evenly spaced sample beyond)")
	f.Float64Var(&goodShare, "good-share", 0.01, "clusters holding at least this share of the events are GOOD")
	f.StringVar(&labels, "labels", "", "analyst's CSV cluster,name naming clusters (overrides --good-share)")
	f.IntVar(&components, "components", 0, "SVD components (0: featurizer default 32)")
	f.IntVar(&ngramMax, "ngram-max", 0, "longest character n-gram (0: default 3)")
	f.IntVar(&ngramBits, "ngram-bits", 0, "2^bits n-gram hash buckets (0: default 12)")
	f.Uint64Var(&seed, "seed", 1, "random seed")
	return cmd
}

// printClusters lists the clusters, largest first, with their names and
// an example request each.
func printClusters(w io.Writer, m *events.Model) {
	noise := 0
	for _, l := range m.LabelY {
		if l < 0 {
			noise++
		}
	}
	fmt.Fprintf(w, "%d clusters, %d noise events of %d clustered", len(m.Clusters), noise, len(m.LabelY))
	if m.Algo == events.AlgoDBSCAN {
		fmt.Fprintf(w, " (eps %.6g)", m.Eps)
	}
	fmt.Fprintln(w)
	cs := append([]events.Cluster(nil), m.Clusters...)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Size > cs[j].Size })
	for _, c := range cs[:min(len(cs), 30)] {
		ex := ""
		if len(c.Examples) > 0 {
			ex = c.Examples[0]
			if len(ex) > 100 {
				ex = ex[:100] + "…"
			}
		}
		fmt.Fprintf(w, "  cluster %4d %-7s %6d events  e.g. %s\n", c.ID, c.Name, c.Size, ex)
	}
}

// readClusterNames reads an analyst's CSV of cluster,name rows; a header
// row (non-numeric first field) is skipped.
func readClusterNames(path string) (map[int]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cluster names: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	names := map[int]string{}
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cluster names %s: %w", path, err)
		}
		id, err := strconv.Atoi(strings.TrimSpace(rec[0]))
		if err != nil {
			if line == 1 {
				continue
			}
			return nil, fmt.Errorf("cluster names %s line %d: cluster %q is not a number", path, line, rec[0])
		}
		names[id] = strings.TrimSpace(rec[1])
	}
}

// readEvents reads every file, reporting parse errors on stderr.
func readEvents(e *env, paths []string, format string) ([]*events.Event, error) {
	f, err := events.ParseFormat(format)
	if err != nil {
		return nil, err
	}
	var all []*events.Event
	for _, p := range paths {
		fh, err := events.Open(p, f, nil)
		if err != nil {
			return nil, err
		}
		evs, bad, firstBad, err := events.ReadAll(fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		fmt.Fprintf(e.stderr, "events: %s: %d events (%s)", p, len(evs), fh.Format)
		if bad > 0 {
			fmt.Fprintf(e.stderr, ", %d malformed skipped, first: %v", bad, firstBad)
		}
		fmt.Fprintln(e.stderr)
		all = append(all, evs...)
	}
	return all, nil
}

func newEventsScoreCmd(e *env) *cobra.Command {
	var (
		data          []string
		format, model string
	)
	cmd := &cobra.Command{
		Use:   "score --model MODEL --data PATH...",
		Short: "Score events: one JSON line per event, in input order",
		Long: `Prints one JSON object per event of the --data files, in input order:
file, line, event_id (when the format has one), score (higher = more
anomalous), label (anomaly/normal against the model's threshold, or the
cluster's name GOOD/ATTACK/noise for a clustering model), cluster (-1 for
noise or a model that does not cluster) and the true label when the input
carries one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(data) == 0 || model == "" {
				return errors.New("--model and --data are required")
			}
			m, err := events.LoadModel(model)
			if err != nil {
				return err
			}
			w := bufio.NewWriterSize(e.stdout, 64<<10)
			enc := json.NewEncoder(w)
			type line struct {
				File    string  `json:"file"`
				Line    int     `json:"line,omitempty"`
				EventID string  `json:"event_id,omitempty"`
				Score   float64 `json:"score"`
				Label   string  `json:"label"`
				Cluster int     `json:"cluster"`
				Truth   string  `json:"true_label,omitempty"`
			}
			// File by file keeps memory to one file's events.
			for _, p := range data {
				evs, err := readEvents(e, []string{p}, format)
				if err != nil {
					return err
				}
				for i, r := range m.ScoreAll(evs) {
					ev := evs[i]
					if err := enc.Encode(line{p, ev.Source.Line, ev.EventID, r.Score, r.Label, r.Cluster, ev.Label}); err != nil {
						return fmt.Errorf("writing scores: %w", err)
					}
				}
			}
			return w.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "events model written by events fit")
	f.StringSliceVar(&data, "data", nil, "event file(s), gzip allowed; repeat or comma-separate")
	f.StringVar(&format, "format", "auto", "auto|mlpt|csic|access|modsec|csv|httpparams|lines")
	return cmd
}
