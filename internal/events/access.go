package events

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// accessReader parses Apache/nginx "combined" access logs:
//
//	%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"
//
// Apache escapes '"' and '\' inside quoted fields as \" and \\ and
// non-printable bytes as \xHH; nginx does the same with \xHH. The common
// format (no referer/UA) is accepted too, and extra trailing fields are
// ignored.
type accessReader struct {
	lr  *lineReader
	opt *Options
}

func newAccessReader(br *bufio.Reader, opt *Options) *accessReader {
	return &accessReader{lr: newLineReader(br, opt.maxLine()), opt: opt}
}

const accessTimeLayout = "02/Jan/2006:15:04:05 -0700"

func (r *accessReader) Next() (*Event, error) {
	for {
		b, err := r.lr.next()
		if err == io.EOF {
			return nil, io.EOF
		}
		pos := Position{r.lr.line, r.lr.lineOff}
		if errors.Is(err, ErrTooLong) {
			return nil, &ParseError{FormatAccess, pos, fmt.Errorf("line longer than %d bytes: %w", r.opt.maxLine(), err)}
		}
		if err != nil {
			return nil, fmt.Errorf("access: reading line %d: %w", pos.Line, err)
		}
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		e, err := parseAccessLine(toUTF8(b))
		if err != nil {
			return nil, &ParseError{FormatAccess, pos, err}
		}
		e.Source = pos
		return e, nil
	}
}

// parseAccessLine parses one combined/common log line.
func parseAccessLine(s string) (*Event, error) {
	p := fieldScanner{s: s}
	host, ok := p.word()
	if !ok {
		return nil, errors.New("missing client address")
	}
	if _, ok = p.word(); !ok { // %l identd
		return nil, errors.New("missing ident field")
	}
	if _, ok = p.word(); !ok { // %u user
		return nil, errors.New("missing user field")
	}
	ts, ok := p.bracketed()
	if !ok {
		return nil, errors.New("missing [time] field")
	}
	t, err := time.Parse(accessTimeLayout, ts)
	if err != nil {
		return nil, fmt.Errorf("bad time %q: %w", truncate(ts, 40), err)
	}
	req, ok := p.quoted()
	if !ok {
		return nil, errors.New(`missing "request" field`)
	}
	status, ok := p.word()
	if !ok {
		return nil, errors.New("missing status")
	}
	code, err := strconv.Atoi(status)
	if err != nil || code < 0 || code > 999 {
		return nil, fmt.Errorf("bad status %q", truncate(status, 20))
	}
	e := &Event{Time: t, ClientIP: host, ResponseCode: code}
	if bytesField, ok := p.word(); ok && bytesField != "-" {
		n, err := strconv.ParseInt(bytesField, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad response size %q", truncate(bytesField, 20))
		}
		e.ResponseSize = n
	}
	if _, ok := p.quoted(); ok { // referer
		if ua, ok := p.quoted(); ok && ua != "-" {
			e.UserAgent = ua
		}
	}
	// A request line that is not "METHOD target HTTP/x" (scanners send
	// junk; Apache logs it verbatim) is kept whole as the path.
	if m, target, ok := requestLine(req); ok {
		e.Method = m
		_, e.Path, e.Query = splitTarget(target)
	} else if req != "-" {
		e.Path = req
	}
	e.RequestSize = int64(len(req))
	return e, nil
}

// fieldScanner walks a log line field by field.
type fieldScanner struct {
	s string
	i int
}

func (p *fieldScanner) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *fieldScanner) word() (string, bool) {
	p.skipSpace()
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ' ' && p.s[p.i] != '\t' {
		p.i++
	}
	return p.s[start:p.i], p.i > start
}

func (p *fieldScanner) bracketed() (string, bool) {
	p.skipSpace()
	if p.i >= len(p.s) || p.s[p.i] != '[' {
		return "", false
	}
	end := strings.IndexByte(p.s[p.i:], ']')
	if end < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+end]
	p.i += end + 1
	return v, true
}

// quoted reads a "..." field, undoing \" \\ and \xHH escapes.
func (p *fieldScanner) quoted() (string, bool) {
	p.skipSpace()
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", false
	}
	p.i++
	var sb []byte
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return toUTF8(sb), true
		case c == '\\' && p.i+1 < len(p.s):
			n := p.s[p.i+1]
			switch {
			case n == '"' || n == '\\':
				sb = append(sb, n)
				p.i += 2
			case n == 'x' && p.i+3 < len(p.s) && isHex(p.s[p.i+2]) && isHex(p.s[p.i+3]):
				sb = append(sb, unhex(p.s[p.i+2])<<4|unhex(p.s[p.i+3]))
				p.i += 4
			case n == 'n':
				sb = append(sb, '\n')
				p.i += 2
			case n == 't':
				sb = append(sb, '\t')
				p.i += 2
			default:
				sb = append(sb, c)
				p.i++
			}
		default:
			sb = append(sb, c)
			p.i++
		}
	}
	return "", false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}
