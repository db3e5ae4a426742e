package flowmeter

import (
	"math"
	"strconv"
	"time"

	"github.com/flowguard/flowguard/internal/flowmeter/javafmt"
)

// Kind is a column's declared type.
type Kind uint8

// Column kinds. A KindDouble column may still hold an integer-formatted
// fallback in a row (Value.Int), as the references write "0" there.
const (
	KindText Kind = iota
	KindInt
	KindDouble
)

// Value is one numeric cell. Int selects integer formatting (Java's
// Long.toString) over Double.toString.
type Value struct {
	Int bool
	I   int64
	F   float64
}

// Float returns the value as a float64 whatever its formatting.
func (v Value) Float() float64 {
	if v.Int {
		return float64(v.I)
	}
	return v.F
}

// AppendCSV formats the value exactly as the Java references do.
func (v Value) AppendCSV(dst []byte) []byte {
	switch {
	case v.Int:
		return javafmt.AppendLong(dst, v.I)
	case v.F == math.Trunc(v.F) && v.F > -1e7 && v.F < 1e7 && !math.Signbit(v.F):
		// Most cells are whole numbers (counts, µs); Java writes those
		// below 10⁷ as the integer and ".0", no digit search needed.
		return append(strconv.AppendInt(dst, int64(v.F), 10), '.', '0')
	}
	return javafmt.AppendDouble(dst, v.F)
}

// Column is one field of a flow record.
type Column struct {
	Name string
	Kind Kind
	num  func(*Flow) Value
	text func([]byte, *Flow) []byte
}

// Value returns a numeric column's value for f.
func (c *Column) Value(f *Flow) Value { return c.num(f) }

// AppendText appends a text column's value for f.
func (c *Column) AppendText(dst []byte, f *Flow) []byte { return c.text(dst, f) }

func i64(v int64) Value   { return Value{Int: true, I: v} }
func f64(v float64) Value { return Value{F: v} }

var (
	zeroInt = i64(0)
	zeroDbl = f64(0)
)

func textCol(name string, fn func([]byte, *Flow) []byte) Column {
	return Column{Name: name, Kind: KindText, text: fn}
}

func intCol(name string, fn func(*Flow) int64) Column {
	return Column{Name: name, Kind: KindInt, num: func(f *Flow) Value { return i64(fn(f)) }}
}

func dblCol(name string, fn func(*Flow) float64) Column {
	return Column{Name: name, Kind: KindDouble, num: func(f *Flow) Value { return f64(fn(f)) }}
}

// anyCol is a double column whose value function picks its own fallback.
func anyCol(name string, fn func(*Flow) Value) Column {
	return Column{Name: name, Kind: KindDouble, num: fn}
}

type measure uint8

const (
	mSum measure = iota
	mMean
	mStd
	mVar
	mMax
	mMin
)

func (s *stat) get(m measure) float64 {
	switch m {
	case mSum:
		return s.sum
	case mMean:
		return s.mean()
	case mStd:
		return s.std()
	case mVar:
		return s.variance()
	case mMax:
		return s.maximum()
	}
	return s.minimum()
}

// statCols builds one column per measure of the statistic sel picks, each
// written as fallback when ok says the statistic is not defined for a flow.
func statCols(names []string, ms []measure, sel func(*Flow) *stat, ok func(*Flow) bool, fallback Value) []Column {
	cols := make([]Column, len(names))
	for i, name := range names {
		m := ms[i]
		cols[i] = anyCol(name, func(f *Flow) Value {
			if ok != nil && !ok(f) {
				return fallback
			}
			return f64(sel(f).get(m))
		})
	}
	return cols
}

var (
	maxMinMeanStd = []measure{mMax, mMin, mMean, mStd}
	meanStdMaxMin = []measure{mMean, mStd, mMax, mMin}
	totMeanStdMax = []measure{mSum, mMean, mStd, mMax, mMin}
	minMaxMeanVar = []measure{mMin, mMax, mMean, mStd, mVar}
)

