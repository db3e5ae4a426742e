package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
)

// newestFirst is the order of every alert listing.
func newestFirst(a, b alert.Alert) int {
	if c := b.Timestamp.Compare(a.Timestamp); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// queryAll pages through everything f selects.
func queryAll(t testing.TB, s *Store, f alert.Filter, limit int) []alert.Alert {
	t.Helper()
	var all []alert.Alert
	p := Page{Limit: limit}
	for pages := 0; ; pages++ {
		got, next, err := s.QueryAlerts(context.Background(), f, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > limit || (next != "" && len(got) != limit) {
			t.Fatalf("page of %d alerts with next cursor %q for limit %d", len(got), next, limit)
		}
		all = append(all, got...)
		if next == "" {
			return all
		}
		if pages > 10000 {
			t.Fatal("paging does not end")
		}
		p.Cursor = next
	}
}

func ids(as []alert.Alert) []string {
	out := make([]string, len(as))
	for i := range as {
		out[i] = as[i].ID
	}
	return out
}

func mustJSON(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAlertsQuery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newURL func() string) {
		ctx := context.Background()
		s := openT(t, newURL())
		base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		all := makeAlerts(rand.New(rand.NewPCG(7, 7)), "q", 600, base)
		all[10].Alert.Severity, all[11].Alert.Severity = 0, 4 // outside Suricata's 1 to 3
		for batch := range slices.Chunk(all, 97) {
			if err := s.InsertAlerts(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
		// The store answers as f.Match would on the alerts it returns,
		// which are what their JSON keeps.
		byID := map[string]string{}
		for i := range all {
			all[i] = roundTrip(t, all[i])
			byID[all[i].ID] = mustJSON(t, all[i])
		}
		mid := base.Add(700 * time.Millisecond)
		for _, f := range []alert.Filter{
			{},
			{Since: mid},
			{Until: mid},
			{Since: base.Add(300 * time.Millisecond), Until: mid},
			{Since: all[5].Timestamp, Until: all[5].Timestamp.Add(time.Nanosecond)}, // one instant
			{Class: "PortScan"},
			{Host: "10.0.0.2"},
			{Host: "2001:db8::1"},
			{Host: "10.9.9.9"},
			{MaxSeverity: 1},
			{MaxSeverity: 2},
			{MaxSeverity: 3},
			{MaxSeverity: 4},
			{Host: "10.0.0.3", MaxSeverity: 2},
			{Kind: "anomaly"},
			{Job: "job-a"},
			{Class: "DDoS", Host: "10.0.0.1", MaxSeverity: 2, Since: base.Add(100 * time.Millisecond), Kind: "classifier"},
		} {
			t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
				var want []alert.Alert
				for i := range all {
					if f.Match(&all[i]) {
						want = append(want, all[i])
					}
				}
				slices.SortFunc(want, newestFirst)
				for _, limit := range []int{23, MaxLimit} {
					got := queryAll(t, s, f, limit)
					if !slices.Equal(ids(got), ids(want)) {
						t.Fatalf("limit %d: got %d alerts %v…, want %d %v…", limit, len(got), head(ids(got)), len(want), head(ids(want)))
					}
					for _, a := range got {
						if j := mustJSON(t, a); j != byID[a.ID] {
							t.Fatalf("alert %s came back as\n%s\nwant\n%s", a.ID, j, byID[a.ID])
						}
					}
				}
				if n, err := s.CountAlerts(ctx, f); err != nil || n != int64(len(want)) {
					t.Fatalf("CountAlerts = %d, %v; want %d", n, err, len(want))
				}
			})
		}

		first, next, err := s.QueryAlerts(ctx, alert.Filter{}, Page{})
		if err != nil || len(first) != DefaultLimit || next == "" {
			t.Fatalf("default page: %d alerts, next %q, %v; want %d and a cursor", len(first), next, err, DefaultLimit)
		}
		for _, bad := range []string{"not a cursor!", cursor{1, "\xff"}.String(), "MTIz"} {
			if _, _, err := s.QueryAlerts(ctx, alert.Filter{}, Page{Cursor: bad}); !errors.Is(err, ErrBadCursor) {
				t.Fatalf("cursor %q: %v; want ErrBadCursor", bad, err)
			}
		}
		got, err := s.GetAlert(ctx, all[42].ID)
		if err != nil || mustJSON(t, got) != byID[all[42].ID] {
			t.Fatalf("GetAlert = %+v, %v", got, err)
		}
		if _, err := s.GetAlert(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetAlert of an unknown ID: %v; want ErrNotFound", err)
		}
	})
}

// roundTrip is a as its JSON keeps it.
func roundTrip(t testing.TB, a alert.Alert) alert.Alert {
	var b alert.Alert
	if err := json.Unmarshal([]byte(mustJSON(t, a)), &b); err != nil {
		t.Fatal(err)
	}
	return b
}

func head(s []string) []string { return s[:min(len(s), 5)] }

