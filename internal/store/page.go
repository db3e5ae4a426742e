package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Page asks for one page of a listing, which runs newest first.
type Page struct {
	Limit  int    // rows at most: DefaultLimit if 0, never more than MaxLimit
	Cursor string // "" for the first page, then the previous page's next cursor
}

// Page sizes.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// A cursor is the sort key of the last row of a page: the listing goes on
// strictly below it. Paging by key instead of by offset means rows added
// while a client pages neither repeat nor hide rows on later pages, and a
// deep page costs what the first does.
type cursor struct {
	ns int64
	id string
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.ns, 10) + "/" + c.id))
}

func parseCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, fmt.Errorf("%w %q", ErrBadCursor, s)
	}
	ns, id, ok := strings.Cut(string(b), "/")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || text(id) != id {
		return cursor{}, fmt.Errorf("%w %q", ErrBadCursor, s)
	}
	return cursor{n, id}, nil
}

// A branch is a conjunction of SQL conditions with their arguments. A
// query that selects rows meeting any of several branches runs one ordered
// index scan per branch and merges them, where a single condition with OR
// would make the database collect and sort every matching row.
type branch struct {
	where []string
	args  []any
}

func (b branch) and(cond string, args ...any) branch {
	return b.with(branch{[]string{cond}, args})
}

// with is b and o: both their conditions.
func (b branch) with(o branch) branch {
	return branch{append(slices.Clip(b.where), o.where...), append(slices.Clip(b.args), o.args...)}
}

func (b branch) sql() string {
	if len(b.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(b.where, " AND ")
}

// queryPage runs sel for one page of the rows meeting any of branches,
// which must not overlap, newest first by (timeCol, id). scan reads a row
// and returns its sort key.
func queryPage[T any](ctx context.Context, c conn, sel, timeCol string, branches []branch, p Page,
	scan func(*sql.Rows) (T, cursor, error)) ([]T, string, error) {
	q, args, limit, err := pageSQL(sel, timeCol, branches, p)
	if err != nil {
		return nil, "", err
	}
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []T
	var last cursor
	for rows.Next() {
		if len(out) == limit {
			return out, last.String(), rows.Close()
		}
		v, key, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		out, last = append(out, v), key
	}
	return out, "", rows.Err()
}

// pageSQL is the query of queryPage. It asks for one row beyond the page,
// which tells whether there is a next page.
func pageSQL(sel, timeCol string, branches []branch, p Page) (q string, args []any, limit int, err error) {
	limit = p.Limit
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	var after cursor
	if p.Cursor != "" {
		if after, err = parseCursor(p.Cursor); err != nil {
			return "", nil, 0, err
		}
	}
	order := " ORDER BY " + timeCol + " DESC, id DESC LIMIT ?"
	var parts []string
	for i, b := range branches {
		if p.Cursor != "" {
			b = b.and("("+timeCol+", id) < (?, ?)", after.ns, after.id)
		}
		part := sel + b.sql() + order
		if len(branches) > 1 {
			part = fmt.Sprintf("SELECT * FROM (%s) AS b%d", part, i)
		}
		parts = append(parts, part)
		args = append(append(args, b.args...), limit+1)
	}
	q = parts[0]
	if len(parts) > 1 {
		q = "SELECT * FROM (" + strings.Join(parts, " UNION ALL ") + ") AS u" + order
		args = append(args, limit+1)
	}
	return q, args, limit, nil
}
