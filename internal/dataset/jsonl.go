package dataset

import (
	"errors"
	"fmt"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// JSON lines hold one flat object per flow, keyed by column name (what
// flowguard flows --format jsonl writes). Values are strings, numbers,
// true/false or null; Python's bare NaN and Infinity tokens are accepted
// as numbers. The reader below handles exactly that, without building maps.

var errNested = errors.New("nested JSON values are not flow columns")

// jsonKeys returns the keys of an object in order, each once.
func jsonKeys(line []byte) ([]string, error) {
	var keys []string
	_, err := scanObject(line, nil, func(k, _ []byte) error {
		if !slices.Contains(keys, string(k)) {
			keys = append(keys, string(k))
		}
		return nil
	})
	return keys, err
}

// scanObject calls fn for each key and value of the object in l. A string
// value is passed unescaped, a null as nil, anything else as its token.
// Unescaped text goes to buf, which is returned grown.
func scanObject(l, buf []byte, fn func(key, val []byte) error) ([]byte, error) {
	i := skipSpace(l, 0)
	if i == len(l) || l[i] != '{' {
		return buf, errors.New("not a JSON object")
	}
	i = skipSpace(l, i+1)
	if i < len(l) && l[i] == '}' {
		return buf, end(l, i+1)
	}
	for {
		if i >= len(l) || l[i] != '"' {
			return buf, fmt.Errorf("JSON offset %d: want a key", i)
		}
		var key, val []byte
		var err error
		if key, buf, i, err = jsonString(l, i, buf); err != nil {
			return buf, err
		}
		i = skipSpace(l, i)
		if i >= len(l) || l[i] != ':' {
			return buf, fmt.Errorf("JSON offset %d: want ':'", i)
		}
		i = skipSpace(l, i+1)
		switch {
		case i >= len(l):
			return buf, errors.New("JSON object ends early")
		case l[i] == '"':
			if val, buf, i, err = jsonString(l, i, buf); err != nil {
				return buf, err
			}
		case l[i] == '{' || l[i] == '[':
			return buf, fmt.Errorf("key %q: %w", key, errNested)
		default:
			j := i
			for j < len(l) && isToken(l[j]) {
				j++
			}
			if j == i {
				return buf, fmt.Errorf("JSON offset %d: unexpected %q", i, l[i])
			}
			if val = l[i:j]; string(val) == "null" {
				val = nil
			}
			i = j
		}
		if err := fn(key, val); err != nil {
			return buf, err
		}
		i = skipSpace(l, i)
		switch {
		case i < len(l) && l[i] == ',':
			i = skipSpace(l, i+1)
		case i < len(l) && l[i] == '}':
			return buf, end(l, i+1)
		default:
			return buf, fmt.Errorf("JSON offset %d: want ',' or '}'", i)
		}
	}
}

func isToken(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '+'
}

func skipSpace(l []byte, i int) int {
	for i < len(l) && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r' || l[i] == '\n') {
		i++
	}
	return i
}

func end(l []byte, i int) error {
	if i = skipSpace(l, i); i != len(l) {
		return fmt.Errorf("JSON offset %d: text after the object", i)
	}
	return nil
}

// jsonString reads the string starting at l[i] == '"'. Without escapes it
// returns a slice of l; with escapes, the unescaped text appended to buf.
func jsonString(l []byte, i int, buf []byte) (s, _ []byte, next int, err error) {
	i++
	for j := i; j < len(l); j++ {
		switch l[j] {
		case '"':
			return l[i:j:j], buf, j + 1, nil
		case '\\':
			return unescape(l, i, buf)
		}
	}
	return nil, buf, 0, errors.New("unterminated JSON string")
}

func unescape(l []byte, i int, buf []byte) ([]byte, []byte, int, error) {
	from := len(buf)
	for i < len(l) {
		c := l[i]
		switch {
		case c == '"':
			return buf[from:len(buf):len(buf)], buf, i + 1, nil
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		case i+1 >= len(l):
			return nil, buf, 0, errors.New("unterminated JSON string")
		}
		e := l[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(l, i)
			if !ok {
				return nil, buf, 0, errors.New(`bad \u escape in JSON string`)
			}
			i += 4
			if utf16.IsSurrogate(r) {
				var r2 rune
				if i+1 < len(l) && l[i] == '\\' && l[i+1] == 'u' {
					if lo, ok := hex4(l, i+2); ok && lo >= 0xDC00 && lo < 0xE000 {
						r2 = lo
						i += 6
					}
				}
				r = utf16.DecodeRune(r, r2) // U+FFFD for a lone surrogate
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return nil, buf, 0, fmt.Errorf(`bad escape \%c in JSON string`, e)
		}
	}
	return nil, buf, 0, errors.New("unterminated JSON string")
}

func hex4(l []byte, i int) (rune, bool) {
	if i+4 > len(l) {
		return 0, false
	}
	var r rune
	for _, c := range l[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
