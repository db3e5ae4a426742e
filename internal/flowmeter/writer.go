package flowmeter

import (
	"fmt"
	"io"
)

// Writer writes flow records in one output format.
type Writer interface {
	Write(*Flow) error
	Close() error // flushes; does not close the underlying io.Writer
}

// NewWriter returns a writer for format csv, jsonl or parquet.
// communityID adds the Community ID column to CSV; the other formats always
// carry it.
func NewWriter(w io.Writer, format string, pr *Profile, communityID bool) (Writer, error) {
	switch format {
	case "csv":
		return NewCSVWriter(w, pr, communityID)
	case "jsonl":
		return NewJSONLWriter(w, pr), nil
	case "parquet":
		return NewParquetWriter(w, pr)
	}
	return nil, fmt.Errorf("unknown output format %q (want csv, jsonl or parquet)", format)
}
