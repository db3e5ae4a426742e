package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
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
	if !ok || err != nil {
		return cursor{}, fmt.Errorf("%w %q", ErrBadCursor, s)
	}
	return cursor{n, id}, nil
}

// queryPage runs "sel WHERE where ORDER BY timeCol, id" newest first for
// one page. scan reads a row and returns its sort key. It asks for one row
// beyond the page, which tells whether there is a next page.
func queryPage[T any](ctx context.Context, c conn, sel, timeCol string, where []string, args []any, p Page,
	scan func(*sql.Rows) (T, cursor, error)) ([]T, string, error) {
	limit := p.Limit
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	if p.Cursor != "" {
		after, err := parseCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "("+timeCol+", id) < (?, ?)")
		args = append(args, after.ns, after.id)
	}
	q := sel
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY " + timeCol + " DESC, id DESC LIMIT ?"
	args = append(args, limit+1)

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
