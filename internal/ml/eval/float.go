package eval

import (
	"bytes"
	"encoding/json"
	"math"
)

// Float is a metric value that may be undefined: NaN (an AUC with a single
// class present, a recall with no positives, a rate with no flow rate
// stated). encoding/json cannot write NaN or ±Inf, so Float writes them as
// null, and reads null back as NaN.
type Float float64

// NaN is the undefined metric value.
func NaN() Float { return Float(math.NaN()) }

// Defined reports whether f holds a number.
func (f Float) Defined() bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	if !f.Defined() {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*f = NaN()
		return nil
	}
	return json.Unmarshal(b, (*float64)(f))
}

// ratio is a/b, undefined when b is 0.
func ratio(a, b int) Float {
	if b == 0 {
		return NaN()
	}
	return Float(float64(a) / float64(b))
}
