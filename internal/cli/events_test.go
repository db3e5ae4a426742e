package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeQueries writes n normal-looking shop URLs, one per line (FWAF's
// format), then the extra lines.
func writeQueries(t *testing.T, path string, n int, seed uint64, extra ...string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 2))
	words := []string{"vino", "rioja", "queso", "aceite", "pan", "leche"}
	pages := []string{"/shop/item.jsp", "/shop/cart.jsp", "/shop/pay.jsp"}
	var b strings.Builder
	for range n {
		fmt.Fprintf(&b, "%s?id=%d&name=%s+%s&qty=%d\n", pages[rng.IntN(len(pages))], rng.IntN(500),
			words[rng.IntN(len(words))], words[rng.IntN(len(words))], 1+rng.IntN(9))
	}
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

type scoreLine struct {
	File    string  `json:"file"`
	Line    int     `json:"line"`
	Score   float64 `json:"score"`
	Label   string  `json:"label"`
	Cluster int     `json:"cluster"`
}

func readScores(t *testing.T, out string) []scoreLine {
	t.Helper()
	var res []scoreLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l scoreLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("score line %q: %v", sc.Text(), err)
		}
		res = append(res, l)
	}
	return res
}

func TestEventsFitScore(t *testing.T) {
	dir := t.TempDir()
	train, test, model := filepath.Join(dir, "train.txt"), filepath.Join(dir, "test.txt"), filepath.Join(dir, "m.model")
	writeQueries(t, train, 1500, 1)
	attacks := []string{"/shop/item.jsp?id=1'+or+'1'='1&name=vino&qty=1", "/shop/cart.jsp?id=3&name=<script>alert(1)</script>&qty=2", "/shop/pay.jsp?id=../../etc/passwd&name=pan&qty=1"}
	writeQueries(t, test, 50, 2, attacks...)

	out, stderr, code := run(t, nil, "events", "fit", "--data", train, "--format", "lines", "-o", model)
	if code != 0 {
		t.Fatalf("events fit: %s", stderr)
	}
	if !strings.Contains(out, "params model (params scorer) of 1500 events") || !strings.Contains(stderr, "1500 events (lines)") {
		t.Errorf("summary %q, progress %q", out, stderr)
	}
	out, stderr, code = run(t, nil, "events", "score", "--model", model, "--data", test)
	if code != 0 {
		t.Fatalf("events score: %s", stderr)
	}
	res := readScores(t, out)
	if len(res) != 53 {
		t.Fatalf("%d score lines, want 53", len(res))
	}
	normal := 0
	for i, r := range res {
		if r.Line != i+1 || r.File != test {
			t.Fatalf("line %d: %+v out of input order", i+1, r)
		}
		if i < 50 && r.Label == "normal" {
			normal++
		}
		if i >= 50 && r.Label != "anomaly" {
			t.Errorf("attack %q: %+v", attacks[i-50], r)
		}
	}
	if normal < 45 {
		t.Errorf("%d of 50 normal lines labelled normal", normal)
	}
}

func TestEventsClusterNames(t *testing.T) {
	dir := t.TempDir()
	train, model, names := filepath.Join(dir, "train.txt"), filepath.Join(dir, "m.model"), filepath.Join(dir, "names.csv")
	writeQueries(t, train, 1500, 3)
	if err := os.WriteFile(names, []byte("cluster,name\n0,SHOP\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, nil, "events", "fit", "--data", train, "--format", "fwaf", "--algo", "hdbscan", "--min-cluster-size", "20", "--min-samples", "10", "--labels", names, "-o", model)
	if code != 0 {
		t.Fatalf("events fit: %s", stderr)
	}
	if !strings.Contains(out, "clusters,") || !strings.Contains(out, "SHOP") {
		t.Errorf("no cluster summary with the analyst's name: %q", out)
	}
	out, stderr, code = run(t, nil, "events", "score", "--model", model, "--data", train)
	if code != 0 {
		t.Fatalf("events score: %s", stderr)
	}
	res := readScores(t, out)
	if len(res) != 1500 {
		t.Fatalf("%d score lines", len(res))
	}
	named := map[string]int{}
	for _, r := range res {
		named[r.Label]++
	}
	if named["SHOP"] == 0 {
		t.Errorf("labels %v: cluster 0 not named SHOP", named)
	}

	if _, stderr, code := run(t, nil, "events", "fit", "--data", train, "--algo", "svm", "-o", model); code == 0 || !strings.Contains(stderr, "unknown algorithm") {
		t.Errorf("unknown algorithm: exit %d, %q", code, stderr)
	}
}
