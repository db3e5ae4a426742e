package knn

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
)

// seedsDir holds the misuse-containers parity data, seen from this package.
const seedsDir = "../../../../shared/data/seeds/misuse-containers"

// loadMisuse reads knn_v4_training_set_pca9.csv.gz (PC1..PC9, Label) or
// skips the test when ../shared is not beside the checkout.
func loadMisuse(tb testing.TB) *ml.Dataset {
	tb.Helper()
	path := filepath.Join(seedsDir, "knn_v4_training_set_pca9.csv.gz")
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		tb.Skipf("%s not found: the k-NN parity data lives in ../shared beside the checkout", path)
	}
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Scan() // header
	const cols = 9
	d := &ml.Dataset{X: &ml.Matrix{Cols: cols}, Classes: 12}
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ",")
		if len(fields) != cols+1 {
			tb.Fatalf("line %d: %d fields", d.X.Rows+2, len(fields))
		}
		for _, s := range fields[:cols] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				tb.Fatal(err)
			}
			d.X.Data = append(d.X.Data, v)
		}
		y, err := strconv.Atoi(fields[cols])
		if err != nil {
			tb.Fatal(err)
		}
		d.Y = append(d.Y, y)
		d.X.Rows++
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return d
}

// misuseTrainer is the predecessor's model:
// KNeighborsClassifier(n_neighbors=4, weights='distance', metric='cosine').
var misuseTrainer = Trainer{K: 4, Metric: Cosine, Weights: Distance}

// TestMisuseReadmeExample re-creates the Misuse-in-Containers model from its
// stored training matrix and checks the prediction their README documents
// for its example request: class 3 (Node-RED RCE).
func TestMisuseReadmeExample(t *testing.T) {
	d := loadMisuse(t)
	if d.X.Rows != 39617 {
		t.Fatalf("read %d rows, want 39617", d.X.Rows)
	}
	raw, err := os.ReadFile(filepath.Join(seedsDir, "readme_example_request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		Features []float64 `json:"features"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	m, err := misuseTrainer.Train(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	probs := make([]float64, m.Classes)
	if got := m.Predict(req.Features, probs); got != 3 {
		t.Fatalf("README example predicted %d, want 3 (probabilities %v)", got, probs)
	}
	t.Logf("README example: class 3, probabilities %.4f", probs)
}
