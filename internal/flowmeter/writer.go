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

// rowBuffer collects whole rows and hands them to w in chunks of about
// 256 KiB. Unlike bufio it never splits a row across two Write calls, so
// several rowBuffers can share one (serialised) io.Writer.
type rowBuffer struct {
	w   io.Writer
	buf []byte
	err error
}

const rowChunk = 256 << 10

// commit takes b, the buffer with one more row appended, as the new
// buffer, writing it out once it is large enough.
func (r *rowBuffer) commit(b []byte) error {
	r.buf = b
	if len(b) >= rowChunk {
		return r.flush()
	}
	return nil
}

func (r *rowBuffer) flush() error {
	if r.err != nil {
		return r.err
	}
	if len(r.buf) > 0 {
		_, r.err = r.w.Write(r.buf)
		r.buf = r.buf[:0]
	}
	return r.err
}
