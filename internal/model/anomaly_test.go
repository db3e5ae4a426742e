package model

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/anomaly"
)

// anomalyData are the shared labelled data sets the anomaly detector is
// measured on, with the overall ROC-AUC each must beat (measured values
// minus a margin; see docs/NOTES.md for the per-class figures).
var anomalyData = []struct {
	name   string
	files  []string
	minAUC float64
}{
	{"cic-ids2017", []string{"data/flows/cic-ids2017/lccde-sample/CICIDS2017_sample.csv.gz"}, 0.65},
	{"cic-ids2017-all", []string{"data/flows/cic-ids2017/lccde-sample", "data/flows/cic-ids2017/machinelearningcve-heads",
		"data/flows/cic-ids2017/rdube-machinelearningcve-heads", "data/flows/cic-ids2017/trafficlabelling-attack-extracts",
		"data/flows/cic-ids2017/trafficlabelling-heads"}, 0.80},
	{"kubernetes", []string{"data/flows/k8s-misuse/benign/background_traffic_20230319T1802.pcap_Flow.csv.gz",
		"data/flows/k8s-misuse/malicious.csv.gz"}, 0.70},
}

// The CIC-IDS2017 sample holds few benign rows after deduplication (45
// test rows); "cic-ids2017-all" adds the benign-rich day heads the
// default model is trained on.

// TestAnomalySharedData trains the flow anomaly detector on the benign
// rows of the real CIC-IDS2017 sample and the Kubernetes misuse flows
// and checks the per-attack-class evaluation it reports.
func TestAnomalySharedData(t *testing.T) {
	for _, d := range anomalyData {
		t.Run(d.name, func(t *testing.T) {
			var files []string
			for _, f := range d.files {
				files = append(files, sharedFile(t, f))
			}
			res, err := Train(context.Background(), Config{Data: files, Algorithms: []string{AlgoIForest}, Params: Params{Seed: 1}})
			if err != nil {
				t.Fatal(err)
			}
			r := res.Anomaly
			if r == nil {
				t.Fatal("no anomaly report")
			}
			t.Logf("%s: %d test rows (%d benign); threshold %.4f; benign false-alert rate %.4f; overall ROC-AUC %.4f PR-AUC %.4f recall %.4f",
				d.name, r.Rows, r.BenignRows, r.Threshold, float64(r.FPR), float64(r.ROCAUC), float64(r.PRAUC), float64(r.Recall))
			t.Logf("%s", anomalyTable(r))
			if !(float64(r.ROCAUC) > d.minAUC) {
				t.Errorf("overall ROC-AUC %.4f, want > %.2f", float64(r.ROCAUC), d.minAUC)
			}
			want := map[string]bool{}
			for _, r := range res.TestRows {
				if l := res.Table.Labels[r]; l != res.Artifact.Schema.Classes[res.Artifact.Schema.Benign] {
					want[l] = true
				}
			}
			for _, c := range r.PerClass {
				if !want[c.Class] {
					t.Errorf("per-class row for %q, which has no attack test rows", c.Class)
				}
				delete(want, c.Class)
				if !c.ROCAUC.Defined() {
					t.Errorf("class %s: ROC-AUC undefined", c.Class)
				}
			}
			if len(want) > 0 {
				t.Errorf("attack classes missing from the per-class table: %v", want)
			}
			// The threshold is calibrated for FPR 1e-3 on benign validation
			// rows; allow a few false alerts where benign test rows are few.
			if f, lim := float64(r.FPR), max(0.01, 3/float64(r.BenignRows)); !(f <= lim) {
				t.Errorf("benign false-alert rate %.4f on test rows, want ≤ %.4f (calibrated for %g)", f, lim, r.TargetFPR)
			}
			// The artifact round-trips and scores the same.
			a := res.Artifact
			var buf bytes.Buffer
			if err := a.Write(&buf); err != nil {
				t.Fatal(err)
			}
			b, err := Read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if b.Version != 2 || len(b.Anomaly.Profiles) == 0 {
				t.Errorf("version %d, %d profiles", b.Version, len(b.Anomaly.Profiles))
			}
			z1, z2 := make([]float64, len(a.Schema.Features)), make([]float64, len(a.Schema.Features))
			for _, row := range res.TestRows[:50] {
				v1, v2 := a.ScoreAnomaly(res.Table.X.Row(row), z1), b.ScoreAnomaly(res.Table.X.Row(row), z2)
				if v1 != v2 {
					t.Fatalf("row %d: %+v before saving, %+v after", row, v1, v2)
				}
			}
		})
	}
}

func anomalyTable(r *AnomalyReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-28s %6s %8s %8s %8s\n", "class", "rows", "ROC-AUC", "PR-AUC", "recall")
	for _, c := range r.PerClass {
		fmt.Fprintf(&b, "%-28s %6d %8.4f %8.4f %8.4f\n", c.Class, c.Rows, float64(c.ROCAUC), float64(c.PRAUC), float64(c.Recall))
	}
	return b.String()
}

