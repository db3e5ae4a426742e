package events

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// csicReader parses raw HTTP/1.x requests laid one after another, as in
// CSIC 2010: request line, headers, a blank line, then Content-Length
// bytes of body (POST/PUT), with blank lines between requests.
type csicReader struct {
	lr  *lineReader
	opt *Options
}

func newCSICReader(br *bufio.Reader, opt *Options) *csicReader {
	return &csicReader{lr: newLineReader(br, opt.maxLine()), opt: opt}
}

var httpMethods = []string{"GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT", "PROPFIND"}

// requestLine parses "METHOD target HTTP/x.y"; the version may be missing
// (HTTP/0.9 style or truncated logs).
func requestLine(s string) (method, target string, ok bool) {
	method, rest, found := strings.Cut(s, " ")
	if !found || method == "" || rest == "" {
		return "", "", false
	}
	for i := 0; i < len(method); i++ {
		if c := method[i]; c < 'A' || c > 'Z' {
			return "", "", false
		}
	}
	rest = strings.TrimLeft(rest, " ")
	if i := strings.LastIndex(rest, " HTTP/"); i >= 0 {
		rest = rest[:i]
	}
	return method, rest, rest != ""
}

func (r *csicReader) fail(pos Position, err error) error {
	return &ParseError{FormatCSIC, pos, err}
}

func (r *csicReader) Next() (*Event, error) {
	// Skip separators up to a request line.
	var first []byte
	for {
		b, err := r.lr.next()
		if err == io.EOF {
			return nil, io.EOF
		}
		pos := Position{r.lr.line, r.lr.lineOff}
		if errors.Is(err, ErrTooLong) {
			r.skipRequest()
			return nil, r.fail(pos, fmt.Errorf("request line longer than %d bytes: %w", r.opt.maxLine(), err))
		}
		if err != nil {
			return nil, fmt.Errorf("csic: reading line %d: %w", pos.Line, err)
		}
		if len(bytes.TrimSpace(b)) > 0 {
			first = b
			break
		}
	}
	pos := Position{r.lr.line, r.lr.lineOff}
	size := int64(len(first)) + 2
	method, target, ok := requestLine(toUTF8(first))
	if !ok {
		r.skipRequest()
		return nil, r.fail(pos, fmt.Errorf("not an HTTP request line: %q", truncate(string(first), 80)))
	}
	e := &Event{Method: method, Source: pos}
	e.Host, e.Path, e.Query = splitTarget(target)
	contentLength := int64(-1)
	for {
		b, err := r.lr.next()
		if err == io.EOF {
			break // a final request without its blank line is still whole
		}
		if errors.Is(err, ErrTooLong) {
			r.skipRequest()
			return nil, r.fail(Position{r.lr.line, r.lr.lineOff}, fmt.Errorf("header longer than %d bytes: %w", r.opt.maxLine(), err))
		}
		if err != nil {
			return nil, fmt.Errorf("csic: reading line %d: %w", r.lr.line, err)
		}
		if len(b) == 0 {
			break
		}
		size += int64(len(b)) + 2
		name, value, found := bytes.Cut(b, []byte{':'})
		if !found {
			r.skipRequest()
			return nil, r.fail(Position{r.lr.line, r.lr.lineOff}, fmt.Errorf("header line without colon: %q", truncate(string(b), 80)))
		}
		v := strings.TrimSpace(toUTF8(value))
		switch strings.ToLower(string(bytes.TrimSpace(name))) {
		case "user-agent":
			e.UserAgent = v
		case "content-type":
			e.ContentType = v
		case "cookie":
			e.CookieLen = len(v)
		case "host":
			e.Host = v
		case "content-length":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				r.skipRequest()
				return nil, r.fail(Position{r.lr.line, r.lr.lineOff}, fmt.Errorf("bad Content-Length %q", truncate(v, 40)))
			}
			contentLength = n
		}
	}
	size += 2
	if contentLength > 0 {
		body, err := r.lr.readN(contentLength, r.opt.maxBody())
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				return nil, r.fail(pos, fmt.Errorf("body shorter than Content-Length %d: %w", contentLength, err))
			}
			return nil, fmt.Errorf("csic: reading body of request at line %d: %w", pos.Line, err)
		}
		e.Body = toUTF8(body)
		size += contentLength
	}
	e.RequestSize = size
	return e, nil
}

// skipRequest consumes lines up to the next blank line so that one bad
// request does not derail the rest of the file.
func (r *csicReader) skipRequest() {
	for {
		b, err := r.lr.next()
		if err == io.EOF || (err != nil && !errors.Is(err, ErrTooLong)) {
			return
		}
		if err == nil && len(b) == 0 {
			return
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
