package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/events"
)

// wafEvents makes ML-PT-like WAF events: a few kinds of matches, each
// with its own variable and value alphabet.
func wafEvents(n int) []*events.Event {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []struct{ src, name, value string }{
		{"REQUEST_URI", "", "/tmp/%d.php.vob"},
		{"REQUEST_GET_ARGS", "url", "http://www.example%d.gr/?option=com_k2"},
		{"REQUEST_ARGS", "id", "%d' union select 1--"},
	}
	evs := make([]*events.Event, n)
	for i := range evs {
		k := kinds[i%len(kinds)]
		evs[i] = &events.Event{ClientIP: fmt.Sprintf("10.0.%d.%d", rng.IntN(4), rng.IntN(250)), UserAgent: "Mozilla/5.0",
			RequestSize: int64(150 + rng.IntN(300)), ResponseCode: []int{200, 302, 404}[i%3],
			MatchedSrc: k.src, MatchedName: k.name, MatchedValue: fmt.Sprintf(k.value, rng.IntN(1000)),
			Path: "/", EventID: fmt.Sprint(i)}
	}
	return evs
}

func eventsModel(t *testing.T) *events.Model {
	t.Helper()
	m, err := events.Fit(wafEvents(900), events.ModelOptions{Algo: events.AlgoHDBSCAN, MinClusterSize: 20, MinSamples: 10,
		Featurizer: events.Featurizer{Components: 8}})
	if err != nil {
		t.Fatal(err)
	}
	// Through a file, as serve --events-model loads it.
	p := filepath.Join(t.TempDir(), "events.model")
	if err := events.SaveModel(m, p); err != nil {
		t.Fatal(err)
	}
	if m, err = LoadEventsModel(p); err != nil {
		t.Fatal(err)
	}
	if len(m.Clusters) == 0 {
		t.Fatal("no clusters in the synthetic WAF events")
	}
	return m
}

// TestMLPTPredict replays ML-PT's README request against an events model:
// the response has the README response's shape and EVENT_IDs (the
// cluster ids depend on the model).
func TestMLPTPredict(t *testing.T) {
	req := seed(t, "ml-pt/readme_example_request.json")
	var want []map[string]any
	if err := json.Unmarshal(seed(t, "ml-pt/readme_example_response.json"), &want); err != nil {
		t.Fatal(err)
	}
	m := eventsModel(t)
	ts := start(t, Config{EventsModel: m})
	code, ct, b := do(t, "POST", ts.url+"/predict", "application/json", bytes.NewReader(req), "")
	if code != 200 || ct != "application/json" {
		t.Fatalf("%d %s %s", code, ct, b)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d answers, want %d: %s", len(got), len(want), b)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) || got[i]["EVENT_ID"] != want[i]["EVENT_ID"] {
			t.Errorf("answer %d: %v, want the keys and EVENT_ID of %v", i, got[i], want[i])
		}
		l, ok := got[i]["LABEL_PRED"].(float64)
		if !ok || l != float64(int(l)) || l < -1 || int(l) >= len(m.Clusters) {
			t.Errorf("answer %d: LABEL_PRED %v is not a cluster id of the model", i, got[i]["LABEL_PRED"])
		}
	}

	for _, c := range []struct{ ct, body string }{
		{"text/plain", string(req)},
		{"application/json", "not json"},
	} {
		code, _, b := do(t, "POST", ts.url+"/predict", c.ct, strings.NewReader(c.body), "")
		if code != 415 || strings.TrimSpace(string(b)) != `{"error":"Request must be JSON"}` {
			t.Errorf("%s %q: %d %s, want 415 Request must be JSON", c.ct, c.body, code, b)
		}
	}
	code, _, b = do(t, "POST", ts.url+"/predict", "application/json", strings.NewReader(`{"data": 1}`), "")
	if code != 500 || !strings.Contains(string(b), `"error"`) {
		t.Errorf("object body: %d %s, want a 500 error", code, b)
	}
}

func TestLoadEventsModelNeedsClusters(t *testing.T) {
	m, err := events.Fit(wafEvents(300), events.ModelOptions{Featurizer: events.Featurizer{Components: 4}})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "events.model")
	if err := events.SaveModel(m, p); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadEventsModel(p); err == nil || !strings.Contains(err.Error(), "does not cluster") {
		t.Errorf("scoring-only model: %v", err)
	}
}
