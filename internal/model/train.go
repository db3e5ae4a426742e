package model

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/flowguard/flowguard/internal/dataset"
	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/eval"
)

// Config is one training run. The zero value of every field but Data and
// Algorithms is the honest default.
type Config struct {
	Data []string
	Load dataset.LoadOptions
	// Split is how test rows are held out: "stratified" (default),
	// "file" (the last input file, or TestFiles), "day" (the last day, or
	// TestDays) or "temporal" (the latest TestSize of rows by start time).
	Split     string
	TestSize  float64 // default 0.2
	TestFiles []string
	TestDays  []string // with Split "day": UTC dates (2006-01-02) held out; default the last
	// ValidSize of the training rows is held out again, for early stopping
	// and for calibrating the alert threshold; default 0.15.
	ValidSize  float64
	Algorithms []string // first one wins when only one; else ranked by CV
	Params     Params
	// ClassWeight "balanced" weighs classes inversely to their frequency
	// (their total weight, with DuplicateWeight).
	ClassWeight string
	// DuplicateWeight weighs each distinct training row by the exact
	// duplicates deduplication removed for it: none (default), log or
	// count (see dataset.DuplicateWeight). Test and validation rows are
	// never weighted.
	DuplicateWeight dataset.DuplicateWeight
	// Undersample / Oversample, when > 0, resample the fitting rows towards
	// that ratio of minority to majority (see dataset.Undersample).
	Undersample, Oversample float64
	Filter                  dataset.ColumnFilter
	TargetFPR               float64 // threshold calibration target; default 1e-3
	FlowRate                float64 // flows/s for false alerts a day; default 1000
	CVFolds                 int     // folds when comparing several algorithms; default 3
	// CVSplit groups the folds: "stratified" (default), "file" or "day"
	// (group k-fold: no file or day on both sides of a fold).
	CVSplit string
	// Objective ranks candidates: "macro_f1" (default) or "pr_auc".
	Objective string
	Search    Search
	// Log receives one line per stage; nil discards.
	Log func(format string, args ...any)
}

// Result is a trained model with its honest evaluation.
type Result struct {
	Artifact   *Artifact
	Test       eval.Report
	Operating  eval.OperatingPoint // the calibrated threshold, measured on the test rows
	Comparison []Compared
	Load       *dataset.Report
	Table      *dataset.Table // filtered features; for reports
	TestRows   []int
	Importance []float64 // per artifact feature, when the algorithm has it
	Unseen     map[string]int
	// Anomaly is the evaluation of an anomaly detector (algorithm
	// iforest), whose Test and Operating are then empty.
	Anomaly *AnomalyReport
}

// Compared is one algorithm's cross-validated result on the training rows.
type Compared struct {
	Algorithm     string    `json:"algorithm"`
	Params        string    `json:"params"`
	MacroF1       eval.Stat `json:"macro_f1"`
	WeightedF1    eval.Stat `json:"weighted_f1"`
	PRAUC         eval.Stat `json:"pr_auc"`
	TrainSeconds  float64   `json:"train_seconds"`
	PredictPerSec float64   `json:"predict_rows_per_second"`
	Rank          int       `json:"rank"`
	Err           string    `json:"error,omitempty"`

	params    Params
	objective float64
}

func (c *Config) defaults() {
	if c.Split == "" {
		c.Split = "stratified"
	}
	if c.TestSize == 0 {
		c.TestSize = 0.2
	}
	if c.ValidSize == 0 {
		c.ValidSize = 0.15
	}
	if c.TargetFPR == 0 {
		c.TargetFPR = 1e-3
	}
	if c.FlowRate == 0 {
		c.FlowRate = 1000
	}
	if c.CVFolds == 0 {
		c.CVFolds = 3
	}
	if c.Objective == "" {
		c.Objective = "macro_f1"
	}
	if c.Log == nil {
		c.Log = func(string, ...any) {}
	}
}

