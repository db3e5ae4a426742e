// Package store keeps flowguard's alerts, pcap-upload jobs, model registry
// and training runs in SQL: SQLite in one file by default, PostgreSQL by
// URL. Both get the same schema from the same embedded, versioned
// migrations (applied by goose when a store is opened) and the same
// queries: SQL is written once with ? placeholders, which PostgreSQL gets
// as $1, $2, …
//
// # Alerts
//
// An alert is kept whole, as its EVE JSON, beside indexed columns for
// alert.Filter; a query answers as f.Match would on the alerts it returns.
// Inserting is idempotent on the alert ID. Listings run newest first and
// page by key (a cursor), not offset: rows added meanwhile neither repeat
// nor hide rows on later pages.
//
// # Durability
//
// A write that returned nil has committed, and a committed write survives
// the flowguard process being killed (kill -9, OOM killer, panic):
//
//   - SQLite runs in WAL mode with synchronous=NORMAL. A commit has reached
//     the WAL file, in the operating system's cache, before it returns, so
//     a killed process loses nothing it was told was written. Only an
//     operating-system crash or power cut may lose the last commits (never
//     corrupt the database): NORMAL saves the fsync per commit that FULL
//     would cost.
//   - PostgreSQL commits by its own settings; with the default
//     synchronous_commit=on a commit is on the server's disk.
//
// # Jobs
//
// A job is queued, then running, then done or failed; done and failed are
// final. StartJob claims a queued job for one worker. A process that dies
// leaves its running jobs marked running: the next one calls RecoverJobs
// at startup, before it runs any job, and decides whether they fail with
// InterruptedReason or go back to the queue (up to MaxAttempts starts).
// Alerts are idempotent on their ID, so a rerun job that makes the same
// alert IDs does not duplicate the alerts of the interrupted run. Recovery
// assumes one flowguard server per store: it takes every running job for
// its own.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors callers can test with errors.Is.
var (
	ErrNotFound       = errors.New("not found")
	ErrExists         = errors.New("already exists")
	ErrConflict       = errors.New("conflict")
	ErrBadCursor      = errors.New("bad page cursor")
	ErrSchemaTooNew   = errors.New("database schema is newer than this flowguard")
	ErrUnsupportedURL = errors.New("unsupported database URL")
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationTable is goose's version table, named for flowguard so that a
// PostgreSQL database shared with another goose user is not confused.
const migrationTable = "flowguard_migrations"

// Store is an open database. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect goose.Dialect
	name    string // for messages: the path, or the URL without its password
}

// Open opens (creating it if needed) the database at url and brings its
// schema up to date: "sqlite:PATH" or a bare file path for SQLite,
// "postgres://…" or "postgresql://…" for PostgreSQL.
func Open(ctx context.Context, url string) (*Store, error) {
	s, err := open(url)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		if e := (*sqlite.Error)(nil); errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CANTOPEN {
			return nil, fmt.Errorf("store: open %s: %w (the directory must exist and be writable: "+
				"SQLite keeps its -wal and -shm files beside the database)", s.name, err)
		}
		return nil, fmt.Errorf("store: open %s: %w", s.name, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", s.name, err)
	}
	return s, nil
}

func open(raw string) (*Store, error) {
	scheme, rest, _ := strings.Cut(raw, ":")
	switch {
	case scheme == "postgres" || scheme == "postgresql":
		cfg, err := pgx.ParseConfig(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnsupportedURL, err) // pgx's message hides the password
		}
		// Without a connect_timeout in the URL pgx waits as long as the
		// context lets it; an unreachable server should be an error soon.
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = 10 * time.Second
		}
		db := stdlib.OpenDB(*cfg)
		pool(db, 16)
		return &Store{db: db, dialect: goose.DialectPostgres, name: redact(raw)}, nil
	case scheme == "sqlite":
		return openSQLite(strings.TrimPrefix(rest, "//"))
	case strings.Contains(raw, "://"):
		return nil, fmt.Errorf("%w %q: want sqlite:PATH, a file path, or postgres://…", ErrUnsupportedURL, redact(raw))
	default:
		return openSQLite(raw)
	}
}

