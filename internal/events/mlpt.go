package events

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// ML-PT events are Python-produced JSON: bare NaN (a missing value in
// pandas), Infinity and -Infinity appear where JSON allows only numbers.
// Both readers below rewrite those tokens to null, but only outside
// strings, so a payload such as "NaN' OR 1=1" stays untouched.

// nanFilter is a streaming io.Reader doing that rewrite.
type nanFilter struct {
	br      *bufio.Reader
	inStr   bool
	esc     bool
	pending []byte
	// count and mark bound what json.Decoder may buffer for one element:
	// past limit bytes since mark, Read fails with ErrTooLong.
	count, mark, limit int64
}

var (
	tokNaN    = []byte("NaN")
	tokInf    = []byte("Infinity")
	tokNegInf = []byte("-Infinity")
	tokNull   = []byte("null")
)

func (f *nanFilter) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(f.pending) > 0 {
			c := copy(p[n:], f.pending)
			f.pending = f.pending[c:]
			n += c
			continue
		}
		if f.limit > 0 && f.count-f.mark > f.limit {
			return n, fmt.Errorf("JSON element longer than %d bytes: %w", f.limit, ErrTooLong)
		}
		c, err := f.br.ReadByte()
		f.count++
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if f.inStr {
			switch {
			case f.esc:
				f.esc = false
			case c == '\\':
				f.esc = true
			case c == '"':
				f.inStr = false
			}
			p[n] = c
			n++
			continue
		}
		if c == '"' {
			f.inStr = true
		} else if tok := f.special(c); tok != nil {
			d, _ := f.br.Discard(len(tok) - 1)
			f.count += int64(d)
			f.pending = tokNull
			continue
		}
		p[n] = c
		n++
	}
	return n, nil
}

// special reports which bare token starts with c at the read position.
func (f *nanFilter) special(c byte) []byte {
	var tok []byte
	switch c {
	case 'N':
		tok = tokNaN
	case 'I':
		tok = tokInf
	case '-':
		tok = tokNegInf
	default:
		return nil
	}
	rest, _ := f.br.Peek(len(tok) - 1)
	if bytes.Equal(rest, tok[1:]) {
		return tok
	}
	return nil
}

// sanitizeNaN is the in-memory version, used on the JSON string inside a
// POST /predict {"data": "..."} item and on JSON lines.
func sanitizeNaN(b []byte) []byte {
	if bytes.IndexByte(b, 'N') < 0 && bytes.IndexByte(b, 'I') < 0 {
		return b
	}
	out := make([]byte, 0, len(b)+8)
	inStr, esc := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			out = append(out, c)
			continue
		}
		switch {
		case c == '"':
			inStr = true
		case bytes.HasPrefix(b[i:], tokNaN):
			out, i = append(out, tokNull...), i+len(tokNaN)-1
			continue
		case bytes.HasPrefix(b[i:], tokInf):
			out, i = append(out, tokNull...), i+len(tokInf)-1
			continue
		case bytes.HasPrefix(b[i:], tokNegInf):
			out, i = append(out, tokNull...), i+len(tokNegInf)-1
			continue
		}
		out = append(out, c)
	}
	return out
}

// flexString accepts a JSON string, number, bool or null (pandas writes
// NaN for a missing user agent, numbers for numeric-looking names).
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
	case b[0] == '{' || b[0] == '[':
		*s = flexString(b)
	default:
		*s = flexString(b)
	}
	return nil
}

// flexInt accepts a number (pandas turns int columns with NaN into
// floats: 166.0), a numeric string, or null.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 1 && b[0] == '"' {
		b = b[1 : len(b)-1]
	}
	if len(b) == 0 || string(b) == "null" {
		*n = 0
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<62 {
		return fmt.Errorf("not a number: %q", truncate(string(b), 30))
	}
	*n = flexInt(f)
	return nil
}

type mlptRecord struct {
	Data         *flexString `json:"data"`
	ClientIP     flexString  `json:"CLIENT_IP"`
	UserAgent    flexString  `json:"CLIENT_USERAGENT"`
	RequestSize  flexInt     `json:"REQUEST_SIZE"`
	ResponseCode flexInt     `json:"RESPONSE_CODE"`
	MatchedSrc   flexString  `json:"MATCHED_VARIABLE_SRC"`
	MatchedName  flexString  `json:"MATCHED_VARIABLE_NAME"`
	MatchedValue flexString  `json:"MATCHED_VARIABLE_VALUE"`
	EventID      flexString  `json:"EVENT_ID"`
}

