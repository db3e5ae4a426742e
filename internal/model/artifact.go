// Package model owns flowguard's trained-model artifact and the training
// pipeline that produces it: dataset → cleaning → honest split → algorithm
// → evaluation → calibrated threshold → one versioned, data-only file.
//
// An artifact is gzip-compressed JSON. Loading it parses data into known
// structures and validates them; nothing in a model file is ever executed,
// so a model from an untrusted source can at worst be rejected.
package model

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/anomaly"
)

// Format identifies flowguard model files; Version is bumped on any change
// a reader of the previous version could misread. Version 2 added the
// anomaly section; a file is written with the lowest version that holds
// its content (classifiers stay version 1), and every version up to
// Version is read.
const (
	Format  = "flowguard-model"
	Version = 2
)

// maxDecompressed bounds what Load inflates, so a hostile file (a gzip bomb)
// is an error instead of an exhausted machine.
const maxDecompressed = 2 << 30

// ErrSchema is wrapped by errors about features that do not fit a model.
var ErrSchema = errors.New("feature schema mismatch")

// Artifact is everything needed to use and to audit a trained model.
type Artifact struct {
	Format     string          `json:"format"`
	Version    int             `json:"version"`
	Created    time.Time       `json:"created"`
	Algorithm  string          `json:"algorithm"`
	Schema     Schema          `json:"schema"`
	Preprocess Preprocess      `json:"preprocess"`
	Threshold  *Threshold      `json:"threshold,omitempty"`
	Training   Training        `json:"training"`
	Metrics    json.RawMessage `json:"metrics,omitempty"`
	Model      json.RawMessage `json:"model"`
	// Anomaly is set in anomaly-detector artifacts (algorithm iforest,
	// format version 2) only.
	Anomaly *Anomaly `json:"anomaly,omitempty"`

	clf      ml.Classifier
	forest   *anomaly.IsolationForest
	profiles *ml.Matrix
}

// Schema says what a model reads and what it answers.
type Schema struct {
	Features []string `json:"features"` // canonical feature names, in column order
	// Profile is the flow-meter profile whose feature semantics the model
	// was trained on (cic2017 for the public CIC datasets); detection must
	// meter traffic with it.
	Profile string   `json:"profile"`
	Classes []string `json:"classes"`
	Benign  int      `json:"benign_class"` // index of the benign class, -1 if none
}

// Preprocess is applied to every feature row before the model sees it:
// non-finite values are replaced as they were in training.
type Preprocess struct {
	NaN    []float64 `json:"nan"`     // replacement for NaN, per feature
	PosInf []float64 `json:"pos_inf"` // replacement for +Inf (largest finite training value)
	NegInf []float64 `json:"neg_inf"` // replacement for −Inf (smallest finite training value)
}

// Threshold is the decision rule for benign vs attack, calibrated on
// validation data: a row is an attack when 1 − P(benign) ≥ Value. A Value
// above 1 means no threshold met the target on validation data.
type Threshold struct {
	Value     float64 `json:"value"`
	TargetFPR float64 `json:"target_fpr"`
	// ValidFPR and ValidRecall are what the threshold achieved on the
	// validation rows it was calibrated on.
	ValidFPR    float64 `json:"valid_fpr"`
	ValidRecall float64 `json:"valid_recall"`
	// Resolved is false when the validation rows held too few benign flows
	// to show the target FPR (fewer than 1/TargetFPR): the threshold then
	// admits no validation false positive, and its real FPR is unknown.
	Resolved bool `json:"resolved"`
}

// Training records how the model was made, for reproduction and audit.
type Training struct {
	DataFingerprint string         `json:"data_fingerprint"` // sha256 over the training data as loaded
	Sources         []string       `json:"sources"`
	Rows            int            `json:"rows"`
	Params          map[string]any `json:"params"`
	Split           string         `json:"split"`
	// Labels is how dataset classes became the model's classes: a label
	// mode (multiclass, binary, families) or "file:" and a mapping's path.
	Labels          string `json:"labels"`
	Seed            int64  `json:"seed"`
	Cleaning        any    `json:"cleaning,omitempty"`
	Duration        string `json:"duration"`
	FlowguardCommit string `json:"flowguard_commit,omitempty"`
}

// Classifier returns the decoded model; nil for an anomaly model.
func (a *Artifact) Classifier() ml.Classifier { return a.clf }

// Save writes the artifact to path (gzip-compressed JSON).
func (a *Artifact) Save(path string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("save model %s: %w", path, cerr)
		}
	}()
	return a.Write(f)
}

