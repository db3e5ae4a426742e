package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// Every error the service answers is an RFC 9457 (formerly 7807) problem,
// the same huma.ErrorModel huma's own validation writes, so clients parse
// one shape: errors[].location names the offending field ("body.rows[3]
// .flow_duration", "query.since") or byte offset ("body@1234").

// problemError is a problem a handler returns; writeError answers it.
type problemError struct{ m *huma.ErrorModel }

func (e *problemError) Error() string { return e.m.Detail }

// problem builds a problem with optional located details.
func problem(status int, detail string, details ...*huma.ErrorDetail) *problemError {
	return &problemError{&huma.ErrorModel{Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: detail, Errors: details}}
}

// at is one located detail.
func at(location, format string, args ...any) *huma.ErrorDetail {
	return &huma.ErrorDetail{Location: location, Message: fmt.Sprintf(format, args...)}
}

// writeProblem answers a problem. Errors that are not problems are the
// server's own: they are logged by the caller and answered 500 without
// internals.
func writeProblem(w http.ResponseWriter, err error) {
	var p *problemError
	if !errors.As(err, &p) {
		p = problem(http.StatusInternalServerError, "internal error")
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.m.Status)
	json.NewEncoder(w).Encode(p.m)
}

// bodyReadError converts the error of a body read past an http.MaxBytesReader
// limit into a 413 problem; other read errors are the client's connection
// failing mid-body, a 400.
func bodyReadError(err error, offset int64) *problemError {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds the limit of %d bytes", mb.Limit),
			at(fmt.Sprintf("body@%d", mb.Limit), "body too large"))
	}
	return problem(http.StatusBadRequest, "reading the body failed: "+err.Error(), at(fmt.Sprintf("body@%d", offset), "read error"))
}
