package flowmeter

import (
	"bufio"
	"io"
	"math"
	"strconv"
)

// JSONLWriter writes one JSON object per flow and line, keyed by the
// profile's column names plus "Community ID". Integer-formatted cells are
// JSON integers, doubles JSON numbers; NaN and ±Infinity, which JSON cannot
// hold, are the strings "NaN", "Infinity" and "-Infinity".
type JSONLWriter struct {
	w    *bufio.Writer
	cols []Column
	keys [][]byte // pre-quoted `"name":` prefixes
	buf  []byte
	text []byte
	err  error
}

// NewJSONLWriter returns a JSON-lines writer for the profile's columns.
func NewJSONLWriter(w io.Writer, pr *Profile) *JSONLWriter {
	j := &JSONLWriter{w: bufio.NewWriterSize(w, 256<<10), cols: pr.Columns}
	for _, c := range pr.Columns {
		j.keys = append(j.keys, append(strconv.AppendQuote(nil, c.Name), ':'))
	}
	return j
}

// Write appends one record. The first error sticks.
func (j *JSONLWriter) Write(f *Flow) error {
	if j.err != nil {
		return j.err
	}
	b := append(j.buf[:0], '{')
	for i := range j.cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, j.keys[i]...)
		c := &j.cols[i]
		if c.Kind == KindText {
			j.text = c.text(j.text[:0], f)
			b = appendJSONString(b, j.text)
			continue
		}
		v := c.num(f)
		switch {
		case v.Int:
			b = strconv.AppendInt(b, v.I, 10)
		case math.IsNaN(v.F):
			b = append(b, `"NaN"`...)
		case math.IsInf(v.F, 1):
			b = append(b, `"Infinity"`...)
		case math.IsInf(v.F, -1):
			b = append(b, `"-Infinity"`...)
		default:
			b = strconv.AppendFloat(b, v.F, 'g', -1, 64)
		}
	}
	b = append(b, `,"Community ID":"`...)
	b = f.AppendCommunityID(b)
	b = append(b, "\"}\n"...)
	j.buf = b
	_, j.err = j.w.Write(b)
	return j.err
}

// Close flushes buffered records.
func (j *JSONLWriter) Close() error {
	if j.err != nil {
		return j.err
	}
	return j.w.Flush()
}

// appendJSONString quotes s as a JSON string.
func appendJSONString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