func openSQLite(path string) (*Store, error) {
	switch {
	case path == "" || path == ":memory:":
		// Every pooled connection would get its own empty in-memory database.
		return nil, fmt.Errorf("%w: SQLite needs a file path, not %q", ErrUnsupportedURL, path)
	case strings.ContainsAny(path, "?#"):
		return nil, fmt.Errorf("%w: SQLite path %q: ? and # are not allowed in a path", ErrUnsupportedURL, path)
	}
	// busy_timeout makes a writer wait for another instead of failing, and
	// _txlock=immediate takes the write lock at BEGIN, where SQLite can
	// still wait for it, instead of at the first write of a transaction,
	// where it cannot. synchronous=NORMAL: see the package doc. A 16 MiB
	// page cache a connection (SQLite's default is 2 MiB) holds the hot
	// ends of the alert indexes that every insert touches.
	dsn := path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=cache_size(-16384)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	pool(db, 8)
	return &Store{db: db, dialect: goose.DialectSQLite3, name: path}, nil
}

// pool bounds the connections to a database to n, and keeps them open:
// a new one costs a PostgreSQL backend, or an empty SQLite page cache.
func pool(db *sql.DB, n int) {
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
}

// redact drops the password from a URL for messages.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	// Unparsable: drop all that could hold a password.
	scheme, rest, ok := strings.Cut(raw, "://")
	if at := strings.LastIndex(rest, "@"); ok && at >= 0 {
		return scheme + "://…" + rest[at:]
	}
	return raw
}

func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	opts := []goose.ProviderOption{
		goose.WithTableName(migrationTable),
		goose.WithDisableGlobalRegistry(true),
		goose.WithLogger(goose.NopLogger()),
	}
	if s.dialect == goose.DialectPostgres {
		// Servers starting together against one database take turns;
		// SQLite's write lock already serializes them.
		l, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 120))
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(l))
	}
	p, err := goose.NewProvider(s.dialect, s.db, sub, opts...)
	if err != nil {
		return err
	}
	have, err := p.GetDBVersion(ctx)
	if err != nil {
		return err
	}
	src := p.ListSources()
	if known := src[len(src)-1].Version; have > known {
		return fmt.Errorf("%w: the database is at schema version %d, this flowguard knows up to %d; upgrade flowguard",
			ErrSchemaTooNew, have, known)
	}
	_, err = p.Up(ctx)
	return err
}

// SchemaVersion is the schema version the database is at.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, "SELECT MAX(version_id) FROM "+migrationTable).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: %s: %w", s.name, err)
	}
	return nil
}

// Dialect is "sqlite3" or "postgres".
func (s *Store) Dialect() string { return string(s.dialect) }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn runs this package's ?-placeholder SQL on a database or a
// transaction, in the store's dialect.
type conn struct {
	q  querier
	pg bool
}

func (s *Store) conn() conn { return conn{s.db, s.dialect == goose.DialectPostgres} }

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.q.ExecContext(ctx, c.bind(query), args...)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.q.QueryContext(ctx, c.bind(query), args...)
}

func (c conn) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return c.q.QueryRowContext(ctx, c.bind(query), args...)
}

// bind numbers the ? placeholders for PostgreSQL. The SQL of this package
// has no ? in a literal or an identifier.
func (c conn) bind(query string) string {
	if !c.pg {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] != '?' {
			b.WriteByte(query[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(c conn) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(conn{tx, s.dialect == goose.DialectPostgres}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// nanos is t as stored: Unix nanoseconds, 0 for the zero time, clamped to
// what an int64 holds (years 1678 to 2262).
func nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var minTime, maxTime = time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)

// now is the time as the store gives it back.
func now() time.Time { return fromNanos(time.Now().UnixNano()) }

// fromNanos is the inverse of nanos, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
