package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/flowguard/flowguard/internal/events"
)

// LoadEventsModel reads the events model that serves ML-PT's
// POST /predict. It must cluster (flowguard events fit --algo dbscan or
// hdbscan): the endpoint answers cluster ids, which a scoring-only model
// does not have.
func LoadEventsModel(path string) (*events.Model, error) {
	m, err := events.LoadModel(path)
	if err != nil {
		return nil, err
	}
	if !m.Clustering() {
		return nil, fmt.Errorf("events model %s: %s scores but does not cluster; POST /predict needs a dbscan or hdbscan model", path, m.Algo)
	}
	return m, nil
}

// mlPTError is ML-PT's error body; its clients read "error".
func mlPTError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// isJSON is Flask's request.is_json, which ML-PT checks: application/json
// or any application/*+json.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// mlPTPredict is ML-PT's POST /predict: a JSON array of {"data": "<JSON
// event>"} (bare NaN allowed inside the strings) → [{"EVENT_ID",
// "LABEL_PRED"}] in input order, LABEL_PRED the cluster id from the
// events model's labeler, -1 for noise. Without an events model it is a
// 503 problem; a body that is not JSON is ML-PT's 415; any other failure
// its 500 {"error": ...}.
func (s *Server) mlPTPredict(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	m := s.cfg.EventsModel
	if m == nil {
		writeProblem(w, problem(http.StatusServiceUnavailable,
			"no HTTP-event model: ML-PT's /predict clusters web-application-firewall events (CLIENT_IP, CLIENT_USERAGENT, "+
				"REQUEST_SIZE, RESPONSE_CODE, MATCHED_VARIABLE_*); fit one with flowguard events fit --algo dbscan|hdbscan "+
				"and serve it with flowguard serve --events-model PATH",
			at("body", "needs model kind http-event")))
		return
	}
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			mlPTError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", mb.Limit))
			return
		}
		mlPTError(w, http.StatusBadRequest, "reading request: "+err.Error())
		return
	}
	if !isJSON(r.Header.Get("Content-Type")) || !json.Valid(body) {
		mlPTError(w, http.StatusUnsupportedMediaType, "Request must be JSON")
		return
	}
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '[' {
		mlPTError(w, http.StatusInternalServerError, "request must be a JSON array of {\"data\": \"<JSON event>\"}")
		return
	}
	rd, err := events.NewReader(bytes.NewReader(body), events.FormatMLPT, nil)
	if err != nil {
		mlPTError(w, http.StatusInternalServerError, err.Error())
		return
	}
	var evs []*events.Event
	for {
		e, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			// One bad item would shift every later answer off its
			// event: fail the request as ML-PT does.
			mlPTError(w, http.StatusInternalServerError, err.Error())
			return
		}
		evs = append(evs, e)
	}
	type pred struct {
		EventID string `json:"EVENT_ID"`
		Label   int    `json:"LABEL_PRED"`
	}
	out := make([]pred, len(evs))
	for i, res := range m.ScoreAll(evs) {
		out[i] = pred{evs[i].EventID, res.Cluster}
	}
	writeJSON(w, http.StatusOK, out)
}
