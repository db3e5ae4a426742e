package flowmeter

import (
	"io"
	"math"
	"strconv"
)

// JSONLWriter writes one JSON object per flow and line, keyed by the
// profile's column names plus "Community ID". Integer-formatted cells are
// JSON integers, doubles JSON numbers; NaN and ±Infinity, which JSON cannot
// hold, are the strings "NaN", "Infinity" and "-Infinity".
type JSONLWriter struct {
	out  rowBuffer
	cols []Column
	keys [][]byte // pre-quoted `"name":` prefixes
	text []byte
}

// NewJSONLWriter returns a JSON-lines writer for the profile's columns.
func NewJSONLWriter(w io.Writer, pr *Profile) *JSONLWriter {
	j := &JSONLWriter{out: rowBuffer{w: w}, cols: pr.Columns}
	for _, c := range pr.Columns {
		j.keys = append(j.keys, append(strconv.AppendQuote(nil, c.Name), ':'))
	}
	return j
}

// Write appends one record. The first error sticks.
func (j *JSONLWriter) Write(f *Flow) error {
	if j.out.err != nil {
		return j.out.err
	}
	b := append(j.out.buf, '{')
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
	return j.out.commit(append(b, "\"}\n"...))
}

// Fork returns a writer for another goroutine; see CSVWriter.Fork.
func (j *JSONLWriter) Fork() Writer {
	return &JSONLWriter{out: rowBuffer{w: j.out.w}, cols: j.cols, keys: j.keys}
}

// Close flushes buffered records.
func (j *JSONLWriter) Close() error { return j.out.flush() }

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
