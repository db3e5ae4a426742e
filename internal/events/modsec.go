package events

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ModSecurity writes its audit log in two shapes:
//
//   - native (2.x and 3.x "Native"): one transaction is a run of parts,
//     each opened by a boundary line "--<id>-<L>--" where L is A..Z:
//     A header "[time] unique_id client_ip client_port server_ip server_port",
//     B request line + headers, C (or I) request body, F response status
//     line + headers, H trailer with Message: lines, Z end.
//   - JSON, one transaction per line: v3 {"transaction":{client_ip,
//     time_stamp, unique_id, request:{method, uri, headers, body},
//     response:{http_code}, messages:[...]}}; v2 puts transaction, request
//     (request_line), response (status) and audit_data side by side.
//
// modsecReader tells them apart by the first non-blank byte.
type modsecReader struct {
	br    *bufio.Reader
	lr    *lineReader
	opt   *Options
	state int // 0 start, 1 native, 2 json

	pendingBoundary []byte // a boundary line read ahead, starting the next part
	pendingPos      Position
}

func newModSecReader(br *bufio.Reader, opt *Options) *modsecReader {
	return &modsecReader{br: br, lr: newLineReader(br, opt.maxLine()), opt: opt}
}

var modsecBoundary = regexp.MustCompile(`^--([0-9A-Za-z]+)-([A-Z])--\s*$`)

// boundary returns the transaction id and part letter of a boundary line.
func boundary(b []byte) (id string, part byte, ok bool) {
	if len(b) < 6 || b[0] != '-' || b[1] != '-' {
		return "", 0, false
	}
	m := modsecBoundary.FindSubmatch(b)
	if m == nil {
		return "", 0, false
	}
	return string(m[1]), m[2][0], true
}

func (r *modsecReader) Next() (*Event, error) {
	if r.state == 0 {
		r.state = 1
		for {
			c, err := r.br.ReadByte()
			if err != nil {
				break
			}
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				r.lr.off++
				if c == '\n' {
					r.lr.line++
				}
				continue
			}
			r.br.UnreadByte()
			if c == '{' {
				r.state = 2
			}
			break
		}
	}
	if r.state == 2 {
		return r.nextJSON()
	}
	return r.nextNative()
}

func (r *modsecReader) nextJSON() (*Event, error) {
	for {
		b, err := r.lr.next()
		if err == io.EOF {
			return nil, io.EOF
		}
		pos := Position{r.lr.line, r.lr.lineOff}
		if errors.Is(err, ErrTooLong) {
			return nil, &ParseError{FormatModSec, pos, err}
		}
		if err != nil {
			return nil, fmt.Errorf("modsec: reading line %d: %w", pos.Line, err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		e, err := decodeModSecJSON(b)
		if err != nil {
			return nil, &ParseError{FormatModSec, pos, err}
		}
		e.Source = pos
		return e, nil
	}
}

type modsecMessage struct {
	Message string `json:"message"`
	Details struct {
		Match string `json:"match"`
		Data  string `json:"data"`
	} `json:"details"`
}

type modsecJSON struct {
	Transaction struct {
		// v3
		ClientIP  string  `json:"client_ip"`
		TimeStamp string  `json:"time_stamp"`
		UniqueID  string  `json:"unique_id"`
		Request   *msReq  `json:"request"`
		Response  *msResp `json:"response"`
		Messages  []modsecMessage
		// v2
		Time          string `json:"time"`
		TransactionID string `json:"transaction_id"`
		RemoteAddress string `json:"remote_address"`
	} `json:"transaction"`
	Request  *msReq  `json:"request"`  // v2
	Response *msResp `json:"response"` // v2
}

type msReq struct {
	Method      string            `json:"method"`
	URI         string            `json:"uri"`
	RequestLine string            `json:"request_line"`
	Headers     map[string]string `json:"headers"`
	Body        json.RawMessage   `json:"body"` // v3 string, v2 array of strings
}

type msResp struct {
	HTTPCode int `json:"http_code"`
	Status   int `json:"status"`
}

func decodeModSecJSON(b []byte) (*Event, error) {
	var m modsecJSON
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding audit record: %w", err)
	}
	t := &m.Transaction
	e := &Event{ClientIP: t.ClientIP, EventID: t.UniqueID}
	if e.ClientIP == "" {
		e.ClientIP = t.RemoteAddress
	}
	if e.EventID == "" {
		e.EventID = t.TransactionID
	}
	// v3 writes asctime ("Tue Oct  1 19:57:01 2019"), v2 the access-log form.
	if ts := t.TimeStamp; ts != "" {
		if tm, err := time.Parse(time.ANSIC, ts); err == nil {
			e.Time = tm
		}
	} else if t.Time != "" {
		if tm, err := time.Parse(accessTimeLayout, t.Time); err == nil {
			e.Time = tm
		} else if tm, err := time.Parse("02/Jan/2006:15:04:05.000000 -0700", t.Time); err == nil {
			e.Time = tm
		}
	}
	req, resp := t.Request, t.Response
	if req == nil {
		req = m.Request
	}
	if resp == nil {
		resp = m.Response
	}
	if req == nil {
		return nil, errors.New("audit record has no request")
	}
	if resp != nil {
		e.ResponseCode = max(resp.HTTPCode, resp.Status)
	}
	e.Method = req.Method
	target := req.URI
	if target == "" && req.RequestLine != "" {
		if m, t, ok := requestLine(req.RequestLine); ok {
			e.Method, target = m, t
		}
	}
	e.Host, e.Path, e.Query = splitTarget(target)
	for k, v := range req.Headers {
		setHeader(e, k, v)
	}
	if len(req.Body) > 0 {
		var s string
		var parts []string
		if json.Unmarshal(req.Body, &s) == nil {
			e.Body = s
		} else if json.Unmarshal(req.Body, &parts) == nil {
			e.Body = strings.Join(parts, "")
		}
	}
	for _, msg := range t.Messages {
		if msg.Details.Data != "" && e.MatchedValue == "" {
			e.MatchedValue = msg.Details.Data
		}
	}
	e.RequestSize = int64(len(target) + len(e.Body))
	return e, nil
}

// setHeader keeps the headers of interest.
func setHeader(e *Event, name, value string) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "user-agent":
		e.UserAgent = value
	case "content-type":
		e.ContentType = value
	case "cookie":
		e.CookieLen = len(value)
	case "host":
		if e.Host == "" {
			e.Host = value
		}
	}
}

