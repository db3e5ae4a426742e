// Package javafmt formats numbers byte-for-byte as OpenJDK 17 does in
// Long.toString and Double.toString, so that the flow meter's CSV output is
// identical to that of the Java CICFlowMeter builds the golden files came from.
//
// JDK 17's Double.toString is the old FloatingDecimal algorithm (replaced in
// JDK 19). It is not a shortest-round-trip algorithm: it now and then prints a
// digit more than strconv's 'g'/-1 form, and rounds its last digit in its own
// way. AppendDouble reimplements that algorithm step for step, including the
// integer fast path, the int/long/big-integer digit loops with their slightly
// different stopping tests, and the final round-up.
package javafmt

import (
	"math"
	"math/bits"
	"strconv"
)

// AppendLong appends the decimal form of v as Java's Long.toString writes it.
// Java and Go agree here, so this only exists to keep call sites symmetric.
func AppendLong(dst []byte, v int64) []byte {
	return strconv.AppendInt(dst, v, 10)
}

// IEEE-754 binary64 layout constants.
const (
	expShift     = 52
	fractHOB     = uint64(1) << expShift // the implicit leading bit
	signifMask   = fractHOB - 1
	expBias      = 1023
	maxSmallBin  = 62        // largest binary exponent of the integer fast path
	minSmallBin  = -(63 / 3) // smallest binary exponent considered for the fast path
	maxDigitsBuf = 20        // size of the digit buffer (FloatingDecimal uses 20 too)
)

// AppendDouble appends f formatted exactly as JDK 17's Double.toString(f).
//
// Values with 1e-3 <= |f| < 1e7 are written as a plain decimal with at least
// one fractional digit ("447.0"); all others in Java's scientific form
// ("1.0E7", "5.0E-4", "4.9E-324"). NaN, ±Infinity and ±0 are "NaN",
// "Infinity", "-Infinity", "0.0" and "-0.0". It allocates only if dst has to
// grow.
func AppendDouble(dst []byte, f float64) []byte {
	b := math.Float64bits(f)
	neg := b>>63 != 0
	fract := b & signifMask
	binExp := int(b>>expShift) & 0x7ff

	if binExp == 0x7ff {
		switch {
		case fract != 0:
			return append(dst, "NaN"...)
		case neg:
			return append(dst, "-Infinity"...)
		default:
			return append(dst, "Infinity"...)
		}
	}

	var nSignificantBits int
	if binExp == 0 {
		if fract == 0 {
			if neg {
				return append(dst, "-0.0"...)
			}
			return append(dst, "0.0"...)
		}
		// Subnormal: normalise so the leading one sits where the implicit
		// bit would be, and remember how many bits are really significant;
		// that count sets the size of half an ULP below.
		lz := bits.LeadingZeros64(fract)
		shift := lz - (63 - expShift)
		fract <<= uint(shift)
		binExp = 1 - shift
		nSignificantBits = 64 - lz
	} else {
		fract |= fractHOB
		nSignificantBits = expShift + 1
	}
	binExp -= expBias

	var d decimal
	d.dtoa(binExp, fract, nSignificantBits)
	return d.appendTo(dst, neg)
}

// decimal is the digit string and decimal exponent produced by dtoa. The value
// is 0.d1d2d3... × 10^decExponent. Digits live in buf[first:first+n].
type decimal struct {
	buf         [maxDigitsBuf]byte
	first, n    int
	decExponent int
}

// n5Bits[i] is approximately ceil(log2(5^i)). FloatingDecimal uses this table
// (and 3*i beyond it) to choose between 32-bit, 64-bit and big-integer
// arithmetic. The choice changes the stopping test, so the table must be the
// same, approximations included.
var n5Bits = [...]int{
	0, 3, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28, 31, 33, 35, 38, 40, 42,
	45, 47, 49, 52, 54, 56, 59, 61,
}

