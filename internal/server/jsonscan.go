package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unsafe"
)

// scanner is a minimal streaming JSON tokenizer for request bodies of
// flow rows. encoding/json decodes into interface values or structs with
// an allocation per value; scoring 200k flows a second of 55 numbers each
// needs the numbers parsed in place from a reused buffer, with the byte
// offset of every token at hand for error messages.
type scanner struct {
	src  io.Reader
	buf  []byte
	r, w int
	base int64 // body offset of buf[0]
	rerr error // sticky read error
	tmp  []byte
}

// errSyntax marks malformed JSON; the message carries the byte offset.
var errSyntax = errors.New("malformed JSON")

func newScanner(src io.Reader) *scanner {
	return &scanner{src: src, buf: make([]byte, 64<<10)}
}

// off is the body offset of the next unread byte.
func (s *scanner) off() int64 { return s.base + int64(s.r) }

// more reads more input, keeping buf[keep:w]; it grows the buffer when a
// token fills it. It returns false at the end of input or on a read error.
func (s *scanner) more(keep int) bool {
	if s.rerr != nil {
		return false
	}
	if keep > 0 {
		n := copy(s.buf, s.buf[keep:s.w])
		s.base += int64(keep)
		s.r -= keep
		s.w = n
	}
	if s.w == len(s.buf) {
		s.buf = append(s.buf, make([]byte, len(s.buf))...)
	}
	n, err := s.src.Read(s.buf[s.w:])
	s.w += n
	if err != nil {
		s.rerr = err
	}
	return n > 0 || err == nil
}

// peek skips whitespace and returns the next byte without consuming it; 0
// at the end of input.
func (s *scanner) peek() byte {
	for {
		for s.r < s.w {
			switch c := s.buf[s.r]; c {
			case ' ', '\t', '\n', '\r':
				s.r++
			default:
				return c
			}
		}
		if !s.more(s.r) {
			return 0
		}
	}
}

// readErr is the read error that ended the input early, if any (an
// oversized body, a dropped connection).
func (s *scanner) readErr() error {
	if s.rerr == nil || s.rerr == io.EOF {
		return nil
	}
	return s.rerr
}

func (s *scanner) syntax(format string, args ...any) error {
	if err := s.readErr(); err != nil {
		return err
	}
	return fmt.Errorf("%w at byte %d: %s", errSyntax, s.off(), fmt.Sprintf(format, args...))
}

// expect consumes byte c.
func (s *scanner) expect(c byte) error {
	switch got := s.peek(); got {
	case c:
		s.r++
		return nil
	case 0:
		return s.syntax("unexpected end of input, want %q", c)
	default:
		return s.syntax("want %q, got %q", c, got)
	}
}

// next reports whether the array or object being read continues: it
// consumes a ',' (true) or the closing byte (false).
func (s *scanner) next(closing byte) (bool, error) {
	switch c := s.peek(); c {
	case ',':
		s.r++
		return true, nil
	case closing:
		s.r++
		return false, nil
	case 0:
		return false, s.syntax("unexpected end of input, want ',' or %q", closing)
	default:
		return false, s.syntax("want ',' or %q, got %q", closing, c)
	}
}

// first reports whether the array or object just opened has a first
// element; it consumes the closing byte of an empty one.
func (s *scanner) first(closing byte) bool {
	if s.peek() == closing {
		s.r++
		return false
	}
	return true
}

// str reads a string and returns its contents, valid until the next call.
func (s *scanner) str() ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return nil, err
	}
	start := s.r
	escaped, esc := false, false
	for i := start; ; i++ {
		if i == s.w {
			// Keep the opening quote: an escaped string is decoded whole.
			n := i - start
			ok := s.more(start - 1)
			start = s.r
			i = start + n
			if !ok {
				return nil, s.syntax("unterminated string")
			}
			if i == s.w {
				i--
				continue
			}
		}
		c := s.buf[i]
		switch {
		case esc:
			esc = false
		case c == '\\':
			escaped, esc = true, true
		case c == '"':
			s.r = i + 1
			if !escaped {
				return s.buf[start:i], nil
			}
			var v string
			if err := json.Unmarshal(s.buf[start-1:i+1], &v); err != nil {
				return nil, fmt.Errorf("%w at byte %d: bad string escape", errSyntax, s.base+int64(start))
			}
			s.tmp = append(s.tmp[:0], v...)
			return s.tmp, nil
		case c < 0x20:
			s.r = i
			return nil, s.syntax("control character in string")
		}
	}
}

