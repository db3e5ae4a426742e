package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/flowguard/flowguard/internal/dataset"
)

// The drop-in endpoints answer the predecessor projects' clients in their
// own request and response shapes (seeds README). Each is served by the
// first registered model, active first, whose feature schema fits it;
// when none fits the answer is a 503 problem saying which kind of model
// would.

// atdFields are AtDBackend's 32 /reports/ fields, in its order; each is
// the snake_case of the CIC-IDS2017 header of the same meaning.
var atdFields = []string{"flow_duration", "fwd_packet_length_std", "bwd_packet_length_mean", "bwd_packet_length_std",
	"flow_bytes_s", "flow_packets_s", "flow_iat_mean", "flow_iat_std", "flow_iat_max", "fwd_iat_total", "fwd_iat_mean",
	"fwd_iat_std", "fwd_iat_max", "bwd_iat_total", "bwd_iat_mean", "bwd_iat_std", "bwd_iat_max", "fwd_packets_s",
	"bwd_packets_s", "packet_length_mean", "packet_length_std", "packet_length_variance", "average_packet_size",
	"avg_bwd_segment_size", "active_mean", "active_std", "active_max", "active_min", "idle_mean", "idle_std",
	"idle_max", "idle_min"}

// atdIDs and cse2018IDs are the canonical features each flow API can
// supply.
var atdIDs, cse2018IDs = func() (map[string]bool, map[string]bool) {
	atd := map[string]bool{}
	for _, f := range atdFields {
		if id, ok := canonicalID(f); ok {
			atd[id] = true
		}
	}
	cse := map[string]bool{}
	for _, c := range dataset.Columns() {
		if c.Kind == dataset.KindFeature && len(c.Names["cse-cic-ids2018"]) > 0 {
			cse[c.ID] = true
		}
	}
	return atd, cse
}()

func featuresWithin(l *loaded, ids map[string]bool) bool {
	for _, f := range l.art.Schema.Features {
		if !ids[f] {
			return false
		}
	}
	return true
}

// plainVector reports whether a model reads an anonymous numeric vector
// (PCA components and the like): none of its features is a flow column.
func plainVector(l *loaded) bool {
	for _, f := range l.art.Schema.Features {
		if _, ok := canonicalID(f); ok {
			return false
		}
	}
	return true
}

// pick returns the first registered model that fits, or a 503 naming the
// model the endpoint needs.
func (s *Server) pick(ctx context.Context, fits func(*loaded) bool, need string) (*loaded, error) {
	for _, l := range s.models.registered(ctx) {
		if fits(l) {
			return l, nil
		}
	}
	return nil, problem(http.StatusServiceUnavailable, "no registered model fits this endpoint: it needs "+need+
		"; upload one (POST /v1/models) and it is used without activation")
}

func (s *Server) compatRoutes(raw func(method, path, id, summary, tag string, h http.Handler, body map[string]*huma.MediaType, ok string, mutating bool),
	anyBody func(types ...string) map[string]*huma.MediaType) {
	raw(http.MethodPost, "/api/predictions", "compat-ml-ids", "ml-ids drop-in: pandas-split CSE-CIC-IDS2018 rows → [0.0|1.0, ...]",
		"compat", http.HandlerFunc(s.mlIDs), anyBody("application/json; format=pandas-split"), "200", false)
	raw(http.MethodPost, "/reports/", "compat-atd", `AtDBackend drop-in: 32 named CIC-IDS2017 fields → {"predictions": ["BENIGN"|"DoS"]}`,
		"compat", http.HandlerFunc(s.atd), anyBody("application/json"), "200", false)
	raw(http.MethodPost, "/predict/", "compat-misuse", `Misuse-in-Containers drop-in: {"features": [...]} → {"prediction": n}`,
		"compat", http.HandlerFunc(s.misuse), anyBody("application/json"), "200", false)
	raw(http.MethodPost, "/predict", "compat-ml-pt", "ML-PT drop-in: HTTP/WAF event clustering (needs an HTTP-event model)",
		"compat", http.HandlerFunc(s.mlPTPredict), anyBody("application/json"), "200", false)
}