// Train runs the whole protocol: load and clean (exact duplicates removed
// before any split), hold out test rows, hold out validation rows from the
// rest, fit feature filters on the fitting rows only, compare algorithms by
// cross-validation on the training rows when several are asked for, fit the
// chosen one, calibrate the alert threshold on validation rows, and evaluate
// once on the test rows.
func Train(ctx context.Context, cfg Config) (*Result, error) {
	cfg.defaults()
	start := time.Now()
	if len(cfg.Algorithms) == 0 {
		return nil, fmt.Errorf("no algorithm given (want one or more of %s)", strings.Join(Algorithms(), ", "))
	}
	if slices.Contains(cfg.Algorithms, AlgoIForest) {
		if len(cfg.Algorithms) > 1 || cfg.Search.Mode != "" {
			return nil, fmt.Errorf("%s trains an anomaly detector on benign rows: give it alone, without a search", AlgoIForest)
		}
		if cfg.DuplicateWeight.Weighs() {
			return nil, fmt.Errorf("duplicate weight %q: %s fits each distinct benign row once, unweighted", cfg.DuplicateWeight, AlgoIForest)
		}
		return trainAnomaly(ctx, cfg, start)
	}
	weighted := cfg.ClassWeight == "balanced" || cfg.DuplicateWeight.Weighs()
	for _, name := range cfg.Algorithms {
		a, err := lookup(name)
		if err != nil {
			return nil, err
		}
		// Refused before the data is read, not after a long load.
		if a.unweighted && weighted {
			return nil, fmt.Errorf("%s takes no row weights (class weight %q, duplicate weight %q): resample with undersampling or oversampling instead",
				name, cfg.ClassWeight, cfg.DuplicateWeight)
		}
	}
	if cfg.Objective != "macro_f1" && cfg.Objective != "pr_auc" {
		return nil, fmt.Errorf("unknown objective %q (want macro_f1 or pr_auc)", cfg.Objective)
	}
	t, lrep, split, err := loadSplit(&cfg)
	if err != nil {
		return nil, err
	}
	classes := dataset.Classes(t.Labels, split.Train)
	if len(classes) < 2 {
		return nil, fmt.Errorf("training rows hold %d class(es); need at least 2", len(classes))
	}
	benign := benignIndex(classes)
	known := make(map[string]bool, len(classes))
	for _, c := range classes {
		known[c] = true
	}
	unseen := map[string]int{}
	var testRows []int
	for _, r := range split.Test {
		if known[t.Labels[r]] {
			testRows = append(testRows, r)
		} else {
			unseen[t.Labels[r]]++
		}
	}
	fitRows, validRows, err := validSplit(t, &cfg, split.Train)
	if err != nil {
		return nil, err
	}
	cfg.Log("split %s: %d fitting, %d validation, %d test rows", cfg.Split, len(fitRows), len(validRows), len(testRows))

	// The fingerprint is of the training rows as loaded; after the filter
	// only its kept columns are needed, so the loaded matrix is let go
	// before training. Collecting it at once keeps the next heap goal at
	// twice what is live now rather than twice what was live with both
	// matrices (2.8M rows × 76 features: peak RSS 4.44 -> 3.75 GB).
	dataFP := fingerprint(t, split.Train)
	// Feature filters learn from the fitting rows only.
	ft, filter, err := filterColumns(t, cfg.Filter, fitRows)
	if err != nil {
		return nil, err
	}
	t.X = nil
	runtime.GC()
	if n := len(filter.Dropped); n > 0 {
		cfg.Log("dropped %d constant or correlated feature(s); %d left", n, len(ft.Features))
	}

	if cfg.Undersample > 0 {
		if fitRows, err = dataset.Undersample(t.Labels, fitRows, cfg.Undersample, cfg.Params.Seed); err != nil {
			return nil, err
		}
	}
	if cfg.Oversample > 0 {
		if fitRows, err = dataset.Oversample(t.Labels, fitRows, cfg.Oversample, cfg.Params.Seed); err != nil {
			return nil, err
		}
	}
	classW, rowW, err := fitWeights(t, &cfg, fitRows)
	if err != nil {
		return nil, err
	}

	var comparison []Compared
	algo, params := cfg.Algorithms[0], cfg.Params
	if len(cfg.Algorithms) > 1 || cfg.Search.Mode != "" {
		comparison, err = compare(ctx, &ft, &cfg, split.Train, classes, benign)
		if err != nil {
			return nil, err
		}
		algo, params = comparison[0].Algorithm, comparison[0].params
		cfg.Log("best by cross-validated %s: %s %s", cfg.Objective, algo, comparison[0].Params)
	}

	train, err := ft.Dataset(fitRows, classes, classW, rowW)
	if err != nil {
		return nil, err
	}
	valid, err := ft.Dataset(validRows, classes, nil, nil)
	if err != nil {
		return nil, err
	}
	a, _ := lookup(algo)
	fitStart := time.Now()
	clf, err := a.trainer(params, cfg.Log).Fit(ctx, train, valid)
	if err != nil {
		return nil, fmt.Errorf("train %s: %w", algo, err)
	}
	cfg.Log("trained %s in %s", algo, time.Since(fitStart).Round(time.Millisecond))

	// Threshold: calibrated on validation rows, measured on test rows.
	var thr *Threshold
	var op eval.OperatingPoint
	if benign >= 0 {
		vp, err := predictRows(ctx, clf, ft.X, validRows, cfg.Params.Threads)
		if err != nil {
			return nil, err
		}
		vop, err := eval.CalibrateThreshold(eval.AttackScores(vp, benign), attackMask(valid.Y, benign), cfg.TargetFPR)
		if err != nil {
			return nil, fmt.Errorf("calibrate threshold: %w", err)
		}
		thr = &Threshold{Value: float64(vop.Threshold), TargetFPR: cfg.TargetFPR, ValidFPR: float64(vop.FPR), ValidRecall: float64(vop.Recall), Resolved: vop.Resolved}
		if !vop.Resolved {
			cfg.Log("threshold: %s", vop.Note)
		}
	}
	tp, err := predictRows(ctx, clf, ft.X, testRows, cfg.Params.Threads)
	if err != nil {
		return nil, err
	}
	yTest := labelIndex(t.Labels, testRows, classes)
	rep, err := eval.Evaluate(yTest, nil, tp, classes, eval.Options{Benign: benign, FlowsPerSecond: cfg.FlowRate})
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	if thr != nil {
		op, err = eval.AtThreshold(eval.AttackScores(tp, benign), attackMask(yTest, benign), thr.Value)
		if err != nil {
			return nil, err
		}
		op.TargetFPR = eval.Float(cfg.TargetFPR)
		op.FalseAlertsPerDay = eval.Float(eval.FalseAlertsPerDay(float64(op.FPR), cfg.FlowRate))
	}
	for c, n := range unseen {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d test rows of class %q never seen in training are left out of these metrics", n, c))
	}

	modelJSON, err := json.Marshal(clf)
	if err != nil {
		return nil, fmt.Errorf("encode %s model: %w", algo, err)
	}
	metrics, err := json.Marshal(rep)
	if err != nil {
		return nil, err
	}
	art := &Artifact{
		Created:    time.Now().UTC(),
		Algorithm:  algo,
		Schema:     Schema{Features: ft.Features, Profile: t.Profile, Classes: classes, Benign: benign},
		Preprocess: preprocess(ft.X, fitRows),
		Threshold:  thr,
		Training: Training{
			DataFingerprint: dataFP,
			Sources:         cfg.Data,
			Rows:            len(fitRows),
			Params:          paramsMap(algo, params, cfg),
			Split:           fmt.Sprintf("%s test %.2f, validation %.2f of the rest", cfg.Split, cfg.TestSize, cfg.ValidSize),
			Seed:            int64(cfg.Params.Seed),
			Labels:          labelSpec(cfg.Load),
			Cleaning:        lrep,
			Duration:        time.Since(start).Round(time.Millisecond).String(),
		},
		Metrics: metrics,
		Model:   modelJSON,
		clf:     clf,
	}
	return &Result{Artifact: art, Test: rep, Operating: op, Comparison: comparison, Load: lrep, Table: &ft,
		TestRows: testRows, Importance: importance(clf), Unseen: unseen}, nil
}

