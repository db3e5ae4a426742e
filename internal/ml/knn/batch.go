package knn

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/flowguard/flowguard/internal/ml"
)

// batchRows is how many queries a worker claims at a time: enough to make
// the shared counter cold, few enough to balance the tail and to notice a
// cancelled context within milliseconds.
const batchRows = 16

// PredictProbaBatch scores every row of x on up to workers goroutines
// (≤ 0 means GOMAXPROCS) and returns the probabilities as a
// x.Rows × NumClasses matrix. It stops early with ctx's error.
func (m *Model) PredictProbaBatch(ctx context.Context, x *ml.Matrix, workers int) (*ml.Matrix, error) {
	if x.Cols != m.Features || len(x.Data) != x.Rows*x.Cols {
		return nil, fmt.Errorf("knn: batch of %d×%d (%d values) for a model of %d features",
			x.Rows, x.Cols, len(x.Data), m.Features)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := ml.NewMatrix(x.Rows, m.Classes)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := m.getScratch()
			defer scratchPool.Put(s)
			for ctx.Err() == nil {
				lo := int(next.Add(batchRows)) - batchRows
				if lo >= x.Rows {
					return
				}
				hi := min(lo+batchRows, x.Rows)
				i := lo
				for ; i+4 <= hi; i += 4 {
					in := [4][]float64{x.Row(i), x.Row(i + 1), x.Row(i + 2), x.Row(i + 3)}
					res := [4][]float64{out.Row(i), out.Row(i + 1), out.Row(i + 2), out.Row(i + 3)}
					m.predict4(&in, &res, s)
				}
				for ; i < hi; i++ {
					m.predict(x.Row(i), out.Row(i), s)
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("knn: batch prediction: %w", err)
	}
	return out, nil
}

// PredictBatch returns the predicted class of every row of x; see
// PredictProbaBatch for workers and cancellation.
func (m *Model) PredictBatch(ctx context.Context, x *ml.Matrix, workers int) ([]int, error) {
	p, err := m.PredictProbaBatch(ctx, x, workers)
	if err != nil {
		return nil, err
	}
	y := make([]int, x.Rows)
	for i := range y {
		y[i] = argmax(p.Row(i))
	}
	return y, nil
}
