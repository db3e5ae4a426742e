//go:build race

package knn

// The race detector makes sync.Pool drop items at random, so PredictProba
// allocates its scratch now and then.
func init() { raceEnabled = true }
