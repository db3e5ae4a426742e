package events

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDecodeRounds bounds repeated percent-decoding. Attackers double (and
// sometimes triple) encode to slip past a single decode, so one round is
// not canonical; unbounded rounds would let %25252525… cost O(n²).
const maxDecodeRounds = 3

// Decode returns s canonically decoded: percent escapes (%XX and IIS's
// %uXXXX) undone repeatedly until the text stops changing, at most three
// rounds; '+' read as a space first when plus is set (query strings and
// form bodies, not paths); bytes that are not UTF-8 read as Windows-1252;
// HTML character references undone when html is set. Malformed escapes are
// kept literally, as servers do.
func Decode(s string, plus, html bool) string {
	out, _ := DecodeRounds(s, plus, html)
	return out
}

// DecodeRounds is Decode also reporting how many percent-decoding rounds
// changed the text: 2 or more means double encoding, itself a signal.
func DecodeRounds(s string, plus, html bool) (string, int) {
	rounds := 0
	if !utf8.ValidString(s) { // raw bytes from a caller: same cp1252 rule
		s = toUTF8([]byte(s))
	}
	var buf []byte
	for r := 0; r < maxDecodeRounds; r++ {
		doPlus := plus && r == 0 // a '+' made by decoding %2B is a real plus
		if !strings.ContainsRune(s, '%') && !(doPlus && strings.ContainsRune(s, '+')) {
			break
		}
		buf = percentDecode(buf[:0], s, doPlus)
		next := toUTF8(buf)
		if next == s {
			break
		}
		s = next
		rounds++
	}
	if html && strings.ContainsRune(s, '&') {
		s = htmlUnescape(s)
	}
	return s, rounds
}

func percentDecode(dst []byte, s string, plus bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+' && plus:
			dst = append(dst, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case c == '%' && i+5 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') &&
			isHex(s[i+2]) && isHex(s[i+3]) && isHex(s[i+4]) && isHex(s[i+5]):
			r := rune(unhex(s[i+2]))<<12 | rune(unhex(s[i+3]))<<8 | rune(unhex(s[i+4]))<<4 | rune(unhex(s[i+5]))
			if !utf8.ValidRune(r) { // lone surrogates: keep a placeholder, not garbage bytes
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			i += 5
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

var htmlNamed = map[string]string{
	"lt": "<", "gt": ">", "amp": "&", "quot": `"`, "apos": "'", "nbsp": " ",
	"sol": "/", "bsol": `\`, "lpar": "(", "rpar": ")", "colon": ":", "semi": ";",
	"equals": "=", "num": "#", "tab": "\t", "newline": "\n",
}

// htmlUnescape undoes &name; &#NN; and &#xHH; (the semicolon optional for
// numeric references, as browsers accept — and XSS payloads exploit).
func htmlUnescape(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '&' {
			sb.WriteByte(c)
			continue
		}
		rest := s[i+1:]
		if len(rest) > 1 && rest[0] == '#' {
			j, base := 1, 10
			if len(rest) > 2 && (rest[1] == 'x' || rest[1] == 'X') {
				j, base = 2, 16
			}
			k := j
			for k < len(rest) && k < j+8 && (base == 16 && isHex(rest[k]) || rest[k] >= '0' && rest[k] <= '9') {
				k++
			}
			if k > j {
				if v, err := strconv.ParseUint(rest[j:k], base, 32); err == nil && utf8.ValidRune(rune(v)) && v != 0 {
					sb.WriteRune(rune(v))
					if k < len(rest) && rest[k] == ';' {
						k++
					}
					i += k
					continue
				}
			}
		} else if semi := strings.IndexByte(rest, ';'); semi > 0 && semi <= 8 {
			if v, ok := htmlNamed[strings.ToLower(rest[:semi])]; ok {
				sb.WriteString(v)
				i += semi + 1
				continue
			}
		}
		sb.WriteByte(c)
	}
	return sb.String()
}