// nextNative reads one transaction, from its A part to its Z part.
// Parts other than A, B, C, I, F, H are skipped; a transaction cut short
// by the next A boundary is returned as far as it got.
func (r *modsecReader) nextNative() (*Event, error) {
	var e *Event
	var id string
	var part byte
	var body []byte
	bodyTooLong := false
	var startPos Position
	for {
		var b []byte
		var err error
		var pos Position
		if r.pendingBoundary != nil {
			b, pos = r.pendingBoundary, r.pendingPos
			r.pendingBoundary = nil
		} else {
			b, err = r.lr.next()
			pos = Position{r.lr.line, r.lr.lineOff}
		}
		if err == io.EOF {
			if e != nil {
				return r.finish(e, body), nil
			}
			return nil, io.EOF
		}
		if errors.Is(err, ErrTooLong) {
			if part == 'C' || part == 'I' {
				bodyTooLong = true
			}
			continue // an overlong line inside a part: dropped, bounded
		}
		if err != nil {
			return nil, fmt.Errorf("modsec: reading line %d: %w", pos.Line, err)
		}
		if bid, p, ok := boundary(b); ok {
			if e == nil {
				if p != 'A' {
					// Stray part outside a transaction: skip it.
					continue
				}
				e, id, part, startPos = &Event{Source: pos, EventID: ""}, bid, p, pos
				continue
			}
			if p == 'A' {
				// The previous transaction lacked its Z: return it and
				// start the next one from this boundary.
				r.pendingBoundary = append([]byte(nil), b...)
				r.pendingPos = pos
				return r.finish(e, body), nil
			}
			if bid != id {
				continue
			}
			if p == 'Z' {
				ev := r.finish(e, body)
				if bodyTooLong {
					return nil, &ParseError{FormatModSec, startPos, fmt.Errorf("transaction %s: request body: %w", id, ErrTooLong)}
				}
				return ev, nil
			}
			part = p
			continue
		}
		if e == nil {
			continue
		}
		switch part {
		case 'A':
			if len(bytes.TrimSpace(b)) > 0 && e.ClientIP == "" {
				parseModSecHeader(e, toUTF8(b))
			}
		case 'B':
			s := toUTF8(b)
			if e.Method == "" && e.Path == "" {
				if m, t, ok := requestLine(s); ok {
					e.Method = m
					e.Host, e.Path, e.Query = splitTarget(t)
					e.RequestSize += int64(len(s)) + 2
				}
				continue
			}
			if k, v, ok := strings.Cut(s, ":"); ok {
				setHeader(e, k, strings.TrimSpace(v))
			}
			e.RequestSize += int64(len(s)) + 2
		case 'C', 'I':
			if len(body)+len(b)+1 > r.opt.maxBody() {
				bodyTooLong = true
				continue
			}
			if len(body) > 0 {
				body = append(body, '\n')
			}
			body = append(body, b...)
		case 'F':
			if e.ResponseCode == 0 {
				f := strings.Fields(string(b))
				if len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/") {
					e.ResponseCode, _ = strconv.Atoi(f[1])
				}
			}
		case 'H':
			// Message: ... [data "Matched Data: x found within ARGS:q: ..."]
			if e.MatchedValue == "" && bytes.HasPrefix(b, []byte("Message:")) {
				if v := bracketValue(string(b), "data"); v != "" {
					e.MatchedValue = v
				}
			}
		}
	}
}

func (r *modsecReader) finish(e *Event, body []byte) *Event {
	b := bytes.TrimRight(body, "\r\n")
	e.Body = toUTF8(b)
	e.RequestSize += int64(len(b))
	return e
}

// parseModSecHeader reads "[27/Jul/2016:05:46:16 +0200] uniqueid
// client_ip client_port server_ip server_port". ModSecurity 3 may write
// microseconds in the time.
func parseModSecHeader(e *Event, s string) {
	p := fieldScanner{s: s}
	if ts, ok := p.bracketed(); ok {
		if t, err := time.Parse(accessTimeLayout, ts); err == nil {
			e.Time = t
		} else if t, err := time.Parse("02/Jan/2006:15:04:05.000000 -0700", ts); err == nil {
			e.Time = t
		}
	}
	if id, ok := p.word(); ok {
		e.EventID = id
	}
	if ip, ok := p.word(); ok {
		e.ClientIP = ip
	}
}

// bracketValue finds `[name "value"]` in a ModSecurity message line.
func bracketValue(s, name string) string {
	key := "[" + name + ` "`
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	rest := s[i+len(key):]
	j := strings.Index(rest, `"]`)
	if j < 0 {
		return ""
	}
	return rest[:j]
}
