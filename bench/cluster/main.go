// Command cluster benchmarks flowguard's DBSCAN and isolation forest
// against scikit-learn's on the same rows in the same run; run.sh drives
// it. "gen" resamples ML-PT's features to the benchmark size; "run" times
// flowguard and prints the table beside scikit-learn's figures from ref.py.
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/anomaly"
	"github.com/flowguard/flowguard/internal/ml/cluster"
)

func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 {
		log.Fatal("usage: cluster gen|run [flags]")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	src := fs.String("src", "../shared/data/seeds/ml-pt/X_y_pca9_dbscan_labels.csv.gz", "ML-PT features")
	dir := fs.String("dir", "/tmp/flowguard-cluster-bench", "work folder")
	rows := fs.Int("rows", 100000, "rows to resample to")
	jitter := fs.Float64("jitter", 0.005, "standard deviation of the Gaussian jitter added to each coordinate")
	seed := fs.Uint64("seed", 1, "resampling seed")
	eps := fs.Float64("eps", 0.0678, "DBSCAN eps")
	minSamples := fs.Int("min-samples", 18, "DBSCAN min_samples")
	workers := fs.Int("workers", 2, "goroutines")
	trees := fs.Int("trees", 100, "isolation forest trees")
	_ = fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(*src, *dir, *rows, *jitter, *seed)
	case "run":
		err = run(*dir, *eps, *minSamples, *workers, *trees)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		log.Fatal(err)
	}
}

// gen writes x.f64: rows×9 little-endian float64, ML-PT rows drawn with
// replacement plus jitter so no two rows coincide.
func gen(src, dir string, rows int, jitter float64, seed uint64) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	z, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	r := csv.NewReader(z)
	if _, err := r.Read(); err != nil {
		return fmt.Errorf("%s: header: %w", src, err)
	}
	var base [][9]float64
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		var v [9]float64
		for j := range v {
			if v[j], err = strconv.ParseFloat(rec[j], 64); err != nil {
				return fmt.Errorf("%s row %d: %w", src, len(base)+1, err)
			}
		}
		base = append(base, v)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	out := make([]byte, 0, rows*9*8)
	for range rows {
		v := base[rng.IntN(len(base))]
		for _, c := range v {
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(c+rng.NormFloat64()*jitter))
		}
	}
	path := filepath.Join(dir, "x.f64")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d rows from %d ML-PT rows, jitter %v\n", path, rows, len(base), jitter)
	return nil
}

func readF64(path string, cols int) (*ml.Matrix, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	x := &ml.Matrix{Cols: cols, Rows: len(b) / 8 / cols, Data: make([]float64, len(b)/8)}
	for i := range x.Data {
		x.Data[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[i*8:]))
	}
	return x, nil
}

// skResult is what ref.py writes.
type skResult struct {
	Version     string  `json:"version"`
	DBSCAN      float64 `json:"dbscan_s"`
	Clusters    int     `json:"clusters"`
	Noise       int     `json:"noise"`
	IFFit       float64 `json:"iforest_fit_s"`
	IFScore     float64 `json:"iforest_score_s"`
	IFScoreRows int     `json:"iforest_score_rows"`
}

func run(dir string, eps float64, minSamples, workers, trees int) error {
	x, err := readF64(filepath.Join(dir, "x.f64"), 9)
	if err != nil {
		return err
	}
	var sk skResult
	b, err := os.ReadFile(filepath.Join(dir, "sklearn.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &sk); err != nil {
		return fmt.Errorf("sklearn.json: %w", err)
	}
	lb, err := os.ReadFile(filepath.Join(dir, "sklearn_labels.i64"))
	if err != nil {
		return err
	}
	skLabels := make([]int, len(lb)/8)
	for i := range skLabels {
		skLabels[i] = int(int64(binary.LittleEndian.Uint64(lb[i*8:])))
	}
	runtime.GOMAXPROCS(workers)

	start := time.Now()
	labels, err := cluster.DBSCAN(x, eps, minSamples, &cluster.Options{Workers: workers})
	if err != nil {
		return err
	}
	goDB := time.Since(start).Seconds()
	clusters, noise, diff := 0, 0, 0
	for i, l := range labels {
		clusters = max(clusters, l+1)
		if l == cluster.Noise {
			noise++
		}
		if l != skLabels[i] {
			diff++
		}
	}
	ari := cluster.AdjustedRandIndex(labels, skLabels)

	start = time.Now()
	f, err := anomaly.Fit(x, anomaly.Options{Trees: trees, Seed: 1, Workers: workers})
	if err != nil {
		return err
	}
	goFit := time.Since(start).Seconds()
	start = time.Now()
	if _, err := f.ScoreMatrix(x, workers); err != nil {
		return err
	}
	goScore := time.Since(start).Seconds()

	fmt.Printf("\n%d rows × %d features, %d workers / n_jobs, scikit-learn %s, %s\n\n", x.Rows, x.Cols, workers, sk.Version, runtime.Version())
	fmt.Println("| task | flowguard | scikit-learn | sklearn / flowguard |")
	fmt.Println("|---|---:|---:|---:|")
	fmt.Printf("| DBSCAN eps %v min_samples %d (s) | %.2f | %.2f | %.1f× |\n", eps, minSamples, goDB, sk.DBSCAN, sk.DBSCAN/goDB)
	fmt.Printf("| isolation forest fit, %d trees ψ=256 (s) | %.3f | %.3f | %.1f× |\n", trees, goFit, sk.IFFit, sk.IFFit/goFit)
	fmt.Printf("| isolation forest score (rows/s) | %.0f | %.0f | %.1f× |\n", float64(x.Rows)/goScore, float64(sk.IFScoreRows)/sk.IFScore, sk.IFScore/goScore)
	fmt.Printf("\nDBSCAN agreement: ARI %.10f, %d rows labelled differently; clusters %d vs %d, noise %d vs %d\n",
		ari, diff, clusters, sk.Clusters, noise, sk.Noise)
	return nil
}
