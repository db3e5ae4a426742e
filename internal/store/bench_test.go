package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/pressly/goose/v3"
)

// BenchmarkInsertAlerts measures committed alerts a second, in batches of
// one (a live alert at a time) and of a thousand (a pcap job's flush).
func BenchmarkInsertAlerts(b *testing.B) {
	for _, be := range backends {
		for _, size := range []int{1, 1000} {
			b.Run(fmt.Sprintf("%s/batch=%d", be.name, size), func(b *testing.B) {
				ctx := context.Background()
				s := openT(b, be.url(b))
				rng := rand.New(rand.NewPCG(1, 2))
				start := time.Now()
				batches := make([][]alert.Alert, b.N)
				for i := range batches {
					// Each batch after the last, as live alerts come.
					batches[i] = makeAlerts(rng, fmt.Sprintf("b%08d", i), size, start.Add(time.Duration(i)*10*time.Second))
				}
				b.ResetTimer()
				for i := range b.N {
					if err := s.InsertAlerts(ctx, batches[i]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "alerts/s")
			})
		}
	}
}

// BenchmarkQueryAlerts measures the latency of a 100-alert page out of
// 200,000 alerts, first and deep, filtered or not.
func BenchmarkQueryAlerts(b *testing.B) {
	const stored = 200_000
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			s := openT(b, be.url(b))
			base := time.Now().Add(-24 * time.Hour)
			all := makeAlerts(rand.New(rand.NewPCG(3, 4)), "q", stored, base)
			for batch := range slices.Chunk(all, 5000) {
				if err := s.InsertAlerts(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			if s.dialect == goose.DialectPostgres {
				// What autovacuum does within a minute of a bulk load; until
				// then PostgreSQL plans with the statistics of an empty table.
				if _, err := s.db.ExecContext(ctx, "ANALYZE alerts"); err != nil {
					b.Fatal(err)
				}
			}
			var deep string // the cursor 50,000 alerts down
			for range 50 {
				var err error
				if _, deep, err = s.QueryAlerts(ctx, alert.Filter{}, Page{Limit: MaxLimit, Cursor: deep}); err != nil {
					b.Fatal(err)
				}
			}
			for _, q := range []struct {
				name string
				f    alert.Filter
				p    Page
			}{
				{"all", alert.Filter{}, Page{}},
				{"all/deep", alert.Filter{}, Page{Cursor: deep}},
				{"host", alert.Filter{Host: "10.0.0.2"}, Page{}},
				{"severity", alert.Filter{MaxSeverity: 1}, Page{}},
				{"host+severity", alert.Filter{Host: "10.0.0.2", MaxSeverity: 2}, Page{}},
				{"class", alert.Filter{Class: "Bot"}, Page{}},
				{"job+time", alert.Filter{Job: "job-a", Until: base.Add(time.Minute)}, Page{}},
			} {
				b.Run(q.name, func(b *testing.B) {
					for b.Loop() {
						got, _, err := s.QueryAlerts(ctx, q.f, q.p)
						if err != nil || len(got) != DefaultLimit {
							b.Fatalf("%d alerts, %v", len(got), err)
						}
					}
				})
			}
			b.Run("count/host", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.CountAlerts(ctx, alert.Filter{Host: "10.0.0.2"}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
