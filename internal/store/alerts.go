package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flowguard/flowguard/internal/alert"
)

// An alert is stored as its EVE JSON, which queries decode, and the
// columns alert.Filter selects on.
const (
	insertAlerts = "INSERT INTO alerts (id, ts_ns, src_ip, dest_ip, class, kind, severity, job, data) VALUES "
	alertRow     = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
	alertParams  = 9
	// alertChunk is the rows of one INSERT: 9 parameters a row stays well
	// under SQLite's 32766 and PostgreSQL's 65535 parameters a statement.
	alertChunk = 500
)

// Send stores alerts (InsertAlerts), so a Store is an alert.Sink.
func (s *Store) Send(ctx context.Context, alerts []alert.Alert) error {
	return s.InsertAlerts(ctx, alerts)
}

// InsertAlerts stores alerts in one transaction: all of them or, on error,
// none. An alert whose ID is already stored is skipped, so a job that is
// rerun does not duplicate its alerts.
func (s *Store) InsertAlerts(ctx context.Context, alerts []alert.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	// Inserting in ID order makes concurrent batches that share IDs take
	// their row locks in one order: one waits for the other instead of
	// both deadlocking (PostgreSQL).
	sorted := slices.SortedFunc(slices.Values(alerts), func(a, b alert.Alert) int { return strings.Compare(a.ID, b.ID) })
	err := s.inTx(ctx, func(c conn) error {
		for chunk := range slices.Chunk(sorted, alertChunk) {
			args := make([]any, 0, len(chunk)*alertParams)
			for i := range chunk {
				a := &chunk[i]
				if a.ID == "" || a.Timestamp.IsZero() {
					return fmt.Errorf("alert %q: an alert needs an ID and a timestamp", a.ID)
				}
				data, err := json.Marshal(a)
				if err != nil {
					return fmt.Errorf("alert %s: %w", a.ID, err)
				}
				// The columns hold what the JSON does, so that a query
				// selects as f.Match would on the alerts it returns: the
				// time to the microsecond and strings as valid UTF-8. A
				// severity below 1 is stored as 1, which every maximum
				// severity selects, as f.Match does, so that a query needs
				// no branch for it (see alertBranches).
				fg := &a.Flowguard
				args = append(args, text(a.ID), nanos(a.Timestamp.Truncate(time.Microsecond)),
					text(a.SrcIP), text(a.DestIP), text(fg.Class), text(fg.Kind),
					max(a.Alert.Severity, 1), text(fg.Job), string(data))
			}
			q := insertAlerts + strings.Repeat(alertRow+", ", len(chunk)-1) + alertRow + " ON CONFLICT (id) DO NOTHING"
			if _, err := c.exec(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: insert %d alerts: %w", len(alerts), err)
	}
	return nil
}

// QueryAlerts returns one page of the alerts f selects, newest first, and
// the cursor of the next page ("" after the last).
func (s *Store) QueryAlerts(ctx context.Context, f alert.Filter, p Page) ([]alert.Alert, string, error) {
	out, next, err := queryPage(ctx, s.conn(), "SELECT ts_ns, id, data FROM alerts", "ts_ns", alertBranches(f), p,
		func(rows *sql.Rows) (a alert.Alert, key cursor, err error) {
			var data string
			if err := rows.Scan(&key.ns, &key.id, &data); err != nil {
				return a, key, err
			}
			return a, key, json.Unmarshal([]byte(data), &a)
		})
	if err != nil {
		return nil, "", fmt.Errorf("store: query alerts: %w", err)
	}
	return out, next, nil
}

// CountAlerts counts the alerts f selects.
func (s *Store) CountAlerts(ctx context.Context, f alert.Filter) (int64, error) {
	var parts []string
	var args []any
	for _, b := range alertBranches(f) {
		parts = append(parts, "SELECT COUNT(*) AS n FROM alerts"+b.sql())
		args = append(args, b.args...)
	}
	var n int64
	err := s.conn().queryRow(ctx, "SELECT SUM(n) FROM ("+strings.Join(parts, " UNION ALL ")+") AS c", args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count alerts: %w", err)
	}
	return n, nil
}

// GetAlert returns the alert with the given ID.
func (s *Store) GetAlert(ctx context.Context, id string) (alert.Alert, error) {
	var a alert.Alert
	var data string
	err := s.conn().queryRow(ctx, "SELECT data FROM alerts WHERE id = ?", text(id)).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err == nil {
		err = json.Unmarshal([]byte(data), &a)
	}
	if err != nil {
		return a, fmt.Errorf("store: alert %s: %w", id, err)
	}
	return a, nil
}

// alertBranches is f as SQL, with the meaning of f.Match. The host
// (source or destination) and a maximum severity are alternatives, made
// disjoint branches so that each runs as one ordered scan of its index:
// the source, the destination (not the source), and each of Suricata's
// severities 1 to 3.
func alertBranches(f alert.Filter) []branch {
	all := branch{}
	if !f.Since.IsZero() {
		all = all.and("ts_ns >= ?", nanos(f.Since))
	}
	if !f.Until.IsZero() {
		all = all.and("ts_ns < ?", nanos(f.Until))
	}
	if f.Class != "" {
		all = all.and("class = ?", text(f.Class))
	}
	if f.Kind != "" {
		all = all.and("kind = ?", text(f.Kind))
	}
	if f.Job != "" {
		all = all.and("job = ?", text(f.Job))
	}
	if f.MaxSeverity > 3 {
		all = all.and("severity <= ?", f.MaxSeverity)
	}
	out := []branch{all}
	either := func(alts ...branch) {
		var next []branch
		for _, b := range out {
			for _, alt := range alts {
				next = append(next, b.with(alt))
			}
		}
		out = next
	}
	if h := text(f.Host); h != "" {
		either(branch{}.and("src_ip = ?", h), branch{}.and("dest_ip = ?", h).and("src_ip <> ?", h))
	}
	if m := f.MaxSeverity; m > 0 && m <= 3 {
		var alts []branch
		for sev := 1; sev <= m; sev++ {
			alts = append(alts, branch{}.and("severity = ?", sev))
		}
		either(alts...)
	}
	return out
}

// text is s as a PostgreSQL TEXT value can hold it and as alert JSON
// spells it: every byte that is not UTF-8 becomes U+FFFD, and so does NUL.
// Dataset labels, and so class names, are not always UTF-8.
func text(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s { // an invalid byte comes as one RuneError
		if r == 0 {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}
