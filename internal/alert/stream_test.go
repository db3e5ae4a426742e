package alert

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const (
	ssePath = "/v1/alerts/stream"
	wsPath  = "/v1/alerts/ws"
)

// newStreamServer mounts both handlers as the server would. The broker is
// closed before the server, as on shutdown, so streams end.
func newStreamServer(t *testing.T, b *Broker, o StreamOptions) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET "+ssePath, SSEHandler(b, o))
	mux.Handle("GET "+wsPath, WSHandler(b, o))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { b.Close() })
	return srv
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func waitSubscribers(t *testing.T, b *Broker, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d subscribers", n), func() bool { return b.Stats().Subscribers == n })
}

type sseEvent struct{ id, event, data string }

// sseStream parses an event stream as the EventSource algorithm does.
type sseStream struct {
	resp     *http.Response
	sc       *bufio.Scanner
	comments int
}

func openSSE(t *testing.T, ctx context.Context, url string, header http.Header) *sseStream {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%s: %s %s", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	return &sseStream{resp: resp, sc: bufio.NewScanner(resp.Body)}
}

func (s *sseStream) next() (sseEvent, error) {
	var e sseEvent
	var data []string
	dispatch := false
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if dispatch {
				e.data = strings.Join(data, "\n")
				return e, nil
			}
		case strings.HasPrefix(line, ":"):
			s.comments++
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				e.id = value
			case "event":
				e.event = value
			case "data":
				data = append(data, value)
				dispatch = true
			}
		}
	}
	if err := s.sc.Err(); err != nil {
		return e, err
	}
	return e, io.EOF
}

// nextAlert reads an alert event.
func (s *sseStream) nextAlert(t *testing.T) Alert {
	t.Helper()
	e, err := s.next()
	if err != nil {
		t.Fatal(err)
	}
	var a Alert
	if e.event != "alert" {
		t.Fatalf("event %q, want alert", e.event)
	}
	if err := json.Unmarshal([]byte(e.data), &a); err != nil {
		t.Fatal(err)
	}
	if e.id != a.ID {
		t.Errorf("event id %q, alert ID %q", e.id, a.ID)
	}
	return a
}

func TestSSEFiltersAndLastEventIDReplay(t *testing.T) {
	b := NewBroker(100)
	srv := newStreamServer(t, b, StreamOptions{})
	ctx := testContext(t)
	cctx, disconnect := context.WithCancel(ctx)
	s := openSSE(t, cctx, srv.URL+ssePath+"?class=DDoS&severity=2", nil)
	waitSubscribers(t, b, 1)

	batch := batchOf(6, 0)
	batch[1].Flowguard.Class = "PortScan"
	batch[2].Alert.Severity = 3
	b.Publish(batch)
	var seen []string
	for range 4 {
		seen = append(seen, s.nextAlert(t).ID)
	}
	if want := []string{batch[0].ID, batch[3].ID, batch[4].ID, batch[5].ID}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", seen, want)
	}

	// The client drops; alerts go on; it reconnects with Last-Event-ID, as
	// EventSource does, and gets what it missed that its filter matches.
	disconnect()
	waitSubscribers(t, b, 0)
	missed := batchOf(3, 6)
	missed[1].Flowguard.Class = "PortScan"
	b.Publish(missed)
	s = openSSE(t, ctx, srv.URL+ssePath+"?class=DDoS&severity=2", http.Header{"Last-Event-Id": {seen[3]}})
	if a := s.nextAlert(t); a.ID != missed[0].ID {
		t.Errorf("first after reconnect %s, want %s", a.ID, missed[0].ID)
	}
	if a := s.nextAlert(t); a.ID != missed[2].ID {
		t.Errorf("second after reconnect %s, want %s", a.ID, missed[2].ID)
	}
	waitSubscribers(t, b, 1)
	live := batchOf(1, 9)
	b.Publish(live)
	if a := s.nextAlert(t); a.ID != live[0].ID || !a.Timestamp.Equal(live[0].Timestamp) {
		t.Errorf("live after replay: %+v", a)
	}
}

func TestSSEReplayParamsAndDroppedNotice(t *testing.T) {
	b := NewBroker(100)
	srv := newStreamServer(t, b, StreamOptions{Buffer: 4})
	ctx := testContext(t)
	b.Publish(batchOf(10, 0))

	// since= and replay= replay from the buffer.
	s := openSSE(t, ctx, srv.URL+ssePath+"?replay=2", nil)
	if a := s.nextAlert(t); a.ID != testAlert(8).ID {
		t.Errorf("replay=2 started at %s", a.ID)
	}
	since := testAlert(9).Timestamp.UTC().Format(time.RFC3339Nano)
	s2 := openSSE(t, ctx, srv.URL+ssePath+"?since="+since, nil)
	if a := s2.nextAlert(t); a.ID != testAlert(9).ID {
		t.Errorf("since=%s started at %s", since, a.ID)
	}

	// A burst beyond the client's buffer: it is told what it lost, then
	// gets the newest.
	s3 := openSSE(t, ctx, srv.URL+ssePath+"?job=job-7", nil)
	waitSubscribers(t, b, 3)
	b.Publish(batchOf(100, 10))
	e, err := s3.next()
	if err != nil {
		t.Fatal(err)
	}
	if e.event != "dropped" || e.data != `{"dropped":96}` || e.id != "" {
		t.Errorf("want a drop notice, got %+v", e)
	}
	if a := s3.nextAlert(t); a.ID != testAlert(106).ID {
		t.Errorf("after the notice: %s", a.ID)
	}
}

