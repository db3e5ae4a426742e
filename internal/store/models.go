package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/flowguard/flowguard/internal/model"
)

// Model is a registered model artifact.
type Model struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Algorithm string          `json:"algorithm"`
	Created   time.Time       `json:"created"`
	SHA256    string          `json:"sha256"`            // of the artifact file
	Path      string          `json:"path"`              // the artifact file
	Metrics   json.RawMessage `json:"metrics,omitempty"` // summary of its evaluation
	Active    bool            `json:"active"`
	Activated time.Time       `json:"activated,omitzero"` // when it became the active model
}

const selectModels = "SELECT m.id, m.name, m.algorithm, m.created_ns, m.sha256, m.path, m.metrics, " +
	"COALESCE(a.activated_ns, 0) FROM models m LEFT JOIN active_model a ON a.model_id = m.id"

// AddModel registers m, inactive. An ID already used is ErrExists.
func (s *Store) AddModel(ctx context.Context, m Model) error {
	err := func() error {
		if m.ID == "" || m.Path == "" {
			return errors.New("a model needs an ID and a path")
		}
		if len(m.Metrics) > 0 && !json.Valid(m.Metrics) {
			return errors.New("metrics are not JSON")
		}
		if m.Created.IsZero() {
			m.Created = now()
		}
		res, err := s.conn().exec(ctx, "INSERT INTO models (id, name, algorithm, created_ns, sha256, path, metrics) "+
			"VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
			text(m.ID), text(m.Name), text(m.Algorithm), nanos(m.Created), text(m.SHA256), text(m.Path), text(string(m.Metrics)))
		if err == nil {
			err = affected(res)
		}
		if errors.Is(err, ErrNotFound) {
			err = ErrExists
		}
		return err
	}()
	if err != nil {
		return fmt.Errorf("store: add model %s: %w", m.ID, err)
	}
	return nil
}

func scanModel(sc interface{ Scan(...any) error }) (Model, error) {
	var m Model
	var created, activated int64
	var metrics string
	err := sc.Scan(&m.ID, &m.Name, &m.Algorithm, &created, &m.SHA256, &m.Path, &metrics, &activated)
	m.Created, m.Activated, m.Active = fromNanos(created), fromNanos(activated), activated != 0
	if metrics != "" {
		m.Metrics = json.RawMessage(metrics)
	}
	return m, err
}

// ListModels returns every registered model, newest first.
func (s *Store) ListModels(ctx context.Context) ([]Model, error) {
	rows, err := s.conn().query(ctx, selectModels+" ORDER BY m.created_ns DESC, m.id DESC")
	if err != nil {
		return nil, fmt.Errorf("store: list models: %w", err)
	}
	defer rows.Close()
	var out []Model
	for rows.Next() {
		m, err := scanModel(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list models: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list models: %w", err)
	}
	return out, nil
}

// GetModel returns the model with the given ID.
func (s *Store) GetModel(ctx context.Context, id string) (Model, error) {
	return s.oneModel(ctx, "model "+id, selectModels+" WHERE m.id = ?", text(id))
}

// ActiveModel returns the active model; ErrNotFound when none is.
func (s *Store) ActiveModel(ctx context.Context) (Model, error) {
	return s.oneModel(ctx, "active model", selectModels+" WHERE a.slot = 1")
}

func (s *Store) oneModel(ctx context.Context, what, query string, args ...any) (Model, error) {
	m, err := scanModel(s.conn().queryRow(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Model{}, fmt.Errorf("store: %s: %w", what, err)
	}
	return m, nil
}

// ActivateModel makes the model with the given ID the active one, and
// every other inactive.
func (s *Store) ActivateModel(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(c conn) error {
		var one int
		id := text(id)
		err := c.queryRow(ctx, "SELECT 1 FROM models WHERE id = ?", id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = c.exec(ctx, "INSERT INTO active_model (slot, model_id, activated_ns) VALUES (1, ?, ?) "+
			"ON CONFLICT (slot) DO UPDATE SET model_id = excluded.model_id, activated_ns = excluded.activated_ns",
			id, time.Now().UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("store: activate model %s: %w", id, err)
	}
	return nil
}

// AddRun records a training run, replacing an earlier record with its ID
// as the run's file in a runs directory would be.
func (s *Store) AddRun(ctx context.Context, r model.Run) error {
	data, err := json.Marshal(r)
	if err == nil && r.ID == "" {
		err = errors.New("a run needs an ID")
	}
	if err == nil {
		_, err = s.conn().exec(ctx, "INSERT INTO runs (id, started_ns, algorithm, model, data) VALUES (?, ?, ?, ?, ?) "+
			"ON CONFLICT (id) DO UPDATE SET started_ns = excluded.started_ns, algorithm = excluded.algorithm, "+
			"model = excluded.model, data = excluded.data",
			text(r.ID), nanos(r.Started), text(r.Algorithm), text(r.Model), string(data))
	}
	if err != nil {
		return fmt.Errorf("store: add run %s: %w", r.ID, err)
	}
	return nil
}

// ListRuns returns one page of the recorded runs, newest first, and the
// cursor of the next page.
func (s *Store) ListRuns(ctx context.Context, p Page) ([]model.Run, string, error) {
	runs, next, err := queryPage(ctx, s.conn(), "SELECT started_ns, id, data FROM runs", "started_ns", []branch{{}}, p,
		func(rows *sql.Rows) (r model.Run, key cursor, err error) {
			var data string
			if err := rows.Scan(&key.ns, &key.id, &data); err != nil {
				return r, key, err
			}
			return r, key, json.Unmarshal([]byte(data), &r)
		})
	if err != nil {
		return nil, "", fmt.Errorf("store: list runs: %w", err)
	}
	return runs, next, nil
}