// insignificantDigitsNumber[p] is the number of decimal digits of 2^p minus
// one, i.e. how many low decimal digits of a large integer double carry no
// information. Only entries 2..63 are consulted.
var insignificantDigitsNumber = [...]int{
	0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3,
	4, 4, 4, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7,
	8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 11, 11, 11,
	12, 12, 12, 12, 13, 13, 13, 14, 14, 14,
	15, 15, 15, 15, 16, 16, 16, 17, 17, 17,
	18, 18, 18, 19,
}

// pow5Long[i] = 5^i, for i <= 27.
var pow5Long = func() (t [28]int64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 5
	}
	return t
}()

func insignificantDigitsForPow2(p2 int) int {
	if p2 > 1 && p2 < len(insignificantDigitsNumber) {
		return insignificantDigitsNumber[p2]
	}
	return 0
}

// estimateDecExp returns floor(log10(value)) or one more, using the tangent
// of log10 at 1.5 for the mantissa. log10 is concave, so the estimate is never
// too low; when it is one too high the first digit comes out 0 and is dropped.
// The products are converted explicitly so that no FMA fusion can change the
// rounding: Java evaluates each operation separately.
func estimateDecExp(fractBits uint64, binExp int) int {
	d2 := math.Float64frombits(uint64(expBias)<<expShift | fractBits&signifMask)
	d := float64(float64((d2-1.5)*0.289529654)+0.176091259) + float64(float64(binExp)*0.301029995663981)
	return int(math.Floor(d))
}

// developLongDigits handles values that are integers below 2^63: their digits
// come straight from integer division, after rounding away the low-order
// digits that lie below the double's precision.
func (d *decimal) developLongDigits(lvalue int64, insignificant int) {
	decExp := 0
	if insignificant != 0 {
		pow10 := pow5Long[insignificant] << uint(insignificant)
		residue := lvalue % pow10
		lvalue /= pow10
		decExp += insignificant
		if residue >= pow10>>1 {
			lvalue++
		}
	}
	i := len(d.buf) - 1
	c := lvalue % 10
	lvalue /= 10
	for c == 0 { // trailing zeros are not digits, only exponent
		decExp++
		c = lvalue % 10
		lvalue /= 10
	}
	for lvalue != 0 {
		d.buf[i] = byte('0' + c)
		i--
		decExp++
		c = lvalue % 10
		lvalue /= 10
	}
	d.buf[i] = byte('0' + c)
	d.decExponent = decExp + 1
	d.first = i
	d.n = len(d.buf) - i
}

