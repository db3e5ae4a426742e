package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flowguard/flowguard/internal/model"
)

func TestModels(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newURL func() string) {
		ctx := context.Background()
		s := openT(t, newURL())
		if _, err := s.ActiveModel(ctx); !errors.Is(err, ErrNotFound) {
			t.Fatalf("active model of an empty registry: %v; want ErrNotFound", err)
		}
		base := time.Now()
		const n = 6
		for i := range n {
			m := Model{ID: fmt.Sprintf("m%d", i), Name: "forest", Algorithm: "random_forest",
				Created: base.Add(time.Duration(i) * time.Minute), SHA256: "cafe", Path: fmt.Sprintf("/models/m%d.fgm", i),
				Metrics: json.RawMessage(`{"macro_f1":0.97}`)}
			if i == 0 {
				m.Metrics = nil
			}
			if err := s.AddModel(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddModel(ctx, Model{ID: "m1", Path: "/x"}); !errors.Is(err, ErrExists) {
			t.Fatalf("adding a model twice: %v; want ErrExists", err)
		}
		if err := s.AddModel(ctx, Model{ID: "bad", Path: "/x", Metrics: json.RawMessage("{")}); err == nil {
			t.Fatal("added a model with metrics that are not JSON")
		}
		if err := s.ActivateModel(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("activating an unknown model: %v; want ErrNotFound", err)
		}
		if err := s.ActivateModel(ctx, "m2"); err != nil {
			t.Fatal(err)
		}
		m, err := s.ActiveModel(ctx)
		if err != nil || m.ID != "m2" || !m.Active || m.Activated.IsZero() || string(m.Metrics) != `{"macro_f1":0.97}` {
			t.Fatalf("active model = %+v, %v; want m2", m, err)
		}
		if m, err := s.GetModel(ctx, "m0"); err != nil || m.Active || m.Metrics != nil || m.Path != "/models/m0.fgm" {
			t.Fatalf("model m0 = %+v, %v", m, err)
		}

		// Activations racing each other leave exactly one model active.
		var wg sync.WaitGroup
		for i := range 3 * n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.ActivateModel(ctx, fmt.Sprintf("m%d", i%n)); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		list, err := s.ListModels(ctx)
		if err != nil || len(list) != n || list[0].ID != fmt.Sprintf("m%d", n-1) {
			t.Fatalf("ListModels = %+v, %v; want %d models, newest first", list, err, n)
		}
		var active []string
		for _, m := range list {
			if m.Active {
				active = append(active, m.ID)
			}
		}
		cur, err := s.ActiveModel(ctx)
		if len(active) != 1 || err != nil || cur.ID != active[0] {
			t.Fatalf("active models %v, ActiveModel %s (%v); want one, the same", active, cur.ID, err)
		}
	})
}

func TestRuns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newURL func() string) {
		ctx := context.Background()
		s := openT(t, newURL())
		base := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
		for i := range 7 {
			r := model.Run{ID: fmt.Sprintf("r%d", i), Started: base.Add(time.Duration(i) * time.Hour), Algorithm: "forest",
				Params: map[string]any{"trees": 100.0}, Model: "/models/x.fgm", Metrics: model.RunMetrics{MacroF1: 0.9}}
			if err := s.AddRun(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		// Recording a run again replaces it.
		if err := s.AddRun(ctx, model.Run{ID: "r3", Started: base.Add(3 * time.Hour), Algorithm: "boost"}); err != nil {
			t.Fatal(err)
		}
		var got []model.Run
		for p := (Page{Limit: 3}); ; {
			runs, next, err := s.ListRuns(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, runs...)
			if next == "" {
				break
			}
			p.Cursor = next
		}
		if len(got) != 7 || got[0].ID != "r6" || got[6].ID != "r0" || got[3].Algorithm != "boost" || got[0].Params["trees"] != 100.0 {
			t.Fatalf("runs %+v", got)
		}
	})
}