func TestSSEHeartbeat(t *testing.T) {
	b := NewBroker(0)
	srv := newStreamServer(t, b, StreamOptions{Heartbeat: 10 * time.Millisecond})
	s := openSSE(t, testContext(t), srv.URL+ssePath, nil)
	waitSubscribers(t, b, 1)
	time.Sleep(50 * time.Millisecond)
	b.Publish(batchOf(1, 0))
	s.nextAlert(t)
	if s.comments == 0 {
		t.Error("no heartbeat comments")
	}
}

func TestStreamBadRequests(t *testing.T) {
	b := NewBroker(0)
	srv := newStreamServer(t, b, StreamOptions{Auth: BearerAuth("tok")})
	auth := http.Header{"Authorization": {"Bearer tok"}}
	for _, c := range []struct {
		query  string
		header http.Header
		status int
		bad    []string
	}{
		{"", nil, 401, nil},
		{"", http.Header{"Authorization": {"Bearer nope"}}, 401, nil},
		{"?severity=4", auth, 400, []string{"severity"}},
		{"?severity=high&kind=rules&host=bad-host", auth, 400, []string{"host", "severity", "kind"}},
		{"?since=yesterday", auth, 400, []string{"since"}},
		{"?replay=-1", auth, 400, []string{"replay"}},
		{"?class=a&class=b", auth, 400, []string{"class"}},
		{"?job=" + strings.Repeat("j", 300), auth, 400, []string{"job"}},
	} {
		for _, path := range []string{ssePath, wsPath} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path+c.query, nil)
			req.Header = c.header.Clone()
			if req.Header == nil {
				req.Header = http.Header{}
			}
			if path == wsPath { // rejected before the upgrade
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", "websocket")
				req.Header.Set("Sec-WebSocket-Version", "13")
				req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var p problem
			err = json.NewDecoder(resp.Body).Decode(&p)
			resp.Body.Close()
			if resp.StatusCode != c.status || err != nil || p.Status != c.status ||
				resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s%s: %s %s %+v %v", path, c.query, resp.Status, resp.Header.Get("Content-Type"), p, err)
				continue
			}
			if c.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", path)
			}
			var names []string
			for _, ip := range p.InvalidParams {
				names = append(names, ip.Name)
			}
			if strings.Join(names, ",") != strings.Join(c.bad, ",") {
				t.Errorf("%s%s: invalid params %v, want %v", path, c.query, p.InvalidParams, c.bad)
			}
		}
	}
	if b.Stats().Subscribers != 0 {
		t.Error("a rejected request subscribed")
	}
}

func TestParseStreamQueryCanonicalHost(t *testing.T) {
	f, r, bad := ParseStreamQuery(map[string][]string{
		"host": {"2001:DB8:0:0::1"}, "kind": {"anomaly"}, "severity": {"1"}, "job": {"j"}, "class": {"Bot"},
		"since": {"2024-03-05T14:07:22.418305+0100"}, "replay": {"7"}, "access_token": {"ignored"},
	})
	want := Filter{Host: "2001:db8::1", Kind: "anomaly", MaxSeverity: 1, Job: "j", Class: "Bot", Since: testAlert(0).Timestamp}
	if len(bad) != 0 || !f.Since.Equal(want.Since) || r.Last != 7 {
		t.Fatalf("%+v %+v %v", f, r, bad)
	}
	f.Since = want.Since
	if f != want {
		t.Errorf("got %+v, want %+v", f, want)
	}
}

// TestStreamDisconnectCleanup checks that clients that go away leave no
// subscription and no goroutine behind.
func TestStreamDisconnectCleanup(t *testing.T) {
	b := NewBroker(0)
	srv := newStreamServer(t, b, StreamOptions{Heartbeat: 5 * time.Millisecond})
	tr := &http.Transport{}
	client := &http.Client{Transport: tr}
	base := runtime.NumGoroutine()
	ctx := testContext(t)
	var cancels []func()
	for range 5 {
		cctx, cancel := context.WithCancel(ctx)
		req, _ := http.NewRequestWithContext(cctx, http.MethodGet, srv.URL+ssePath, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		cancels = append(cancels, func() { cancel(); resp.Body.Close() })

		c, _, err := websocket.Dial(ctx, srv.URL+wsPath, &websocket.DialOptions{HTTPClient: client})
		if err != nil {
			t.Fatal(err)
		}
		go func() { // reading answers the server's pings
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
			}
		}()
		cancels = append(cancels, func() { c.Close(websocket.StatusNormalClosure, "bye") })
	}
	waitSubscribers(t, b, 10)
	b.Publish(batchOf(3, 0))
	for _, cancel := range cancels {
		cancel()
	}
	waitSubscribers(t, b, 0)
	tr.CloseIdleConnections()
	waitFor(t, "goroutines back to the baseline", func() bool {
		return runtime.NumGoroutine() <= base
	})
}

