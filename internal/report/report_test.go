package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/report.golden.html")

// smallData is a fixed three-class report touching every section.
func smallData() *Data {
	nan := math.NaN()
	return &Data{
		Title:     "Golden report",
		Generated: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Model:     "gbdt",
		Protocol: []KV{
			{"Data sources", "golden.csv"},
			{"Split", "stratified 80/20, seed 1"},
			{"Excluded columns", "Flow ID, Src IP"},
		},
		Notes:     []string{"Synthetic data."},
		Classes:   []string{"BENIGN", "DoS", "Bot"},
		Benign:    0,
		Confusion: [][]int{{980, 15, 5}, {3, 97, 0}, {2, 1, 5}},
		PerClass: []ClassMetrics{
			{"BENIGN", 0.995, 0.98, 0.9874, 1000},
			{"DoS", 0.8584, 0.97, 0.9108, 100},
			{"Bot", 0.5, 0.625, 0.5556, 8},
		},
		MacroF1: 0.8179, WeightedF1: 0.9781, Accuracy: 0.9747, ROCAUC: 0.97, PRAUC: nan,
		ROC: []Curve{
			{Name: "BENIGN", Points: [][2]float64{{0, 0}, {0.01, 0.9}, {0.2, 0.99}, {1, 1}}, AUC: 0.99},
			{Name: "DoS", Points: [][2]float64{{0, 0}, {0.001, 0.5}, {0.05, 0.97}, {1, 1}}, AUC: 0.98},
			{Name: "attack vs benign", Points: [][2]float64{{0, 0.2}, {0.02, 0.95}, {1, 1}}, AUC: 0.985},
		},
		PR: []Curve{
			{Name: "DoS", Points: [][2]float64{{0, 1}, {0.5, 0.95}, {0.97, 0.86}, {1, 0.1}}, AUC: 0.9},
			{Name: "Bot", Points: [][2]float64{{0, nan}, {0.625, 0.5}, {1, 0.01}}, AUC: nan},
		},
		AttackFPR: 0.02,
		RecallAtFPR: []RecallAtFPR{
			{FPR: 1e-2, Recall: 0.9, Resolvable: true},
			{FPR: 1e-3, Recall: 0.5, Resolvable: false},
		},
		FlowRate:                  100,
		ExpectedFalseAlertsPerDay: FalseAlertsPerDay(0.02, 100),
		Threshold:                 &Threshold{Value: 0.5, TargetFPR: 1e-2},
		FeatureImportance: []Importance{
			{"Flow Duration", 0.5}, {"Fwd Packets", 0.3}, {"Bwd Packets", 0.2}, {"Flow Bytes/s", nan},
		},
		ImportanceMethod: "split gain",
		Correlation: &CorrelationMatrix{
			Names:  []string{"Flow Duration", "Fwd Packets", "Bwd Packets"},
			Values: [][]float64{{1, 0.8, -0.3}, {0.8, 1, nan}, {-0.3, nan, nan}},
			Rows:   1108, Source: "test split",
		},
		PCA: &PCA{
			Points:            [][2]float32{{-1, 0.5}, {0, 0}, {1.5, -0.5}, {2, 1}, {-0.5, -1}},
			Labels:            []int{0, 0, 1, 1, 2},
			ExplainedVariance: [2]float64{0.6, 0.25},
			Rows:              1108, FitRows: 1108, Balanced: true, Source: "test split",
		},
		Comparison: []Comparison{
			{"k-NN", "k=5", 0.7, 0.02, 0.95, 0.8, 2, 5000, 2},
			{"gbdt", "rounds=100", 0.82, nan, 0.98, 0.9, 30, 1e6, 1},
		},
		ComparisonProtocol: "3-fold CV on the training split.",
	}
}

func render(t *testing.T, d *Data) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestGolden pins the whole page for a small fixed input; run with
// -update after an intended change and look at the diff.
func TestGolden(t *testing.T) {
	got := render(t, smallData())
	path := filepath.Join("testdata", "report.golden.html")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("differs from %s at line %d:\ngot  %.300s\nwant %.300s\n(run with -update if intended)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("differs from %s in length: %d lines, want %d (run with -update if intended)", path, len(gl), len(wl))
	}
}