// smallAnomalyArtifact fits a tiny isolation forest on Gaussian rows and
// wraps it as an anomaly artifact, so loader tests need no files.
func smallAnomalyArtifact(t testing.TB) *Artifact {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	x := ml.NewMatrix(200, 3)
	for i := range x.Data {
		x.Data[i] = rng.NormFloat64()
	}
	f, err := anomaly.Fit(x, anomaly.Options{Trees: 3, SampleSize: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	a := &Artifact{Algorithm: AlgoIForest, Model: raw,
		Schema:     Schema{Features: []string{"a", "b", "c"}, Profile: "engelen", Classes: []string{"benign", "attack"}, Benign: 0},
		Preprocess: Preprocess{NaN: []float64{0, 0, 0}, PosInf: []float64{3, 3, 3}, NegInf: []float64{-3, -3, -3}},
		Threshold:  &Threshold{Value: 0.55, TargetFPR: 0.01},
		Anomaly: &Anomaly{Transform: TransformLog1p, Center: []float64{0, 0, 0}, Scale: []float64{1, 1, 1},
			Profiles: []Profile{{Centroid: []float64{0, 0, 0}, Size: 150, Radius: 2}, {Centroid: []float64{1, 1, 1}, Size: 50, Radius: 1}}}}
	if err := a.validate(); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAnomalyArtifact(t *testing.T) {
	a := smallAnomalyArtifact(t)
	good := encode(t, a)
	b, err := Read(bytes.NewReader(good))
	if err != nil {
		t.Fatalf("valid anomaly artifact rejected: %v", err)
	}
	if b.Version != 2 || !b.IsAnomalyModel() || b.Classifier() != nil {
		t.Errorf("version %d, anomaly %v", b.Version, b.IsAnomalyModel())
	}
	z := make([]float64, 3)
	far := b.ScoreAnomaly([]float64{40, -40, 40}, z)
	near := b.ScoreAnomaly([]float64{0.1, 0, -0.1}, z)
	if !(far.Score > near.Score) || !far.Alert || near.Alert || near.Profile != 0 || near.Radius != 2 {
		t.Errorf("far %+v, near %+v", far, near)
	}
	if _, d := far.Profile, far.Distance; !(d > 3) {
		t.Errorf("far row is %.3f from its nearest profile", d)
	}
	// A classifier artifact is still written as version 1.
	if c, err := Read(bytes.NewReader(encode(t, smallArtifact(t)))); err != nil || c.Version != 1 {
		t.Errorf("classifier artifact: version %v, %v", c, err)
	}
	sec := func(m map[string]any) map[string]any { return m["anomaly"].(map[string]any) }
	cases := map[string]struct {
		data []byte
		want string
	}{
		"no section":      {rewrite(t, good, func(m map[string]any) { delete(m, "anomaly") }), "no anomaly section"},
		"no threshold":    {rewrite(t, good, func(m map[string]any) { delete(m, "threshold") }), "no threshold"},
		"transform":       {rewrite(t, good, func(m map[string]any) { sec(m)["transform"] = "exec" }), `unknown transform "exec"`},
		"scale length":    {rewrite(t, good, func(m map[string]any) { sec(m)["scale"] = []float64{1} }), "1 scales for 3"},
		"zero scale":      {rewrite(t, good, func(m map[string]any) { sec(m)["scale"] = []float64{1, 0, 1} }), "scale 0"},
		"no profiles":     {rewrite(t, good, func(m map[string]any) { sec(m)["profiles"] = []any{} }), "no normal profiles"},
		"short centroid":  {rewrite(t, good, func(m map[string]any) { sec(m)["profiles"] = []any{map[string]any{"centroid": []float64{1}}} }), "1 values for 3"},
		"negative radius": {rewrite(t, good, func(m map[string]any) { sec(m)["profiles"].([]any)[0].(map[string]any)["radius"] = -1 }), "radius -1"},
		"broken forest":   {rewrite(t, good, func(m map[string]any) { m["model"].(map[string]any)["trees"] = []any{map[string]any{"nodes": []any{}}} }), "no nodes"},
		"forest width":    {rewrite(t, good, func(m map[string]any) { m["model"].(map[string]any)["features"] = 4 }), "reads 4 features"},
		"no benign":       {rewrite(t, good, func(m map[string]any) { m["schema"].(map[string]any)["benign_class"] = -1 }), "no benign class"},
		"on a classifier": {rewrite(t, encode(t, smallArtifact(t)), func(m map[string]any) { m["anomaly"] = sec(rewriteMap(t, good)) }), "has an anomaly section"},
		"newer version":   {rewrite(t, good, func(m map[string]any) { m["version"] = 3 }), "version 3"},
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

// rewriteMap decodes an encoded artifact into a map.
func rewriteMap(t testing.TB, data []byte) map[string]any {
	var out map[string]any
	rewrite(t, data, func(m map[string]any) { out = m })
	return out
}
