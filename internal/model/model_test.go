package model

import (
	"bytes"
	"context"
	"testing"

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
