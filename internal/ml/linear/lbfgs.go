package linear

import (
	"context"
	"fmt"
	"math"
)

// lbfgsSettings configures minimize.
type lbfgsSettings struct {
	maxIter  int
	gtol     float64 // stop once max |g_i| ≤ gtol
	memory   int     // correction pairs kept
	progress func(iter int, f, gmax float64)
}

const (
	// ftol stops when an iteration improves the objective by no more than
	// this fraction. It is 64 machine epsilons, as recent scikit-learn
	// passes to scipy: scipy's default (2.2e-9) ends fits whose gradient is
	// still far above tol, so convergence is left to the gradient test.
	ftol = 64 * 2.220446049250313e-16
	// Strong Wolfe constants for quasi-Newton directions (Nocedal & Wright,
	// Numerical Optimization, §3.1): sufficient decrease c1 and curvature c2.
	wolfeC1 = 1e-4
	wolfeC2 = 0.9
	// maxLineEvals bounds one line search (scikit-learn's maxls).
	maxLineEvals = 50
)

// objective evaluates f at x and writes ∇f(x) to g.
type objective func(ctx context.Context, x, g []float64) float64

// minimize runs L-BFGS from x (updated in place) and reports how it ended.
// It returns an error only for ctx's end or a non-finite objective.
func minimize(ctx context.Context, fn objective, x []float64, set lbfgsSettings) (Training, error) {
	n := len(x)
	var res Training
	eval := func(x, g []float64) (float64, error) {
		res.Evaluations++
		f := fn(ctx, x, g)
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if !finite(f) {
			return 0, fmt.Errorf("objective is %v after %d evaluations", f, res.Evaluations)
		}
		return f, nil
	}
	g := make([]float64, n)
	f, err := eval(x, g)
	if err != nil {
		return res, err
	}
	// s[i] = x_{k+1} − x_k and y[i] = g_{k+1} − g_k of the last pairs, in a
	// ring starting at head.
	s, y := make([][]float64, set.memory), make([][]float64, set.memory)
	for i := range s {
		s[i], y[i] = make([]float64, n), make([]float64, n)
	}
	rho, alpha := make([]float64, set.memory), make([]float64, set.memory)
	pairs, head := 0, 0
	d := make([]float64, n)
	xt, gt := make([]float64, n), make([]float64, n)
	res.Loss, res.GradMax = f, maxAbs(g)
	for res.Iterations < set.maxIter {
		if res.GradMax <= set.gtol {
			res.Converged = true
			return res, nil
		}
		// Two-loop recursion: d = −H·g with H the L-BFGS inverse Hessian
		// scaled by γ = s·y / y·y of the newest pair.
		for i := range d {
			d[i] = -g[i]
		}
		for k := 0; k < pairs; k++ {
			i := (head - 1 - k + 2*set.memory) % set.memory
			alpha[i] = rho[i] * dot(s[i], d)
			axpy(-alpha[i], y[i], d)
		}
		if pairs > 0 {
			i := (head - 1 + set.memory) % set.memory
			scaleVec(dot(s[i], y[i])/dot(y[i], y[i]), d)
		}
		for k := pairs - 1; k >= 0; k-- {
			i := (head - 1 - k + 2*set.memory) % set.memory
			beta := rho[i] * dot(y[i], d)
			axpy(alpha[i]-beta, s[i], d)
		}
		slope := dot(g, d)
		if !(slope < 0) { // rounding broke the curvature model: restart from steepest descent
			pairs = 0
			for i := range d {
				d[i] = -g[i]
			}
			slope = dot(g, d)
		}
		step := 1.0
		if pairs == 0 { // no curvature yet: a first step of unit length, as scipy's
			step = 1 / math.Sqrt(-slope)
		}
		ft, ok, err := lineSearch(x, f, g, d, slope, step, xt, gt, eval)
		if err != nil {
			return res, err
		}
		if !ok {
			// No step satisfies the Wolfe conditions: at this precision the
			// objective is flat along d. Keep the current point.
			return res, nil
		}
		res.Iterations++
		// Store the pair, overwriting the oldest; a pair without positive
		// curvature would make H indefinite and is dropped.
		for i := range xt {
			s[head][i] = xt[i] - x[i]
			y[head][i] = gt[i] - g[i]
		}
		if sy := dot(s[head], y[head]); sy > 0 {
			rho[head] = 1 / sy
			head = (head + 1) % set.memory
			pairs = min(pairs+1, set.memory)
		}
		decrease := f - ft
		copy(x, xt)
		copy(g, gt)
		f = ft
		res.Loss, res.GradMax = f, maxAbs(g)
		if set.progress != nil {
			set.progress(res.Iterations, f, res.GradMax)
		}
		if decrease <= ftol*max(math.Abs(f), math.Abs(f+decrease), 1) {
			res.Converged = true
			return res, nil
		}
	}
	res.Converged = res.GradMax <= set.gtol
	return res, nil
}

