package report

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// FitRows caps the rows PCA2 and Correlation fit on. A random 200,000 rows
// pin the axes and correlations down far below what a chart can show, and
// keep the cost at a second or so on full CIC-IDS2017 training sets.
const FitRows = 200_000

// PCA2 projects the rows of the row-major matrix x (rows × cols) onto its
// first two principal components, for a scatter plot of the feature space.
//
// Columns are standardised (mean 0, variance 1; constant columns drop out),
// the covariance of at most FitRows random rows is eigen-decomposed, and a
// sample of at most maxPoints rows is projected. With labels (one class
// index per row) the sample is class-balanced: every class gets an equal
// share of the points (small classes give all their rows and leave the rest
// to the others), so rare attacks stay visible; Balanced records that point
// counts then do not show class proportions. Non-finite values count as the
// column mean. The result is deterministic for a given seed.
func PCA2(x []float64, rows, cols int, labels []int, maxPoints int, seed uint64) (*PCA, error) {
	if err := checkMatrix(x, rows, cols); err != nil {
		return nil, err
	}
	if labels != nil && len(labels) != rows {
		return nil, fmt.Errorf("report: %d labels for %d rows", len(labels), rows)
	}
	if maxPoints < 1 {
		return nil, fmt.Errorf("report: maxPoints %d, want at least 1", maxPoints)
	}
	rng := newRand(seed)
	fit := sampleRows(rows, FitRows, rng)
	mean, scale := columnScales(x, cols, fit)

	// Covariance of the standardised columns, upper triangle first.
	cov := make([]float64, cols*cols)
	z := make([]float64, cols)
	for _, r := range fit {
		standardise(z, x[r*cols:(r+1)*cols], mean, scale)
		for i, zi := range z {
			if zi == 0 {
				continue
			}
			row := cov[i*cols : (i+1)*cols]
			for j := i; j < cols; j++ {
				row[j] += zi * z[j]
			}
		}
	}
	n := float64(max(len(fit)-1, 1))
	for i := range cols {
		for j := i; j < cols; j++ {
			cov[i*cols+j] /= n
			cov[j*cols+i] = cov[i*cols+j]
		}
	}

	values, vectors := jacobiEigen(cov, cols)
	order := make([]int, cols)
	for i := range order {
		order[i] = i
	}
	// Largest eigenvalue first; ties keep column order so output is stable.
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case values[a] > values[b]:
			return -1
		case values[a] < values[b]:
			return 1
		}
		return 0
	})
	var total float64
	for _, v := range values {
		total += math.Max(v, 0)
	}
	p := &PCA{Rows: rows, FitRows: len(fit)}
	axes := [2][]float64{make([]float64, cols), make([]float64, cols)}
	for k := range min(2, cols) {
		e := order[k]
		if total > 0 {
			p.ExplainedVariance[k] = math.Max(values[e], 0) / total
		}
		for i := range cols {
			axes[k][i] = vectors[i*cols+e]
		}
		orient(axes[k])
	}

	var pick []int
	if labels == nil {
		pick = sampleRows(rows, maxPoints, rng)
	} else {
		pick = balancedSample(labels, maxPoints, rng)
		p.Balanced = len(pick) < rows
	}
	p.Points = make([][2]float32, len(pick))
	if labels != nil {
		p.Labels = make([]int, len(pick))
	}
	for k, r := range pick {
		standardise(z, x[r*cols:(r+1)*cols], mean, scale)
		var a, b float64
		for i, zi := range z {
			a += zi * axes[0][i]
			b += zi * axes[1][i]
		}
		p.Points[k] = [2]float32{float32(a), float32(b)}
		if labels != nil {
			p.Labels[k] = labels[r]
		}
	}
	return p, nil
}

func checkMatrix(x []float64, rows, cols int) error {
	switch {
	case rows < 1 || cols < 1:
		return fmt.Errorf("report: %d×%d matrix, want at least one row and column", rows, cols)
	case len(x) != rows*cols:
		return fmt.Errorf("report: %d values for a %d×%d matrix", len(x), rows, cols)
	}
	return nil
}

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x6a09e667f3bcc909))
}

// sampleRows returns k distinct random row indices of n in ascending order
// (ascending keeps the matrix walk sequential), or all rows when k ≥ n.
func sampleRows(n, k int, rng *rand.Rand) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if k >= n {
		return idx
	}
	for i := range k {
		j := i + rng.IntN(n-i)
		idx[i], idx[j] = idx[j], idx[i]
	}
	idx = idx[:k]
	slices.Sort(idx)
	return idx
}