// TestGoldenContent checks what the golden file must say, so that an
// -update cannot quietly bless a report that lost its honesty.
func TestGoldenContent(t *testing.T) {
	out := render(t, smallData())
	for _, want := range []string{
		"Evaluation protocol", "Excluded columns", "Flow ID, Src IP", "1,108", // test rows
		"Fewer than 10 test rows for Bot (8)",
		"Recall at FPR 10⁻³ (1 in 1,000) is not resolvable",
		"Not computable on this test set: PR AUC",
		"Synthetic data.",
		`id="confusion"`, `id="classes"`, `id="curves"`, `id="importance"`, `id="correlation"`, `id="pca"`, `id="comparison"`,
		"few rows", "n/a", "172,800", // false alerts per day: 0.02 × 100 × 86,400
		"class-balanced", "1,108 rows of the test split",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Sorted by rank: gbdt (1) before k-NN (2).
	if strings.Index(out, ">gbdt<") > strings.Index(out, ">k-NN<") {
		t.Error("comparison table is not sorted by rank")
	}
	if strings.Contains(out, "<script") {
		t.Error("report contains a script element; it must read without JavaScript")
	}
	// The SVG namespace is the one URL allowed: it is an identifier.
	if strings.Count(out, "://") != strings.Count(out, "http://www.w3.org/2000/svg") {
		t.Error("report refers to an external URL")
	}
	for _, ext := range []string{"@import", "url(", "<link", " src="} {
		if strings.Contains(out, ext) {
			t.Errorf("report loads an external resource (%q)", ext)
		}
	}
}

// TestEscaping feeds markup through every string field: all of it must
// come out as text.
func TestEscaping(t *testing.T) {
	const evil = `<script>alert(1)</script>`
	const attr = `x" onmouseover="alert(2)`
	const img = `<img src=x onerror=alert(3)>`
	d := smallData()
	d.Title = evil
	d.Model = evil
	d.Protocol = append(d.Protocol, KV{evil, img})
	d.Notes = []string{img}
	d.Classes = []string{evil, attr, img}
	for i := range d.PerClass {
		d.PerClass[i].Name = d.Classes[i]
	}
	d.ROC[0].Name, d.ROC[1].Name, d.ROC[2].Name = evil, attr, img
	d.PR[0].Name = attr
	d.FeatureImportance[0].Name = evil
	d.FeatureImportance[1].Name = attr
	d.Correlation.Names = []string{evil, attr, img}
	d.Comparison[0].Algorithm, d.Comparison[0].Params = evil, attr
	d.ImportanceMethod = img
	d.ComparisonProtocol = evil
	out := render(t, d)
	for _, bad := range []string{"<script", "<img", `" onmouseover="`, "</script>"} {
		if strings.Contains(out, bad) {
			i := strings.Index(out, bad)
			t.Errorf("unescaped %q in output: …%s…", bad, out[max(0, i-80):min(len(out), i+80)])
		}
	}
	if !strings.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the escaped class name is missing: names must still be shown")
	}
}

// TestDegenerate renders inputs at the edges: nothing may panic or fail,
// and absent data leaves its section out.
// TestAnomalyWording renders an anomaly detector's report: no confusion
// matrix or F1 averages (it predicts no class, so they are not "not
// computable on this test set" either), its threshold called an
// anomaly-score cut, its curves each attack class against benign.
func TestAnomalyWording(t *testing.T) {
	nan := math.NaN()
	d := smallData()
	d.Anomaly, d.Confusion, d.Comparison = true, nil, nil
	d.MacroF1, d.WeightedF1, d.Accuracy, d.PRAUC = nan, nan, nan, 0.9
	html := render(t, d)
	for _, want := range []string{"anomaly-score cut chosen for FPR", "each attack class against the benign rows",
		"benign rows flagged as anomalous", "An anomaly detector names no class"} {
		if !strings.Contains(html, want) {
			t.Errorf("anomaly report lacks %q", want)
		}
	}
	for _, bad := range []string{`id="confusion"`, "Macro average", "Macro F1", "P(attack)", "Not computable on this test set"} {
		if strings.Contains(html, bad) {
			t.Errorf("anomaly report shows %q", bad)
		}
	}
	// The classifier page keeps all of them.
	html = render(t, smallData())
	for _, want := range []string{`id="confusion"`, "Macro average", "Macro F1", "P(attack)"} {
		if !strings.Contains(html, want) {
			t.Errorf("classifier report lacks %q", want)
		}
	}
}

