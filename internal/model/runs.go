package model

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Run is the record of one training run, kept as one JSON file in a runs
// directory so runs can be listed and compared later (what MLflow tracking
// did for the predecessors, without a server).
type Run struct {
	ID              string         `json:"id"`
	Started         time.Time      `json:"started"`
	Algorithm       string         `json:"algorithm"`
	Params          map[string]any `json:"params"`
	Data            []string       `json:"data"`
	DataFingerprint string         `json:"data_fingerprint"`
	Split           string         `json:"split"`
	Labels          string         `json:"labels"`
	Profile         string         `json:"profile"`
	TrainRows       int            `json:"train_rows"`
	TestRows        int            `json:"test_rows"`
	Metrics         RunMetrics     `json:"metrics"`
	Model           string         `json:"model"`
	Report          string         `json:"report,omitempty"`
	MetricsFile     string         `json:"metrics_file,omitempty"`
	Comparison      []Compared     `json:"comparison,omitempty"`
}

// RunMetrics are the headline test metrics of a run.
type RunMetrics struct {
	MacroF1    float64 `json:"macro_f1"`
	WeightedF1 float64 `json:"weighted_f1"`
	ROCAUC     float64 `json:"roc_auc"`
	PRAUC      float64 `json:"pr_auc"`
	AttackFPR  float64 `json:"attack_fpr"`
	Recall     float64 `json:"attack_recall"`
	MinRecall  float64 `json:"min_class_recall"`
	MinClass   string  `json:"min_recall_class"`
}

// RecordRun writes the run's record into dir; rec carries the output paths
// and receives the ID.
func RecordRun(dir string, res *Result, cfg Config, rec *Run) error {
	a := res.Artifact
	rec.Started = a.Created
	rec.Algorithm = a.Algorithm
	rec.ID = a.Created.Format("20060102-150405") + "-" + a.Algorithm
	rec.Params = a.Training.Params
	rec.Data = cfg.Data
	rec.DataFingerprint = a.Training.DataFingerprint
	rec.Split = a.Training.Split
	rec.Labels = a.Training.Labels
	rec.Profile = a.Schema.Profile
	rec.TrainRows = a.Training.Rows
	rec.TestRows = len(res.TestRows)
	rec.Comparison = res.Comparison
	rec.Metrics = headline(res)
	if abs, err := filepath.Abs(rec.Model); err == nil {
		rec.Model = abs
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("runs directory: %w", err)
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, rec.ID+".json"), b, 0o644)
}

func headline(res *Result) RunMetrics {
	if ar := res.Anomaly; ar != nil {
		m := RunMetrics{ROCAUC: nan0(float64(ar.ROCAUC)), PRAUC: nan0(float64(ar.PRAUC)), AttackFPR: nan0(float64(ar.FPR)),
			Recall: nan0(float64(ar.Recall)), MinRecall: 1}
		for _, c := range ar.PerClass {
			if float64(c.Recall) < m.MinRecall {
				m.MinRecall, m.MinClass = nan0(float64(c.Recall)), c.Class
			}
		}
		return m
	}
	t := res.Test
	m := RunMetrics{MacroF1: nan0(float64(t.MacroF1)), WeightedF1: nan0(float64(t.WeightedF1)),
		ROCAUC: nan0(float64(t.ROCAUC)), PRAUC: nan0(float64(t.PRAUC)), MinRecall: 1}
	if at := t.Attack; at != nil {
		m.AttackFPR, m.Recall = nan0(float64(at.FPR)), nan0(float64(at.Recall))
	}
	for _, c := range t.PerClass {
		if c.Support > 0 && float64(c.Recall) < m.MinRecall {
			m.MinRecall, m.MinClass = float64(c.Recall), c.Name
		}
	}
	return m
}

// nan0 keeps JSON encodable: a metric that is undefined is recorded as 0
// in the run list (the full report keeps it as null).
func nan0(v float64) float64 {
	if v != v {
		return 0
	}
	return v
}

// ListRuns reads every run record in dir, newest first. Unreadable files
// are reported, not skipped silently.
func ListRuns(dir string) ([]Run, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("runs directory: %w", err)
	}
	var runs []Run
	var bad []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		var r Run
		if err == nil {
			err = json.Unmarshal(b, &r)
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", e.Name(), err))
			continue
		}
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Started.After(runs[j].Started) })
	if len(bad) > 0 {
		return runs, fmt.Errorf("unreadable run records: %s", strings.Join(bad, "; "))
	}
	return runs, nil
}
