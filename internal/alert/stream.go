package alert

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// StreamOptions configures SSEHandler and WSHandler. The zero value works.
type StreamOptions struct {
	// Auth vets a request before it streams; an error answers 401.
	Auth func(*http.Request) error
	// Buffer is the alerts queued per client (0 means 1024). An SSE client
	// that falls further behind loses the oldest and gets a "dropped"
	// event; a WebSocket client is closed.
	Buffer int
	// Heartbeat is the interval of SSE comments and WebSocket pings, which
	// keep proxies from timing idle streams out (0 means 15 s).
	Heartbeat time.Duration
	// WriteTimeout ends a stream whose client takes longer than this to
	// take one write or answer a ping (0 means 10 s).
	WriteTimeout time.Duration
	// OriginPatterns lists the browser origins, besides the server's own
	// host, allowed to open WebSockets (websocket.AcceptOptions).
	OriginPatterns []string
}

func (o StreamOptions) withDefaults() StreamOptions {
	setDefault(&o.Buffer, 1024)
	setDefault(&o.Heartbeat, 15*time.Second)
	setDefault(&o.WriteTimeout, 10*time.Second)
	return o
}

// BearerAuth is a StreamOptions.Auth that wants "Authorization: Bearer
// token". Browsers' EventSource cannot send headers; put such clients
// behind a proxy that adds it, or pass another Auth.
func BearerAuth(token string) func(*http.Request) error {
	want := []byte("Bearer " + token)
	return func(r *http.Request) error {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			return errors.New("missing or wrong bearer token")
		}
		return nil
	}
}

// SSEHandler streams alerts as Server-Sent Events (for /v1/alerts/stream).
// Each alert is an "alert" event whose id is the alert's ID and whose data
// is its EVE JSON; a reconnecting client's Last-Event-ID replays what it
// missed, if still buffered. When the client falls behind, a "dropped"
// event with data {"dropped":N} tells it how many alerts it lost. Query
// parameters filter: class, host (source or destination IP), severity (1-3:
// at least this severe), kind, job, since (RFC 3339 or EVE time: replay
// buffered alerts from then), replay (N: replay the last N buffered).
// Bad parameters answer 400 with an RFC 9457 problem.
func SSEHandler(b *Broker, o StreamOptions) http.Handler {
	o = o.withDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, rp, ok := startStream(w, r, o)
		if !ok {
			return
		}
		if id := r.Header.Get("Last-Event-ID"); id != "" {
			rp.AfterID = id
		}
		sub, cancel := b.Subscribe(f, o.Buffer, rp)
		defer cancel()

		rc := http.NewResponseController(w)
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no") // nginx would otherwise hold events back
		w.WriteHeader(http.StatusOK)
		if rc.Flush() != nil {
			return
		}
		beat := time.NewTicker(o.Heartbeat)
		defer beat.Stop()
		var buf []byte
		var batch []*Alert
		for {
			select {
			case <-r.Context().Done():
				return
			case <-sub.Done():
				return
			case <-beat.C:
				buf = append(buf[:0], ": heartbeat\n\n"...)
			case <-sub.Ready():
				var dropped uint64
				batch, dropped = sub.Take(batch[:0])
				buf = appendSSE(buf[:0], batch, dropped)
				clear(batch) // let the alerts go once written
			}
			// Per write, so a stuck client cannot hold the handler; this
			// also lifts the server's WriteTimeout for the stream.
			rc.SetWriteDeadline(time.Now().Add(o.WriteTimeout))
			if _, err := w.Write(buf); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
	})
}

// appendSSE writes a drop notice (first: the lost alerts came before the
// waiting ones) and one event per alert. The JSON holds no raw newline, so
// each fits one data line.
func appendSSE(b []byte, alerts []*Alert, dropped uint64) []byte {
	if dropped > 0 {
		b = append(b, "event: dropped\ndata: {\"dropped\":"...)
		b = strconv.AppendUint(b, dropped, 10)
		b = append(b, "}\n\n"...)
	}
	for _, a := range alerts {
		// An id with a line break would break the framing, one with NUL
		// is ignored by clients: send none rather than a wrong one.
		if a.ID != "" && !strings.ContainsAny(a.ID, "\r\n\x00") {
			b = append(b, "id: "...)
			b = append(b, a.ID...)
			b = append(b, '\n')
		}
		b = append(b, "event: alert\ndata: "...)
		b = appendAlert(b, a)
		b = append(b, "\n\n"...)
	}
	return b
}