// Selectors and predicates shared by the column tables.
var (
	fwdLen  = func(f *Flow) *stat { return &f.fwd.length }
	bwdLen  = func(f *Flow) *stat { return &f.bwd.length }
	fwdIAT  = func(f *Flow) *stat { return &f.fwd.iat }
	bwdIAT  = func(f *Flow) *stat { return &f.bwd.iat }
	allLen  = func(f *Flow) *stat { return &f.length }
	flowIAT = func(f *Flow) *stat { return &f.iat }
	active  = func(f *Flow) *stat { return &f.active }
	idle    = func(f *Flow) *stat { return &f.idle }
	hasFwd  = func(f *Flow) bool { return f.fwd.length.n > 0 }
	hasBwd  = func(f *Flow) bool { return f.bwd.length.n > 0 }
	twoFwd  = func(f *Flow) bool { return f.fwd.length.n > 1 }
	twoBwd  = func(f *Flow) bool { return f.bwd.length.n > 1 }
	hasAct  = func(f *Flow) bool { return f.active.n > 0 }
	hasIdle = func(f *Flow) bool { return f.idle.n > 0 }
	hasIAT  = func(f *Flow) bool { return f.iat.n > 0 }
)

// seconds is the flow duration in seconds as the references compute it.
func seconds(f *Flow) float64 { return float64(f.Duration()) / 1e6 }

// idColumns are the identifying columns both profiles start with.
func idColumns(timestamp func([]byte, *Flow) []byte) []Column {
	return []Column{
		textCol("Flow ID", appendFlowID),
		textCol("Src IP", func(b []byte, f *Flow) []byte { return f.Src.appendTo(b, f.key.v6) }),
		intCol("Src Port", func(f *Flow) int64 { return int64(f.SrcPort) }),
		textCol("Dst IP", func(b []byte, f *Flow) []byte { return f.Dst.appendTo(b, f.key.v6) }),
		intCol("Dst Port", func(f *Flow) int64 { return int64(f.DstPort) }),
		intCol("Protocol", func(f *Flow) int64 { return int64(f.Proto) }),
		textCol("Timestamp", timestamp),
		intCol("Flow Duration", (*Flow).Duration),
	}
}

func appendFlowID(b []byte, f *Flow) []byte {
	src, dst, sp, dp := f.Src, f.Dst, f.SrcPort, f.DstPort
	if f.idReversed {
		src, dst, sp, dp = dst, src, dp, sp
	}
	v6 := f.key.v6
	b = src.appendTo(b, v6)
	b = append(b, '-')
	b = dst.appendTo(b, v6)
	b = append(b, '-')
	b = javafmt.AppendLong(b, int64(sp))
	b = append(b, '-')
	b = javafmt.AppendLong(b, int64(dp))
	b = append(b, '-')
	return javafmt.AppendLong(b, int64(f.Proto))
}

// appendTime12 writes the flow start as cic2017 did: "dd/MM/yyyy hh:mm:ss",
// a 12-hour clock without AM/PM, in UTC.
func appendTime12(b []byte, f *Flow) []byte {
	t := time.UnixMicro(f.Start).UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if h %= 12; h == 0 {
		h = 12
	}
	b = append2(b, d)
	b = append(b, '/')
	b = append2(b, int(mo))
	b = append(b, '/')
	b = appendN(b, y, 4)
	b = append(b, ' ')
	return appendClock(b, h, mi, s)
}

// appendTimeISO writes the flow start as engelen does: "yyyy-MM-dd
// HH:mm:ss" in UTC and the fraction of Java's Instant.toString: omitted
// when zero, milliseconds when exact, else microseconds.
func appendTimeISO(b []byte, f *Flow) []byte {
	t := time.UnixMicro(f.Start).UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = appendN(b, y, 4)
	b = append(b, '-')
	b = append2(b, int(mo))
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, ' ')
	b = appendClock(b, h, mi, s)
	us := int(f.Start % 1e6)
	if us < 0 {
		us += 1e6
	}
	switch {
	case us == 0:
	case us%1000 == 0:
		b = append(b, '.')
		b = appendN(b, us/1000, 3)
	default:
		b = append(b, '.')
		b = appendN(b, us, 6)
	}
	return b
}

func appendClock(b []byte, h, m, s int) []byte {
	b = append2(b, h)
	b = append(b, ':')
	b = append2(b, m)
	b = append(b, ':')
	return append2(b, s)
}

func append2(b []byte, v int) []byte { return appendN(b, v, 2) }

// appendN writes v zero-padded to n digits.
func appendN(b []byte, v, n int) []byte {
	var buf [20]byte
	i := len(buf)
	for v > 0 || n > 0 {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		n--
	}
	return append(b, buf[i:]...)
}