// balancedSample picks at most k rows giving each label an equal share;
// labels with fewer rows than their share give all of them, and what they
// leave is shared among the larger ones.
func balancedSample(labels []int, k int, rng *rand.Rand) []int {
	byLabel := map[int][]int{}
	for r, l := range labels {
		byLabel[l] = append(byLabel[l], r)
	}
	keys := make([]int, 0, len(byLabel))
	for l := range byLabel {
		keys = append(keys, l)
	}
	// Smallest classes first, so their leftovers can be handed on.
	slices.SortFunc(keys, func(a, b int) int {
		if d := len(byLabel[a]) - len(byLabel[b]); d != 0 {
			return d
		}
		return a - b
	})
	var pick []int
	left := k
	for i, l := range keys {
		rs := byLabel[l]
		take := min(len(rs), left/(len(keys)-i))
		for _, j := range sampleRows(len(rs), take, rng) {
			pick = append(pick, rs[j])
		}
		left -= take
	}
	slices.Sort(pick)
	return pick
}

// columnScales returns each column's mean and 1/standard deviation over the
// given rows, ignoring non-finite values; constant columns get scale 0 so
// they drop out of everything downstream.
func columnScales(x []float64, cols int, rows []int) (mean, scale []float64) {
	mean = make([]float64, cols)
	scale = make([]float64, cols)
	count := make([]float64, cols)
	for _, r := range rows {
		for j, v := range x[r*cols : (r+1)*cols] {
			if finite(v) {
				mean[j] += v
				count[j]++
			}
		}
	}
	for j := range mean {
		if count[j] > 0 {
			mean[j] /= count[j]
		}
	}
	// Second pass around the mean: sums of squares of raw flow features
	// (byte rates near 1e9) would cancel catastrophically.
	for _, r := range rows {
		for j, v := range x[r*cols : (r+1)*cols] {
			if finite(v) {
				d := v - mean[j]
				scale[j] += d * d
			}
		}
	}
	for j := range scale {
		if count[j] > 1 && scale[j] > 0 {
			sd := math.Sqrt(scale[j] / (count[j] - 1))
			// A spread lost in rounding noise is no spread.
			if sd > 1e-12*math.Max(1, math.Abs(mean[j])) {
				scale[j] = 1 / sd
				continue
			}
		}
		scale[j] = 0
	}
	return mean, scale
}

// standardise writes (row - mean) · scale into z, with 0 for non-finite
// values (the column mean).
func standardise(z, row, mean, scale []float64) {
	for j, v := range row {
		if finite(v) {
			z[j] = (v - mean[j]) * scale[j]
		} else {
			z[j] = 0
		}
	}
}

// orient flips v so that its largest-magnitude component is positive: an
// eigenvector's sign is arbitrary, and a fixed one keeps plots stable
// across runs and platforms.
func orient(v []float64) {
	big := 0.0
	for _, c := range v {
		if math.Abs(c) > math.Abs(big) {
			big = c
		}
	}
	if big < 0 {
		for i := range v {
			v[i] = -v[i]
		}
	}
}

// jacobiEigen diagonalises the symmetric n×n matrix a (row-major, modified
// in place) by cyclic Jacobi rotations. It returns the eigenvalues and the
// eigenvectors as the columns of a row-major n×n matrix. Jacobi is chosen
// over power iteration because it is robust to equal eigenvalues and, for
// the hundred or so features of a flow record, fast enough.
func jacobiEigen(a []float64, n int) (values, vectors []float64) {
	v := make([]float64, n*n)
	for i := range n {
		v[i*n+i] = 1
	}
	for sweep := 0; sweep < 100; sweep++ {
		var off, diag float64
		for p := range n {
			diag += a[p*n+p] * a[p*n+p]
			for q := p + 1; q < n; q++ {
				off += a[p*n+q] * a[p*n+q]
			}
		}
		if off <= 1e-30*diag || off == 0 {
			break
		}
		for p := range n {
			for q := p + 1; q < n; q++ {
				apq := a[p*n+q]
				if apq == 0 {
					continue
				}
				app, aqq := a[p*n+p], a[q*n+q]
				theta := (aqq - app) / (2 * apq)
				t := 1 / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				if theta < 0 {
					t = -t
				}
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := range n {
					if k == p || k == q {
						continue
					}
					akp, akq := a[k*n+p], a[k*n+q]
					a[k*n+p] = c*akp - s*akq
					a[p*n+k] = a[k*n+p]
					a[k*n+q] = s*akp + c*akq
					a[q*n+k] = a[k*n+q]
				}
				a[p*n+p] = app - t*apq
				a[q*n+q] = aqq + t*apq
				a[p*n+q], a[q*n+p] = 0, 0
				for k := range n {
					vkp, vkq := v[k*n+p], v[k*n+q]
					v[k*n+p] = c*vkp - s*vkq
					v[k*n+q] = s*vkp + c*vkq
				}
			}
		}
	}
	values = make([]float64, n)
	for i := range n {
		values[i] = a[i*n+i]
	}
	return values, v
}
