package cluster

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/flowguard/flowguard/internal/ml"
)

// KMeansOptions configures KMeans; the zero value means 100 Lloyd
// iterations at most, seed 0.
type KMeansOptions struct {
	MaxIter int    // default 100
	Seed    uint64 // same seed, same data → same centroids
	Context context.Context
}

// KMeansResult is a k-means clustering.
type KMeansResult struct {
	Centroids *ml.Matrix // k × dims
	Labels    []int      // each row's centroid
	Sizes     []int      // rows per centroid
	Inertia   float64    // sum of squared distances to the assigned centroids
	Iter      int        // Lloyd iterations run
}

// KMeans clusters the rows of x into k groups: k-means++ seeding (Arthur
// & Vassilvitskii 2007; each next centre drawn with probability
// proportional to the squared distance to the nearest centre so far),
// then Lloyd iterations until no row changes centroid. A centroid left
// without rows is moved to the row farthest from its centroid. It runs
// on one goroutine in row order, so the result depends on the data and
// the seed only. k is reduced to the number of distinct rows when there
// are fewer.
func KMeans(x *ml.Matrix, k int, o KMeansOptions) (*KMeansResult, error) {
	if x == nil || x.Rows < 1 || x.Cols < 1 || len(x.Data) != x.Rows*x.Cols {
		return nil, fmt.Errorf("k-means: need a well-formed matrix of at least one row")
	}
	if k < 1 {
		return nil, fmt.Errorf("k-means: k = %d, need at least 1", k)
	}
	for i, v := range x.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("k-means: row %d column %d is %v", i/x.Cols, i%x.Cols, v)
		}
	}
	if o.MaxIter <= 0 {
		o.MaxIter = 100
	}
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x6b6d65616e73))
	cent := seedPlusPlus(x, k, rng)
	k = cent.Rows
	res := &KMeansResult{Centroids: cent, Labels: make([]int, x.Rows), Sizes: make([]int, k)}
	for i := range res.Labels {
		res.Labels[i] = -1
	}
	d2 := make([]float64, x.Rows)
	for res.Iter < o.MaxIter {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("k-means: %w", err)
		}
		res.Iter++
		changed := 0
		for i := range x.Rows {
			c, d := Nearest(cent, x.Row(i))
			d2[i] = d * d
			if c != res.Labels[i] {
				res.Labels[i] = c
				changed++
			}
		}
		if changed == 0 {
			break
		}
		// Update step: means of the assigned rows.
		clear(cent.Data)
		clear(res.Sizes)
		for i, c := range res.Labels {
			res.Sizes[c]++
			row := cent.Row(c)
			for j, v := range x.Row(i) {
				row[j] += v
			}
		}
		for c := range k {
			if res.Sizes[c] == 0 {
				// Re-seed an empty centroid at the worst-served row.
				far := 0
				for i := range d2 {
					if d2[i] > d2[far] {
						far = i
					}
				}
				copy(cent.Row(c), x.Row(far))
				d2[far] = 0
				continue
			}
			row := cent.Row(c)
			for j := range row {
				row[j] /= float64(res.Sizes[c])
			}
		}
	}
	// Final sizes and inertia for the centroids as returned.
	clear(res.Sizes)
	res.Inertia = 0
	for i := range x.Rows {
		c, d := Nearest(cent, x.Row(i))
		res.Labels[i] = c
		res.Sizes[c]++
		res.Inertia += d * d
	}
	return res, nil
}

// seedPlusPlus picks up to k distinct rows of x as initial centres.
func seedPlusPlus(x *ml.Matrix, k int, rng *rand.Rand) *ml.Matrix {
	first := rng.IntN(x.Rows)
	picked := []int{first}
	d2 := make([]float64, x.Rows)
	for i := range d2 {
		d2[i] = dist2(x.Row(i), x.Row(first))
	}
	for len(picked) < k {
		var sum float64
		for _, v := range d2 {
			sum += v
		}
		if sum == 0 { // every row coincides with a centre already
			break
		}
		u := rng.Float64() * sum
		next := -1
		for i, v := range d2 {
			if v == 0 {
				continue
			}
			next = i
			if u -= v; u < 0 {
				break
			}
		}
		picked = append(picked, next)
		for i := range d2 {
			d2[i] = min(d2[i], dist2(x.Row(i), x.Row(next)))
		}
	}
	return x.Subset(picked)
}

// Nearest returns the index of the row of centroids closest to q and its
// Euclidean distance; the lowest index wins a tie.
func Nearest(centroids *ml.Matrix, q []float64) (int, float64) {
	best, bd := 0, math.Inf(1)
	for c := range centroids.Rows {
		if d := dist2(centroids.Row(c), q); d < bd {
			best, bd = c, d
		}
	}
	return best, math.Sqrt(bd)
}
