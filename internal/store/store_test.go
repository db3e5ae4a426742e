package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
)

// A backend makes empty databases for tests. Every test runs against each.
type backend struct {
	name string
	url  func(t testing.TB) string // a new, empty database
}

var backends = []backend{{"sqlite", sqliteURL}, {"postgres", postgresURL}}

func sqliteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "flowguard.db")
}

var schemaSeq atomic.Int64

// postgresURL gives each test its own schema in the server that
// FLOWGUARD_TEST_POSTGRES names (scripts/postgres.sh starts one), so tests
// start empty and leave nothing behind.
func postgresURL(t testing.TB) string {
	base := os.Getenv("FLOWGUARD_TEST_POSTGRES")
	if base == "" {
		const how = `eval "$(scripts/postgres.sh)" starts a server and sets it`
		if os.Getenv("CI") == "true" {
			t.Fatal("FLOWGUARD_TEST_POSTGRES is unset, and on CI the PostgreSQL tests must run: " + how)
		}
		t.Skip("PostgreSQL variant skipped: FLOWGUARD_TEST_POSTGRES is unset; " + how)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("test_%d_%d_%d", os.Getpid(), time.Now().UnixNano(), schemaSeq.Add(1))
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("PostgreSQL at %s: %v", redact(base), err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err == nil {
			_, err = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
			admin.Close()
		}
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// forEachBackend runs test once per backend, with a maker of empty
// databases.
func forEachBackend(t *testing.T, test func(t *testing.T, newURL func() string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			test(t, func() string { return b.url(t) })
		})
	}
}

func openT(t testing.TB, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var (
	classes = []string{"DoS Hulk", "PortScan", "Bot", "DDoS"}
	hosts   = []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "192.168.1.7", "2001:db8::1"}
	kinds   = []string{"classifier", "anomaly"}
	jobs    = []string{"", "job-a", "job-b"}
)

// makeAlerts makes n alerts with IDs prefix-0000…, spread over an hour
// from base with many sharing a timestamp, so that ordering relies on the
// ID tie-break.
func makeAlerts(rng *rand.Rand, prefix string, n int, base time.Time) []alert.Alert {
	zones := []*time.Location{time.UTC, time.FixedZone("CEST", 2*3600)}
	out := make([]alert.Alert, n)
	for i := range out {
		// Nanoseconds too, which EVE JSON does not keep.
		ts := base.Add(time.Duration(rng.IntN(max(n/3, 1)))*time.Millisecond*7 + time.Duration(rng.IntN(1000))).In(zones[rng.IntN(2)])
		src, dst := hosts[rng.IntN(len(hosts))], hosts[rng.IntN(len(hosts))]
		class := classes[rng.IntN(len(classes))]
		out[i] = alert.Alert{
			ID: fmt.Sprintf("%s-%06d", prefix, i), Timestamp: ts, EventType: "alert",
			FlowID: rng.Uint64() >> 1, CommunityID: "1:abc=",
			SrcIP: src, SrcPort: 1024 + rng.IntN(60000), DestIP: dst, DestPort: 80, Proto: "TCP",
			Alert: alert.Info{Action: "allowed", GID: 1, SignatureID: 9000001, Rev: 1,
				Signature: "flowguard " + class, Category: "ML detection", Severity: 1 + rng.IntN(3)},
			Flowguard: alert.Detail{Kind: kinds[rng.IntN(len(kinds))], Model: "rf", ModelVersion: "1",
				Class: class, Score: rng.Float64(), Threshold: 0.5, Profile: "cic2017",
				Features:  []alert.Feature{{Name: "Flow Duration", Value: rng.Float64() * 1e6, Contribution: 0.4}},
				FlowStart: ts.Add(-time.Second), FlowEnd: ts, Packets: 12, Bytes: 3400,
				Source: "test", Job: jobs[rng.IntN(len(jobs))]},
		}
	}
	return out
}

func TestOpenMigratesAndReopens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newURL func() string) {
		ctx := context.Background()
		url := newURL()
		s, err := Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.SchemaVersion(ctx)
		if err != nil || v != 1 {
			t.Fatalf("schema version of a fresh database = %d, %v; want 1", v, err)
		}
		a := makeAlerts(rand.New(rand.NewPCG(1, 1)), "keep", 3, time.Now())
		if err := s.InsertAlerts(ctx, a); err != nil {
			t.Fatal(err)
		}
		s.Close()

		s = openT(t, url)
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountAlerts(ctx, alert.Filter{}); err != nil || n != 3 {
			t.Fatalf("after reopening: %d alerts, %v; want 3", n, err)
		}
		if v, err := s.SchemaVersion(ctx); err != nil || v != 1 {
			t.Fatalf("schema version after reopening = %d, %v; want 1", v, err)
		}

		// A newer flowguard migrated this database further.
		if _, err := s.conn().exec(ctx, "INSERT INTO "+migrationTable+" (version_id, is_applied) VALUES (?, ?)", 7, true); err != nil {
			t.Fatal(err)
		}
		_, err = Open(ctx, url)
		if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "version 7") {
			t.Fatalf("opening a database at a newer schema: %v; want ErrSchemaTooNew naming version 7", err)
		}
		t.Log(err)
	})
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct{ name, url, want string }{
		{"unknown scheme", "mysql://flowguard@localhost/db", "unsupported database URL"},
		{"empty", "", "SQLite needs a file path"},
		{"in-memory", "sqlite::memory:", "SQLite needs a file path"},
		{"query in path", "sqlite:/tmp/a.db?mode=ro", "not allowed in a path"},
		{"bad postgres URL", "postgres://flowguard:s3cret@localhost:notaport/db", "invalid port"},
		{"missing directory", "sqlite:" + filepath.Join(dir, "no", "such", "dir", "fg.db"), "directory must exist"},
		{"password kept out of messages", "postgres://flowguard:s3cret@127.0.0.1:1/db?connect_timeout=5", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(ctx, tc.url)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tc.url)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("Open(%q): %v; want a message with %q and without the password", tc.url, err, tc.want)
			}
			t.Log(err)
		})
	}

	t.Run("read-only path", func(t *testing.T) {
		// Root writes through directory permissions; /proc refuses it too.
		path := "/proc/flowguard-store-test.db"
		if os.Geteuid() != 0 {
			ro := filepath.Join(dir, "ro")
			if err := os.Mkdir(ro, 0o500); err != nil {
				t.Fatal(err)
			}
			path = filepath.Join(ro, "fg.db")
		}
		_, err := Open(ctx, path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("Open(%q): %v; want an error naming the path", path, err)
		}
		t.Log(err)
	})

	t.Run("unresponsive postgres", func(t *testing.T) {
		// A server that accepts connections and never answers: only the
		// caller's deadline ends the wait.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = Open(ctx, "postgres://flowguard@"+l.Addr().String()+"/db?sslmode=disable")
		if err == nil || time.Since(start) > 5*time.Second {
			t.Fatalf("Open against a silent server: %v after %v; want an error within the deadline", err, time.Since(start))
		}
		t.Logf("%v (after %v)", err, time.Since(start).Round(time.Millisecond))
	})
}

func TestBind(t *testing.T) {
	q := "SELECT a FROM t WHERE b = ? AND (c, id) < (?, ?) LIMIT ?"
	if got := (conn{pg: false}).bind(q); got != q {
		t.Errorf("SQLite bind changed the query: %s", got)
	}
	want := "SELECT a FROM t WHERE b = $1 AND (c, id) < ($2, $3) LIMIT $4"
	if got := (conn{pg: true}).bind(q); got != want {
		t.Errorf("PostgreSQL bind = %s; want %s", got, want)
	}
}
