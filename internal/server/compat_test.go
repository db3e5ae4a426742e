package server

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/gbdt"
	"github.com/flowguard/flowguard/internal/ml/knn"
	"github.com/flowguard/flowguard/internal/model"
)

// register uploads an artifact built around clf and returns its ID.
func register(t *testing.T, ts *testServer, algo string, clf ml.Classifier, features, classes []string, benign int) string {
	t.Helper()
	raw, err := json.Marshal(clf)
	if err != nil {
		t.Fatal(err)
	}
	n := len(features)
	a := &model.Artifact{Algorithm: algo, Model: raw,
		Schema:     model.Schema{Features: features, Classes: classes, Benign: benign},
		Preprocess: model.Preprocess{NaN: make([]float64, n), PosInf: make([]float64, n), NegInf: make([]float64, n)}}
	var b bytes.Buffer
	if err := a.Write(&b); err != nil {
		t.Fatal(err)
	}
	code, _, body := do(t, "POST", ts.url+"/v1/models?name="+algo+"-test", "application/octet-stream", &b, testToken)
	if code != 201 {
		t.Fatalf("upload model: %d %s", code, body)
	}
	return decode[ModelInfo](t, body).ID
}

func seed(t *testing.T, rel string) []byte {
	b, err := os.ReadFile(shared(t, "data/seeds/"+rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCompatMLIDs replays ml-ids's README request: the default model fits.
func TestCompatMLIDs(t *testing.T) {
	body := seed(t, "ml-ids/readme_example_request_pandas_split.json")
	ts := start(t, Config{})
	code, ct, b := do(t, "POST", ts.url+"/api/predictions", "application/json; format=pandas-split", bytes.NewReader(body), "")
	if code != 200 || ct != "application/json" {
		t.Fatalf("%d %s %s", code, ct, b)
	}
	got := decode[[]float64](t, b)
	if len(got) != 1 || (got[0] != 0 && got[0] != 1) || !bytes.Contains(b, []byte(".0")) {
		t.Fatalf("want [0.0] or [1.0], got %s", b)
	}
	// The 1,000-row client dataset as pandas-split, through the same path.
	if code, _, b := do(t, "POST", ts.url+"/api/predictions", "application/json", bytes.NewReader(body), ""); code != 415 {
		t.Fatalf("plain JSON: %d %s", code, b)
	}
}

// TestCompatAtD: 503 until a BENIGN/DoS model on AtD's fields is
// registered, then the README requests get their documented answers.
func TestCompatAtD(t *testing.T) {
	dos, benign := seed(t, "atdbackend/reports_request_dos.json"), seed(t, "atdbackend/reports_request_benign.json")
	ts := start(t, Config{})
	code, _, b := do(t, "POST", ts.url+"/reports/", "application/json", bytes.NewReader(dos), "")
	if code != 503 || !strings.Contains(string(b), "DoS") {
		t.Fatalf("without a fitting model: %d %s", code, b)
	}
	// A model trained on jittered copies of the two examples.
	var features []string
	vals := [2][]float64{}
	for k, raw := range [][]byte{benign, dos} {
		var m map[string]float64
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		for _, f := range atdFields {
			id, ok := canonicalID(f)
			if !ok {
				t.Fatalf("AtD field %s has no canonical ID", f)
			}
			if k == 0 {
				features = append(features, id)
			}
			vals[k] = append(vals[k], m[f])
		}
	}
	const n = 200
	x := ml.NewMatrix(n, len(features))
	y := make([]int, n)
	for i := range n {
		y[i] = i % 2
		for j, v := range vals[y[i]] {
			x.Data[i*len(features)+j] = v * (1 + float64(i%7-3)/100)
		}
	}
	o := gbdt.DefaultOptions()
	o.Rounds, o.Threads = 5, 1
	clf, err := gbdt.New(o).Fit(context.Background(), &ml.Dataset{X: x, Y: y, Classes: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	register(t, ts, "gbdt", clf, features, []string{"BENIGN", "DoS"}, 0)
	for want, body := range map[string][]byte{"DoS": dos, "BENIGN": benign} {
		code, _, b := do(t, "POST", ts.url+"/reports/", "application/json", bytes.NewReader(body), "")
		if code != 200 {
			t.Fatalf("%s: %d %s", want, code, b)
		}
		if got := decode[map[string][]string](t, b)["predictions"]; len(got) != 1 || got[0] != want {
			t.Fatalf("want [%s], got %s", want, b)
		}
	}
	// A missing field is a 400 naming the row.
	code, _, b = do(t, "POST", ts.url+"/reports/", "application/json", strings.NewReader(`{"flow_duration": 1}`), "")
	if code != 400 {
		t.Fatalf("missing fields: %d %s", code, b)
	}
}

// TestCompatMisuse: their k-NN (k=4, distance weights, cosine) trained on
// the matrix stored in their model predicts 3 for the README example.
func TestCompatMisuse(t *testing.T) {
	req := seed(t, "misuse-containers/readme_example_request.json")
	ts := start(t, Config{})
	code, _, b := do(t, "POST", ts.url+"/predict/", "application/json", bytes.NewReader(req), "")
	if code != 503 || !strings.Contains(string(b), "9-number") {
		t.Fatalf("without a fitting model: %d %s", code, b)
	}
	f, err := os.Open(shared(t, "data/seeds/misuse-containers/knn_v4_training_set_pca9.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Scan() // header
	var data []float64
	var y []int
	for sc.Scan() {
		fs := strings.Split(sc.Text(), ",")
		for _, v := range fs[:9] {
			x, _ := strconv.ParseFloat(v, 64)
			data = append(data, x)
		}
		l, _ := strconv.Atoi(fs[9])
		y = append(y, l)
	}
	x := &ml.Matrix{Rows: len(y), Cols: 9, Data: data}
	clf, err := knn.Trainer{K: 4, Metric: knn.Cosine, Weights: knn.Distance}.Fit(context.Background(), &ml.Dataset{X: x, Y: y, Classes: 12}, nil)
	if err != nil {
		t.Fatal(err)
	}
	classes := make([]string, 12)
	for i := range classes {
		classes[i] = strconv.Itoa(i)
	}
	register(t, ts, "knn", clf, []string{"pc1", "pc2", "pc3", "pc4", "pc5", "pc6", "pc7", "pc8", "pc9"}, classes, 0)
	code, _, b = do(t, "POST", ts.url+"/predict/", "application/json", bytes.NewReader(req), "")
	if code != 200 || strings.TrimSpace(string(b)) != `{"prediction": 3.0}` {
		t.Fatalf("%d %s", code, b)
	}
	code, _, b = do(t, "POST", ts.url+"/predict/", "application/json", strings.NewReader(`{"features": [1, 2]}`), "")
	if code != 503 {
		t.Fatalf("wrong length: %d %s", code, b)
	}
}

// TestCompatMLPT: no HTTP-event model exists; the answer says so.
func TestCompatMLPT(t *testing.T) {
	req := seed(t, "ml-pt/readme_example_request.json")
	ts := start(t, Config{})
	code, ct, b := do(t, "POST", ts.url+"/predict", "application/json", bytes.NewReader(req), "")
	if code != 503 || ct != "application/problem+json" || !strings.Contains(string(b), "HTTP-event") {
		t.Fatalf("%d %s %s", code, ct, b)
	}
}

// TestModelsActivate registers a model, activates it, and checks the
// current model and the scoring follow.
func TestModelsActivate(t *testing.T) {
	ts := start(t, Config{})
	x := ml.NewMatrix(40, 2)
	y := make([]int, 40)
	for i := range 40 {
		x.Data[2*i], x.Data[2*i+1] = float64(i), float64(i%3)
		y[i] = i / 20
	}
	o := gbdt.DefaultOptions()
	o.Rounds, o.Threads = 3, 1
	clf, err := gbdt.New(o).Fit(context.Background(), &ml.Dataset{X: x, Y: y, Classes: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := register(t, ts, "gbdt", clf, []string{"flow_duration", "tot_fwd_pkts"}, []string{"BENIGN", "Attack"}, 0)
	code, _, b := do(t, "POST", ts.url+"/v1/models/"+id+"/activate", "", nil, testToken)
	if code != 200 || !decode[ModelInfo](t, b).Active {
		t.Fatalf("activate: %d %s", code, b)
	}
	_, _, b = do(t, "GET", ts.url+"/v1/models/current", "", nil, "")
	if cur := decode[ModelInfo](t, b); cur.ID != id || len(cur.Features) != 2 {
		t.Fatalf("current: %s", b)
	}
	code, _, b = do(t, "POST", ts.url+"/v1/predict/flows", "application/json", strings.NewReader(`[{"Flow Duration": 35, "Tot Fwd Pkts": 1}]`), "")
	if code != 200 || decode[predictResp](t, b).Model != id {
		t.Fatalf("predict with the new model: %d %s", code, b)
	}
	_, _, b = do(t, "GET", ts.url+"/v1/models", "", nil, "")
	if n := len(decode[struct{ Models []ModelInfo }](t, b).Models); n != 2 {
		t.Fatalf("%d models listed: %s", n, b)
	}
}