func TestDegenerate(t *testing.T) {
	nan := math.NaN()
	cases := map[string]*Data{
		"zero":       {},
		"no benign":  {Classes: []string{"a", "b"}, Benign: -1, Confusion: [][]int{{1, 0}, {0, 1}}, AttackFPR: nan},
		"benign out": {Classes: []string{"a", "b"}, Benign: 7},
		"two classes, NaN metrics": {
			Classes: []string{"BENIGN", "attack"}, Benign: 0,
			Confusion: [][]int{{10, 0}, {0, 0}},
			PerClass:  []ClassMetrics{{"BENIGN", nan, nan, nan, 10}, {"attack", nan, nan, nan, 0}},
			MacroF1:   nan, WeightedF1: nan, Accuracy: nan, ROCAUC: nan, PRAUC: nan, AttackFPR: nan,
			RecallAtFPR: []RecallAtFPR{{FPR: 1e-4, Recall: nan}},
			FlowRate:    10, ExpectedFalseAlertsPerDay: nan,
			Threshold: &Threshold{Value: nan, TargetFPR: nan},
		},
		"ragged confusion": {
			Classes: []string{"a", "b", "c"}, Benign: 0,
			Confusion: [][]int{{1}, {0, 2, 3, 4}},
			PerClass:  []ClassMetrics{{"zzz", 1, 1, 1, 1}},
		},
		"empty curves": {
			Classes: []string{"a", "b"}, Benign: 0,
			ROC: []Curve{{Name: "a"}, {Name: "b", Points: [][2]float64{}}},
			PR:  []Curve{{Name: "a", Points: [][2]float64{{nan, nan}}}},
		},
		"single-point curves": {
			Classes: []string{"a", "b"}, Benign: 0,
			ROC: []Curve{{Name: "a", Points: [][2]float64{{0, 0}}}},
			PR:  []Curve{{Name: "zzz", Points: [][2]float64{{1, 1}}}},
		},
		"one feature": {
			Classes:           []string{"a", "b"},
			FeatureImportance: []Importance{{"only", 0}},
			Correlation:       &CorrelationMatrix{Names: []string{"only"}, Values: [][]float64{{nan}}},
			PCA:               &PCA{Points: [][2]float32{{0, 0}}, Labels: []int{0}},
		},
		"nan importance, negative values": {
			FeatureImportance: []Importance{{"a", nan}, {"b", -0.2}, {"c", 0.1}},
		},
		"pca labels outside classes": {
			Classes: []string{"a"},
			PCA:     &PCA{Points: [][2]float32{{0, 0}, {1, 1}, {2, 2}}, Labels: []int{-3, 0, 9}},
		},
		"pca without labels": {PCA: &PCA{Points: [][2]float32{{0, 0}, {1, 1}}}},
		"pca labels short":   {Classes: []string{"a"}, PCA: &PCA{Points: [][2]float32{{0, 0}, {1, 1}}, Labels: []int{0}}},
		"comparison only":    {Comparison: []Comparison{{Algorithm: "x", MacroF1Mean: nan, TrainSeconds: nan, PredictRowsPerSec: nan}}},
	}
	for name, d := range cases {
		t.Run(name, func(t *testing.T) {
			out := render(t, d)
			var j bytes.Buffer
			if err := WriteJSON(&j, d); err != nil {
				t.Fatal(err)
			}
			if !json.Valid(j.Bytes()) {
				t.Fatal("invalid JSON")
			}
			for id, present := range map[string]bool{
				"pca":         d.PCA != nil,
				"correlation": d.Correlation != nil,
				"curves":      hasPoints(d.ROC) || hasPoints(d.PR),
				"comparison":  len(d.Comparison) > 0,
			} {
				if got := strings.Contains(out, `id="`+id+`"`); got != present {
					t.Errorf("section %s shown: %v, want %v", id, got, present)
				}
			}
		})
	}
	out := render(t, cases["two classes, NaN metrics"])
	for _, want := range []string{"n/a", "No test rows for attack", "Not computable on this test set: accuracy, macro F1"} {
		if !strings.Contains(out, want) {
			t.Errorf("NaN case lacks %q", want)
		}
	}
	if strings.Contains(out, "NaN") {
		t.Error(`NaN case shows "NaN"; want n/a`)
	}
	if out := render(t, cases["no benign"]); !strings.Contains(out, "No benign class") {
		t.Error("report without a benign class does not say so")
	}
}

// TestManyClasses checks that 15 classes get 15 distinct looks.
func TestManyClasses(t *testing.T) {
	st := classStyles(15, 4)
	seen := map[style]bool{}
	for _, s := range st {
		if seen[s] {
			t.Fatalf("style %+v used twice", s)
		}
		seen[s] = true
	}
	if st[4].colour != benignColour {
		t.Error("benign is not grey")
	}
}

