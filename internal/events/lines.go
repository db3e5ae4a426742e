package events

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// lineReader hands out lines with their number and byte offset, keeping
// at most max bytes of any one line: an overlong line is consumed to its
// end and reported as ErrTooLong so a hostile input cannot grow memory.
type lineReader struct {
	br      *bufio.Reader
	max     int
	buf     []byte
	line    int   // number of the line last returned
	off     int64 // offset of the next unread byte
	lineOff int64 // offset of the line last returned
}

func newLineReader(br *bufio.Reader, max int) *lineReader {
	return &lineReader{br: br, max: max}
}

// next returns the next line without its "\n" or "\r\n". The slice is
// valid until the next call. io.EOF only when no byte is left.
func (r *lineReader) next() ([]byte, error) {
	r.buf = r.buf[:0]
	r.lineOff = r.off
	tooLong := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.off += int64(len(chunk))
		if !tooLong {
			if len(r.buf)+len(chunk) > r.max+2 {
				tooLong = true
				r.buf = r.buf[:0]
			} else {
				r.buf = append(r.buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if err == io.EOF && len(chunk) == 0 && len(r.buf) == 0 && !tooLong && r.off == r.lineOff {
			return nil, io.EOF
		}
		r.line++
		if tooLong {
			return nil, ErrTooLong
		}
		return trimEOL(r.buf), nil
	}
}

// readN reads exactly n bytes (a body of Content-Length bytes), keeping at
// most max of them; lines are counted so later positions stay right.
func (r *lineReader) readN(n int64, max int) ([]byte, error) {
	r.buf = r.buf[:0]
	for n > 0 {
		chunk, err := r.br.Peek(min(int(min(n, 1<<30)), r.br.Size()))
		if len(chunk) == 0 && err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return r.buf, err
		}
		if room := max - len(r.buf); room > 0 {
			r.buf = append(r.buf, chunk[:min(room, len(chunk))]...)
		}
		r.line += bytes.Count(chunk, []byte{'\n'})
		r.off += int64(len(chunk))
		n -= int64(len(chunk))
		r.br.Discard(len(chunk))
	}
	return r.buf, nil
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// cp1252 maps bytes 0x80–0x9F of Windows-1252 to Unicode; the rest of the
// high half is Latin-1 (identity). Undefined slots map to themselves as
// C1 controls, as browsers and Python's "replace" handling roughly do.
var cp1252 = [32]rune{
	0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
	0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
}

// toUTF8 returns b as a valid UTF-8 string: valid UTF-8 sequences are
// kept, every other byte is read as Windows-1252. CSIC 2010 and many WAF
// logs are Latin-1 (e.g. "A%F1adir" is "Añadir"), and the featurizer must
// see one character per character, not U+FFFD.
func toUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			c := b[0]
			if c >= 0x80 && c < 0xA0 {
				sb.WriteRune(cp1252[c-0x80])
			} else {
				sb.WriteRune(rune(c))
			}
			b = b[1:]
			continue
		}
		sb.Write(b[:n])
		b = b[n:]
	}
	return sb.String()
}

// splitTarget splits a request target into path and query, dropping an
// absolute URL's scheme and authority (CSIC writes http://localhost:8080/…)
// and any fragment. The host is returned when present.
func splitTarget(t string) (host, path, query string) {
	if i := strings.Index(t, "://"); i > 0 && i < 10 && !strings.ContainsAny(t[:i], "/?") {
		rest := t[i+3:]
		j := strings.IndexAny(rest, "/?")
		if j < 0 {
			return rest, "/", ""
		}
		host, t = rest[:j], rest[j:]
	}
	if i := strings.IndexByte(t, '#'); i >= 0 {
		t = t[:i]
	}
	path, query, _ = strings.Cut(t, "?")
	return host, path, query
}

// linesReader reads one path?query per line (FWAF's good/bad lists).
type linesReader struct {
	lr  *lineReader
	opt *Options
}

func newLinesReader(br *bufio.Reader, opt *Options) *linesReader {
	return &linesReader{lr: newLineReader(br, opt.maxLine()), opt: opt}
}

func (r *linesReader) Next() (*Event, error) {
	for {
		b, err := r.lr.next()
		pos := Position{Line: r.lr.line, Offset: r.lr.lineOff}
		if err == io.EOF {
			return nil, io.EOF
		}
		if errors.Is(err, ErrTooLong) {
			return nil, &ParseError{FormatLines, pos, fmt.Errorf("line longer than %d bytes: %w", r.opt.maxLine(), err)}
		}
		if err != nil {
			return nil, fmt.Errorf("lines: reading line %d: %w", pos.Line, err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		host, path, query := splitTarget(toUTF8(b))
		return &Event{Host: host, Path: path, Query: query, Source: pos, RequestSize: int64(len(b))}, nil
	}
}