// loadSplit loads cfg's data and holds out the test rows, checking that
// no duplicate or identifier crosses the split: the start both the
// classifiers and the anomaly detector share.
func loadSplit(cfg *Config) (*dataset.Table, *dataset.Report, dataset.Split, error) {
	if !(cfg.TestSize > 0 && cfg.TestSize < 1) || !(cfg.ValidSize > 0 && cfg.ValidSize < 1) {
		return nil, nil, dataset.Split{}, fmt.Errorf("test size %v and validation size %v must be in (0, 1)", cfg.TestSize, cfg.ValidSize)
	}
	t, rep, err := dataset.Load(cfg.Data, cfg.Load)
	if err != nil {
		return nil, nil, dataset.Split{}, err
	}
	cfg.Log("loaded %d rows × %d features from %d file(s), profile %s", t.Rows(), len(t.Features), len(t.Files), t.Profile)
	split, err := testSplit(t, cfg)
	if err != nil {
		return nil, nil, dataset.Split{}, err
	}
	if err := dataset.Verify(t, split); err != nil {
		return nil, nil, dataset.Split{}, fmt.Errorf("leak check: %w", err)
	}
	return t, rep, split, nil
}

// fitWeights returns the class and row weights of the fitting rows, as
// cfg asks; nil for none.
func fitWeights(t *dataset.Table, cfg *Config, rows []int) (map[string]float64, []float64, error) {
	rowW, err := t.RowWeights(rows, cfg.DuplicateWeight)
	if err != nil {
		return nil, nil, err
	}
	switch cfg.ClassWeight {
	case "", "none":
		return nil, rowW, nil
	case "balanced":
		return dataset.ClassWeights(t.Labels, rows, rowW), rowW, nil
	}
	return nil, nil, fmt.Errorf("unknown class weighting %q (want none or balanced)", cfg.ClassWeight)
}

