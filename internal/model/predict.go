package model

import (
	"context"
	"runtime"
	"sync"

	"github.com/flowguard/flowguard/internal/ml"
)

// predictRows scores the given rows of x (all rows when rows is nil) with
// clf on all cores, returning one probability row per input row.
func predictRows(ctx context.Context, clf ml.Classifier, x *ml.Matrix, rows []int, threads int) (*ml.Matrix, error) {
	n := x.Rows
	if rows != nil {
		n = len(rows)
	}
	out := ml.NewMatrix(n, clf.NumClasses())
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	const chunk = 1024
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(threads, (n+chunk-1)/chunk) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				lo := next
				next += chunk
				mu.Unlock()
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+chunk, n); i++ {
					r := i
					if rows != nil {
						r = rows[i]
					}
					clf.PredictProba(x.Row(r), out.Row(i))
				}
			}
		}()
	}
	wg.Wait()
	return out, ctx.Err()
}

// argmax returns each row's most probable class.
func argmax(p *ml.Matrix) []int {
	y := make([]int, p.Rows)
	for i := range y {
		row := p.Row(i)
		best := 0
		for k, v := range row {
			if v > row[best] {
				best = k
			}
		}
		y[i] = best
	}
	return y
}