// TestAlertsAwkwardValues stores what JSON and PostgreSQL's TEXT cannot
// hold as such: a lost alert is worse than a replaced character.
func TestAlertsAwkwardValues(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newURL func() string) {
		ctx := context.Background()
		s := openT(t, newURL())
		as := makeAlerts(rand.New(rand.NewPCG(8, 8)), "odd", 4, time.Now())
		as[0].Flowguard.Class = "Web Attack \x96 Brute Force" // CIC-IDS2017's label, in Windows-1252
		as[1].Flowguard.Score = math.NaN()
		as[1].Flowguard.Features[0].Value = math.Inf(1)
		as[2].Alert.Signature = "nul\x00byte"
		as[2].Flowguard.Class = "with\x00nul"
		as[3].Alert.Severity = 0
		if err := s.InsertAlerts(ctx, as); err != nil {
			t.Fatal(err)
		}
		for _, f := range []alert.Filter{
			{Class: "Web Attack \x96 Brute Force"}, {Class: "Web Attack \ufffd Brute Force"},
			{Class: "with\x00nul"}, {MaxSeverity: 1, Host: as[3].SrcIP, Job: as[3].Flowguard.Job},
		} {
			got, _, err := s.QueryAlerts(ctx, f, Page{})
			if err != nil || len(got) == 0 {
				t.Fatalf("filter %+v: %d alerts, %v", f, len(got), err)
			}
		}
		for _, a := range as {
			got, err := s.GetAlert(ctx, a.ID)
			if err != nil || mustJSON(t, got) != mustJSON(t, roundTrip(t, a)) {
				t.Fatalf("alert %s came back as %s, %v", a.ID, mustJSON(t, got), err)
			}
		}
	})
}

func TestAlertsIdempotentAndAtomic(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newURL func() string) {
		ctx := context.Background()
		s := openT(t, newURL())
		rng := rand.New(rand.NewPCG(3, 3))
		first := makeAlerts(rng, "a", 100, time.Now())
		if err := s.InsertAlerts(ctx, first); err != nil {
			t.Fatal(err)
		}
		// A resumed job reports the same alerts again, maybe changed, with
		// new ones and with repeats in one batch: the stored ones stay.
		again := slices.Clone(first)
		for i := range again {
			again[i].Alert.Signature = "changed"
		}
		again = append(again, makeAlerts(rng, "b", 50, time.Now())...)
		again = append(again, again[120], again[3])
		if err := s.InsertAlerts(ctx, again); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountAlerts(ctx, alert.Filter{}); err != nil || n != 150 {
			t.Fatalf("after re-inserting: %d alerts, %v; want 150", n, err)
		}
		if a, err := s.GetAlert(ctx, first[7].ID); err != nil || a.Alert.Signature != first[7].Alert.Signature {
			t.Fatalf("re-inserting replaced the stored alert: %q, %v", a.Alert.Signature, err)
		}

		// One bad alert fails its whole batch.
		bad := makeAlerts(rng, "c", 700, time.Now())
		bad[650].ID = ""
		if err := s.InsertAlerts(ctx, bad); err == nil {
			t.Fatal("a batch with an alert without ID was stored")
		}
		if n, _ := s.CountAlerts(ctx, alert.Filter{}); n != 150 {
			t.Fatalf("a failed batch left %d alerts behind", n-150)
		}
	})
}

// TestAlertsPagingUnderInserts pages through alerts while others are
// added, newer and older: every alert there at the start comes exactly
// once, and nothing comes twice.
func TestAlertsPagingUnderInserts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newURL func() string) {
		ctx := context.Background()
		s := openT(t, newURL())
		base := time.Now().Truncate(time.Hour)
		initial := makeAlerts(rand.New(rand.NewPCG(5, 5)), "init", 400, base)
		if err := s.InsertAlerts(ctx, initial); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(6, 6))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Alternately newer than everything and inside the range
				// being paged.
				at := base.Add(2 * time.Hour)
				if i%2 == 1 {
					at = base.Add(time.Duration(rng.IntN(900)) * time.Millisecond)
				}
				if err := s.InsertAlerts(ctx, makeAlerts(rng, fmt.Sprintf("new%d", i), 5, at)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		var got []alert.Alert
		p := Page{Limit: 9}
		for {
			page, next, err := s.QueryAlerts(ctx, alert.Filter{}, p)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			p.Cursor = next
			time.Sleep(time.Millisecond)
		}
		close(stop)
		wg.Wait()

		seen := map[string]bool{}
		for i, a := range got {
			if seen[a.ID] {
				t.Fatalf("alert %s listed twice", a.ID)
			}
			seen[a.ID] = true
			if i > 0 && newestFirst(got[i-1], a) >= 0 {
				t.Fatalf("alerts %s and %s out of order", got[i-1].ID, a.ID)
			}
		}
		for _, a := range initial {
			if !seen[a.ID] {
				t.Fatalf("alert %s, stored before paging began, was never listed", a.ID)
			}
		}
		t.Logf("listed %d alerts: the %d initial ones and %d added while paging", len(got), len(initial), len(got)-len(initial))
	})
}

func TestAlertsConcurrentWriters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newURL func() string) {
		ctx := context.Background()
		s := openT(t, newURL())
		const writers, batches, size = 8, 25, 40
		// Writers two apart share their alerts, in different batch orders:
		// concurrent idempotent inserts of the same IDs.
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 1))
				own := makeAlerts(rand.New(rand.NewPCG(uint64(w%(writers/2)), 9)), fmt.Sprintf("w%d", w%(writers/2)), batches*size, time.Now())
				rng.Shuffle(len(own), func(i, j int) { own[i], own[j] = own[j], own[i] })
				for batch := range slices.Chunk(own, size) {
					if err := s.InsertAlerts(ctx, batch); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if n, err := s.CountAlerts(ctx, alert.Filter{}); err != nil || n != writers/2*batches*size {
			t.Fatalf("%d alerts, %v; want %d", n, err, writers/2*batches*size)
		}
		got := queryAll(t, s, alert.Filter{}, MaxLimit)
		if !slices.IsSortedFunc(got, newestFirst) {
			t.Fatal("listing out of order")
		}
	})
}
