// Package storetest gives tests of packages that use internal/store an
// empty database of their own on the PostgreSQL server named by
// $FLOWGUARD_TEST_POSTGRES (scripts/postgres.sh starts one).
package storetest

import (
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

var seq atomic.Int64

// PostgresURL returns a URL whose search_path is a fresh schema, dropped
// when the test ends. Without $FLOWGUARD_TEST_POSTGRES it returns "" so the
// caller can fall back to SQLite, except on CI (CI=true), where PostgreSQL
// is required and its absence fails the test.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("FLOWGUARD_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(`FLOWGUARD_TEST_POSTGRES is unset, and on CI the PostgreSQL tests must run: eval "$(scripts/postgres.sh)" starts a server and sets it`)
		}
		return ""
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("t_%d_%d_%d", os.Getpid(), time.Now().UnixNano(), seq.Add(1))
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("PostgreSQL: create schema: %v", err)
	}
	t.Cleanup(func() {
		if admin, err := sql.Open("pgx", base); err == nil {
			admin.Exec("DROP SCHEMA " + schema + " CASCADE")
			admin.Close()
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}
