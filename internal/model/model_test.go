package model

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/dataset"
	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/sharedtest"
)

func sharedFile(t *testing.T, rel string) string {
	t.Helper()
	return sharedtest.Path(t, rel)
}

// TestTrainRoundTrip trains on the CIC-IDS2017 sample with the honest
// protocol, saves the artifact, loads it and checks identical predictions.
func TestTrainRoundTrip(t *testing.T) {
	data := sharedFile(t, "data/flows/cic-ids2017/lccde-sample/CICIDS2017_sample.csv.gz")
	for _, algo := range []string{"gbdt", "rf", "et", "logreg", "knn"} {
		t.Run(algo, func(t *testing.T) {
			res, err := Train(context.Background(), Config{Data: []string{data}, Algorithms: []string{algo},
				Params: Params{K: 5, Seed: 1}})
			if err != nil {
				t.Fatal(err)
			}
			a := res.Artifact
			if a.Schema.Profile != "cic2017" || a.Schema.Benign < 0 || len(a.Schema.Classes) != 7 {
				t.Errorf("schema %+v", a.Schema)
			}
			for _, f := range a.Schema.Features {
				switch f {
				case "flow_id", "src_ip", "dst_ip", "src_port", "dst_port", "timestamp", "protocol":
					t.Errorf("identifier %q is a feature", f)
				}
			}
			if f1 := float64(res.Test.MacroF1); !(f1 > 0.5) {
				t.Errorf("%s macro-F1 %.3f: implausibly low", algo, f1)
			}
			var buf bytes.Buffer
			if err := a.Write(&buf); err != nil {
				t.Fatal(err)
			}
			b, err := Read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			p1, _ := predictRows(context.Background(), a.Classifier(), res.Table.X, res.TestRows, 0)
			p2, _ := predictRows(context.Background(), b.Classifier(), res.Table.X, res.TestRows, 0)
			if !equalMatrix(p1, p2) {
				t.Error("loaded model predicts differently")
			}
			t.Logf("%s: macro-F1 %.4f on %d test rows; threshold %.4g (valid FPR %.4g)", algo, float64(res.Test.MacroF1), len(res.TestRows),
				a.Threshold.Value, a.Threshold.ValidFPR)
		})
	}
}

func equalMatrix(a, b *ml.Matrix) bool {
	if a.Rows != b.Rows || a.Cols != b.Cols {
		return false
	}
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			return false
		}
	}
	return true
}

// TestDuplicateWeight trains on a flood the way the testbed records one:
// hundreds of identical single-packet flows, which deduplication leaves as
// one training row. Unweighted, that row's hessian is below
// min_child_weight and no leaf can hold it, so the flood is predicted
// benign; weighted by its copies it is learned, and the held-out flood
// vector is caught. Test rows count once either way.
func TestDuplicateWeight(t *testing.T) {
	var b strings.Builder
	b.WriteString("Tot Fwd Pkts,Tot Bwd Pkts,Flow Duration,Label\n")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 400 {
		fmt.Fprintf(&b, "%d,%d,%d,BENIGN\n", 2+rng.IntN(40), 1+rng.IntN(40), 1000+rng.IntN(1_000_000))
	}
	for d := range 3 {
		for range 200 {
			fmt.Fprintf(&b, "1,0,%d,Flood\n", 10+d)
		}
	}
	path := filepath.Join(t.TempDir(), "flood.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	recall := map[dataset.DuplicateWeight]float64{}
	for _, w := range []dataset.DuplicateWeight{dataset.DuplicatesOnce, dataset.DuplicatesLog, dataset.DuplicatesCount} {
		res, err := Train(context.Background(), Config{Data: []string{path}, Algorithms: []string{"gbdt"},
			DuplicateWeight: w, Params: Params{Seed: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Load.Duplicates.Removed != 597 {
			t.Fatalf("%d duplicates removed, want 597", res.Load.Duplicates.Removed)
		}
		for _, c := range res.Test.PerClass {
			if c.Name == "Flood" {
				if c.Support != 1 {
					t.Fatalf("%d Flood test rows, want 1 (test rows are distinct)", c.Support)
				}
				recall[w] = float64(c.Recall)
			}
		}
		if got := res.Artifact.Training.Params["duplicate_weight"]; got != string(w) {
			t.Errorf("artifact records duplicate_weight %v, want %q", got, w)
		}
		note := ""
		for _, kv := range res.Protocol(Config{DuplicateWeight: w}) {
			if kv.Key == "Training rows" {
				note = kv.Value
			}
		}
		if (w == dataset.DuplicatesOnce) != (note == "") {
			t.Errorf("%s: report protocol says %q about the training rows", w, note)
		}
	}
	if recall[dataset.DuplicatesOnce] != 0 || recall[dataset.DuplicatesCount] != 1 {
		t.Errorf("Flood recall: unweighted %v (want 0), count-weighted %v (want 1)",
			recall[dataset.DuplicatesOnce], recall[dataset.DuplicatesCount])
	}
	t.Logf("Flood recall by duplicate weight: %v", recall)
	if _, err := Train(context.Background(), Config{Data: []string{path}, Algorithms: []string{"gbdt"},
		DuplicateWeight: "twice"}); err == nil || !strings.Contains(err.Error(), "duplicate weight") {
		t.Errorf("unknown duplicate weight: %v", err)
	}
	// k-NN has no loss to weight: refused before any data is read.
	missing := filepath.Join(t.TempDir(), "absent.csv")
	if _, err := Train(context.Background(), Config{Data: []string{missing}, Algorithms: []string{"gbdt", "knn"},
		DuplicateWeight: dataset.DuplicatesLog}); err == nil || !strings.Contains(err.Error(), "knn takes no row weights") {
		t.Errorf("k-NN with duplicate weights: %v", err)
	}
}
