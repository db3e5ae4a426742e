package server

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// statusWriter records the status for metrics. It implements Unwrap so
// http.ResponseController reaches the connection's Flush and Hijack
// (the SSE and WebSocket streams need them).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts and times every request by route pattern, and turns a
// handler's panic into a logged 500 instead of a dead connection: a bug in
// one request must not take the process or other clients with it.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeProblem(sw, fmt.Errorf("panic: %v", p))
				}
			}
			route := r.Pattern // set by the ServeMux on the request it was given
			if route == "" {
				route = "unmatched"
			}
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			s.metrics.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
			s.metrics.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

// authorized reports whether r carries the configured bearer token
// (compared in constant time).
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.NoAuth {
		return true
	}
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.cfg.Token)) == 1
}

// requireToken guards a mutating endpoint.
func (s *Server) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="flowguard"`)
			writeProblem(w, problem(http.StatusUnauthorized, "this endpoint needs an Authorization: Bearer token",
				at("header.Authorization", "missing or wrong bearer token")))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limiter is a token bucket per client address. Buckets of clients that
// went quiet are swept, so the map stays bounded by the active clients.
type limiter struct {
	rate  float64
	burst float64
	mu    sync.Mutex
	b     map[string]*bucket
	swept time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	if rate <= 0 {
		return nil
	}
	return &limiter{rate: rate, burst: float64(max(burst, 1)), b: map[string]*bucket{}}
}

func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.b {
			if now.Sub(b.last) > time.Minute {
				delete(l.b, k)
			}
		}
		l.swept = now
	}
	b, ok := l.b[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.b[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// rateLimit answers 429 to a client over its rate. Probes and metrics are
// exempt: an orchestrator must always see the process.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	l := newLimiter(s.cfg.RateLimit, s.cfg.RateBurst)
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			next.ServeHTTP(w, r)
			return
		}
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if !l.allow(host, time.Now()) {
			w.Header().Set("Retry-After", "1")
			writeProblem(w, problem(http.StatusTooManyRequests, fmt.Sprintf("rate limit of %g requests/s exceeded", s.cfg.RateLimit)))
			return
		}
		next.ServeHTTP(w, r)
	})
}
