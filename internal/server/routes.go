package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/store"
)

// Version is the API version in the OpenAPI document.
const Version = "1.0.0"

// routes mounts every endpoint. JSON endpoints with small bodies go
// through huma, which validates parameters and documents them; the
// endpoints that stream or must be fast (predict, uploads, compat, the
// alert streams) are plain handlers whose operations are added to the
// same OpenAPI document by hand.
func (s *Server) routes(reg *prometheus.Registry) {
	mux := http.NewServeMux()
	cfg := huma.DefaultConfig("flowguard", Version)
	cfg.OpenAPIPath = "/v1/openapi"
	cfg.DocsPath = "/v1/docs"
	cfg.SchemasPath = "/v1/schemas"
	cfg.Info.Description = "Machine-learning network intrusion detection: score flows, analyse pcaps, query and stream alerts, manage models."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{"bearer": {Type: "http", Scheme: "bearer"}}
	api := humago.New(mux, cfg)
	s.api = api
	secured := []map[string][]string{{"bearer": {}}}
	auth := func(ctx huma.Context, next func(huma.Context)) {
		r, _ := humago.Unwrap(ctx)
		if !s.authorized(r) {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="flowguard"`)
			huma.WriteErr(api, ctx, http.StatusUnauthorized, "this endpoint needs an Authorization: Bearer token",
				&huma.ErrorDetail{Location: "header.Authorization", Message: "missing or wrong bearer token"})
			return
		}
		next(ctx)
	}

	huma.Register(api, huma.Operation{OperationID: "get-job", Method: http.MethodGet, Path: "/v1/jobs/{id}",
		Summary: "A pcap job's status and counters", Tags: []string{"jobs"}}, s.getJob)
	huma.Register(api, huma.Operation{OperationID: "get-job-flows", Method: http.MethodGet, Path: "/v1/jobs/{id}/flows",
		Summary: "A pcap job's flows with verdicts", Tags: []string{"jobs"}}, s.getJobFlows)
	huma.Register(api, huma.Operation{OperationID: "get-job-alerts", Method: http.MethodGet, Path: "/v1/jobs/{id}/alerts",
		Summary: "A pcap job's alerts", Tags: []string{"jobs"}}, s.getJobAlerts)
	huma.Register(api, huma.Operation{OperationID: "list-alerts", Method: http.MethodGet, Path: "/v1/alerts",
		Summary: "Stored alerts, filtered, newest first, keyset-paged", Tags: []string{"alerts"}}, s.listAlerts)
	huma.Register(api, huma.Operation{OperationID: "list-models", Method: http.MethodGet, Path: "/v1/models",
		Summary: "Registered models", Tags: []string{"models"}}, s.listModels)
	huma.Register(api, huma.Operation{OperationID: "current-model", Method: http.MethodGet, Path: "/v1/models/current",
		Summary: "The active model", Tags: []string{"models"}}, s.currentModel)
	huma.Register(api, huma.Operation{OperationID: "activate-model", Method: http.MethodPost, Path: "/v1/models/{id}/activate",
		Summary: "Make a registered model the active one (hot swap)", Tags: []string{"models"},
		Security: secured, Middlewares: huma.Middlewares{auth}, Errors: []int{401, 404, 422}}, s.activateModel)

	raw := func(method, path, id, summary, tag string, h http.Handler, body map[string]*huma.MediaType, ok string, mutating bool) {
		if mutating {
			h = s.requireToken(h)
		}
		mux.Handle(method+" "+path, h)
		op := &huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{tag},
			Responses: map[string]*huma.Response{ok: {Description: summary},
				"default": {Description: "An RFC 9457 problem", Content: map[string]*huma.MediaType{
					"application/problem+json": {Schema: huma.SchemaFromType(cfg.Components.Schemas, reflect.TypeFor[huma.ErrorModel]())}}}}}
		if body != nil {
			op.RequestBody = &huma.RequestBody{Required: true, Content: body}
		}
		if mutating {
			op.Security = secured
		}
		api.OpenAPI().AddOperation(op)
	}
	anyBody := func(types ...string) map[string]*huma.MediaType {
		m := map[string]*huma.MediaType{}
		for _, t := range types {
			m[t] = &huma.MediaType{}
		}
		return m
	}
	raw(http.MethodPost, "/v1/predict/flows", "predict-flows",
		"Score flows: JSON records keyed by CIC column names (any dialect) or canonical IDs, pandas-split JSON, or CSV",
		"predict", http.HandlerFunc(s.predictFlows),
		anyBody("application/json", "application/json; format=pandas-split", "text/csv"), "200", false)
	raw(http.MethodPost, "/v1/jobs/pcap", "submit-pcap", "Upload a pcap/pcapng (streamed) and analyse it asynchronously",
		"jobs", http.HandlerFunc(s.uploadPcap), anyBody("application/vnd.tcpdump.pcap", "application/octet-stream"), "202", true)
	raw(http.MethodPost, "/v1/models", "upload-model", "Register a flowguard model artifact (inactive)",
		"models", http.HandlerFunc(s.uploadModel), anyBody("application/octet-stream"), "201", true)
	streams := alert.StreamOptions{}
	raw(http.MethodGet, "/v1/alerts/stream", "alerts-sse", "Live alerts as Server-Sent Events (filters as /v1/alerts, since, replay)",
		"alerts", alert.SSEHandler(s.broker, streams), nil, "200", false)
	raw(http.MethodGet, "/v1/alerts/ws", "alerts-ws", "Live alerts over a WebSocket, one EVE JSON message each",
		"alerts", alert.WSHandler(s.broker, streams), nil, "101", false)
	s.compatRoutes(raw, anyBody)

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, problem(http.StatusNotFound, "no endpoint "+r.Method+" "+r.URL.Path+"; see /v1/openapi.json"))
	})
	s.handler = s.instrument(s.rateLimit(mux))
}

// ready is /readyz: the store answers and a model is loaded.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.store.SchemaVersion(ctx); err != nil {
		writeProblem(w, problem(http.StatusServiceUnavailable, "store unreachable: "+err.Error()))
		return
	}
	l := s.models.current()
	if l == nil {
		writeProblem(w, problem(http.StatusServiceUnavailable, "no model loaded"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "model": l.id})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// internal logs a server-side failure and hides it from the client.
func (s *Server) internal(err error) error {
	s.log.Error("request failed", "err", err)
	return huma.Error500InternalServerError("internal error")
}

// fail is internal for plain handlers.
func (s *Server) fail(w http.ResponseWriter, err error) {
	s.log.Error("request failed", "err", err)
	writeProblem(w, err)
}

// notFoundOr answers 404 for an unknown ID and hides other errors.
func (s *Server) notFoundOr(err error, what, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return huma.Error404NotFound("no "+what+" "+id, &huma.ErrorDetail{Location: "path.id", Value: id, Message: "unknown " + what})
	}
	return s.internal(err)
}
