package flowmeter

import (
	"fmt"
	"io"
	"sort"

	"github.com/parquet-go/parquet-go"
)

// ParquetWriter writes flow records as a Parquet file with one column per
// profile column plus "Community ID". Integer columns are INT64, doubles
// DOUBLE (an integer-formatted fallback such as "0" is stored as 0.0) and
// text columns UTF-8 strings. Rows are buffered into row groups of 64k.
type ParquetWriter struct {
	w     *parquet.Writer
	cols  []Column
	order []int // parquet column index of each profile column; the last is Community ID
	rows  []parquet.Row
	buf   []byte
}

// NewParquetWriter returns a Parquet writer for the profile's columns.
func NewParquetWriter(w io.Writer, pr *Profile) (*ParquetWriter, error) {
	g := parquet.Group{}
	names := make([]string, 0, len(pr.Columns)+1)
	for _, c := range pr.Columns {
		var n parquet.Node
		switch c.Kind {
		case KindText:
			n = parquet.String()
		case KindInt:
			n = parquet.Int(64)
		default:
			n = parquet.Leaf(parquet.DoubleType)
		}
		if _, dup := g[c.Name]; dup {
			return nil, fmt.Errorf("profile %s: duplicate column %q", pr.Name, c.Name)
		}
		g[c.Name] = parquet.Compressed(n, &parquet.Zstd)
		names = append(names, c.Name)
	}
	g["Community ID"] = parquet.Compressed(parquet.String(), &parquet.Zstd)
	names = append(names, "Community ID")
	// A Group orders its columns by name; map each of ours to its index.
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	pos := make(map[string]int, len(sorted))
	for i, n := range sorted {
		pos[n] = i
	}
	p := &ParquetWriter{cols: pr.Columns}
	for _, n := range names {
		p.order = append(p.order, pos[n])
	}
	p.w = parquet.NewWriter(w, parquet.NewSchema("flow", g))
	return p, nil
}

// Write buffers one record, flushing a row group every 64k rows.
func (p *ParquetWriter) Write(f *Flow) error {
	row := make(parquet.Row, len(p.order))
	for i := range p.cols {
		c := &p.cols[i]
		var v parquet.Value
		switch c.Kind {
		case KindText:
			v = parquet.ByteArrayValue(c.text(nil, f))
		case KindInt:
			v = parquet.Int64Value(c.num(f).I)
		default:
			v = parquet.DoubleValue(c.num(f).Float())
		}
		row[p.order[i]] = v.Level(0, 0, p.order[i])
	}
	last := p.order[len(p.order)-1]
	row[last] = parquet.ByteArrayValue(f.AppendCommunityID(nil)).Level(0, 0, last)
	p.rows = append(p.rows, row)
	if len(p.rows) >= 1<<16 {
		return p.flush()
	}
	return nil
}

func (p *ParquetWriter) flush() error {
	if len(p.rows) == 0 {
		return nil
	}
	if _, err := p.w.WriteRows(p.rows); err != nil {
		return fmt.Errorf("write parquet rows: %w", err)
	}
	p.rows = p.rows[:0]
	return nil
}

// Close writes buffered rows and the file footer.
func (p *ParquetWriter) Close() error {
	if err := p.flush(); err != nil {
		return err
	}
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("close parquet: %w", err)
	}
	return nil
}
