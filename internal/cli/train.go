package cli

import (
	"cmp"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowguard/flowguard/internal/dataset"
	"github.com/flowguard/flowguard/internal/model"
	"github.com/flowguard/flowguard/internal/report"
)

type trainOpts struct {
	data        []string
	labels      string
	algos       string
	split       string
	testSize    float64
	testFiles   []string
	testDays    []string
	search      string
	trials      int
	space       string
	objective   string
	cvSplit     string
	validSize   float64
	params      model.Params
	classWeight string
	dupWeight   string
	under, over float64
	identifiers bool
	nearConst   float64
	corr        float64
	targetFPR   float64
	flowRate    float64
	cv          int
	output      string
	reportPath  string
	metricsPath string
	runsDir     string
	quiet       bool
}

func newTrainCmd(e *env) *cobra.Command {
	o := &trainOpts{labels: "multiclass", algos: "gbdt", split: "stratified", testSize: 0.2, validSize: 0.15,
		targetFPR: 1e-3, flowRate: 1000, cv: 3}
	cmd := &cobra.Command{
		Use:   "train --data PATH... -o MODEL",
		Short: "Train and honestly evaluate a flow classifier; write a model, an HTML report and JSON metrics",
		Long: `Trains a classifier on labelled flow files (any CICFlowMeter CSV dialect,
flowguard's own CSV/JSONL/Parquet output; files, directories, gzip).

The protocol is honest by default: exact duplicate rows are removed before
splitting, identifier columns (Flow ID, addresses, ports, protocol,
Timestamp) are never features unless --include-identifiers, test rows are
held out first and used once, early stopping and the alert threshold use a
separate validation split of the training rows, and the report gives
per-class recall, false-positive rates and expected false alerts per day.

With several --algo values (comma-separated) each is cross-validated on the
same folds of the training rows and the best by macro-F1 is trained and
saved.

--algo iforest trains an anomaly detector instead: an isolation forest on
the benign training rows only (same split as the classifiers; attack rows
are never fitted), its threshold set at --target-fpr on the benign
validation rows, and --k normal profiles (k-means centroids of the benign
rows, default 8) that its alerts name. It is evaluated per attack class
(ROC-AUC, PR-AUC, recall at the threshold) and runs beside a classifier
with flowguard detect --anomaly-model.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTrain(cmd, e, o) },
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.data, "data", nil, "labelled flow files or directories (repeat or comma-separate)")
	f.StringVar(&o.labels, "labels", o.labels, "label mapping: multiclass|binary|families|FILE (CSV of from,to)")
	f.StringVar(&o.algos, "algo", o.algos, "algorithm(s): "+strings.Join(model.Algorithms(), ",")+" (comma-separated to compare), or iforest alone: anomaly detector on benign rows")
	f.StringVar(&o.split, "split", o.split, "test split: stratified|file|day|temporal")
	f.Float64Var(&o.testSize, "test-size", o.testSize, "fraction of rows held out for the test (stratified, temporal)")
	f.StringSliceVar(&o.testFiles, "test-file", nil, "with --split file: the input file(s) held out (default: the last)")
	f.StringSliceVar(&o.testDays, "test-day", nil, "with --split day: the UTC date(s) held out, 2006-01-02 (default: the last)")
	f.StringVar(&o.search, "search", "", "hyperparameter search: grid|random (cross-validated on the training rows)")
	f.IntVar(&o.trials, "trials", 10, "random search: settings tried per algorithm")
	f.StringVar(&o.space, "space", "", `search space, e.g. "trees=100,200;depth=4,6,8;learning_rate=0.05,0.1" (default: per algorithm)`)
	f.StringVar(&o.objective, "objective", "macro_f1", "what comparison and search optimise: macro_f1|pr_auc")
	f.StringVar(&o.cvSplit, "cv-split", "stratified", "cross-validation folds: stratified|file|day (group k-fold)")
	f.Float64Var(&o.validSize, "valid-size", o.validSize, "fraction of training rows held out for early stopping and threshold calibration")
	f.Uint64Var(&o.params.Seed, "seed", 1, "random seed (splits, sampling, algorithms)")
	f.IntVar(&o.params.Trees, "trees", 0, "gbdt rounds / forest and isolation trees (0: algorithm default)")
	f.IntVar(&o.params.Depth, "depth", 0, "maximum tree depth (0: algorithm default)")
	f.IntVar(&o.params.Leaves, "leaves", 0, "maximum leaves per tree (0: depth-wise growth)")
	f.Float64Var(&o.params.LearningRate, "learning-rate", 0, "gbdt learning rate (0: default)")
	f.Float64Var(&o.params.L2, "l2", 0, "L2 regularisation (gbdt λ, logreg penalty; 0: default)")
	f.Float64Var(&o.params.Subsample, "subsample", 0, "gbdt row sampling per round (0: default)")
	f.Float64Var(&o.params.Colsample, "colsample", 0, "column sampling per tree (0: default)")
	f.IntVar(&o.params.EarlyStop, "early-stop", 0, "gbdt: stop after N rounds without validation improvement (0: default)")
	f.IntVar(&o.params.K, "k", 0, "knn: neighbours (0: 5); iforest: normal profiles (0: 8)")
	f.IntVar(&o.params.SampleSize, "sample-size", 0, "iforest: benign rows each isolation tree is grown on (0: 2048)")
	f.StringVar(&o.params.Metric, "metric", "", "knn: euclidean|cosine")
	f.StringVar(&o.params.Weights, "weights", "", "knn: uniform|distance")
	f.IntVar(&o.params.Threads, "threads", 0, "threads (0: all cores)")
	f.StringVar(&o.classWeight, "class-weight", "none", "class weighting: none|balanced")
	f.StringVar(&o.dupWeight, "duplicate-weight", "none", "weigh each distinct training row by the identical flows deduplication removed for it: none|log (1+ln n)|count (n); test and validation rows count once")
	f.Float64Var(&o.under, "undersample", 0, "undersample majority classes to this minority/majority ratio (0: off)")
	f.Float64Var(&o.over, "oversample", 0, "oversample minority classes to this minority/majority ratio (0: off)")
	f.BoolVar(&o.identifiers, "include-identifiers", false, "use ports and protocol as features (they identify testbed hosts in public datasets)")
	f.Float64Var(&o.nearConst, "near-constant", 0, "drop features whose most common value covers this share of training rows (0: constant only)")
	f.Float64Var(&o.corr, "correlation", 0, "drop features with |r| ≥ this with an earlier feature (0: default; >1: off)")
	f.Float64Var(&o.targetFPR, "target-fpr", o.targetFPR, "calibrate the alert threshold to this false-positive rate on validation rows")
	f.Float64Var(&o.flowRate, "flow-rate", o.flowRate, "benign flows per second, to state expected false alerts per day")
	f.IntVar(&o.cv, "cv", o.cv, "cross-validation folds when comparing algorithms")
	f.StringVarP(&o.output, "output", "o", "", "model file to write (required)")
	f.StringVar(&o.reportPath, "report", "", "HTML report (default: MODEL.html)")
	f.StringVar(&o.metricsPath, "metrics", "", "JSON metrics (default: MODEL.metrics.json)")
	f.StringVar(&o.runsDir, "runs-dir", "", "where runs are recorded (default: $FLOWGUARD_RUNS or ~/.local/share/flowguard/runs)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress lines on stderr")
	return cmd
}

func labelOptions(spec string, lo *dataset.LoadOptions) {
	switch spec {
	case "multiclass", "binary", "families":
		lo.Labels = dataset.LabelMode(spec)
	default:
		lo.LabelFile = spec
	}
}

func runTrain(cmd *cobra.Command, e *env, o *trainOpts) error {
	if len(o.data) == 0 {
		return fmt.Errorf("--data is required")
	}
	if o.output == "" {
		return fmt.Errorf("-o MODEL is required")
	}
	cfg := model.Config{
		Data: o.data, Split: o.split, TestSize: o.testSize, TestFiles: o.testFiles, ValidSize: o.validSize,
		Algorithms: strings.Split(o.algos, ","), Params: o.params, ClassWeight: o.classWeight,
		DuplicateWeight: dataset.DuplicateWeight(o.dupWeight),
		Undersample:     o.under, Oversample: o.over, TargetFPR: o.targetFPR, FlowRate: o.flowRate, CVFolds: o.cv,
		Filter: dataset.ColumnFilter{NearConstant: o.nearConst, Correlation: o.corr},
	}
	cfg.TestDays, cfg.Objective, cfg.CVSplit = o.testDays, o.objective, o.cvSplit
	cfg.Search = model.Search{Mode: o.search, Trials: o.trials}
	if o.space != "" {
		space, err := model.ParseSpace(o.space)
		if err != nil {
			return err
		}
		cfg.Search.Space = space
	}
	cfg.Load.IncludeIdentifiers = o.identifiers
	labelOptions(o.labels, &cfg.Load)
	start := time.Now()
	if !o.quiet {
		cfg.Log = func(format string, args ...any) {
			fmt.Fprintf(e.stderr, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
		}
	}
	res, err := model.Train(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	if err := res.Artifact.Save(o.output); err != nil {
		return err
	}
	rd := res.ReportData("flowguard train: "+strings.Join(o.data, ", "), res.Protocol(cfg))
	reportPath := cmp.Or(o.reportPath, o.output+".html")
	metricsPath := cmp.Or(o.metricsPath, o.output+".metrics.json")
	if err := writeReport(reportPath, metricsPath, rd); err != nil {
		return err
	}
	rec := model.Run{Model: o.output, Report: reportPath, MetricsFile: metricsPath}
	if err := model.RecordRun(runsDir(o.runsDir), res, cfg, &rec); err != nil {
		fmt.Fprintf(e.stderr, "flowguard: warning: run not recorded: %v\n", err)
	}
	fmt.Fprintf(e.stdout, "model %s (%s), run %s\n", o.output, res.Artifact.Algorithm, rec.ID)
	if res.Anomaly != nil {
		if err := res.Anomaly.WriteText(e.stdout); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "report %s, metrics %s\n", reportPath, metricsPath)
		return nil
	}
	if err := res.Test.WriteText(e.stdout); err != nil {
		return err
	}
	if th := res.Artifact.Threshold; th != nil {
		fmt.Fprintf(e.stdout, "alert threshold %.6g (target FPR %g on validation): test FPR %.4g, recall %.4f, %.0f false alerts/day at %g flows/s\n",
			th.Value, th.TargetFPR, float64(res.Operating.FPR), float64(res.Operating.Recall), float64(res.Operating.FalseAlertsPerDay), o.flowRate)
	}
	fmt.Fprintf(e.stdout, "report %s, metrics %s\n", reportPath, metricsPath)
	return nil
}

func writeReport(htmlPath, jsonPath string, d *report.Data) error {
	write := func(path string, fn func(*os.File) error) error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		return f.Close()
	}
	if htmlPath != "" {
		if err := write(htmlPath, func(f *os.File) error { return report.WriteHTML(f, d) }); err != nil {
			return err
		}
	}
	if jsonPath != "" {
		return write(jsonPath, func(f *os.File) error { return report.WriteJSON(f, d) })
	}
	return nil
}

func runsDir(flag string) string {
	if flag != "" {
		return flag
	}
	if d := os.Getenv("FLOWGUARD_RUNS"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return d + "/flowguard/runs"
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".flowguard-runs"
	}
	return home + "/.local/share/flowguard/runs"
}
