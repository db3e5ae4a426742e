package cli

import (
	"encoding/json"
	"testing"

	"github.com/flowguard/flowguard/internal/ml/cluster"
)

// TestClusterMLPT runs `flowguard cluster --json` on ML-PT's own features
// and compares the labels with the ones scikit-learn gave them (LABEL).
// eps is the unrounded 0.06781: at the published 0.0678 two border rows
// differ, as internal/ml/cluster's parity test explains.
func TestClusterMLPT(t *testing.T) {
	data := sharedData(t, "seeds/ml-pt/X_y_pca9_dbscan_labels.csv.gz")
	out, stderr, code := run(t, nil, "cluster", "--algo", "dbscan", "--eps", "0.06781", "--min-samples", "18", "--data", data, "--json")
	if code != 0 {
		t.Fatalf("cluster: %s", stderr)
	}
	var res struct {
		Labels   []int    `json:"labels"`
		Eps      float64  `json:"eps"`
		Columns  []string `json:"columns"`
		Clusters int      `json:"clusters"`
		Noise    int      `json:"noise"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	x, _, err := readNumericCSV(data, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	truth := make([]int, x.Rows)
	for i := range truth {
		truth[i] = int(x.At(i, x.Cols-1)) // LABEL is the last numeric column
	}
	if len(res.Columns) != 9 || res.Eps != 0.06781 || len(res.Labels) != len(truth) {
		t.Fatalf("columns %v, eps %v, %d labels", res.Columns, res.Eps, len(res.Labels))
	}
	if ari := cluster.AdjustedRandIndex(res.Labels, truth); ari != 1 || res.Clusters != 61 || res.Noise != 1618 {
		t.Errorf("ARI %v, %d clusters, %d noise; want 1, 61, 1618", ari, res.Clusters, res.Noise)
	}
}