// mlIDs is ml-ids's POST /api/predictions: exactly "application/json;
// format=pandas-split" (415 otherwise), 1.0 for an attack row, 0.0 for
// benign. Their rows carry inf, as CSE-CIC-IDS2018 does: non-finite
// values are accepted and cleaned as in training.
func (s *Server) mlIDs(w http.ResponseWriter, r *http.Request) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" || params["format"] != "pandas-split" {
		writeProblem(w, problem(http.StatusUnsupportedMediaType, "Content-Type must be application/json; format=pandas-split",
			at("header.Content-Type", "unsupported: %q", r.Header.Get("Content-Type"))))
		return
	}
	l, err := s.pick(r.Context(), func(l *loaded) bool { return featuresWithin(l, cse2018IDs) && l.art.Schema.Benign >= 0 },
		"a flow classifier with a benign class whose features are all CSE-CIC-IDS2018 columns (such as the embedded default model)")
	if err != nil {
		writeProblem(w, err)
		return
	}
	in, err := decodeBody(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), formatSplit, l,
		decodeOptions{allowNonFinite: true, maxRows: 1 << 20})
	if err != nil {
		writeProblem(w, err)
		return
	}
	vs := scoreRows(l, in)
	s.metrics.flowsScored.WithLabelValues("compat").Add(float64(in.n))
	b := make([]byte, 0, 2+len(vs)*5)
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ", "...)
		}
		if v.alert {
			b = append(b, "1.0"...)
		} else {
			b = append(b, "0.0"...)
		}
	}
	b = append(b, "]\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// atd is AtDBackend's POST /reports/: one object of 32 named fields →
// {"predictions": [class]}, the benign class written BENIGN.
func (s *Server) atd(w http.ResponseWriter, r *http.Request) {
	l, err := s.pick(r.Context(), func(l *loaded) bool {
		return featuresWithin(l, atdIDs) && l.art.Schema.Benign >= 0 && hasClass(l, "dos")
	}, "a BENIGN/DoS flow classifier whose features are among AtDBackend's 32 CIC-IDS2017 fields")
	if err != nil {
		writeProblem(w, err)
		return
	}
	// One object is read as a one-row records array.
	body := io.MultiReader(strings.NewReader("["), http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), strings.NewReader("]"))
	in, err := decodeBody(body, formatRecords, l, decodeOptions{maxRows: 1})
	if err != nil {
		writeProblem(w, err)
		return
	}
	if in.n == 0 {
		writeProblem(w, problem(http.StatusBadRequest, "empty body: want a JSON object of the 32 report fields", at("body", "empty")))
		return
	}
	v := scoreRows(l, in)[0]
	s.metrics.flowsScored.WithLabelValues("compat").Inc()
	class := l.art.Schema.Classes[v.class]
	if v.class == l.art.Schema.Benign {
		class = "BENIGN"
	} else if strings.EqualFold(class, "dos") {
		class = "DoS"
	}
	writeJSON(w, http.StatusOK, map[string][]string{"predictions": {class}})
}

func hasClass(l *loaded, name string) bool {
	for _, c := range l.art.Schema.Classes {
		if strings.EqualFold(c, name) {
			return true
		}
	}
	return false
}

// misuse is Misuse-in-Containers' POST /predict/: {"features": [floats]}
// → {"prediction": n}, n the class label as a number (their labels are
// 0..11).
func (s *Server) misuse(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Features *[]float64 `json:"features"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err := dec.Decode(&req); err != nil {
		writeProblem(w, jsonProblem(err, dec))
		return
	}
	if req.Features == nil {
		writeProblem(w, problem(http.StatusBadRequest, `missing "features"`, at("body.features", "required: an array of numbers")))
		return
	}
	x := *req.Features
	l, err := s.pick(r.Context(), func(l *loaded) bool { return plainVector(l) && len(l.art.Schema.Features) == len(x) },
		fmt.Sprintf("a classifier of a plain %d-number feature vector (such as PCA components)", len(x)))
	if err != nil {
		writeProblem(w, err)
		return
	}
	proba := make([]float64, len(l.art.Schema.Classes))
	v := l.score(x, proba)
	s.metrics.flowsScored.WithLabelValues("compat").Inc()
	pred := float64(v.class)
	if f, err := strconv.ParseFloat(l.art.Schema.Classes[v.class], 64); err == nil && !math.IsNaN(f) {
		pred = f
	}
	w.Header().Set("Content-Type", "application/json")
	b := strconv.AppendFloat([]byte(`{"prediction": `), pred, 'f', 1, 64)
	w.Write(append(b, "}\n"...))
}

// jsonProblem turns an encoding/json error into a problem naming the field
// or byte offset.
func jsonProblem(err error, dec *json.Decoder) *problemError {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb):
		return bodyReadError(err, 0)
	case errors.As(err, &te):
		return problem(http.StatusBadRequest, fmt.Sprintf("wrong type at %s: want %s, got %s", te.Field, te.Type, te.Value),
			at("body."+te.Field, "want %s", te.Type))
	case errors.As(err, &se):
		return problem(http.StatusBadRequest, "malformed JSON: "+se.Error(), at(fmt.Sprintf("body@%d", se.Offset), "malformed JSON"))
	case errors.Is(err, io.EOF):
		return problem(http.StatusBadRequest, "empty body", at("body", "empty"))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem(http.StatusBadRequest, "truncated JSON", at(fmt.Sprintf("body@%d", dec.InputOffset()), "unexpected end"))
	}
	return bodyReadError(err, dec.InputOffset())
}