// word reads the run of bytes that can make up a number or a literal.
func (s *scanner) word() []byte {
	s.peek()
	start := s.r
	for i := start; ; i++ {
		if i == s.w {
			n := i - start
			ok := s.more(start)
			start = s.r
			i = start + n
			if !ok || i == s.w {
				s.r = s.w
				return s.buf[start:s.w]
			}
		}
		switch c := s.buf[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '+', c == '.':
		default:
			s.r = i
			return s.buf[start:i]
		}
	}
}

// cellKind is what a feature cell held besides a finite number.
type cellKind uint8

const (
	cellNumber    cellKind = iota
	cellMissing            // null
	cellNonFinite          // NaN, Infinity, -Infinity (bare, as Python writes them, or as strings)
	cellWrongType          // a string, boolean, object or array
)

// cell reads one value where a feature is expected.
func (s *scanner) cell() (float64, cellKind, error) {
	switch c := s.peek(); {
	case c == '-' || (c >= '0' && c <= '9') || c == 'N' || c == 'I':
		w := s.word()
		if v, ok := parseDecimal(w); ok {
			return v, cellNumber, nil
		}
		if v, ok := parseNonFinite(w); ok {
			return v, cellNonFinite, nil
		}
		v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(w), len(w)), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, 0, s.syntax("bad number %q", string(w))
		}
		return v, cellNumber, nil
	case c == 'n':
		if w := s.word(); string(w) != "null" {
			return 0, 0, s.syntax("bad literal %q", string(w))
		}
		return math.NaN(), cellMissing, nil
	case c == '"':
		b, err := s.str()
		if err != nil {
			return 0, 0, err
		}
		if v, ok := parseNonFinite(b); ok {
			return v, cellNonFinite, nil
		}
		return 0, cellWrongType, nil
	case c == 0:
		return 0, 0, s.syntax("unexpected end of input, want a value")
	default:
		if err := s.skip(); err != nil {
			return 0, 0, err
		}
		return 0, cellWrongType, nil
	}
}

// parseNonFinite recognises the spellings of NaN and the infinities that
// Python, pandas and Java write.
func parseNonFinite(b []byte) (float64, bool) {
	switch string(b) {
	case "NaN", "nan":
		return math.NaN(), true
	case "Infinity", "inf", "Inf", "+Infinity", "+inf":
		return math.Inf(1), true
	case "-Infinity", "-inf", "-Inf":
		return math.Inf(-1), true
	}
	return 0, false
}

// skip consumes one value of any type.
func (s *scanner) skip() error {
	switch c := s.peek(); c {
	case '"':
		_, err := s.str()
		return err
	case '{', '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		s.r++
		for more := s.first(closing); more; {
			if c == '{' {
				if _, err := s.str(); err != nil {
					return err
				}
				if err := s.expect(':'); err != nil {
					return err
				}
			}
			if err := s.skip(); err != nil {
				return err
			}
			var err error
			if more, err = s.next(closing); err != nil {
				return err
			}
		}
		return nil
	case 0:
		return s.syntax("unexpected end of input, want a value")
	default:
		w := s.word()
		if len(w) == 0 {
			return s.syntax("unexpected %q", c)
		}
		switch string(w) {
		case "true", "false", "null":
			return nil
		}
		if _, ok := parseNonFinite(w); ok {
			return nil
		}
		if _, err := strconv.ParseFloat(string(w), 64); err != nil {
			return s.syntax("bad value %q", string(w))
		}
		return nil
	}
}

// end checks that only whitespace follows the document.
func (s *scanner) end() error {
	if c := s.peek(); c != 0 {
		return s.syntax("unexpected %q after the JSON document", c)
	}
	return s.readErr()
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseDecimal is strconv.ParseFloat's fast path for the plain decimals
// flow data is made of (an optional minus, digits, an optional point and
// digits): when the digits make an integer m < 2⁵³ and there are k ≤ 22
// of them after the point, m and 10^k are exact float64 values and m/10^k
// is the correctly rounded quotient, which is what ParseFloat returns.
// Anything else (exponents, signs, more digits) reports false.
func parseDecimal[S string | []byte](s S) (float64, bool) {
	i, neg := 0, false
	if len(s) > 0 && s[0] == '-' {
		i, neg = 1, true
	}
	var m uint64
	digits, frac, point := 0, 0, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits++; digits > 19 {
				return 0, false
			}
			m = m*10 + uint64(c-'0')
			if point {
				frac++
			}
		case c == '.' && !point:
			point = true
		default:
			return 0, false
		}
	}
	if digits == 0 || m >= 1<<53 || frac >= len(pow10) {
		return 0, false
	}
	v := float64(m) / pow10[frac]
	if neg {
		v = -v
	}
	return v, true
}
