package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/store/storetest"
)

const testToken = "s3cret"

// shared returns a file under ../shared beside the checkout (or
// $FLOWGUARD_SHARED), skipping the test when the shared data is absent.
func shared(t testing.TB, rel string) string {
	t.Helper()
	root := os.Getenv("FLOWGUARD_SHARED")
	if root == "" {
		root = "../../../shared"
	}
	p := filepath.Join(root, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data absent (%s): %v", p, err)
	}
	return p
}

// storeURL is a fresh schema on the test PostgreSQL server when there is
// one (always on CI), else SQLite in dir.
func storeURL(t testing.TB, dir string) string {
	if u := storetest.PostgresURL(t); u != "" {
		return u
	}
	return "sqlite:" + filepath.Join(dir, "flowguard.db")
}

type testServer struct {
	*Server
	url  string
	stop func()
}

// start runs a server on a loopback port until the test ends.
func start(t testing.TB, cfg Config) *testServer {
	t.Helper()
	dir := t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	if cfg.StoreURL == "" {
		cfg.StoreURL = storeURL(t, dir)
	}
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = filepath.Join(dir, "spool")
	}
	if cfg.Token == "" && !cfg.NoAuth {
		cfg.Token = testToken
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once bool
	stop := func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	t.Cleanup(stop)
	return &testServer{Server: s, url: "http://" + s.Addr(), stop: stop}
}

// do sends a request and returns the status, content type and body.
func do(t testing.TB, method, url, ct string, body io.Reader, token string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// waitJob polls a job until it is done or failed.
func waitJob(t testing.TB, base, id string) JobInfo {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		code, _, b := do(t, "GET", base+"/v1/jobs/"+id, "", nil, "")
		if code != 200 {
			t.Fatalf("job status %d: %s", code, b)
		}
		j := decode[JobInfo](t, b)
		if j.State == "done" || j.State == "failed" {
			return j
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("job %s did not finish", id)
	return JobInfo{}
}

func TestHealthReadyMetricsOpenAPI(t *testing.T) {
	ts := start(t, Config{})
	for _, p := range []string{"/healthz", "/readyz", "/v1/openapi.json", "/v1/models/current"} {
		if code, _, b := do(t, "GET", ts.url+p, "", nil, ""); code != 200 {
			t.Errorf("%s: %d %s", p, code, b)
		}
	}
	_, _, b := do(t, "GET", ts.url+"/v1/openapi.json", "", nil, "")
	doc := decode[map[string]any](t, b)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi version %v", doc["openapi"])
	}
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/v1/predict/flows", "/v1/jobs/pcap", "/v1/jobs/{id}", "/v1/alerts", "/v1/models", "/api/predictions", "/reports/", "/predict/", "/predict"} {
		if paths[p] == nil {
			t.Errorf("OpenAPI lacks %s", p)
		}
	}
	_, _, b = do(t, "GET", ts.url+"/metrics", "", nil, "")
	for _, m := range []string{"flowguard_server_requests_total", "flowguard_server_request_duration_seconds", "flowguard_server_model_info"} {
		if !bytes.Contains(b, []byte(m)) {
			t.Errorf("metrics lack %s", m)
		}
	}
}

// TestPcapJobEndToEnd uploads a real SQL-injection capture and checks its
// alerts arrive over SSE and WebSocket and are in the store.
func TestPcapJobEndToEnd(t *testing.T) {
	pcap := shared(t, "golden/pcap/cicids2017_webattack_sqlinj.pcap")
	ts := start(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Subscribe to both streams before the upload.
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.url+"/v1/alerts/stream", nil)
	sse, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Body.Close()
	if sse.StatusCode != 200 || !strings.HasPrefix(sse.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("sse: %d %s", sse.StatusCode, sse.Header.Get("Content-Type"))
	}
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.url, "http")+"/v1/alerts/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()

	f, err := os.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	code, _, b := do(t, "POST", ts.url+"/v1/jobs/pcap?name=sqlinj.pcap", "application/vnd.tcpdump.pcap", f, testToken)
	if code != http.StatusAccepted {
		t.Fatalf("upload: %d %s", code, b)
	}
	j := waitJob(t, ts.url, decode[JobInfo](t, b).ID)
	if j.State != "done" || j.Alerts == 0 || j.Flows == 0 {
		t.Fatalf("job: %+v", j)
	}

	// Stored: by job, and through the filtered listing.
	_, _, b = do(t, "GET", ts.url+"/v1/jobs/"+j.ID+"/alerts?limit=1000", "", nil, "")
	stored := decode[alertsPage](t, b).Alerts
	if int64(len(stored)) != j.Alerts {
		t.Fatalf("%d alerts stored, job says %d", len(stored), j.Alerts)
	}
	want := map[string]bool{}
	for _, a := range stored {
		want[a.ID] = true
		if !strings.HasPrefix(a.ID, j.ID+"-") || a.Flowguard.Job != j.ID {
			t.Fatalf("alert %s not tied to job %s", a.ID, j.ID)
		}
	}
	_, _, b = do(t, "GET", ts.url+"/v1/alerts?class="+stored[0].Flowguard.Class+"&host="+stored[0].SrcIP+"&limit=1", "", nil, "")
	page := decode[alertsPage](t, b)
	if len(page.Alerts) != 1 || (len(stored) > 1 && page.NextCursor == "") {
		t.Fatalf("filtered page: %s", b)
	}

	// Flows with verdicts.
	_, _, b = do(t, "GET", ts.url+"/v1/jobs/"+j.ID+"/flows?limit=10000", "", nil, "")
	if n := len(decode[struct{ Flows []map[string]any }](t, b).Flows); int64(n) != j.Flows {
		t.Fatalf("%d flows listed, job says %d", n, j.Flows)
	}

	// SSE.
	got := map[string]bool{}
	sc := bufio.NewScanner(sse.Body)
	for len(got) < len(want) && sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
			got[id] = true
		}
	}
	for id := range want {
		if !got[id] {
			t.Fatalf("alert %s not received over SSE (%d of %d)", id, len(got), len(want))
		}
	}
	// WebSocket.
	got = map[string]bool{}
	for len(got) < len(want) {
		_, msg, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("ws after %d alerts: %v", len(got), err)
		}
		var a alert.Alert
		if err := json.Unmarshal(msg, &a); err != nil {
			t.Fatal(err)
		}
		got[a.ID] = true
	}
	for id := range want {
		if !got[id] {
			t.Fatalf("alert %s not received over WebSocket", id)
		}
	}
	_, _, b = do(t, "GET", ts.url+"/metrics", "", nil, "")
	if !bytes.Contains(b, []byte(`flowguard_server_alerts_total{class="`)) {
		t.Error("no alerts metric")
	}
}

type alertsPage struct {
	Alerts     []alert.Alert `json:"alerts"`
	NextCursor string        `json:"next_cursor"`
}
