package linear

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/flowguard/flowguard/internal/ml"
)

// DefaultL2 is a mild penalty that keeps separable classes from driving
// coefficients to infinity; it equals scikit-learn's default C = 1 on a
// training set of 10,000 unweighted rows.
const DefaultL2 = 1e-4

// Trainer fits a Model by minimising the weighted mean cross-entropy plus an
// L2 penalty on the coefficients (never on the intercepts):
//
//	f(W, b) = Σ_i s_i·CE_i / Σ_i w_i + L2/2 · ‖W‖²
//
// where w_i is the row's weight (Dataset.W, default 1) and s_i is w_i times
// its class weight. This is scikit-learn's LogisticRegression objective
// scaled by 1/(C·Σw): for K ≥ 3 classes L2 = 1/(C·Σw) reproduces it, and
// for K = 2, where scikit-learn fits one sigmoid vector β = W₁−W₀, the
// softmax optimum splits β evenly over both classes, so L2 = 2/(C·Σw)
// does. Features are standardised with the training rows' unweighted mean
// and standard deviation first (scikit-learn's StandardScaler).
//
// The zero Trainer is unregularised with the defaults below; start from
// DefaultL2 for real data.
type Trainer struct {
	L2      float64 // penalty strength, ≥ 0
	MaxIter int     // L-BFGS iterations; 0 means 100
	// Tol stops the fit once no gradient component exceeds it (scipy's
	// pgtol, which scikit-learn sets to its tol); 0 means 1e-4. The fit also
	// stops when an iteration lowers the objective by a relative 64 machine
	// epsilons or less: no further progress is representable.
	Tol    float64
	Memory int // L-BFGS correction pairs kept; 0 means 10
	// ClassWeight multiplies the weight of every row of class k by
	// ClassWeight[k]; nil means 1 for all. Balanced overrides it with
	// n/(K·n_k) for n rows of which n_k are of class k, scikit-learn's
	// "balanced": it counts rows, whatever their weights, and so does this.
	ClassWeight []float64
	Balanced    bool
	Workers     int            // goroutines evaluating the gradient; ≤ 0 means GOMAXPROCS
	Progress    func(Progress) // called after every iteration when not nil
}

// Progress reports one finished L-BFGS iteration.
type Progress struct {
	Iter, MaxIter int
	Loss          float64 // objective, penalty included
	GradMax       float64 // largest gradient component; the fit stops below Tol
}

// Fit implements ml.Trainer. valid is not used: the objective is convex and
// the penalty, not early stopping, is what regularises it.
func (t Trainer) Fit(ctx context.Context, train, _ *ml.Dataset) (ml.Classifier, error) {
	return t.Train(ctx, train)
}

