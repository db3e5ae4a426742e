package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// notAvailable stands for a metric that could not be computed.
const notAvailable = "n/a"

// metric formats a score in [0, 1] with four decimals, the precision at
// which differences between IDS models usually show.
func metric(v float64) string {
	if !finite(v) {
		return notAvailable
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// percent formats a fraction as a percentage with two significant digits
// below 1% and one decimal above.
func percent(v float64) string {
	switch p := v * 100; {
	case !finite(v):
		return notAvailable
	case p == 0:
		return "0%"
	case math.Abs(p) < 1:
		return strconv.FormatFloat(p, 'g', 2, 64) + "%"
	case p > 99.95 && p < 100:
		// Never round a miss away: 2559 of 2560 is not 100%.
		if s := strconv.FormatFloat(p, 'f', 2, 64); s != "100.00" {
			return s + "%"
		}
		return ">99.99%"
	default:
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	}
}

// thousands formats n with comma thousands separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// compact formats a count in at most four characters (12.3k, 512k, 1.2M)
// for cells too narrow for the full number.
func compact(n int) string {
	v := float64(n)
	switch {
	case n < 1000:
		return strconv.Itoa(n)
	case n < 9950:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	case n < 999500:
		return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
	case n < 9950000:
		return strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	}
	return strconv.FormatFloat(v/1e6, 'f', 0, 64) + "M"
}

// sig formats a value with three significant digits, in full (with
// separators) from 1000 up.
func sig(v float64) string {
	switch {
	case !finite(v):
		return notAvailable
	case math.Abs(v) >= 1000:
		return thousands(int(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// signed formats a correlation with two decimals and a true minus sign.
func signed(r float64) string {
	if !finite(r) {
		return notAvailable
	}
	s := strconv.FormatFloat(r, 'f', 2, 64)
	if s == "-0.00" {
		return "0.00"
	}
	return strings.Replace(s, "-", "−", 1)
}

// rate formats a false-positive rate for people: 10⁻⁴ (1 in 10,000).
func rate(fpr float64) string {
	if !finite(fpr) || fpr < 0 {
		return notAvailable
	}
	if fpr == 0 {
		return "0"
	}
	e := math.Round(math.Log10(fpr))
	head := strconv.FormatFloat(fpr, 'g', 2, 64)
	if math.Abs(fpr/math.Pow(10, e)-1) < 1e-9 {
		head = pow10Label(int(e))
	}
	if fpr >= 1 {
		return head
	}
	return head + " (1 in " + thousands(int(math.Round(1/fpr))) + ")"
}

// duration formats seconds as "850 ms", "12.3 s" or "4 min 05 s".
func duration(sec float64) string {
	switch {
	case !finite(sec) || sec < 0:
		return notAvailable
	case sec < 1:
		return strconv.FormatFloat(sec*1000, 'f', 0, 64) + " ms"
	case sec < 60:
		return strconv.FormatFloat(sec, 'f', 1, 64) + " s"
	}
	m := int(sec) / 60
	return fmt.Sprintf("%d min %02d s", m, int(sec)-60*m)
}

// perSecond formats a throughput such as rows per second.
func perSecond(v float64) string {
	if !finite(v) || v < 0 {
		return notAvailable
	}
	return compact(int(math.Round(v))) + "/s"
}