// lineSearch finds a step a along d from x (objective f, gradient g,
// directional derivative slope < 0) satisfying the strong Wolfe
// conditions, starting at a0: Nocedal & Wright's Algorithm 3.5 with the
// zoom of Algorithm 3.6 and safeguarded cubic interpolation. On success
// xt, gt and the returned value hold the accepted point.
func lineSearch(x []float64, f float64, g, d []float64, slope, a0 float64, xt, gt []float64,
	eval func(x, g []float64) (float64, error)) (float64, bool, error) {
	at := func(a float64) (float64, float64, error) {
		for i := range xt {
			xt[i] = x[i] + a*d[i]
		}
		ft, err := eval(xt, gt)
		return ft, dot(gt, d), err
	}
	armijo := func(a, fa float64) bool { return fa <= f+wolfeC1*a*slope }
	curvature := func(da float64) bool { return math.Abs(da) <= -wolfeC2*slope }

	// Bracketing: grow the step until it overshoots (too little decrease,
	// or the slope turned non-negative) or satisfies both conditions.
	prevA, prevF, prevD := 0.0, f, slope
	a := a0
	var lo, hi, flo, fhi, dlo, dhi float64
	evals := 0
	for {
		fa, da, err := at(a)
		evals++
		if err != nil {
			return 0, false, err
		}
		if !armijo(a, fa) || (evals > 1 && fa >= prevF) {
			lo, hi, flo, fhi, dlo, dhi = prevA, a, prevF, fa, prevD, da
			break
		}
		if curvature(da) {
			return fa, true, nil
		}
		if da >= 0 {
			lo, hi, flo, fhi, dlo, dhi = a, prevA, fa, prevF, da, prevD
			break
		}
		if evals >= maxLineEvals {
			return 0, false, nil
		}
		prevA, prevF, prevD = a, fa, da
		a *= 2
	}
	// Zoom: lo always satisfies sufficient decrease with the lowest value
	// seen, and the minimiser lies between lo and hi.
	for ; evals < maxLineEvals; evals++ {
		a = cubicMin(lo, flo, dlo, hi, fhi, dhi)
		fa, da, err := at(a)
		if err != nil {
			return 0, false, err
		}
		if !armijo(a, fa) || fa >= flo {
			hi, fhi, dhi = a, fa, da
			continue
		}
		if curvature(da) {
			return fa, true, nil
		}
		if da*(hi-lo) >= 0 {
			hi, fhi, dhi = lo, flo, dlo
		}
		lo, flo, dlo = a, fa, da
	}
	// Out of evaluations: settle for lo if it is a real step, which still
	// lowers the objective enough (the Armijo condition holds there).
	if lo == 0 {
		return 0, false, nil
	}
	fa, _, err := at(lo)
	if err != nil {
		return 0, false, err
	}
	return fa, true, nil
}

// cubicMin returns the minimiser of the cubic through (a, fa, da) and
// (b, fb, db), kept at least a tenth of the interval away from either end;
// bisection when the cubic has no usable minimum there.
func cubicMin(a, fa, da, b, fb, db float64) float64 {
	lo, hi := min(a, b), max(a, b)
	margin := 0.1 * (hi - lo)
	d1 := da + db - 3*(fa-fb)/(a-b)
	disc := d1*d1 - da*db
	if disc >= 0 {
		d2 := math.Copysign(math.Sqrt(disc), b-a)
		t := b - (b-a)*(db+d2-d1)/(db-da+2*d2)
		if t >= lo+margin && t <= hi-margin {
			return t
		}
	}
	return (a + b) / 2
}

func dot(a, b []float64) float64 {
	var s float64
	for i, v := range a[:len(b)] {
		s += v * b[i]
	}
	return s
}

// axpy adds a·x to y.
func axpy(a float64, x, y []float64) {
	for i, v := range x[:len(y)] {
		y[i] += a * v
	}
}

func scaleVec(a float64, x []float64) {
	for i := range x {
		x[i] *= a
	}
}

func maxAbs(x []float64) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	return m
}
