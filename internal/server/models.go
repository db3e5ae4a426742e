package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/flowguard/flowguard/internal/detect/defaultmodel"
	"github.com/flowguard/flowguard/internal/flowmeter"
	"github.com/flowguard/flowguard/internal/model"
	"github.com/flowguard/flowguard/internal/store"
)

// embeddedPath is the registry path of the model compiled into the binary.
const embeddedPath = "embedded:" + defaultmodel.Name

// loaded is a registered model decoded and ready to score. It is shared
// by concurrent requests and never modified: the classifier's
// PredictProba is safe for concurrent use, and each request brings its
// own buffers.
type loaded struct {
	id      string
	name    string
	art     *model.Artifact
	profile *flowmeter.Profile // nil when no flow-meter profile computes its features
	version string             // the training data fingerprint, short
}

// models holds the active model and the registry's decoded models.
// Activation swaps one pointer: requests in flight finish with the model
// they started with.
type models struct {
	st     *store.Store
	dir    string
	met    *metrics
	active atomic.Pointer[loaded]

	mu    sync.Mutex
	cache map[string]*loaded // by ID
}

// newModels loads the model to serve: --model (registered and activated),
// else the store's active model, else the embedded default (registered
// and activated, so the registry always names what is served).
func newModels(ctx context.Context, st *store.Store, cfg Config, met *metrics) (*models, error) {
	m := &models{st: st, dir: filepath.Join(cfg.SpoolDir, "models"), met: met, cache: map[string]*loaded{}}
	var rec store.Model
	switch {
	case cfg.ModelPath != "":
		sum, err := fileSHA256(cfg.ModelPath)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", cfg.ModelPath, err)
		}
		abs, err := filepath.Abs(cfg.ModelPath)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", cfg.ModelPath, err)
		}
		rec = store.Model{ID: "m-" + sum[:12], Name: filepath.Base(cfg.ModelPath), SHA256: sum, Path: abs}
	default:
		var err error
		rec, err = st.ActiveModel(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		rec = store.Model{ID: defaultmodel.Name, Name: defaultmodel.Name, Path: embeddedPath}
	}
	l, err := m.load(rec)
	if err != nil {
		return nil, err
	}
	rec.Algorithm = l.art.Algorithm
	if err := st.AddModel(ctx, rec); err != nil && !errors.Is(err, store.ErrExists) {
		return nil, err
	}
	if !rec.Active {
		if err := st.ActivateModel(ctx, rec.ID); err != nil {
			return nil, err
		}
	}
	m.setActive(l)
	return m, nil
}

