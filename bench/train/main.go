// Command train is flowguard's side of the training benchmark
// (bench/train/run.sh): it prepares identical train/test splits as CSV
// files, trains and times flowguard's GBDT and random forest on them
// through the gbdt and forest packages, and reports the comparison with
// the XGBoost and scikit-learn runs that ref.py records from the same
// files.
//
//	train prepare -shared ../shared -out DIR
//	train run -data DIR -dataset cic2017 -model gbdt -threads 2 -out FILE.json
//	train report -results DIR -out results.json
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flowguard/flowguard/internal/dataset"
	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/forest"
	"github.com/flowguard/flowguard/internal/ml/gbdt"
	"github.com/flowguard/flowguard/internal/ml/tree/treetest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: train prepare|run|report [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "prepare":
		err = prepare(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	case "report":
		err = report(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

// identifiers are the columns that name a flow rather than describe it.
var identifiers = []string{"Flow ID", "Src IP", "Src Port", "Dst IP", "Dst Port", "Timestamp",
	"", "timestamp", "dst_port"}

func prepare(args []string) error {
	fs := flag.NewFlagSet("prepare", flag.ExitOnError)
	shared := fs.String("shared", "../shared", "the shared data folder")
	out := fs.String("out", "/tmp/flowguard-train-bench/data", "where to write the splits")
	bigRows := fs.Int("big-rows", 1_000_000, "training rows of the scaled-up set")
	seed := fs.Uint64("seed", 1, "seed of the first split and of the jitter")
	splits := fs.Int("splits", 1, "stratified splits per real set: the first (seed) in OUT/SET, the others (seed+1, …) in OUT/splits/K/SET")
	fs.Parse(args)
	if *splits < 1 {
		return fmt.Errorf("-splits %d: need at least 1", *splits)
	}
	sets, err := loadSets(filepath.Join(*shared, "data", "flows"))
	if err != nil {
		return err
	}
	for _, s := range sets {
		fmt.Printf("%-11s %6d rows, %6d unique, %2d features, %2d classes\n",
			s.name, s.rows, s.d.X.Rows, s.d.X.Cols, s.d.Classes)
		for k := 1; k <= *splits; k++ {
			dir := filepath.Join(*out, s.name)
			if k > 1 {
				dir = filepath.Join(*out, "splits", strconv.Itoa(k), s.name)
			}
			tr, te := treetest.StratifiedSplit(s.d, 0.3, *seed+uint64(k-1))
			if err := writeSplit(dir, s.columns, tr, te); err != nil {
				return err
			}
			if k > 1 {
				continue
			}
			fmt.Printf("%-11s split 1: train %d, test %d\n", s.name, tr.X.Rows, te.X.Rows)
			if s.name != "cic2017" {
				continue
			}
			// The timing set: real rows repeated with ±1 % multiplicative
			// jitter, train and test scaled from their own split.
			copies := (*bigRows + tr.X.Rows - 1) / tr.X.Rows
			rng := rand.New(rand.NewPCG(*seed, 77))
			btr, bte := scale(tr, copies, rng), scale(te, copies/3, rng)
			fmt.Printf("%-11s %d training rows (%d copies), %d test rows\n", "big", btr.X.Rows, copies, bte.X.Rows)
			if err := writeSplit(filepath.Join(*out, "big"), s.columns, btr, bte); err != nil {
				return err
			}
		}
	}
	return nil
}

// set is one real data set, deduplicated, before splitting.
type set struct {
	name    string
	rows    int // before deduplication
	columns []string
	d       *ml.Dataset
}

// loadSets reads the real sets. NaN and ±Inf become −1 (see finite) and
// exact duplicate rows are dropped, so no row is on both sides of a split.
func loadSets(flows string) ([]set, error) {
	k8s := []string{filepath.Join(flows, "k8s-misuse", "benign", "background_traffic_20230319T1802.pcap_Flow.csv.gz")}
	mal, err := filepath.Glob(filepath.Join(flows, "k8s-misuse", "malicious", "*.csv*"))
	if err != nil || len(mal) == 0 {
		return nil, fmt.Errorf("no k8s-misuse malicious files under %s", flows)
	}
	k8s = append(k8s, mal...)
	var sets []set
	for _, s := range []struct {
		name  string
		paths []string
	}{
		{"cic2017", []string{filepath.Join(flows, "cic-ids2017", "lccde-sample", "CICIDS2017_sample.csv.gz")}},
		{"k8s", k8s},
		{"cse2018", []string{filepath.Join(flows, "cse-cic-ids2018", "cstub-ml-ids-validation.csv")}},
	} {
		c, err := treetest.ReadCSV(identifiers, s.paths...)
		if err != nil {
			return nil, err
		}
		finite(c.Data)
		sets = append(sets, set{s.name, c.Data.X.Rows, c.Columns, treetest.Dedup(c.Data)})
	}
	// The embedded model's data: every CIC-IDS2017 extract, read by
	// flowguard's loader (each dialect, duplicates and identifiers out)
	// with attack families as classes, as scripts/default-model.sh reads
	// it; only the split is the benchmark's.
	var paths []string
	for _, d := range []string{"lccde-sample", "machinelearningcve-heads", "rdube-machinelearningcve-heads",
		"trafficlabelling-attack-extracts", "trafficlabelling-heads"} {
		paths = append(paths, filepath.Join(flows, "cic-ids2017", d))
	}
	t, rep, err := dataset.Load(paths, dataset.LoadOptions{Labels: dataset.LabelsFamilies})
	if err != nil {
		return nil, err
	}
	all := make([]int, t.Rows())
	for i := range all {
		all[i] = i
	}
	d, err := t.Dataset(all, dataset.Classes(t.Labels, nil), nil, nil)
	if err != nil {
		return nil, err
	}
	finite(d)
	return append(sets, set{"cic2017-all", rep.RowsRead, t.Features, treetest.Dedup(d)}), nil
}

// finite replaces NaN and ±Inf by −1, the CIC convention for "not
// measured", because scikit-learn's forest rejects both and XGBoost
// rejects infinities.
func finite(d *ml.Dataset) {
	for i, v := range d.X.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			d.X.Data[i] = -1
		}
	}
}