func TestStreamsEndOnShutdown(t *testing.T) {
	b := NewBroker(0)
	srv := newStreamServer(t, b, StreamOptions{})
	ctx := testContext(t)
	s := openSSE(t, ctx, srv.URL+ssePath, nil)
	c, _, err := websocket.Dial(ctx, srv.URL+wsPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	waitSubscribers(t, b, 2)
	b.Close()
	if _, err := s.next(); err != io.EOF {
		t.Errorf("SSE at shutdown: %v, want a clean end", err)
	}
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("WebSocket at shutdown: %v", err)
	}
}

func readWSAlert(t *testing.T, ctx context.Context, c *websocket.Conn) Alert {
	t.Helper()
	typ, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var a Alert
	if typ != websocket.MessageText || json.Unmarshal(data, &a) != nil {
		t.Fatalf("message %v %s", typ, data)
	}
	return a
}

func TestWSReceivesFiltered(t *testing.T) {
	b := NewBroker(0)
	var pings atomic.Int32
	srv := newStreamServer(t, b, StreamOptions{Heartbeat: 10 * time.Millisecond})
	ctx := testContext(t)
	c, _, err := websocket.Dial(ctx, srv.URL+wsPath+"?kind=anomaly&host=192.0.2.80", &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool { pings.Add(1); return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	waitSubscribers(t, b, 1)
	batch := batchOf(4, 0)
	batch[1].Flowguard.Kind = "anomaly"
	batch[3].Flowguard.Kind = "anomaly"
	batch[3].DestIP = "192.0.2.1"
	b.Publish(batch)
	if a := readWSAlert(t, ctx, c); a.ID != batch[1].ID || a.Flowguard.Kind != "anomaly" {
		t.Errorf("got %+v", a)
	}
	// Idle, the connection is kept alive by pings the client answers.
	time.Sleep(60 * time.Millisecond)
	b.Publish(batch[1:2])
	readWSAlert(t, ctx, c)
	if pings.Load() == 0 {
		t.Error("no pings")
	}
}

func TestWSSlowClientClosedWithReason(t *testing.T) {
	b := NewBroker(0)
	srv := newStreamServer(t, b, StreamOptions{Buffer: 4})
	ctx := testContext(t)
	c, _, err := websocket.Dial(ctx, srv.URL+wsPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	waitSubscribers(t, b, 1)
	b.Publish(batchOf(100, 0)) // more than the client's buffer at once
	_, _, err = c.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "client too slow: 96 alerts dropped" {
		t.Errorf("want a 1008 close with a reason, got %v", err)
	}
	waitSubscribers(t, b, 0)
}

func TestWSUnresponsiveClientDropped(t *testing.T) {
	b := NewBroker(0)
	srv := newStreamServer(t, b, StreamOptions{Heartbeat: 10 * time.Millisecond, WriteTimeout: 50 * time.Millisecond})
	ctx := testContext(t)
	c, _, err := websocket.Dial(ctx, srv.URL+wsPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// The client never reads, so never answers a ping.
	waitSubscribers(t, b, 1)
	waitSubscribers(t, b, 0)
}

func TestWSClientMessageClosesStream(t *testing.T) {
	b := NewBroker(0)
	srv := newStreamServer(t, b, StreamOptions{})
	ctx := testContext(t)
	c, _, err := websocket.Dial(ctx, srv.URL+wsPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	waitSubscribers(t, b, 1)
	start := time.Now()
	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Errorf("after a client message: %v", err)
	}
	waitSubscribers(t, b, 0)
	if d := time.Since(start); d > time.Second {
		t.Errorf("closing took %v", d)
	}
}

// TestSSEOutlivesServerTimeouts: a server with read and write timeouts (as
// any exposed one should have) must not cut streams at them.
func TestSSEOutlivesServerTimeouts(t *testing.T) {
	b := NewBroker(0)
	mux := http.NewServeMux()
	mux.Handle("GET "+ssePath, SSEHandler(b, StreamOptions{Heartbeat: 20 * time.Millisecond}))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ReadTimeout = 50 * time.Millisecond
	srv.Config.WriteTimeout = 50 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { b.Close() })
	s := openSSE(t, testContext(t), srv.URL+ssePath, nil)
	waitSubscribers(t, b, 1)
	time.Sleep(200 * time.Millisecond)
	b.Publish(batchOf(1, 0))
	s.nextAlert(t)
}
