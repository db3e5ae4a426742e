package dataset

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

var errNumber = errors.New("not a number")

// parseFloat reads a numeric cell. Empty cells are NaN; "Infinity", "inf"
// and "NaN" in any case and sign are what Java, pandas and Excel write.
func parseFloat(b []byte) (float64, error) {
	if len(b) > 0 && (b[0] <= ' ' || b[len(b)-1] <= ' ') {
		b = bytes.TrimSpace(b)
	}
	if len(b) == 0 {
		return math.NaN(), nil
	}
	if f, n, ok := scanNumber(b); ok && n == len(b) {
		return f, nil
	}
	return slowFloat(b)
}

// scanNumber reads the plain decimal number at the start of b, up to a
// comma or the end of b, and says how many bytes it used. Most cells are
// short decimals: when the digits fit in 2^53 and the exponent is within
// ±22 the value is exact after one correctly rounded multiplication or
// division (Clinger's fast path). Anything else, ok false, is left to
// strconv.
func scanNumber(b []byte) (f float64, n int, ok bool) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, i = b[0] == '-', 1
	}
	const big = 1 << 53
	var mant uint64
	exp, start := 0, i
	for ; i < len(b); i++ {
		d := b[i] - '0'
		if d > 9 {
			break
		}
		if mant >= big {
			return 0, 0, false
		}
		mant = mant*10 + uint64(d)
	}
	digits := i - start
	if i < len(b) && b[i] == '.' {
		i++
		frac := i
		for ; i < len(b); i++ {
			d := b[i] - '0'
			if d > 9 {
				break
			}
			if mant >= big {
				return 0, 0, false
			}
			mant = mant*10 + uint64(d)
		}
		exp = frac - i
		digits += i - frac
	}
	if digits == 0 {
		return 0, 0, false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		e, k, ok := exponent(b[i+1:])
		if !ok {
			return 0, 0, false
		}
		exp += e
		i += 1 + k
	}
	if i < len(b) && b[i] != ',' {
		return 0, 0, false
	}
	switch {
	case mant == 0:
		return 0, i, true // also for "-0": a signed zero would make equal rows differ
	case mant > big || exp < -22 || exp > 22:
		return 0, 0, false
	case exp >= 0:
		f = float64(mant) * pow10[exp]
	default:
		f = float64(mant) / pow10[-exp]
	}
	if neg {
		f = -f
	}
	return f, i, true
}

// exponent reads an exponent such as "7", "-05" or "+3" and says how many
// bytes it used.
func exponent(b []byte) (int, int, bool) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, i = b[0] == '-', 1
	}
	n, start := 0, i
	for ; i < len(b) && i-start < 4 && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int(b[i]-'0')
	}
	if i == start {
		return 0, 0, false
	}
	if neg {
		n = -n
	}
	return n, i, true
}

func slowFloat(b []byte) (float64, error) {
	// The string aliases b only for the duration of the call; ParseFloat
	// does not keep it.
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, errNumber
	}
	if f == 0 {
		return 0, nil // see parseFloat; an underflow is 0 too
	}
	return f, nil // an overflow is ±Inf, which the non-finite policy handles
}

// Label spellings that say "no label": flowguard's and the references'
// placeholders. They load as Unlabelled.
var placeholders = map[string]bool{"": true, "no label": true, "needmanuallabel": true}

// Benign is the class every benign spelling (BENIGN, Benign, normal, code
// 0 of a dialect whose code 0 is benign) loads as.
const Benign = "BENIGN"

// Unlabelled is the label of rows whose file has no label or a placeholder.
const Unlabelled = ""

// normLabel turns a raw label cell into the class name: integer codes are
// named by the dialect's table, the web-attack separator in its three byte
// forms (cp1252 0x96, its UTF-8 mis-decoding C2 96, and U+FFFD) and other
// dashes become "-", spaces are collapsed, and benign spellings become
// Benign.
func normLabel(raw []byte, d *Dialect) string {
	s := strings.TrimSpace(string(raw))
	if d.codes != nil {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < len(d.codes) {
			s = d.codes[n]
		}
	}
	var sb strings.Builder
	space := false
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case size == 1 && s[0] == 0x96, r == 0x96, r == '\uFFFD' && size == 3, r == '\u2013', r == '\u2014':
			r = '-'
		case r == utf8.RuneError:
			r = '?' // another invalid byte: keep the label valid UTF-8
		}
		s = s[size:]
		if r == ' ' || r == '\t' || r == 0xA0 {
			space = true
			continue
		}
		if space && sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		space = false
		sb.WriteRune(r)
	}
	out := sb.String()
	switch l := strings.ToLower(out); {
	case placeholders[l]:
		return Unlabelled
	case l == "benign" || l == "normal":
		return Benign
	}
	return out
}

