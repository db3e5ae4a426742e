package alert

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook endpoint answering from a script of status codes
// (the last repeats) and recording what it accepted.
type receiver struct {
	mu      sync.Mutex
	script  []int
	header  http.Header // extra response headers
	hits    []time.Time
	alerts  []Alert
	secret  []byte
	badSigs int
	auth    []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.hits = append(rc.hits, time.Now())
	rc.auth = append(rc.auth, r.Header.Get("Authorization"))
	if rc.secret != nil && !VerifySignature(rc.secret, body, r.Header.Get(SignatureHeader)) {
		rc.badSigs++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	code := rc.script[min(len(rc.hits), len(rc.script))-1]
	if code == http.StatusOK {
		var batch []Alert
		if err := json.Unmarshal(body, &batch); err != nil || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		rc.alerts = append(rc.alerts, batch...)
	}
	for k, v := range rc.header {
		w.Header()[k] = v
	}
	w.WriteHeader(code)
}

func (rc *receiver) counts() (hits, alerts int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.hits), len(rc.alerts)
}

func newWebhook(t *testing.T, rc *receiver, cfg WebhookConfig) *Webhook {
	t.Helper()
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	cfg.URL = srv.URL + "/hook"
	setDefault(&cfg.MinBackoff, 10*time.Millisecond)
	setDefault(&cfg.MaxBackoff, 40*time.Millisecond)
	w, err := NewWebhook(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWebhookRetriesTransientFailures(t *testing.T) {
	rc := &receiver{script: []int{503, 503, 200}, secret: []byte("s3cret")}
	w := newWebhook(t, rc, WebhookConfig{Secret: rc.secret, BearerToken: "tok", MaxBatch: 10})
	w.Send(context.Background(), batchOf(7, 0))
	waitFor(t, "delivery", func() bool { return w.Stats().Sent == 7 })
	w.Close()
	hits, alerts := rc.counts()
	s := w.Stats()
	if hits != 3 || alerts != 7 || s.Retries != 2 || s.Dropped != 0 || rc.badSigs != 0 {
		t.Errorf("hits %d, alerts %d, bad signatures %d, stats %+v", hits, alerts, rc.badSigs, s)
	}
	if rc.auth[0] != "Bearer tok" {
		t.Errorf("Authorization %q", rc.auth[0])
	}
	if rc.alerts[6].ID != testAlert(6).ID || !rc.alerts[6].Timestamp.Equal(testAlert(6).Timestamp) {
		t.Errorf("receiver decoded %+v", rc.alerts[6])
	}
}

func TestWebhookBatchesAndHonoursRetryAfter(t *testing.T) {
	rc := &receiver{script: []int{429, 200}, header: http.Header{"Retry-After": {"1"}}}
	w := newWebhook(t, rc, WebhookConfig{MaxBatch: 4})
	w.Send(context.Background(), batchOf(10, 0))
	waitFor(t, "delivery", func() bool { return w.Stats().Sent == 10 })
	w.Close()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	// 429, then batches of 4, 4, 2.
	if len(rc.hits) != 4 {
		t.Fatalf("%d requests, want 4", len(rc.hits))
	}
	if gap := rc.hits[1].Sub(rc.hits[0]); gap < time.Second {
		t.Errorf("retried %v after Retry-After: 1", gap)
	}
}

func TestWebhookDoesNotRetryRejection(t *testing.T) {
	rc := &receiver{script: []int{400, 200}}
	w := newWebhook(t, rc, WebhookConfig{})
	w.Send(context.Background(), batchOf(3, 0))
	waitFor(t, "the drop", func() bool { return w.Stats().Dropped == 3 })
	w.Send(context.Background(), batchOf(2, 3))
	waitFor(t, "the next batch", func() bool { return w.Stats().Sent == 2 })
	w.Close()
	if hits, _ := rc.counts(); hits != 2 {
		t.Errorf("%d requests, want 2: a 400 must not be retried", hits)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	rc := &receiver{script: []int{503}}
	w := newWebhook(t, rc, WebhookConfig{GiveUp: 150 * time.Millisecond})
	start := time.Now()
	w.Send(context.Background(), batchOf(5, 0))
	waitFor(t, "giving up", func() bool { return w.Stats().Dropped == 5 })
	if d := time.Since(start); d > time.Second {
		t.Errorf("gave up after %v, want about 150ms", d)
	}
	if hits, _ := rc.counts(); hits < 2 {
		t.Errorf("%d attempts before giving up", hits)
	}
	w.Close()
}

func TestWebhookNetworkErrorAndBoundedQueue(t *testing.T) {
	// Nothing listens at a closed test server's address.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	w, err := NewWebhook(WebhookConfig{URL: url, Queue: 5, MaxBatch: 5, GiveUp: 100 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, CloseTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range 100 {
		if err := w.Send(context.Background(), batchOf(1, i)); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Send blocked for %v", d)
	}
	w.Close()
	if s := w.Stats(); s.Dropped != 100 || s.Sent != 0 || s.Queued != 0 {
		t.Errorf("stats %+v, want all 100 dropped", s)
	}
	if err := w.Send(context.Background(), batchOf(1, 0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
}

func TestWebhookConfigAndHelpers(t *testing.T) {
	for _, u := range []string{"", "ftp://x/", "/relative", "http://"} {
		if _, err := NewWebhook(WebhookConfig{URL: u}); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
	now := time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "3": 3 * time.Second, "-1": 0, "soon": 0,
		"Tue, 05 Mar 2024 12:00:30 GMT": 30 * time.Second, "Tue, 05 Mar 2024 11:00:00 GMT": 0,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", v, got, want)
		}
	}
	body := []byte(`[{"id":"a"}]`)
	sig := Sign([]byte("k"), body)
	if !VerifySignature([]byte("k"), body, sig) {
		t.Error("own signature rejected")
	}
	for _, bad := range []string{sig[:len(sig)-1] + "0", "sha1=" + sig[7:], "", sig[7:]} {
		if VerifySignature([]byte("k"), body, bad) {
			t.Errorf("signature %q accepted", bad)
		}
	}
	if VerifySignature([]byte("other"), body, sig) {
		t.Error("signature under another key accepted")
	}
}