// Write encodes the artifact to w.
func (a *Artifact) Write(w io.Writer) error {
	a.Format, a.Version = Format, 1
	if a.Anomaly != nil {
		a.Version = 2
	}
	zw := gzip.NewWriter(w)
	enc := json.NewEncoder(zw)
	if err := enc.Encode(a); err != nil {
		return fmt.Errorf("encode model: %w", err)
	}
	return zw.Close()
}

// Load reads and validates a model file.
func Load(path string) (*Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	defer f.Close()
	a, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	return a, nil
}

// Read decodes and validates an artifact.
func Read(r io.Reader) (*Artifact, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a flowguard model (gzip: %w)", err)
	}
	dec := json.NewDecoder(io.LimitReader(zr, maxDecompressed))
	var a Artifact
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("decode model: %w", err)
	}
	if a.Format != Format {
		return nil, fmt.Errorf("not a flowguard model (format %q)", a.Format)
	}
	if a.Version < 1 || a.Version > Version {
		return nil, fmt.Errorf("model format version %d; this flowguard reads versions 1 to %d", a.Version, Version)
	}
	if err := a.validate(); err != nil {
		return nil, err
	}
	return &a, nil
}

func (a *Artifact) validate() error {
	n := len(a.Schema.Features)
	switch {
	case n == 0:
		return fmt.Errorf("%w: model has no features", ErrSchema)
	case len(a.Schema.Classes) < 2:
		return fmt.Errorf("%w: model has %d classes", ErrSchema, len(a.Schema.Classes))
	case a.Schema.Benign < -1 || a.Schema.Benign >= len(a.Schema.Classes):
		return fmt.Errorf("%w: benign class %d out of range", ErrSchema, a.Schema.Benign)
	case len(a.Preprocess.NaN) != n || len(a.Preprocess.PosInf) != n || len(a.Preprocess.NegInf) != n:
		return fmt.Errorf("preprocess has %d/%d/%d values for %d features", len(a.Preprocess.NaN), len(a.Preprocess.PosInf), len(a.Preprocess.NegInf), n)
	}
	for i := range n {
		if !finite(a.Preprocess.NaN[i]) || !finite(a.Preprocess.PosInf[i]) || !finite(a.Preprocess.NegInf[i]) {
			return fmt.Errorf("preprocess value for feature %q is not finite", a.Schema.Features[i])
		}
	}
	// A threshold above 1 is legitimate: no score reaches it, so the
	// calibration found no alerting threshold within the target FPR.
	if t := a.Threshold; t != nil && !finite(t.Value) {
		return fmt.Errorf("threshold %v is not a finite number", t.Value)
	}
	if a.Algorithm == AlgoIForest {
		return a.validateAnomaly(n)
	}
	if a.Anomaly != nil {
		return fmt.Errorf("%s artifact has an anomaly section", a.Algorithm)
	}
	clf, err := decodeClassifier(a.Algorithm, a.Model)
	if err != nil {
		return err
	}
	if clf.NumFeatures() != n || clf.NumClasses() != len(a.Schema.Classes) {
		return fmt.Errorf("%w: %s model reads %d features into %d classes, schema says %d and %d",
			ErrSchema, a.Algorithm, clf.NumFeatures(), clf.NumClasses(), n, len(a.Schema.Classes))
	}
	a.clf = clf
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Clean replaces non-finite values of row x (in schema order) in place.
func (a *Artifact) Clean(x []float64) {
	p := &a.Preprocess
	for i, v := range x {
		switch {
		case math.IsNaN(v):
			x[i] = p.NaN[i]
		case math.IsInf(v, 1):
			x[i] = p.PosInf[i]
		case math.IsInf(v, -1):
			x[i] = p.NegInf[i]
		}
	}
}

// Columns maps the model's features onto the columns of a table with the
// given feature names: cols[i] is the table column holding feature i. Every
// missing feature is named in the error.
func (a *Artifact) Columns(have []string) ([]int, error) {
	idx := make(map[string]int, len(have))
	for i, n := range have {
		idx[n] = i
	}
	cols := make([]int, len(a.Schema.Features))
	var missing []string
	for i, f := range a.Schema.Features {
		j, ok := idx[f]
		if !ok {
			missing = append(missing, f)
		}
		cols[i] = j
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: input lacks %d of the model's %d features: %v", ErrSchema, len(missing), len(cols), missing)
	}
	return cols, nil
}

// Importance returns the model's per-feature importance normalised to sum
// to 1, or nil when the algorithm has none (k-NN).
func (a *Artifact) Importance() []float64 { return importance(a.clf) }