// decodeMLPT turns one JSON value (already NaN-sanitised) into an event,
// unwrapping the {"data": "<JSON>"} envelope of ML-PT's POST /predict.
func decodeMLPT(raw []byte) (*Event, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errors.New("event is not a JSON object")
	}
	var rec mlptRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("decoding event: %w", err)
	}
	if rec.Data != nil {
		inner := sanitizeNaN([]byte(*rec.Data))
		if err := json.Unmarshal(inner, &rec); err != nil {
			return nil, fmt.Errorf("decoding the event in \"data\": %w", err)
		}
	}
	e := &Event{
		ClientIP:     string(rec.ClientIP),
		UserAgent:    string(rec.UserAgent),
		RequestSize:  int64(rec.RequestSize),
		ResponseCode: int(rec.ResponseCode),
		MatchedSrc:   string(rec.MatchedSrc),
		MatchedName:  string(rec.MatchedName),
		MatchedValue: string(rec.MatchedValue),
		EventID:      string(rec.EventID),
	}
	// Place the matched value where the featurizer looks for it: a URI
	// match is the path?query, anything else is payload.
	switch rec.MatchedSrc {
	case "REQUEST_URI", "REQUEST_FILENAME", "REQUEST_LINE", "REQUEST_URI_RAW":
		_, e.Path, e.Query = splitTarget(e.MatchedValue)
	case "REQUEST_GET_ARGS", "ARGS_GET", "QUERY_STRING":
		e.Query = e.MatchedValue
	default:
		e.Body = e.MatchedValue
	}
	return e, nil
}

// mlptReader reads a JSON array of events (plain or {"data": ...}
// wrapped), streaming element by element, or JSON lines.
type mlptReader struct {
	br    *bufio.Reader
	opt   *Options
	dec   *json.Decoder // array mode
	nf    *nanFilter
	lr    *lineReader // lines mode
	state int         // 0 start, 1 array, 2 lines, 3 done
	index int
}

func newMLPTReader(br *bufio.Reader, opt *Options) *mlptReader {
	return &mlptReader{br: br, opt: opt}
}

func (r *mlptReader) start() error {
	// Skip a UTF-8 BOM and leading whitespace to see '[' or '{'.
	if b, _ := r.br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		r.br.Discard(3)
	}
	for {
		c, err := r.br.ReadByte()
		if err == io.EOF {
			r.state = 3
			return nil
		}
		if err != nil {
			return fmt.Errorf("mlpt: %w", err)
		}
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			continue
		}
		r.br.UnreadByte()
		if c == '[' {
			r.nf = &nanFilter{br: r.br, limit: int64(r.opt.maxLine()) + 64<<10}
			r.dec = json.NewDecoder(r.nf)
			if _, err := r.dec.Token(); err != nil {
				return fmt.Errorf("mlpt: %w", err)
			}
			r.state = 1
		} else {
			r.lr = newLineReader(r.br, r.opt.maxLine())
			r.state = 2
		}
		return nil
	}
}

func (r *mlptReader) Next() (*Event, error) {
	if r.state == 0 {
		if err := r.start(); err != nil {
			r.state = 3
			return nil, err
		}
	}
	switch r.state {
	case 1:
		if !r.dec.More() {
			r.state = 3
			if _, err := r.dec.Token(); err != nil {
				return nil, fmt.Errorf("mlpt: closing the array at byte ~%d: %w", r.dec.InputOffset(), err)
			}
			return nil, io.EOF
		}
		off := r.dec.InputOffset()
		r.nf.mark = r.nf.count
		var raw json.RawMessage
		if err := r.dec.Decode(&raw); err != nil {
			// A syntax error leaves the decoder lost: stop here.
			r.state = 3
			return nil, fmt.Errorf("mlpt: array element %d at byte ~%d: %w", r.index, off, err)
		}
		r.index++
		if len(raw) > r.opt.maxLine() {
			return nil, &ParseError{FormatMLPT, Position{Offset: off}, fmt.Errorf("element %d: %w", r.index-1, ErrTooLong)}
		}
		e, err := decodeMLPT(raw)
		if err != nil {
			return nil, &ParseError{FormatMLPT, Position{Offset: off}, fmt.Errorf("element %d: %w", r.index-1, err)}
		}
		e.Source = Position{Offset: off}
		return e, nil
	case 2:
		for {
			b, err := r.lr.next()
			if err == io.EOF {
				r.state = 3
				return nil, io.EOF
			}
			pos := Position{r.lr.line, r.lr.lineOff}
			if errors.Is(err, ErrTooLong) {
				return nil, &ParseError{FormatMLPT, pos, err}
			}
			if err != nil {
				r.state = 3
				return nil, fmt.Errorf("mlpt: reading line %d: %w", pos.Line, err)
			}
			if len(bytes.TrimSpace(b)) == 0 {
				continue
			}
			e, err := decodeMLPT(sanitizeNaN(b))
			if err != nil {
				return nil, &ParseError{FormatMLPT, pos, err}
			}
			e.Source = pos
			return e, nil
		}
	}
	return nil, io.EOF
}
