package server

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/store"
)

type alertsIn struct {
	Since    string `query:"since" doc:"RFC 3339: alerts at or after"`
	Until    string `query:"until" doc:"RFC 3339: alerts before"`
	Class    string `query:"class" maxLength:"128"`
	Host     string `query:"host" maxLength:"64" doc:"source or destination IP address"`
	Severity int    `query:"severity" minimum:"0" maximum:"3" doc:"1-3: alerts at least this severe"`
	Kind     string `query:"kind" enum:"classifier,anomaly,"`
	Job      string `query:"job" maxLength:"64"`
	Limit    int    `query:"limit" minimum:"0" maximum:"1000" doc:"page size (default 100)"`
	Cursor   string `query:"cursor" maxLength:"512" doc:"next_cursor of the previous page"`
}

type alertsOut struct {
	Body struct {
		Alerts     []alert.Alert `json:"alerts" doc:"EVE JSON alerts, newest first"`
		NextCursor string        `json:"next_cursor,omitempty" doc:"absent after the last page"`
	}
}

func parseTimeParam(name, v string, errs *[]error) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		*errs = append(*errs, &huma.ErrorDetail{Location: "query." + name, Value: v, Message: "want an RFC 3339 time"})
	}
	return t
}

// listAlerts is GET /v1/alerts: the stored alerts, filtered, newest first,
// paged by keyset so pages stay stable while alerts arrive.
func (s *Server) listAlerts(ctx context.Context, in *alertsIn) (*alertsOut, error) {
	var bad []error
	f := alert.Filter{Since: parseTimeParam("since", in.Since, &bad), Until: parseTimeParam("until", in.Until, &bad),
		Class: in.Class, Host: in.Host, MaxSeverity: in.Severity, Kind: in.Kind, Job: in.Job}
	if in.Host != "" {
		if a, err := netip.ParseAddr(in.Host); err != nil {
			bad = append(bad, &huma.ErrorDetail{Location: "query.host", Value: in.Host, Message: "want an IP address"})
		} else {
			f.Host = a.String()
		}
	}
	if len(bad) > 0 {
		return nil, huma.Error400BadRequest("bad query parameters", bad...)
	}
	return s.queryAlerts(ctx, f, store.Page{Limit: in.Limit, Cursor: in.Cursor})
}

func (s *Server) queryAlerts(ctx context.Context, f alert.Filter, p store.Page) (*alertsOut, error) {
	as, next, err := s.store.QueryAlerts(ctx, f, p)
	if errors.Is(err, store.ErrBadCursor) {
		return nil, huma.Error400BadRequest("bad cursor", &huma.ErrorDetail{Location: "query.cursor", Value: p.Cursor, Message: "not a cursor this API gave"})
	}
	if err != nil {
		return nil, s.internal(err)
	}
	out := &alertsOut{}
	out.Body.Alerts, out.Body.NextCursor = as, next
	if out.Body.Alerts == nil {
		out.Body.Alerts = []alert.Alert{}
	}
	return out, nil
}

type jobAlertsIn struct {
	ID     string `path:"id" maxLength:"64" doc:"job ID"`
	Limit  int    `query:"limit" minimum:"0" maximum:"1000" doc:"page size (default 100)"`
	Cursor string `query:"cursor" maxLength:"512"`
}

func (s *Server) getJobAlerts(ctx context.Context, in *jobAlertsIn) (*alertsOut, error) {
	if _, err := s.store.GetJob(ctx, in.ID); err != nil {
		return nil, s.notFoundOr(err, "job", in.ID)
	}
	return s.queryAlerts(ctx, alert.Filter{Job: in.ID}, store.Page{Limit: in.Limit, Cursor: in.Cursor})
}
