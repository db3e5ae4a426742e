package eval

import (
	"fmt"
	"math"
	"slices"
)

// Binary metrics from a score ranking: a row is flagged positive when its
// score is at least the threshold, so every distinct score is a possible
// threshold and tied scores are always flagged together.

// step is one distinct score in decreasing order and what flagging every
// row scoring at least that much catches.
type step struct {
	threshold float64
	tp, fp    int // cumulative counts at this threshold
}

// ranking is the list of steps of one score column against one positive
// class, with the totals.
type ranking struct {
	steps    []step
	pos, neg int
}

// rank sorts scores in decreasing order and cumulates true and false
// positives per distinct score. Scores must be finite.
func rank(scores []float64, positive func(i int) bool) ranking {
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	var r ranking
	for k, i := range order {
		if positive(i) {
			r.pos++
		} else {
			r.neg++
		}
		if k == len(order)-1 || scores[order[k+1]] != scores[i] {
			r.steps = append(r.steps, step{scores[i], r.pos, r.neg})
		}
	}
	return r
}

// rocAUC is the area under the ROC curve by the trapezoidal rule over the
// steps, which counts a tied positive/negative pair as half ordered
// (scikit-learn's roc_auc_score). Undefined without both classes.
func (r ranking) rocAUC() Float {
	if r.pos == 0 || r.neg == 0 {
		return NaN()
	}
	var area float64 // in units of tp·fp, divided once at the end
	prevTP, prevFP := 0, 0
	for _, s := range r.steps {
		area += float64(s.fp-prevFP) * float64(s.tp+prevTP) / 2
		prevTP, prevFP = s.tp, s.fp
	}
	return Float(area / (float64(r.pos) * float64(r.neg)))
}

// averagePrecision is Σ (R_n − R_{n−1})·P_n over the thresholds, the
// step-wise (not interpolated) area under the precision-recall curve that
// scikit-learn's average_precision_score computes. Undefined without
// positives.
func (r ranking) averagePrecision() Float {
	if r.pos == 0 {
		return NaN()
	}
	var ap float64
	prevTP := 0
	for _, s := range r.steps {
		ap += float64(s.tp-prevTP) * float64(s.tp) / float64(s.tp+s.fp)
		prevTP = s.tp
	}
	return Float(ap / float64(r.pos))
}

// ROCPoint is one point of a ROC curve: flagging rows scoring at least
// Threshold gives false-positive rate FPR and true-positive rate TPR. The
// first point, (0, 0), flags nothing and has no threshold (null).
type ROCPoint struct {
	FPR       float64 `json:"fpr"`
	TPR       float64 `json:"tpr"`
	Threshold Float   `json:"threshold"`
}

// PRPoint is one point of a precision-recall curve. The first point,
// recall 0 and precision 1 with no threshold, anchors the curve at the
// top-left as scikit-learn's precision_recall_curve does.
type PRPoint struct {
	Recall    float64 `json:"recall"`
	Precision float64 `json:"precision"`
	Threshold Float   `json:"threshold"`
}

// logFloorFPR is the smallest false-positive rate the log-scale axis of
// the curve thinning resolves: flowguard's operating points sit between
// 1e-3 and 1e-5.
const logFloorFPR = 1e-6

// rocCurve returns the ROC curve thinned to at most maxPoints points. The
// thinning looks at FPR on both a linear and a log axis, so a log-scale plot
// keeps its detail at the low-FPR end, where detectors operate.
func (r ranking) rocCurve(maxPoints int) []ROCPoint {
	if r.pos == 0 || r.neg == 0 {
		return nil
	}
	pts := make([]ROCPoint, 0, len(r.steps)+1)
	pts = append(pts, ROCPoint{0, 0, NaN()})
	for _, s := range r.steps {
		pts = append(pts, ROCPoint{float64(s.fp) / float64(r.neg), float64(s.tp) / float64(r.pos), Float(s.threshold)})
	}
	logAxis := math.Log10(logFloorFPR)
	return thin(pts, maxPoints, func(p ROCPoint) [3]float64 {
		return [3]float64{p.FPR, p.TPR, 1 - math.Log10(max(p.FPR, logFloorFPR))/logAxis}
	})
}

// prCurve returns the precision-recall curve thinned to at most maxPoints.
func (r ranking) prCurve(maxPoints int) []PRPoint {
	if r.pos == 0 {
		return nil
	}
	pts := make([]PRPoint, 0, len(r.steps)+1)
	pts = append(pts, PRPoint{0, 1, NaN()})
	for _, s := range r.steps {
		pts = append(pts, PRPoint{float64(s.tp) / float64(r.pos), float64(s.tp) / float64(s.tp+s.fp), Float(s.threshold)})
	}
	return thin(pts, maxPoints, func(p PRPoint) [3]float64 { return [3]float64{p.Recall, p.Precision, 0} })
}

// thin keeps the first and last points and, in between, each point at
// least a step away (largest coordinate difference, coordinates in [0, 1])
// from the last one kept. The step starts at 1/maxPoints and grows until at
// most maxPoints remain.
func thin[P any](pts []P, maxPoints int, coords func(P) [3]float64) []P {
	if len(pts) <= maxPoints {
		return pts
	}
	out := make([]P, 0, maxPoints)
	for gap := 1 / float64(maxPoints); ; gap *= 1.5 {
		out = append(out[:0], pts[0])
		last := coords(pts[0])
		for _, p := range pts[1 : len(pts)-1] {
			c := coords(p)
			if math.Abs(c[0]-last[0]) >= gap || math.Abs(c[1]-last[1]) >= gap || math.Abs(c[2]-last[2]) >= gap {
				out = append(out, p)
				last = c
			}
		}
		out = append(out, pts[len(pts)-1])
		if len(out) <= maxPoints {
			return out
		}
	}
}