// load decodes a registered model, once.
func (m *models) load(rec store.Model) (*loaded, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.cache[rec.ID]; ok {
		return l, nil
	}
	var a *model.Artifact
	var err error
	if rec.Path == embeddedPath {
		a, err = defaultmodel.Load()
	} else {
		a, err = model.Load(rec.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", rec.ID, err)
	}
	if a.IsAnomalyModel() {
		return nil, fmt.Errorf("model %s is an anomaly model: serve it beside a classifier with --anomaly-model", rec.ID)
	}
	l := &loaded{id: rec.ID, name: rec.Name, art: a, profile: flowmeter.Profiles[a.Schema.Profile],
		version: a.Training.DataFingerprint}
	if len(l.version) > 12 {
		l.version = l.version[:12]
	}
	m.cache[rec.ID] = l
	return l, nil
}

func (m *models) current() *loaded { return m.active.Load() }

func (m *models) setActive(l *loaded) {
	m.active.Store(l)
	m.met.modelVersion.Reset()
	m.met.modelVersion.WithLabelValues(l.id, l.art.Algorithm, l.version).Set(1)
}

// registered returns every registered model that decodes, active first:
// the candidates the compat endpoints choose from. A model that fails to
// load is skipped, not fatal: one broken file must not take a compat
// endpoint down.
func (m *models) registered(ctx context.Context) []*loaded {
	out := []*loaded{m.current()}
	recs, err := m.st.ListModels(ctx)
	if err != nil {
		return out
	}
	for _, r := range recs {
		if r.ID == out[0].id {
			continue
		}
		if l, err := m.load(r); err == nil {
			out = append(out, l)
		}
	}
	return out
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// verdict is a model's answer for one row.
type verdict struct {
	class int
	prob  float64
	score float64 // attack score 1 − P(benign); 0 without a benign class
	alert bool
}

// score cleans row x in place and scores it into proba (one slot a
// class), with the decision rule detect.Scorer applies to metered flows.
func (l *loaded) score(x, proba []float64) verdict {
	l.art.Clean(x)
	l.art.Classifier().PredictProba(x, proba)
	return l.decide(proba)
}

// decide turns class probabilities into a verdict.
func (l *loaded) decide(proba []float64) verdict {
	a := l.art
	v := verdict{}
	for k, p := range proba {
		if p > proba[v.class] {
			v.class = k
		}
	}
	v.prob = proba[v.class]
	if b := a.Schema.Benign; b >= 0 {
		v.score = 1 - proba[b]
		if t := a.Threshold; t != nil {
			v.alert = v.score >= t.Value
		} else {
			v.alert = v.class != b
		}
	}
	return v
}

// ModelInfo describes a registered model.
type ModelInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Algorithm string    `json:"algorithm"`
	Created   time.Time `json:"created"`
	SHA256    string    `json:"sha256,omitempty"`
	Active    bool      `json:"active"`
	Activated time.Time `json:"activated,omitzero"`
	// Detail of a decoded model (the active one, and any used since start).
	Version   string   `json:"version,omitempty" doc:"training data fingerprint, short"`
	Profile   string   `json:"profile,omitempty" doc:"flow-meter profile of its features"`
	Features  []string `json:"features,omitempty"`
	Classes   []string `json:"classes,omitempty"`
	Threshold *float64 `json:"threshold,omitempty" doc:"alert when 1 − P(benign) reaches this"`
}

func (m *models) info(r store.Model) ModelInfo {
	out := ModelInfo{ID: r.ID, Name: r.Name, Algorithm: r.Algorithm, Created: r.Created, SHA256: r.SHA256,
		Active: r.Active, Activated: r.Activated}
	m.mu.Lock()
	l := m.cache[r.ID]
	m.mu.Unlock()
	if l != nil {
		s := l.art.Schema
		out.Version, out.Profile, out.Features, out.Classes = l.version, s.Profile, s.Features, s.Classes
		if t := l.art.Threshold; t != nil && !math.IsInf(t.Value, 0) {
			out.Threshold = &t.Value
		}
	}
	return out
}

type modelList struct {
	Body struct {
		Models []ModelInfo `json:"models"`
	}
}

type modelOut struct {
	Body ModelInfo
}

type modelID struct {
	ID string `path:"id" maxLength:"128" doc:"model ID"`
}

func (s *Server) listModels(ctx context.Context, _ *struct{}) (*modelList, error) {
	recs, err := s.store.ListModels(ctx)
	if err != nil {
		return nil, s.internal(err)
	}
	out := &modelList{}
	out.Body.Models = make([]ModelInfo, 0, len(recs))
	for _, r := range recs {
		out.Body.Models = append(out.Body.Models, s.models.info(r))
	}
	return out, nil
}

func (s *Server) currentModel(ctx context.Context, _ *struct{}) (*modelOut, error) {
	r, err := s.store.GetModel(ctx, s.models.current().id)
	if err != nil {
		return nil, s.internal(err)
	}
	return &modelOut{Body: s.models.info(r)}, nil
}

func (s *Server) activateModel(ctx context.Context, in *modelID) (*modelOut, error) {
	r, err := s.store.GetModel(ctx, in.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, huma.Error404NotFound("no model "+in.ID, &huma.ErrorDetail{Location: "path.id", Value: in.ID, Message: "unknown model"})
	}
	if err != nil {
		return nil, s.internal(err)
	}
	l, err := s.models.load(r)
	if err != nil {
		return nil, huma.Error422UnprocessableEntity("model "+in.ID+" cannot be loaded: "+err.Error(),
			&huma.ErrorDetail{Location: "path.id", Value: in.ID, Message: "model file unusable"})
	}
	if err := s.store.ActivateModel(ctx, r.ID); err != nil {
		return nil, s.internal(err)
	}
	s.models.setActive(l)
	s.log.Info("model activated", "id", r.ID, "algorithm", l.art.Algorithm)
	if r, err = s.store.GetModel(ctx, r.ID); err != nil {
		return nil, s.internal(err)
	}
	return &modelOut{Body: s.models.info(r)}, nil
}

// uploadModel stores an artifact streamed in the body (spooled with its
// hash, never held in memory whole), validates it with model.Read and
// registers it, inactive.
func (s *Server) uploadModel(w http.ResponseWriter, r *http.Request) {
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxModelBytes)
	tmp, err := os.CreateTemp(s.models.dir, "upload-*.tmp")
	if err != nil {
		s.fail(w, err)
		return
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), body)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		s.fail(w, cerr)
		return
	}
	if err != nil {
		writeProblem(w, bodyReadError(err, n))
		return
	}
	if n == 0 {
		writeProblem(w, problem(http.StatusBadRequest, "empty body: send a flowguard model file", at("body", "empty")))
		return
	}
	a, err := model.Load(tmp.Name())
	if err != nil {
		writeProblem(w, problem(http.StatusUnprocessableEntity, "not a usable flowguard model",
			at("body", "%s", strings.TrimPrefix(err.Error(), "load model "+tmp.Name()+": "))))
		return
	}
	if a.IsAnomalyModel() {
		writeProblem(w, problem(http.StatusUnprocessableEntity, "not a usable flowguard model",
			at("body", "an anomaly model (%s) cannot be the active classifier: start serve with --anomaly-model", a.Algorithm)))
		return
	}
	sum := hex.EncodeToString(h.Sum(nil))
	id := "m-" + sum[:12]
	path := filepath.Join(s.models.dir, id+".model")
	if err := os.Rename(tmp.Name(), path); err != nil {
		s.fail(w, err)
		return
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		name = id
	}
	rec := store.Model{ID: id, Name: name, Algorithm: a.Algorithm, SHA256: sum, Path: path, Metrics: a.Metrics}
	if err := s.store.AddModel(r.Context(), rec); err != nil {
		if errors.Is(err, store.ErrExists) {
			writeProblem(w, problem(http.StatusConflict, "this model is already registered as "+id, at("body", "duplicate of model %s", id)))
			return
		}
		s.fail(w, err)
		return
	}
	if rec, err = s.store.GetModel(r.Context(), id); err != nil {
		s.fail(w, err)
		return
	}
	if _, err := s.models.load(rec); err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Location", "/v1/models/"+id)
	writeJSON(w, http.StatusCreated, s.models.info(rec))
}