// WSHandler streams alerts over a WebSocket (for /v1/alerts/ws), one text
// message of EVE JSON per alert, with the same query filters as
// SSEHandler. Messages from the client close the connection. A client
// that falls Buffer alerts behind is closed with status 1008 and a reason
// saying how many it lost (it can reconnect with since= to catch up from
// the replay buffer); Broker.Close closes clients with 1001.
func WSHandler(b *Broker, o StreamOptions) http.Handler {
	o = o.withDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, rp, ok := startStream(w, r, o)
		if !ok {
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: o.OriginPatterns})
		if err != nil {
			return // Accept has answered the request
		}
		defer c.CloseNow()
		// Reading is what answers the client's pings and close, and sees it
		// leave (a hijacked request's context does not). Not CloseRead:
		// its Close on a stray message waits 15 s on itself
		// (coder/websocket#429).
		ctx, stop := context.WithCancel(r.Context())
		defer stop()
		read := make(chan error, 1)
		go func() {
			_, _, err := c.Read(ctx)
			read <- err
		}()
		sub, cancel := b.Subscribe(f, o.Buffer, rp)
		defer cancel()

		beat := time.NewTicker(o.Heartbeat)
		defer beat.Stop()
		var buf []byte
		var batch []*Alert
		for {
			select {
			case err := <-read:
				if err == nil {
					c.Close(websocket.StatusPolicyViolation, "this stream takes no messages")
				}
				return
			case <-sub.Done():
				c.Close(websocket.StatusGoingAway, "server shutting down")
				return
			case <-beat.C:
				pctx, pcancel := context.WithTimeout(ctx, o.WriteTimeout)
				err := c.Ping(pctx)
				pcancel()
				if err != nil {
					return
				}
			case <-sub.Ready():
				var dropped uint64
				batch, dropped = sub.Take(batch[:0])
				if dropped > 0 {
					c.Close(websocket.StatusPolicyViolation, fmt.Sprintf("client too slow: %d alerts dropped", dropped))
					return
				}
				for i, a := range batch {
					buf = appendAlert(buf[:0], a)
					batch[i] = nil
					wctx, wcancel := context.WithTimeout(ctx, o.WriteTimeout)
					err := c.Write(wctx, websocket.MessageText, buf)
					wcancel()
					if err != nil {
						return
					}
				}
			}
		}
	})
}

// startStream authorizes the request and reads its filter, answering the
// request itself when either fails.
func startStream(w http.ResponseWriter, r *http.Request, o StreamOptions) (Filter, Replay, bool) {
	if o.Auth != nil {
		if err := o.Auth(r); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="flowguard"`)
			writeProblem(w, http.StatusUnauthorized, err.Error(), nil)
			return Filter{}, Replay{}, false
		}
	}
	f, rp, bad := ParseStreamQuery(r.URL.Query())
	if len(bad) > 0 {
		writeProblem(w, http.StatusBadRequest, "invalid query parameters", bad)
		return Filter{}, Replay{}, false
	}
	return f, rp, true
}

// InvalidParam is one rejected query parameter, in a problem's
// invalid_params.
type InvalidParam struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// maxParamLen bounds free-text parameters; no class or job name is longer.
const maxParamLen = 256

// ParseStreamQuery reads the stream filter parameters (see SSEHandler),
// returning every bad one. Unknown parameters are ignored, for clients and
// Auth hooks that add their own.
func ParseStreamQuery(q url.Values) (Filter, Replay, []InvalidParam) {
	var f Filter
	var r Replay
	var bad []InvalidParam
	reject := func(name, format string, args ...any) {
		bad = append(bad, InvalidParam{name, fmt.Sprintf(format, args...)})
	}
	for _, name := range []string{"class", "host", "severity", "kind", "job", "since", "replay"} {
		vs, ok := q[name]
		if !ok {
			continue
		}
		if len(vs) > 1 {
			reject(name, "given %d times, want once", len(vs))
			continue
		}
		v := vs[0]
		if len(v) > maxParamLen {
			reject(name, "longer than %d bytes", maxParamLen)
			continue
		}
		switch name {
		case "class":
			f.Class = v
		case "job":
			f.Job = v
		case "kind":
			if v != "classifier" && v != "anomaly" {
				reject(name, "want classifier or anomaly, got %q", v)
			}
			f.Kind = v
		case "host":
			ip, err := netip.ParseAddr(v)
			if err != nil {
				reject(name, "want an IP address, got %q", v)
			}
			f.Host = ip.String() // the canonical form alerts carry
		case "severity":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 3 {
				reject(name, "want 1, 2 or 3, got %q", v)
			}
			f.MaxSeverity = n
		case "since":
			t, err := parseTime(v)
			if err != nil {
				reject(name, "%v", err)
			}
			f.Since = t
		case "replay":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				reject(name, "want a count of alerts, got %q", v)
			}
			r.Last = n
		}
	}
	return f, r, bad
}

// problem is an RFC 9457 (formerly 7807) problem detail.
type problem struct {
	Type          string         `json:"type"`
	Title         string         `json:"title"`
	Status        int            `json:"status"`
	Detail        string         `json:"detail,omitempty"`
	InvalidParams []InvalidParam `json:"invalid_params,omitempty"`
}

func writeProblem(w http.ResponseWriter, status int, detail string, bad []InvalidParam) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(problem{Type: "about:blank", Title: http.StatusText(status),
		Status: status, Detail: detail, InvalidParams: bad})
}