// OperatingPoint is a score threshold and what it does on one data set:
// rows scoring at least Threshold are flagged.
type OperatingPoint struct {
	// TargetFPR is the false-positive rate the threshold was chosen for;
	// null for a threshold given from elsewhere.
	TargetFPR Float `json:"target_fpr"`
	Threshold Float `json:"threshold"`
	FPR       Float `json:"fpr"`    // achieved on this data
	Recall    Float `json:"recall"` // true-positive rate achieved on this data
	// FalsePositives of Negatives rows were flagged.
	FalsePositives int `json:"false_positives"`
	Negatives      int `json:"negatives"`
	// Resolved is false when the data has fewer than 1/TargetFPR negatives:
	// then a single false positive already exceeds the target, so the point
	// shown is the one with no false positives, and the data cannot tell
	// whether the model meets the target.
	Resolved bool `json:"resolved"`
	// FalseAlertsPerDay is FPR × flows/s × 86,400 at the stated flow rate
	// (null when none was stated): what this threshold would raise on
	// benign traffic alone.
	FalseAlertsPerDay Float  `json:"false_alerts_per_day"`
	Note              string `json:"note,omitempty"`
}

// CalibrateThreshold chooses on validation data the threshold that flags
// the most positives while keeping the false-positive rate at most
// targetFPR: the lowest distinct score whose flagging lets through at most
// ⌊targetFPR·negatives⌋ false positives. It is exact from the ranking; see
// OperatingPoint.Resolved for data too small to show such an FPR. For a
// benign-vs-attack detector score with AttackScores and positive with
// "true label is not benign". Measure the chosen threshold on test data with
// AtThreshold: its FPR there is the honest estimate.
func CalibrateThreshold(scores []float64, positive []bool, targetFPR float64) (OperatingPoint, error) {
	if err := checkBinary(scores, positive); err != nil {
		return OperatingPoint{}, err
	}
	if !(targetFPR > 0 && targetFPR < 1) {
		return OperatingPoint{}, fmt.Errorf("eval: target FPR %v outside (0, 1)", targetFPR)
	}
	r := rank(scores, func(i int) bool { return positive[i] })
	if r.neg == 0 {
		return OperatingPoint{}, fmt.Errorf("eval: calibrating FPR %v: no negative rows", targetFPR)
	}
	return r.operatingPoint(targetFPR), nil
}

func (r ranking) operatingPoint(targetFPR float64) OperatingPoint {
	// The relative nudge keeps 1e-3·1000 from flooring to 0 if it rounds
	// just below 1.
	allowed := int(math.Floor(targetFPR * float64(r.neg) * (1 + 1e-12)))
	op := OperatingPoint{TargetFPR: Float(targetFPR), Negatives: r.neg, Resolved: allowed >= 1, FalseAlertsPerDay: NaN()}
	best := -1
	for k, s := range r.steps {
		if s.fp > allowed {
			break
		}
		best = k
	}
	tp := 0
	if best >= 0 {
		s := r.steps[best]
		op.Threshold, op.FalsePositives, tp = Float(s.threshold), s.fp, s.tp
	} else {
		// Even the top score catches too many negatives: flag nothing.
		op.Threshold = Float(math.Nextafter(r.steps[0].threshold, math.Inf(1)))
	}
	op.FPR = ratio(op.FalsePositives, r.neg)
	op.Recall = ratio(tp, r.pos)
	if !op.Resolved {
		op.Note = fmt.Sprintf("only %d negatives: the smallest non-zero FPR this data shows is %.3g, above the target; the point has no false positives",
			r.neg, 1/float64(r.neg))
	}
	return op
}

// AtThreshold measures a given threshold on data: the rows scoring at least
// threshold are flagged.
func AtThreshold(scores []float64, positive []bool, threshold float64) (OperatingPoint, error) {
	if err := checkBinary(scores, positive); err != nil {
		return OperatingPoint{}, err
	}
	var tp, fp, pos int
	for i, s := range scores {
		flagged := s >= threshold
		if positive[i] {
			pos++
			if flagged {
				tp++
			}
		} else if flagged {
			fp++
		}
	}
	neg := len(scores) - pos
	return OperatingPoint{
		TargetFPR: NaN(), Threshold: Float(threshold),
		FPR: ratio(fp, neg), Recall: ratio(tp, pos),
		FalsePositives: fp, Negatives: neg, Resolved: neg > 0,
		FalseAlertsPerDay: NaN(),
	}, nil
}

// FalseAlertsPerDay is the number of benign flows a detector with the given
// false-positive rate flags in a day at flowsPerSecond flows a second,
// counting every flow as benign (attacks are a vanishing share of real
// traffic): FPR × flows/s × 86,400.
func FalseAlertsPerDay(fpr, flowsPerSecond float64) float64 {
	return fpr * flowsPerSecond * 86400
}

func checkBinary(scores []float64, positive []bool) error {
	if len(scores) != len(positive) {
		return fmt.Errorf("eval: %d scores for %d labels", len(scores), len(positive))
	}
	if len(scores) == 0 {
		return fmt.Errorf("eval: no rows")
	}
	for i, s := range scores {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return fmt.Errorf("eval: row %d: score %v", i, s)
		}
	}
	return nil
}