// Train fits a Model to d. Running out of iterations is not an error: the
// model is returned with Training.Converged false, as scikit-learn returns
// one with a ConvergenceWarning.
func (t Trainer) Train(ctx context.Context, d *ml.Dataset) (*Model, error) {
	p, err := t.newProblem(d)
	if err != nil {
		return nil, err
	}
	defer p.close()
	maxIter, tol, memory := t.MaxIter, t.Tol, t.Memory
	if maxIter <= 0 {
		maxIter = 100
	}
	if tol <= 0 {
		tol = 1e-4
	}
	if memory <= 0 {
		memory = 10
	}
	theta := make([]float64, p.dim())
	res, err := minimize(ctx, p.eval, theta, lbfgsSettings{
		maxIter: maxIter,
		gtol:    tol,
		memory:  memory,
		progress: func(iter int, f, gmax float64) {
			if t.Progress != nil {
				t.Progress(Progress{Iter: iter, MaxIter: maxIter, Loss: f, GradMax: gmax})
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("linear: fit: %w", err)
	}
	k, f := p.classes, p.features
	return &Model{
		Classes:   k,
		Features:  f,
		Mean:      p.mean,
		Scale:     p.scale,
		Coef:      theta[: k*f : k*f], // capped: appending must not run into the intercepts
		Intercept: theta[k*f:],
		Training:  res,
	}, nil
}

// problem is the objective over one training set. Parameters are laid out
// as the Classes × Features coefficients followed by the intercepts.
type problem struct {
	x           *ml.Matrix
	y           []int
	s           []float64 // per-row weight, class weight included
	norm        float64   // 1/Σ row weights, without class weights
	l2          float64
	classes     int
	features    int
	mean, scale []float64
	chunkRows   int
	chunkGrad   [][]float64 // per chunk partial gradient
	chunkLoss   []float64
	workers     int
	jobs        chan job
	wg          sync.WaitGroup
}

// job asks the workers to evaluate every chunk at theta. Once ctx is done
// they skip the remaining chunks: the caller discards the result.
type job struct {
	ctx   context.Context
	theta []float64
	next  *atomic.Int64
	done  *sync.WaitGroup
}

// maxChunks bounds the per-chunk gradient buffers. Chunks, not workers, own
// partial sums, and they are added in chunk order: the result is bit-for-bit
// the same whatever the number of workers.
const maxChunks = 256

func (t Trainer) newProblem(d *ml.Dataset) (*problem, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("linear: training data: %w", err)
	}
	if t.L2 < 0 || math.IsNaN(t.L2) || math.IsInf(t.L2, 0) {
		return nil, fmt.Errorf("linear: L2 = %v, need a finite value ≥ 0", t.L2)
	}
	n, k := d.X.Rows, d.Classes
	if n == 0 {
		return nil, fmt.Errorf("linear: no training rows")
	}
	for i, v := range d.X.Data {
		if !finite(v) {
			return nil, fmt.Errorf("linear: row %d feature %d is %v", i/d.X.Cols, i%d.X.Cols, v)
		}
	}
	cw := make([]float64, k)
	switch {
	case t.Balanced:
		count := make([]float64, k)
		for _, y := range d.Y {
			count[y]++
		}
		for c := range cw {
			if count[c] > 0 {
				cw[c] = float64(n) / (float64(k) * count[c])
			}
		}
	case t.ClassWeight != nil:
		if len(t.ClassWeight) != k {
			return nil, fmt.Errorf("linear: %d class weights for %d classes", len(t.ClassWeight), k)
		}
		copy(cw, t.ClassWeight)
	default:
		for c := range cw {
			cw[c] = 1
		}
	}
	for c, w := range cw {
		if !finite(w) || w < 0 {
			return nil, fmt.Errorf("linear: class %d weight %v, need a finite value ≥ 0", c, w)
		}
	}
	s := make([]float64, n)
	var sum float64
	for i, y := range d.Y {
		w := 1.0
		if d.W != nil {
			w = d.W[i]
			if !finite(w) || w < 0 {
				return nil, fmt.Errorf("linear: row %d weight %v, need a finite value ≥ 0", i, w)
			}
		}
		sum += w
		s[i] = w * cw[y]
	}
	if sum == 0 {
		return nil, fmt.Errorf("linear: all row weights are zero")
	}
	workers := t.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	chunkRows := max(1024, (n+maxChunks-1)/maxChunks)
	chunks := (n + chunkRows - 1) / chunkRows
	workers = min(workers, chunks)
	p := &problem{
		x: d.X, y: d.Y, s: s, norm: 1 / sum, l2: t.L2,
		classes: k, features: d.X.Cols,
		chunkRows: chunkRows,
		chunkGrad: make([][]float64, chunks),
		chunkLoss: make([]float64, chunks),
		workers:   workers,
		jobs:      make(chan job),
	}
	p.mean, p.scale = d.X.MeanScale()
	for c := range p.chunkGrad {
		p.chunkGrad[c] = make([]float64, p.dim())
	}
	for w := 0; w < workers; w++ {
		p.wg.Add(1)
		go p.work()
	}
	return p, nil
}

func (p *problem) dim() int { return p.classes * (p.features + 1) }

// close stops the workers.
func (p *problem) close() {
	close(p.jobs)
	p.wg.Wait()
}

// work evaluates chunks for as long as jobs come in. Its scratch (one
// standardised row, one row of class scores) lives for the whole fit, so
// the row loop allocates nothing.
func (p *problem) work() {
	defer p.wg.Done()
	z := make([]float64, p.features)
	scores := make([]float64, p.classes)
	for j := range p.jobs {
		for j.ctx.Err() == nil {
			c := int(j.next.Add(1)) - 1
			if c >= len(p.chunkGrad) {
				break
			}
			p.chunkLoss[c] = p.evalChunk(c, j.theta, z, scores)
		}
		j.done.Done()
	}
}

// evalChunk adds the weighted cross-entropy gradient of chunk c's rows to
// its buffer (cleared first) and returns their weighted loss, both still
// to be multiplied by norm.
func (p *problem) evalChunk(c int, theta, z, scores []float64) float64 {
	g := p.chunkGrad[c]
	clear(g)
	nf, nk := p.features, p.classes
	coef, icpt := theta[:nk*nf], theta[nk*nf:]
	gCoef, gIcpt := g[:nk*nf], g[nk*nf:]
	var loss float64
	for i := c * p.chunkRows; i < min((c+1)*p.chunkRows, p.x.Rows); i++ {
		s := p.s[i]
		if s == 0 {
			continue
		}
		row := p.x.Row(i)
		for j, v := range row {
			z[j] = (v - p.mean[j]) / p.scale[j]
		}
		top := math.Inf(-1)
		for k := range scores {
			w := coef[k*nf : k*nf+nf]
			acc := icpt[k]
			for j, v := range z[:len(w)] {
				acc += w[j] * v
			}
			scores[k] = acc
			top = max(top, acc)
		}
		var sum float64
		for k, v := range scores {
			e := math.Exp(v - top)
			scores[k] = e
			sum += e
		}
		y := p.y[i]
		// −log p_y = log Σ exp − score_y, from the shifted scores so that
		// confident rows neither overflow nor lose their loss to rounding.
		loss += s * (math.Log(sum) - math.Log(scores[y]))
		for k := range scores {
			r := scores[k] / sum
			if k == y {
				r--
			}
			r *= s
			gIcpt[k] += r
			gw := gCoef[k*nf : k*nf+nf]
			for j, v := range z[:len(gw)] {
				gw[j] += r * v
			}
		}
	}
	return loss
}

// eval returns the objective at theta and writes its gradient to grad,
// spreading the rows over the workers. When ctx ends during the pass the
// values are meaningless, and the optimiser stops on ctx's error.
func (p *problem) eval(ctx context.Context, theta, grad []float64) float64 {
	var next atomic.Int64
	var done sync.WaitGroup
	done.Add(p.workers)
	for w := 0; w < p.workers; w++ {
		p.jobs <- job{ctx: ctx, theta: theta, next: &next, done: &done}
	}
	done.Wait()
	clear(grad)
	var loss float64
	for c, g := range p.chunkGrad {
		loss += p.chunkLoss[c]
		for i, v := range g {
			grad[i] += v
		}
	}
	loss *= p.norm
	nw := p.classes * p.features
	var pen float64
	for i := range grad {
		grad[i] *= p.norm
		if i < nw {
			pen += theta[i] * theta[i]
			grad[i] += p.l2 * theta[i]
		}
	}
	return loss + p.l2/2*pen
}
