package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// SignatureHeader carries the HMAC-SHA256 of a webhook body under the
// shared secret, as "sha256=" and lower-case hex.
const SignatureHeader = "X-Flowguard-Signature"

// WebhookConfig configures a Webhook. Zero fields take the defaults noted.
type WebhookConfig struct {
	URL      string
	MaxBatch int           // alerts per POST; 100
	Queue    int           // alerts waiting to be posted; 10000
	Timeout  time.Duration // per attempt; 10 s
	// GiveUp bounds the retries of one batch: past it the batch is dropped
	// and counted. 2 min.
	GiveUp time.Duration
	// MinBackoff doubles per retry up to MaxBackoff, with jitter; a longer
	// Retry-After wins. 500 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// CloseTimeout bounds how long Close keeps posting what is queued; 5 s.
	CloseTimeout time.Duration

	BearerToken string // sent as "Authorization: Bearer ..." when set
	Secret      []byte // signs each body into SignatureHeader when set

	// Client defaults to one that does not follow redirects: a webhook that
	// moved is a configuration error, not somewhere to send alerts to.
	Client *http.Client
	Logger *slog.Logger
}

// WebhookStats counts a webhook's alerts.
type WebhookStats struct {
	Sent    uint64 // acknowledged with a 2xx
	Dropped uint64 // queue full, rejected (4xx other than 408/429), given up on, or left at Close
	Retries uint64 // attempts after the first
	Queued  int    // alerts waiting now
}

// Webhook is a Sink that POSTs alerts as JSON arrays to a URL from its own
// goroutine. Send only queues, so a dead receiver costs alerts, counted in
// Stats, and never time.
type Webhook struct {
	cfg    WebhookConfig
	host   string // for logs: the URL's path or query may hold a secret
	client *http.Client
	log    *slog.Logger

	mu      sync.Mutex
	pending []Alert
	closing bool
	wake    chan struct{} // cap 1: pending grew or Close began

	ctx    context.Context // cancelled when Close gives up draining
	cancel context.CancelFunc
	done   chan struct{} // closed when the worker returns

	sent, dropped, retries atomic.Uint64
}

