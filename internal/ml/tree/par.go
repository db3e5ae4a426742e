package tree

import "sync"

// ParallelChunks splits [0, n) into at most threads contiguous chunks (0
// means GOMAXPROCS) and runs fn on each in its own goroutine, passing the
// chunk's number, and returns when all are done. One chunk runs on the
// calling goroutine.
func ParallelChunks(n, threads int, fn func(t, lo, hi int)) {
	threads = min(threadsOr(threads), n)
	if threads <= 1 {
		if n > 0 {
			fn(0, 0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for t := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(t, t*n/threads, (t+1)*n/threads)
		}()
	}
	wg.Wait()
}

func parallelFor(n, threads int, fn func(lo, hi int)) {
	ParallelChunks(n, threads, func(_, lo, hi int) { fn(lo, hi) })
}