func TestJSONNaN(t *testing.T) {
	d := smallData()
	var b bytes.Buffer
	if err := WriteJSON(&b, d); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if v, ok := back["pr_auc"]; !ok || v != nil {
		t.Errorf("pr_auc = %v (present %v), want null", v, ok)
	}
	if back["macro_f1"] != 0.8179 {
		t.Errorf("macro_f1 = %v", back["macro_f1"])
	}
	corr := back["correlation"].(map[string]any)["values"].([]any)
	if corr[1].([]any)[2] != nil {
		t.Error("NaN correlation not written as null")
	}
	if !strings.Contains(b.String(), `"generated": "2025-01-02T03:04:05Z"`) {
		t.Error("time not written in RFC 3339")
	}
	// Field order follows the struct, as with encoding/json.
	if strings.Index(b.String(), `"title"`) > strings.Index(b.String(), `"classes"`) {
		t.Error("fields out of struct order")
	}
}

// TestJSONMatchesEncoding checks that without NaNs the output is exactly
// encoding/json's, so the NaN handling changes nothing else.
func TestJSONMatchesEncoding(t *testing.T) {
	d := smallData()
	d.PRAUC = 0.5
	d.PR[1].Points[0][1] = 1
	d.PR[1].AUC = 0.4
	d.Correlation.Values[1][2], d.Correlation.Values[2][1], d.Correlation.Values[2][2] = 0, 0, 1
	d.FeatureImportance[3].Value = 0
	d.Comparison[1].MacroF1Std = 0.01
	d.Notes = nil // omitempty
	var b bytes.Buffer
	if err := WriteJSON(&b, d); err != nil {
		t.Fatal(err)
	}
	want, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want)+"\n" {
		t.Errorf("WriteJSON differs from encoding/json:\n%s\nwant\n%s", b.String(), want)
	}
}

func TestResolvable(t *testing.T) {
	for _, c := range []struct {
		fpr  float64
		rows int
		want bool
	}{
		{1e-3, 10000, true}, {1e-3, 9999, false}, {1e-4, 45210, false}, {1e-4, 100000, true}, {0, 1 << 30, false},
	} {
		if got := Resolvable(c.fpr, c.rows); got != c.want {
			t.Errorf("Resolvable(%g, %d) = %v", c.fpr, c.rows, got)
		}
	}
	if got := FalseAlertsPerDay(1e-4, 1000); math.Abs(got-8640) > 1e-9 {
		t.Errorf("FalseAlertsPerDay = %g, want 8640", got)
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{percent(2559.0 / 2560), "99.96%"},
		{percent(99999.0 / 100000), ">99.99%"},
		{percent(1), "100.0%"},
		{percent(0.00084), "0.084%"},
		{percent(math.NaN()), "n/a"},
		{thousands(-1234567), "-1,234,567"},
		{thousands(999), "999"},
		{compact(45210), "45k"},
		{compact(9949), "9.9k"},
		{compact(1_250_000), "1.2M"},
		{rate(1e-4), "10⁻⁴ (1 in 10,000)"},
		{rate(2.2e-4), "0.00022 (1 in 4,545)"},
		{rate(1), "1"},
		{signed(-0.412), "−0.41"},
		{signed(-0.001), "0.00"},
		{duration(0.25), "250 ms"},
		{duration(245), "4 min 05 s"},
		{metric(math.Inf(1)), "n/a"},
		{sig(145152.3), "145,152"},
		{sig(0.04567), "0.0457"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	var labels []string
	for _, tk := range niceTicks(-0.3, 1.05, 5) {
		labels = append(labels, tk.label)
	}
	if got := strings.Join(labels, " "); got != "−0.2 0 0.2 0.4 0.6 0.8 1.0" {
		t.Errorf("niceTicks = %s", got)
	}
	labels = labels[:0]
	for _, tk := range coverTicks(0, 1.29, 5) {
		labels = append(labels, tk.label)
	}
	if got := strings.Join(labels, " "); got != "0 0.2 0.4 0.6 0.8 1.0 1.2 1.4" {
		t.Errorf("coverTicks = %s", got)
	}
}

// TestSimplify checks that curve simplification keeps the corners of a
// staircase and drops collinear points.
func TestSimplify(t *testing.T) {
	var pts [][2]float64
	for i := range 100 {
		pts = append(pts, [2]float64{float64(i), 0})
	}
	for i := range 100 {
		pts = append(pts, [2]float64{99, float64(i + 1)})
	}
	var kept [][2]float64
	for i, k := range simplify(pts, 0.33) {
		if k {
			kept = append(kept, pts[i])
		}
	}
	want := [][2]float64{{0, 0}, {99, 0}, {99, 100}}
	if len(kept) != len(want) {
		t.Fatalf("kept %v, want %v", kept, want)
	}
	for i := range want {
		if kept[i] != want[i] {
			t.Fatalf("kept %v, want %v", kept, want)
		}
	}
}