// NewWebhook validates cfg and starts the webhook's worker.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("alert: webhook URL %q: want an absolute http(s) URL", cfg.URL)
	}
	setDefault(&cfg.MaxBatch, 100)
	setDefault(&cfg.Queue, 10000)
	setDefault(&cfg.Timeout, 10*time.Second)
	setDefault(&cfg.GiveUp, 2*time.Minute)
	setDefault(&cfg.MinBackoff, 500*time.Millisecond)
	setDefault(&cfg.MaxBackoff, 30*time.Second)
	setDefault(&cfg.CloseTimeout, 5*time.Second)
	w := &Webhook{cfg: cfg, host: u.Host, client: cfg.Client, log: cfg.Logger,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	if w.client == nil {
		w.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.run()
	return w, nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Send queues what fits and counts the rest as dropped. It never blocks.
func (w *Webhook) Send(_ context.Context, alerts []Alert) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing {
		return ErrClosed
	}
	n := min(len(alerts), w.cfg.Queue-len(w.pending))
	w.pending = append(w.pending, alerts[:n]...)
	w.dropped.Add(uint64(len(alerts) - n))
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// Stats reports the webhook's counters.
func (w *Webhook) Stats() WebhookStats {
	w.mu.Lock()
	queued := len(w.pending)
	w.mu.Unlock()
	return WebhookStats{Sent: w.sent.Load(), Dropped: w.dropped.Load(), Retries: w.retries.Load(), Queued: queued}
}

// Close stops accepting alerts and posts what is queued for at most
// CloseTimeout; what is left then is dropped.
func (w *Webhook) Close() error {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.closing = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	t := time.NewTimer(w.cfg.CloseTimeout)
	defer t.Stop()
	select {
	case <-w.done:
	case <-t.C:
		w.cancel()
		<-w.done
	}
	w.cancel()
	return nil
}

func (w *Webhook) run() {
	defer close(w.done)
	for {
		batch, ok := w.next()
		if !ok {
			return
		}
		if w.ctx.Err() != nil {
			// Close ran out of time: what is left is lost, in one count.
			w.mu.Lock()
			batch = append(batch, w.pending...)
			w.pending = nil
			w.mu.Unlock()
			w.drop(batch, errors.New("closed with alerts queued"))
			return
		}
		w.deliver(batch)
	}
}

// next waits for queued alerts and takes up to MaxBatch of them; false
// once closing and empty.
func (w *Webhook) next() ([]Alert, bool) {
	for {
		w.mu.Lock()
		if n := min(len(w.pending), w.cfg.MaxBatch); n > 0 {
			// Cap the batch so appends to pending cannot write into it.
			batch := w.pending[:n:n]
			w.pending = w.pending[n:]
			w.mu.Unlock()
			return batch, true
		}
		w.pending = nil // release the drained array
		closing := w.closing
		w.mu.Unlock()
		if closing {
			return nil, false
		}
		<-w.wake
	}
}

// deliver posts one batch, retrying transient failures until GiveUp.
func (w *Webhook) deliver(batch []Alert) {
	body := make([]byte, 0, 768*len(batch))
	body = append(body, '[')
	for i := range batch {
		if i > 0 {
			body = append(body, ',')
		}
		body = appendAlert(body, &batch[i])
	}
	body = append(body, ']')

	deadline := time.Now().Add(w.cfg.GiveUp)
	for attempt := 0; ; attempt++ {
		retryAfter, err := w.post(body)
		if err == nil {
			w.sent.Add(uint64(len(batch)))
			return
		}
		var perm permanentError
		if errors.As(err, &perm) || w.ctx.Err() != nil {
			w.drop(batch, err)
			return
		}
		wait := max(w.backoff(attempt), retryAfter)
		if time.Now().Add(wait).After(deadline) {
			w.drop(batch, fmt.Errorf("gave up after %d attempts: %w", attempt+1, err))
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
			w.drop(batch, fmt.Errorf("closed while retrying: %w", err))
			return
		}
		w.retries.Add(1)
	}
}

func (w *Webhook) drop(batch []Alert, err error) {
	w.dropped.Add(uint64(len(batch)))
	w.log.Warn("alert webhook dropped alerts", "host", w.host, "alerts", len(batch), "err", err)
}

// backoff is the wait before retry attempt+1: exponential, capped, with
// "equal jitter" (half fixed, half random) so receivers recovering from an
// outage are not hit by every sender at once.
func (w *Webhook) backoff(attempt int) time.Duration {
	d := w.cfg.MaxBackoff
	if attempt < 32 {
		d = min(w.cfg.MinBackoff<<attempt, w.cfg.MaxBackoff)
	}
	return d/2 + rand.N(d/2+1)
}

// permanentError is a response that retrying cannot fix.
type permanentError struct{ status string }

func (e permanentError) Error() string { return "rejected: " + e.status }

// post makes one attempt. It returns the Retry-After of a retryable
// response, or a permanentError.
func (w *Webhook) post(body []byte) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(w.ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, permanentError{err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "flowguard")
	if w.cfg.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+w.cfg.BearerToken)
	}
	if len(w.cfg.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(w.cfg.Secret, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, err // network trouble: retry
	}
	// Read a little of the body so the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return 0, nil
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return retryAfter(resp.Header.Get("Retry-After"), time.Now()), fmt.Errorf("webhook answered %s", resp.Status)
	default:
		return 0, permanentError{resp.Status}
	}
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(min(max(s, 0), math.MaxInt32)) * time.Second // no overflow
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// Sign is the SignatureHeader value for body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports, in constant time, whether header (a
// SignatureHeader value) signs body under secret. Receivers should verify
// the raw body before parsing it.
func VerifySignature(secret, body []byte, header string) bool {
	got, ok := bytes.CutPrefix([]byte(header), []byte("sha256="))
	if !ok {
		return false
	}
	want := []byte(Sign(secret, body)[len("sha256="):])
	return hmac.Equal(got, want)
}