// filterColumns fits the column filter f on rows of t and returns t with
// the kept columns, and the fitted filter.
func filterColumns(t *dataset.Table, f dataset.ColumnFilter, rows []int) (dataset.Table, dataset.ColumnFilter, error) {
	f.Names = t.Features
	if err := f.Fit(t.X, rows); err != nil {
		return dataset.Table{}, f, fmt.Errorf("fit column filter: %w", err)
	}
	fx, err := f.Apply(t.X)
	if err != nil {
		return dataset.Table{}, f, err
	}
	ft := *t
	ft.X = fx
	ft.Features = make([]string, len(f.Keep))
	for i, c := range f.Keep {
		ft.Features[i] = t.Features[c]
	}
	return ft, f, nil
}

func testSplit(t *dataset.Table, cfg *Config) (dataset.Split, error) {
	switch cfg.Split {
	case "stratified":
		return dataset.Stratified(t.Labels, nil, cfg.TestSize, cfg.Params.Seed)
	case "temporal":
		return dataset.Temporal(t.Time, nil, cfg.TestSize)
	case "file":
		if len(t.Files) < 2 {
			return dataset.Split{}, fmt.Errorf("--split file needs at least two input files (got %d)", len(t.Files))
		}
		names := make([]string, len(t.File))
		for i, f := range t.File {
			names[i] = t.Files[f].Path
		}
		test := cfg.TestFiles
		if len(test) == 0 {
			test = []string{t.Files[len(t.Files)-1].Path}
		}
		return dataset.HoldOut(names, nil, test...)
	case "day":
		days := t.Days()
		test := cfg.TestDays
		if len(test) == 0 {
			last := ""
			for _, d := range days {
				last = max(last, d)
			}
			if last == "" {
				return dataset.Split{}, fmt.Errorf("--split day needs flow timestamps; the data has none")
			}
			test = []string{last}
		}
		return dataset.HoldOut(days, nil, test...)
	}
	return dataset.Split{}, fmt.Errorf("unknown split %q (want stratified, file, day or temporal)", cfg.Split)
}

// validSplit holds validation rows out of the training rows: the latest
// ones for a temporal split (validation must not look into the future of
// the fitting rows), a stratified sample otherwise.
func validSplit(t *dataset.Table, cfg *Config, train []int) (fit, valid []int, err error) {
	var s dataset.Split
	if cfg.Split == "temporal" {
		s, err = dataset.Temporal(t.Time, train, cfg.ValidSize)
	} else {
		s, err = dataset.Stratified(t.Labels, train, cfg.ValidSize, cfg.Params.Seed+1)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("validation split: %w", err)
	}
	return s.Train, s.Test, nil
}

// benignIndex finds the benign class by name, -1 when there is none.
func benignIndex(classes []string) int {
	for i, c := range classes {
		switch strings.ToLower(c) {
		case "benign", "normal":
			return i
		}
	}
	return -1
}