// TimeUnknown is the Time of a row whose file has no usable timestamp.
const TimeUnknown int64 = math.MinInt64

var errTime = errors.New("unrecognised timestamp")

// parseTime reads the timestamp forms flow files use and returns µs since
// the Unix epoch, corrected to UTC by the dialect:
//
//	6/7/2017 10:40               CIC-IDS2017 (re-saved by Excel; d/m/yyyy)
//	06/07/2017 01:40:07          CICFlowMeter-V3, flowguard cic2017 (dd/MM/yyyy hh:mm:ss)
//	15/02/2018 08:25:18          CSE-CIC-IDS2018
//	2017-07-06 13:40:13.192475   Engelen CICFlowMeter, flowguard engelen (ISO, UTC)
//
// Day-first forms may carry AM/PM; without it, a dialect with a 12-hour
// clock gets its afternoon repair.
func parseTime(b []byte, d *Dialect) (int64, error) {
	b = bytes.TrimSpace(b)
	var y, mo, dd, h, mi, s, us int
	var ok bool
	rest := b
	num := func(min, max int) int {
		n, k := 0, 0
		for k < len(rest) && k < max && rest[k] >= '0' && rest[k] <= '9' {
			n = n*10 + int(rest[k]-'0')
			k++
		}
		if k < min {
			ok = false
		}
		rest = rest[k:]
		return n
	}
	sep := func(c byte) {
		if len(rest) == 0 || rest[0] != c {
			ok = false
			return
		}
		rest = rest[1:]
	}
	ok = true
	iso := len(b) >= 10 && b[4] == '-'
	if iso {
		y = num(4, 4)
		sep('-')
		mo = num(1, 2)
		sep('-')
		dd = num(1, 2)
		if len(rest) > 0 && rest[0] == 'T' {
			rest = rest[1:]
		} else {
			sep(' ')
		}
	} else {
		dd = num(1, 2)
		sep('/')
		mo = num(1, 2)
		sep('/')
		y = num(4, 4)
		sep(' ')
	}
	h = num(1, 2)
	sep(':')
	mi = num(2, 2)
	if len(rest) > 0 && rest[0] == ':' {
		rest = rest[1:]
		s = num(2, 2)
		if len(rest) > 0 && rest[0] == '.' {
			rest = rest[1:]
			n := len(rest)
			frac := num(1, 9)
			for n = n - len(rest); n < 6; n++ {
				frac *= 10
			}
			for ; n > 6; n-- {
				frac /= 10
			}
			us = frac
		}
	}
	rest = bytes.TrimSpace(rest)
	ampm := false
	switch {
	case iso && (len(rest) == 0 || string(rest) == "Z"):
	case !iso && len(rest) == 0:
	case !iso && (bytes.EqualFold(rest, []byte("AM")) || bytes.EqualFold(rest, []byte("PM"))):
		ampm = true
		if h == 12 {
			h = 0
		}
		if rest[0] == 'P' || rest[0] == 'p' {
			h += 12
		}
	default:
		ok = false
	}
	if !ok || mo < 1 || mo > 12 || dd < 1 || dd > 31 || h > 23 || mi > 59 || s > 60 {
		return 0, errTime
	}
	if !iso && !ampm && d.afternoon > 0 && h >= 1 && h < d.afternoon {
		h += 12
	}
	days := daysFromCivil(y, mo, dd)
	t := ((days*24+int64(h))*60+int64(mi))*60 + int64(s)
	return t*1e6 + int64(us) + d.offset, nil
}

// daysFromCivil counts days from 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's algorithm), avoiding time.Date on the hot path.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// epochCutoff: CSE-CIC-IDS2018 holds flows stamped in January 1970 with
// negative durations, left by a meter bug. No real flow file predates
// 1990-01-01.
const epochCutoff int64 = 631152000 * 1e6