// dtoa develops the digits of fractBits × 2^(binExp-52), where fractBits has
// its leading one at bit 52 and nSignificantBits says how many of its bits are
// real (53 except for subnormals).
func (d *decimal) dtoa(binExp int, fractBits uint64, nSignificantBits int) {
	tailZeros := bits.TrailingZeros64(fractBits)
	nFractBits := expShift + 1 - tailZeros // significant bits of the mantissa
	// Number of significant bits right of the binary point.
	nTinyBits := max(0, nFractBits-binExp-1)

	// Integers that fit in a long: exact digits by integer division. (The
	// Java code guards this with a wider test, but only nTinyBits == 0
	// ever takes the shortcut.)
	if binExp <= maxSmallBin && binExp >= minSmallBin && nTinyBits == 0 {
		insignificant := 0
		if binExp > nSignificantBits {
			insignificant = insignificantDigitsForPow2(binExp - nSignificantBits - 1)
		}
		if binExp >= expShift {
			fractBits <<= uint(binExp - expShift)
		} else {
			fractBits >>= uint(expShift - binExp)
		}
		d.developLongDigits(int64(fractBits), insignificant)
		return
	}

	// General case: value = B/S × 10^decExp with 1 <= B/S < 10, and M is
	// half an ULP on B's scale. Digits are q = B/S, B = 10·(B mod S), and
	// stop as soon as the remainder is within M of either neighbour. B, S
	// and M are kept as exponents of 2 and 5 until we know how big they
	// get.
	decExp := estimateDecExp(fractBits, binExp)
	b5 := max(0, -decExp)
	b2 := b5 + nTinyBits + binExp
	s5 := max(0, decExp)
	s2 := s5 + nTinyBits
	m5 := b5
	m2 := b2 - nSignificantBits

	fractBits >>= uint(tailZeros)
	b2 -= nFractBits - 1
	common2 := min(b2, s2)
	b2 -= common2
	s2 -= common2
	m2 -= common2

	// At an exact power of two the next lower double is half as far
	// away; the Java code narrows M symmetrically for it.
	if nFractBits == 1 {
		m2--
	}
	if m2 < 0 {
		b2 -= m2
		s2 -= m2
		m2 = 0
	}

	// Approximate bit lengths of B and 10·S decide which arithmetic is
	// used. The variants test "high" differently (strictly greater for
	// long, greater-or-equal for big integers) and the long one wraps on
	// overflow, so both are reproduced as they are.
	bBits := nFractBits + b2 + n5BitsApprox(b5)
	tenSBits := s2 + 1 + n5BitsApprox(s5+1)

	var (
		ndigit    int
		low, high bool
		lowDiff   int64 // sign of 2·remainder − 10·S, used for ties
	)
	// FloatingDecimal also has a 32-bit variant for bBits, tenSBits < 32.
	// It only serves floats: for a double, making m2 >= 0 above leaves
	// b2 >= nSignificantBits-nFractBits+1, so bBits >= 54 for normal
	// numbers, and subnormals have b5 >= 308. It is therefore left out.
	if bBits < 64 && tenSBits < 64 {
		ndigit, decExp, low, high, lowDiff = d.digits64(fractBits, decExp, b5, b2, s5, s2, m5, m2)
	} else {
		ndigit, decExp, low, high, lowDiff = d.digitsBig(fractBits, decExp, b5, b2, s5, s2, m2)
	}

	d.decExponent = decExp + 1
	d.first = 0
	d.n = ndigit

	// The last digit is rounded according to which stopping test fired.
	if high {
		if low {
			if lowDiff == 0 {
				// A tie: round to an even last digit.
				if d.buf[d.first+d.n-1]&1 != 0 {
					d.roundup()
				}
			} else if lowDiff > 0 {
				d.roundup()
			}
		} else {
			d.roundup()
		}
	}
}

func n5BitsApprox(e5 int) int {
	if e5 < len(n5Bits) {
		return n5Bits[e5]
	}
	return e5 * 3
}

// forceTwoDigits reports whether the number will be written in E-form, where
// Java wants at least two significant digits ("1.0E10"), so the first digit
// alone must never stop the loop.
func forceTwoDigits(decExp int) bool {
	return decExp < -3 || decExp >= 8
}

// digits64 is the digit loop when B and 10·S fit in a Java long. Go's int64
// wraps like Java's long, which matters: M can overflow, and so can B+M.
func (d *decimal) digits64(fractBits uint64, decExp, b5, b2, s5, s2, m5, m2 int) (ndigit, _ int, low, high bool, lowDiff int64) {
	b := (int64(fractBits) * pow5Long[b5]) << uint(b2&63)
	s := pow5Long[s5] << uint(s2&63)
	m := pow5Long[m5] << uint(m2&63)
	tens := s * 10

	q := b / s
	b = 10 * (b % s)
	m *= 10
	low = b < m
	high = b+m > tens
	if q == 0 && !high {
		decExp--
	} else {
		d.buf[ndigit] = byte('0' + q)
		ndigit++
	}
	if forceTwoDigits(decExp) {
		low, high = false, false
	}
	for !low && !high {
		q = b / s
		b = 10 * (b % s)
		m *= 10
		if m > 0 {
			low = b < m
			high = b+m > tens
		} else {
			// M overflowed: it is certainly past both bounds.
			low, high = true, true
		}
		d.buf[ndigit] = byte('0' + q)
		ndigit++
	}
	lowDiff = (b << 1) - tens
	return ndigit, decExp, low, high, lowDiff
}

