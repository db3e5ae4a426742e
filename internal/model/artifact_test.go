package model

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/gbdt"
)

// smallArtifact trains a tiny GBDT on a separable problem and wraps it as
// an artifact, so loader tests need no files.
func smallArtifact(t testing.TB) *Artifact {
	t.Helper()
	x := ml.NewMatrix(200, 3)
	y := make([]int, 200)
	for i := range 200 {
		x.Data[i*3], x.Data[i*3+1], x.Data[i*3+2] = float64(i%17), float64(i), float64(i%5)
		if i%17 > 8 {
			y[i] = 1
		}
	}
	o := gbdt.DefaultOptions()
	o.Rounds, o.Threads = 5, 1
	clf, err := gbdt.New(o).Fit(context.Background(), &ml.Dataset{X: x, Y: y, Classes: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(clf)
	if err != nil {
		t.Fatal(err)
	}
	return &Artifact{Algorithm: "gbdt", Model: raw, clf: clf,
		Schema:     Schema{Features: []string{"a", "b", "c"}, Profile: "engelen", Classes: []string{"benign", "attack"}, Benign: 0},
		Preprocess: Preprocess{NaN: []float64{0, 0, 0}, PosInf: []float64{16, 199, 4}, NegInf: []float64{0, 0, 0}},
		Threshold:  &Threshold{Value: 0.5, TargetFPR: 0.01}}
}

func encode(t testing.TB, a *Artifact) []byte {
	var b bytes.Buffer
	if err := a.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rewrite decodes an artifact's JSON, lets edit change it, and re-encodes.
func rewrite(t testing.TB, data []byte, edit func(map[string]any)) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.NewDecoder(zr).Decode(&m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	json.NewEncoder(zw).Encode(m)
	zw.Close()
	return b.Bytes()
}

func TestArtifactRejects(t *testing.T) {
	good := encode(t, smallArtifact(t))
	if _, err := Read(bytes.NewReader(good)); err != nil {
		t.Fatalf("valid artifact rejected: %v", err)
	}
	cases := map[string]struct {
		data []byte
		want string
	}{
		"not gzip":      {[]byte("import os; os.system('rm -rf /')"), "not a flowguard model"},
		"other format":  {rewrite(t, good, func(m map[string]any) { m["format"] = "pickle" }), `format "pickle"`},
		"newer version": {rewrite(t, good, func(m map[string]any) { m["version"] = 99 }), "version 99"},
		"unknown algo":  {rewrite(t, good, func(m map[string]any) { m["algorithm"] = "exec" }), `unknown algorithm "exec"`},
		"feature count": {rewrite(t, good, func(m map[string]any) { m["schema"].(map[string]any)["features"] = []string{"a", "b"} }), "preprocess has"},
		"class count":   {rewrite(t, good, func(m map[string]any) { m["schema"].(map[string]any)["classes"] = []string{"x", "y", "z"} }), "into 2 classes"},
		"benign range":  {rewrite(t, good, func(m map[string]any) { m["schema"].(map[string]any)["benign_class"] = 5 }), "benign class 5"},
		"broken trees":  {rewrite(t, good, func(m map[string]any) { m["model"].(map[string]any)["trees"] = []any{map[string]any{"nodes": 3}} }), "model data"},
		"no model":      {rewrite(t, good, func(m map[string]any) { delete(m, "model") }), "no model data"},
		"nan threshold": {rewrite(t, good, func(m map[string]any) { m["threshold"].(map[string]any)["value"] = "NaN" }), "decode model"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestColumnsNameMissing(t *testing.T) {
	a := smallArtifact(t)
	if _, err := a.Columns([]string{"c", "a", "zz"}); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "[b]") {
		t.Errorf("want a schema error naming b, got %v", err)
	}
	cols, err := a.Columns([]string{"c", "b", "a"})
	if err != nil || cols[0] != 2 || cols[1] != 1 || cols[2] != 0 {
		t.Errorf("columns %v, %v", cols, err)
	}
	x := []float64{math.NaN(), math.Inf(1), math.Inf(-1)}
	a.Clean(x)
	if x[0] != 0 || x[1] != 199 || x[2] != 0 {
		t.Errorf("clean gave %v", x)
	}
}

// FuzzRead: no byte string makes the loader panic, and whatever it
// accepts predicts without panicking.
func FuzzRead(f *testing.F) {
	good := encode(f, smallArtifact(f))
	f.Add(good)
	f.Add(rewrite(f, good, func(m map[string]any) { m["schema"].(map[string]any)["features"] = []string{} }))
	f.Add(encode(f, smallAnomalyArtifact(f)))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		use(a)
	})
}

// FuzzModelJSON mutates the JSON inside a valid artifact (the part a
// hostile file would target) rather than its gzip bytes.
func FuzzModelJSON(f *testing.F) {
	a := smallArtifact(f)
	f.Add([]byte(a.Model))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // not a JSON value: the encoder, not the loader, would refuse it
		}
		b := *a
		b.Model = raw
		data := encode(t, &b)
		if c, err := Read(bytes.NewReader(data)); err == nil {
			use(c)
		}
	})
}

// FuzzAnomalyJSON mutates the anomaly section and the forest of a valid
// anomaly artifact: whatever loads must score without panicking.
func FuzzAnomalyJSON(f *testing.F) {
	a := smallAnomalyArtifact(f)
	sec, err := json.Marshal(a.Anomaly)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sec, []byte(a.Model))
	f.Fuzz(func(t *testing.T, section, forest []byte) {
		var s Anomaly
		if json.Unmarshal(section, &s) != nil || !json.Valid(forest) {
			return
		}
		b := *a
		b.Anomaly, b.Model = &s, forest
		if c, err := Read(bytes.NewReader(encode(t, &b))); err == nil {
			use(c)
		}
	})
}

// use scores one row with a loaded artifact, whichever kind it is.
func use(a *Artifact) {
	n := len(a.Schema.Features)
	if a.IsAnomalyModel() {
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(i) - 1
		}
		a.ScoreAnomaly(x, make([]float64, n))
		return
	}
	out := make([]float64, a.Classifier().NumClasses())
	a.Classifier().PredictProba(make([]float64, a.Classifier().NumFeatures()), out)
}