func scale(d *ml.Dataset, copies int, rng *rand.Rand) *ml.Dataset {
	n := d.X.Rows * copies
	s := &ml.Dataset{X: ml.NewMatrix(n, d.X.Cols), Y: make([]int, n), Classes: d.Classes}
	for c := range copies {
		for i := range d.X.Rows {
			r := c*d.X.Rows + i
			s.Y[r] = d.Y[i]
			dst := s.X.Row(r)
			for j, v := range d.X.Row(i) {
				if c > 0 {
					v *= 1 + 0.02*(rng.Float64()-0.5)
				}
				dst[j] = v
			}
		}
	}
	return s
}

func writeSplit(dir string, cols []string, tr, te *ml.Dataset) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeCSV(filepath.Join(dir, "train.csv"), cols, tr); err != nil {
		return err
	}
	return writeCSV(filepath.Join(dir, "test.csv"), cols, te)
}

// writeCSV writes features with 9 significant digits (float32 precision
// and more, which is what XGBoost keeps) and the label as an integer.
func writeCSV(path string, cols []string, d *ml.Dataset) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, c := range cols {
		w.WriteString(strings.ReplaceAll(c, ",", ";"))
		w.WriteByte(',')
	}
	w.WriteString("label\n")
	var buf []byte
	for i := range d.X.Rows {
		buf = buf[:0]
		for _, v := range d.X.Row(i) {
			buf = strconv.AppendFloat(buf, v, 'g', 9, 64)
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(d.Y[i]), 10)
		buf = append(buf, '\n')
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readSplitCSV reads a file written by writeCSV.
func readSplitCSV(path string) (*ml.Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	head, err := r.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cols := strings.Count(head, ",")
	var vals []float64
	var y []int
	for {
		line, err := r.ReadSlice('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		fields := strings.Split(strings.TrimSpace(string(line)), ",")
		if len(fields) != cols+1 {
			return nil, fmt.Errorf("%s: %d fields, want %d", path, len(fields), cols+1)
		}
		for _, s := range fields[:cols] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			vals = append(vals, v)
		}
		c, err := strconv.Atoi(fields[cols])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		y = append(y, c)
	}
	return &ml.Dataset{X: &ml.Matrix{Rows: len(y), Cols: cols, Data: vals}, Y: y}, nil
}

// Result is one timed run, flowguard's or a reference's (ref.py writes
// the same fields).
type Result struct {
	Tool      string  `json:"tool"`
	Model     string  `json:"model"` // gbdt or rf
	Dataset   string  `json:"dataset"`
	Rep       int     `json:"rep"`
	Split     int     `json:"split,omitempty"` // 0 or 1: the first split, where timing runs
	Threads   int     `json:"threads"`
	Trees     int     `json:"trees"`
	TrainRows int     `json:"train_rows"`
	TestRows  int     `json:"test_rows"`
	TrainSec  float64 `json:"train_s"`
	TrainCPU  float64 `json:"train_cpu_s"` // user+system CPU of the process while training
	PredSec   float64 `json:"predict_s"`
	MacroF1   float64 `json:"macro_f1"`
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	data := fs.String("data", "/tmp/flowguard-train-bench/data", "prepared splits")
	dataset := fs.String("dataset", "cic2017", "split to use")
	model := fs.String("model", "gbdt", "gbdt or rf")
	threads := fs.Int("threads", 2, "goroutines")
	trees := fs.Int("trees", 200, "boosting rounds or forest trees")
	depth := fs.Int("depth", 6, "GBDT max depth")
	eta := fs.Float64("eta", 0.1, "GBDT learning rate")
	lambda := fs.Float64("lambda", 1, "GBDT L2")
	mcw := fs.Float64("min-child-weight", 1, "GBDT min child weight")
	rep := fs.Int("rep", 0, "repetition number, recorded")
	split := fs.Int("split", 1, "split number, recorded (prepare -splits)")
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("out", "", "result JSON file (default stdout)")
	maxBins := fs.Int("bins", 0, "value bins per feature (0: the package default)")
	predOut := fs.String("predictions", "", "write the predicted class of every test row here, one a line")
	predReps := fs.Int("predict-reps", 1, "time prediction this many times and record the median")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of training and prediction here")
	fs.Parse(args)
	tr, err := readSplitCSV(filepath.Join(*data, *dataset, "train.csv"))
	if err != nil {
		return err
	}
	te, err := readSplitCSV(filepath.Join(*data, *dataset, "test.csv"))
	if err != nil {
		return err
	}
	classes := slices.Max(tr.Y) + 1
	if mt := slices.Max(te.Y) + 1; mt > classes {
		classes = mt
	}
	tr.Classes, te.Classes = classes, classes
	res := Result{Tool: "flowguard", Model: *model, Dataset: *dataset, Rep: *rep, Split: *split, Threads: *threads,
		Trees: *trees, TrainRows: tr.X.Rows, TestRows: te.X.Rows}
	var clf interface {
		PredictProbaBatch(*ml.Matrix, []float64, int) error
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cpu0 := cpuSeconds()
	start := time.Now()
	switch *model {
	case "gbdt":
		o := gbdt.DefaultOptions()
		o.Rounds, o.MaxDepth, o.LearningRate, o.Lambda, o.MinChildWeight, o.Threads, o.Seed = *trees, *depth, *eta, *lambda, *mcw, *threads, *seed
		if *maxBins > 0 {
			o.MaxBins = *maxBins
		}
		m, err := gbdt.New(o).Train(context.Background(), tr, nil)
		if err != nil {
			return err
		}
		clf = m
	case "rf":
		o := forest.DefaultOptions()
		o.Trees, o.Threads, o.Seed = *trees, *threads, *seed
		if *maxBins > 0 {
			o.MaxBins = *maxBins
		}
		m, err := forest.New(o).Train(context.Background(), tr)
		if err != nil {
			return err
		}
		clf = m
	default:
		return fmt.Errorf("unknown model %q", *model)
	}
	res.TrainSec = time.Since(start).Seconds()
	res.TrainCPU = cpuSeconds() - cpu0
	proba := make([]float64, te.X.Rows*classes)
	var predSec []float64
	for range max(*predReps, 1) {
		start = time.Now()
		if err := clf.PredictProbaBatch(te.X, proba, *threads); err != nil {
			return err
		}
		predSec = append(predSec, time.Since(start).Seconds())
	}
	res.PredSec = median(predSec)
	pred := treetest.Argmax(proba, classes)
	res.MacroF1 = treetest.MacroF1(te.Y, pred, classes)
	if *predOut != "" {
		var sb strings.Builder
		for _, c := range pred {
			fmt.Fprintln(&sb, c)
		}
		if err := os.WriteFile(*predOut, []byte(sb.String()), 0o644); err != nil {
			return err
		}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "flowguard %-4s %-11s split %d rep %d: train %.2fs, predict %.3fs, macro-F1 %.4f\n",
		*model, *dataset, *split, *rep, res.TrainSec, res.PredSec, res.MacroF1)
	if *out == "" {
		_, err = fmt.Println(string(b))
		return err
	}
	return os.WriteFile(*out, append(b, '\n'), 0o644)
}

// cpuSeconds is the user and system CPU time the process has used, which
// other load on the machine disturbs much less than wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Row is one line of the comparison table: timing and the first split's
// macro-F1 from the repeated runs on split 1, and macro-F1 over every
// split both sides ran on.
type Row struct {
	Dataset      string  `json:"dataset"`
	Model        string  `json:"model"`
	Reference    string  `json:"reference"`
	Runs         int     `json:"runs"`
	Trees        int     `json:"trees"`
	TrainRows    int     `json:"train_rows"`
	TestRows     int     `json:"test_rows"`
	TrainSec     float64 `json:"flowguard_train_s"`
	RefTrainSec  float64 `json:"reference_train_s"`
	TrainRatio   float64 `json:"train_time_ratio"`
	TrainCPU     float64 `json:"flowguard_train_cpu_s"`
	RefTrainCPU  float64 `json:"reference_train_cpu_s"`
	CPURatio     float64 `json:"train_cpu_ratio"`
	MacroF1      float64 `json:"flowguard_macro_f1"`
	RefMacroF1   float64 `json:"reference_macro_f1"`
	F1Diff       float64 `json:"macro_f1_diff"`
	PredRowsSec  float64 `json:"flowguard_predict_rows_s"`
	RefPredRows  float64 `json:"reference_predict_rows_s"`
	PredictRatio float64 `json:"predict_throughput_ratio"`

	Splits       int       `json:"splits"`
	MeanMacroF1  float64   `json:"flowguard_mean_macro_f1"`
	RefMeanF1    float64   `json:"reference_mean_macro_f1"`
	F1DiffMean   float64   `json:"macro_f1_diff_mean"`
	F1DiffSE     float64   `json:"macro_f1_diff_stderr"`
	F1DiffMin    float64   `json:"macro_f1_diff_min"`
	F1DiffMax    float64   `json:"macro_f1_diff_max"`
	F1DiffSplits []float64 `json:"macro_f1_diff_by_split"`
}

func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	dir := fs.String("results", "/tmp/flowguard-train-bench/results", "folder of run JSON files")
	out := fs.String("out", "", "write the table as JSON here too")
	fs.Parse(args)
	files, err := filepath.Glob(filepath.Join(*dir, "*.json"))
	if err != nil {
		return err
	}
	type key struct {
		tool, model, dataset string
		split                int
	}
	runs := map[key][]Result{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r Result
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		k := key{r.Tool, r.Model, r.Dataset, max(r.Split, 1)}
		runs[k] = append(runs[k], r)
	}
	med := func(rs []Result, f func(Result) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	train := func(r Result) float64 { return r.TrainSec }
	cpu := func(r Result) float64 { return r.TrainCPU }
	f1 := func(r Result) float64 { return r.MacroF1 }
	pred := func(r Result) float64 { return float64(r.TestRows) / r.PredSec }
	refs := map[string]string{"gbdt": "xgboost", "rf": "sklearn"}
	var rows []Row
	for _, ds := range []string{"cic2017", "k8s", "cse2018", "cic2017-all", "big"} {
		for _, model := range []string{"gbdt", "rf"} {
			fg, ref := runs[key{"flowguard", model, ds, 1}], runs[key{refs[model], model, ds, 1}]
			if len(fg) == 0 || len(ref) == 0 {
				continue
			}
			row := Row{Dataset: ds, Model: model, Reference: refs[model], Runs: min(len(fg), len(ref)),
				Trees: fg[0].Trees, TrainRows: fg[0].TrainRows, TestRows: fg[0].TestRows,
				TrainSec: med(fg, train), RefTrainSec: med(ref, train),
				MacroF1: med(fg, f1), RefMacroF1: med(ref, f1),
				PredRowsSec: med(fg, pred), RefPredRows: med(ref, pred)}
			row.TrainRatio = row.TrainSec / row.RefTrainSec
			row.TrainCPU, row.RefTrainCPU = med(fg, cpu), med(ref, cpu)
			row.CPURatio = row.TrainCPU / row.RefTrainCPU
			row.F1Diff = row.MacroF1 - row.RefMacroF1
			row.PredictRatio = row.PredRowsSec / row.RefPredRows
			// Splits numbered 1, 2, … while both sides have one.
			for k := 1; ; k++ {
				fg, ref := runs[key{"flowguard", model, ds, k}], runs[key{refs[model], model, ds, k}]
				if len(fg) == 0 || len(ref) == 0 {
					break
				}
				a, b := med(fg, f1), med(ref, f1)
				row.MeanMacroF1 += a
				row.RefMeanF1 += b
				row.F1DiffSplits = append(row.F1DiffSplits, a-b)
			}
			n := len(row.F1DiffSplits)
			row.Splits = n
			row.MeanMacroF1 /= float64(n)
			row.RefMeanF1 /= float64(n)
			row.F1DiffMean = row.MeanMacroF1 - row.RefMeanF1
			row.F1DiffMin, row.F1DiffMax = slices.Min(row.F1DiffSplits), slices.Max(row.F1DiffSplits)
			if n > 1 {
				ss := 0.0
				for _, d := range row.F1DiffSplits {
					ss += (d - row.F1DiffMean) * (d - row.F1DiffMean)
				}
				row.F1DiffSE = math.Sqrt(ss / float64(n-1) / float64(n))
			}
			rows = append(rows, row)
		}
	}
	fmt.Println("| dataset | model vs reference | train rows | trees | train s (fg / ref) | time ratio | train CPU s (fg / ref) | CPU ratio | macro-F1 (fg / ref) | F1 diff | predict rows/s (fg / ref) | throughput ratio |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Printf("| %s | %s vs %s | %d | %d | %.2f / %.2f | %.2f× | %.2f / %.2f | %.2f× | %.4f / %.4f | %+.4f | %s / %s | %.2f× |\n",
			r.Dataset, r.Model, r.Reference, r.TrainRows, r.Trees, r.TrainSec, r.RefTrainSec, r.TrainRatio,
			r.TrainCPU, r.RefTrainCPU, r.CPURatio,
			r.MacroF1, r.RefMacroF1, r.F1Diff, si(r.PredRowsSec), si(r.RefPredRows), r.PredictRatio)
	}
	fmt.Println()
	fmt.Println("| dataset | model vs reference | splits | mean macro-F1 (fg / ref) | diff of means ± s.e. | diff per split: min … max | splits at ≥ ref − 0.005 |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		if r.Splits < 2 {
			continue
		}
		within := 0
		for _, d := range r.F1DiffSplits {
			if d >= -0.005 {
				within++
			}
		}
		fmt.Printf("| %s | %s vs %s | %d | %.4f / %.4f | %+.4f ± %.4f | %+.4f … %+.4f | %d of %d |\n",
			r.Dataset, r.Model, r.Reference, r.Splits, r.MeanMacroF1, r.RefMeanF1, r.F1DiffMean, r.F1DiffSE,
			r.F1DiffMin, r.F1DiffMax, within, r.Splits)
	}
	if *out != "" {
		b, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(*out, append(b, '\n'), 0o644)
	}
	return nil
}

// si formats a rate with a k or M suffix.
func si(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