// digitsBig is the digit loop with exact big-integer arithmetic. Here the
// "high" test is B+M >= 10·S (not >), and the tie test is only evaluated
// when both tests fire.
func (d *decimal) digitsBig(fractBits uint64, decExp, b5, b2, s5, s2, m2 int) (ndigit, _ int, low, high bool, lowDiff int64) {
	var bv, sv, mv, tenS, sum nat

	// S = 5^s5 · 2^s2, shifted so that its top word has its highest bit
	// at bit 59: then 10·S still fits in the same number of words and the
	// quotient estimate from the top words is off by at most one. The same
	// shift is applied to B and M, which leaves every ratio unchanged.
	sv.setPow5(s5)
	sv.shl(uint(s2))
	bias := sv.normalizationShift()
	sv.shl(bias)
	tenS.mulWordFrom(&sv, 10)

	// B = fractBits · 5^b5 · 2^b2 and M = 10 · 5^b5 · 2^m2 (M carries the
	// factor 10 that the first quotient step gives B).
	mv.setPow5(b5)
	bv.mulWordFrom(&mv, fractBits)
	bv.shl(uint(b2) + bias)
	mv.mulWord(10)
	mv.shl(uint(m2) + bias)

	q := quoRemTimes10(&bv, &sv)
	low = cmpNat(&bv, &mv) < 0
	sum.addFrom(&bv, &mv)
	high = cmpNat(&tenS, &sum) <= 0
	if q == 0 && !high {
		decExp--
	} else {
		d.buf[ndigit] = byte('0' + q)
		ndigit++
	}
	if forceTwoDigits(decExp) {
		low, high = false, false
	}
	for !low && !high {
		q = quoRemTimes10(&bv, &sv)
		mv.mulWord(10)
		low = cmpNat(&bv, &mv) < 0
		sum.addFrom(&bv, &mv)
		high = cmpNat(&tenS, &sum) <= 0
		d.buf[ndigit] = byte('0' + q)
		ndigit++
	}
	if high && low {
		bv.shl(1)
		lowDiff = int64(cmpNat(&bv, &tenS))
	}
	return ndigit, decExp, low, high, lowDiff
}

// roundup adds one to the last digit. A carry out of the first digit turns
// it into '1' and bumps the exponent without shortening the digit string, so
// e.g. 9.99 becomes 1.00 (trailing zeros and all), as in Java.
func (d *decimal) roundup() {
	i := d.first + d.n - 1
	q := d.buf[i]
	if q == '9' {
		for q == '9' && i > d.first {
			d.buf[i] = '0'
			i--
			q = d.buf[i]
		}
		if q == '9' {
			d.decExponent++
			d.buf[d.first] = '1'
			return
		}
	}
	d.buf[i] = q + 1
}

// appendTo writes the digits in Java's layout: plain decimal when the
// decimal exponent is in (-3, 8), else d.dddE±n.
func (d *decimal) appendTo(dst []byte, neg bool) []byte {
	if neg {
		dst = append(dst, '-')
	}
	digits := d.buf[d.first : d.first+d.n]
	e := d.decExponent
	switch {
	case e > 0 && e < 8:
		intLen := min(len(digits), e)
		dst = append(dst, digits[:intLen]...)
		if intLen < e {
			for range e - intLen {
				dst = append(dst, '0')
			}
			dst = append(dst, '.', '0')
		} else {
			dst = append(dst, '.')
			if intLen < len(digits) {
				dst = append(dst, digits[intLen:]...)
			} else {
				dst = append(dst, '0')
			}
		}
	case e <= 0 && e > -3:
		dst = append(dst, '0', '.')
		for range -e {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0], '.')
		if len(digits) > 1 {
			dst = append(dst, digits[1:]...)
		} else {
			dst = append(dst, '0')
		}
		dst = append(dst, 'E')
		if e <= 0 {
			dst = append(dst, '-')
			e = -e + 1
		} else {
			e--
		}
		dst = strconv.AppendInt(dst, int64(e), 10)
	}
	return dst
}