func labelIndex(labels []string, rows []int, classes []string) []int {
	idx := make(map[string]int, len(classes))
	for i, c := range classes {
		idx[c] = i
	}
	y := make([]int, len(rows))
	for i, r := range rows {
		y[i] = idx[labels[r]]
	}
	return y
}

func attackMask(y []int, benign int) []bool {
	m := make([]bool, len(y))
	for i, c := range y {
		m[i] = c != benign
	}
	return m
}

// preprocess learns the replacements for non-finite values at prediction
// time: NaN becomes the column's median, ±Inf its extreme finite values,
// all over the fitting rows.
func preprocess(x *ml.Matrix, rows []int) Preprocess {
	p := Preprocess{NaN: make([]float64, x.Cols), PosInf: make([]float64, x.Cols), NegInf: make([]float64, x.Cols)}
	col := make([]float64, 0, len(rows))
	for j := range x.Cols {
		col = col[:0]
		for _, r := range rows {
			if v := x.At(r, j); finite(v) {
				col = append(col, v)
			}
		}
		if len(col) == 0 {
			continue
		}
		lo, hi := col[0], col[0]
		for _, v := range col {
			lo, hi = min(lo, v), max(hi, v)
		}
		p.NaN[j], p.NegInf[j], p.PosInf[j] = nthSmallest(col, len(col)/2), lo, hi
	}
	return p
}

// nthSmallest returns the value a sort of xs would put at index k,
// reordering xs; it runs in linear expected time where a sort of a
// million-row column costs tens of milliseconds. The three-way partition
// keeps columns made mostly of one value (zeros, −1) linear too.
func nthSmallest(xs []float64, k int) float64 {
	for len(xs) > 1 {
		// Median of three as the pivot, so sorted and reversed input
		// stay linear.
		a, b, c := xs[0], xs[len(xs)/2], xs[len(xs)-1]
		pivot := max(min(a, b), min(max(a, b), c))
		// xs[:lt] < pivot, xs[lt:i] == pivot, xs[gt:] > pivot.
		lt, i, gt := 0, 0, len(xs)
		for i < gt {
			switch v := xs[i]; {
			case v < pivot:
				xs[lt], xs[i] = xs[i], xs[lt]
				lt++
				i++
			case v > pivot:
				gt--
				xs[gt], xs[i] = xs[i], xs[gt]
			default:
				i++
			}
		}
		switch {
		case k < lt:
			xs = xs[:lt]
		case k >= gt:
			xs, k = xs[gt:], k-gt
		default:
			return pivot
		}
	}
	return xs[0]
}

// fingerprint hashes the training rows as loaded (features and labels), so
// a run can tell whether two models saw the same data.
func fingerprint(t *dataset.Table, rows []int) string {
	h := sha256.New()
	for _, f := range t.Features {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	// One write per row: the digest's per-call cost dominated eight-byte
	// writes. The bytes, and so the hash, are the same.
	buf := make([]byte, 0, 8*t.X.Cols+64)
	for _, r := range rows {
		buf = buf[:0]
		for _, v := range t.X.Row(r) {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
		}
		buf = append(append(buf, t.Labels[r]...), 0)
		h.Write(buf)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func paramsMap(algo string, p Params, cfg Config) map[string]any {
	var m map[string]any
	b, _ := json.Marshal(p)
	json.Unmarshal(b, &m)
	m["algorithm"] = algo
	m["class_weight"] = cfg.ClassWeight
	m["duplicate_weight"] = string(cfg.DuplicateWeight)
	m["target_fpr"] = cfg.TargetFPR
	return m
}

// importance returns per-feature importance when the model offers it,
// normalised to sum to 1.
func importance(clf ml.Classifier) []float64 {
	var v []float64
	switch m := clf.(type) {
	case interface{ Importance() []float64 }:
		v = m.Importance()
	case interface {
		Importance() (gain, splits []float64)
	}:
		v, _ = m.Importance()
	default:
		return nil
	}
	var sum float64
	for _, x := range v {
		sum += math.Abs(x)
	}
	if sum > 0 {
		for i := range v {
			v[i] = math.Abs(v[i]) / sum
		}
	}
	return v
}

func labelSpec(o dataset.LoadOptions) string {
	if o.LabelFile != "" {
		return "file:" + o.LabelFile
	}
	if o.Labels == "" {
		return string(dataset.LabelsMulticlass)
	}
	return string(o.Labels)
}
