package flowmeter

import "math"

// stat accumulates a series the way Apache commons-math's SummaryStatistics
// does (the class both references use): an incrementally updated mean and
// second moment rather than sum/n, so means and standard deviations match the
// references digit for digit, not just to rounding.
type stat struct {
	n        int64
	sum      float64
	min, max float64
	m1, m2   float64
}

func (s *stat) add(x float64) {
	if s.n == 0 {
		s.min, s.max, s.m1, s.m2 = x, x, 0, 0
	} else {
		s.min = math.Min(s.min, x)
		s.max = math.Max(s.max, x)
	}
	s.n++
	s.sum += x
	dev := x - s.m1
	nDev := dev / float64(s.n)
	s.m1 += nDev
	s.m2 += float64(s.n-1) * dev * nDev
}

func (s *stat) mean() float64 {
	if s.n == 0 {
		return math.NaN()
	}
	return s.m1
}

// variance is the bias-corrected (n-1) sample variance; 0 for one value.
func (s *stat) variance() float64 {
	switch s.n {
	case 0:
		return math.NaN()
	case 1:
		return 0
	}
	return s.m2 / float64(s.n-1)
}

func (s *stat) std() float64 {
	switch s.n {
	case 0:
		return math.NaN()
	case 1:
		return 0
	}
	return math.Sqrt(s.variance())
}

func (s *stat) minimum() float64 {
	if s.n == 0 {
		return math.NaN()
	}
	return s.min
}

func (s *stat) maximum() float64 {
	if s.n == 0 {
		return math.NaN()
	}
	return s.max
}
