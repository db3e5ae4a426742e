package dataset

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// parquetHeader returns the leaf column names of a Parquet file (nested
// fields as "a.b", which no dialect names, so they are reported unknown).
func parquetHeader(f *os.File, size int64) (_ []string, err error) {
	defer recoverParquet(&err)
	pf, err := parquet.OpenFile(f, size)
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	var names []string
	for _, path := range pf.Schema().Columns() {
		names = append(names, strings.Join(path, "."))
	}
	return names, nil
}

// readParquet reads a Parquet file row group by row group. Numbers go to
// the builder typed; text cells as for CSV.
func (l *loader) readParquet(s *source) (err error) {
	defer recoverParquet(&err)
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	defer f.Close()
	pf, err := parquet.OpenFile(f, s.size)
	if err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	b := &newParser(s, len(l.t.Features), l.opts.KeepIdentifiers).b
	l.reserve(int(pf.NumRows()))
	buf := make([]parquet.Row, 512)
	for _, rg := range pf.RowGroups() {
		c := &chunk{}
		b.c = c
		if l.opts.KeepIdentifiers {
			c.ids = &Identifiers{}
		}
		rows := rg.Rows()
		for {
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				b.begin()
				for _, v := range row {
					if err := parquetValue(b, v); err != nil {
						rows.Close()
						return fmt.Errorf("row %d: %w", l.rows+c.rows+1, err)
					}
				}
				b.end()
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rows.Close()
				return fmt.Errorf("parquet row %d: %w", l.rows+c.rows+1, err)
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		l.bytes.Add(s.size * rg.NumRows() / max(pf.NumRows(), 1))
		l.add(s, c)
		l.progress()
	}
	return nil
}

func parquetValue(b *builder, v parquet.Value) error {
	col := v.Column()
	if col < 0 || col >= len(b.roles) || v.IsNull() {
		return nil
	}
	switch v.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return b.text(col, v.ByteArray())
	case parquet.Boolean:
		if v.Boolean() {
			return b.number(col, 1)
		}
		return b.number(col, 0)
	case parquet.Int32:
		return b.number(col, float64(v.Int32()))
	case parquet.Int64:
		return b.number(col, float64(v.Int64()))
	case parquet.Float:
		return b.number(col, float64(v.Float()))
	case parquet.Double:
		return b.number(col, v.Double())
	}
	return fmt.Errorf("column %q: unsupported Parquet type %s", b.roles[col].name, v.Kind())
}

// recoverParquet turns a panic of the Parquet decoder on a damaged file
// into an error: malformed input must fail the load, not the process.
func recoverParquet(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("parquet: malformed file: %v", r)
	}
}
