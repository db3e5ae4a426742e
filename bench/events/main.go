// Command events benchmarks `flowguard events fit` and `flowguard events
// score` on CSIC 2010 against a scikit-learn pipeline (ref.py) in the same
// run; run.sh drives it. Each round runs, in this order, flowguard fit and
// score for every algorithm, then ref.py once, so both sides see the same
// machine load; the table reports the median round of each figure.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	log.SetFlags(0)
	bin := flag.String("flowguard", "/tmp/flowguard-events-bench/flowguard", "flowguard binary")
	data := flag.String("data", "../shared/data/http/csic2010", "CSIC 2010 folder")
	dir := flag.String("dir", "/tmp/flowguard-events-bench", "work folder")
	runs := flag.Int("runs", 3, "rounds")
	algos := flag.String("algos", "params,iforest", "flowguard --algo values, comma-separated")
	workers := flag.Int("workers", 2, "GOMAXPROCS of flowguard and n_jobs / BLAS threads of scikit-learn")
	python := flag.String("python", "/usr/bin/python3", "Python with scikit-learn")
	ref := flag.String("ref", "bench/events/ref.py", "scikit-learn reference script")
	flag.Parse()
	if err := run(*bin, *data, *dir, *python, *ref, strings.Split(*algos, ","), *runs, *workers); err != nil {
		log.Fatal(err)
	}
}

// timing is one side's figures over the rounds.
type timing struct {
	Name       string    `json:"name"`
	FitS       []float64 `json:"fit_s"`
	ScoreS     []float64 `json:"score_s"`
	FitEvents  int       `json:"fit_events"`
	ScoreEvts  int       `json:"score_events"`
	AUC        []float64 `json:"auc"`
	FitCmd     string    `json:"fit_cmd"`
	ScoreCmd   string    `json:"score_cmd"`
	Version    string    `json:"version,omitempty"`
	Vocabulary int       `json:"vocabulary,omitempty"`
	// scikit-learn only: seconds per phase of each round
	Phases []map[string]float64 `json:"phases,omitempty"`
}

// skRun is what ref.py writes for one run.
type skRun struct {
	Version     string               `json:"version"`
	FitS        []float64            `json:"fit_s"`
	ScoreS      []float64            `json:"score_s"`
	FitEvents   int                  `json:"fit_events"`
	ScoreEvents int                  `json:"score_events"`
	AUC         float64              `json:"auc"`
	Vocabulary  int                  `json:"vocabulary"`
	Phases      []map[string]float64 `json:"phases"`
}

func run(bin, data, dir, python, ref string, algos []string, runs, workers int) error {
	train := filepath.Join(data, "normalTrafficTraining.txt.gz")
	tests := []string{filepath.Join(data, "normalTrafficTest.txt.gz"), filepath.Join(data, "anomalousTrafficTest.txt.gz")}
	env := append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", workers))
	pyEnv := append(os.Environ(), "OMP_NUM_THREADS="+strconv.Itoa(workers), "OPENBLAS_NUM_THREADS="+strconv.Itoa(workers),
		"MKL_NUM_THREADS="+strconv.Itoa(workers))
	fg := make([]*timing, len(algos))
	for i, a := range algos {
		model := filepath.Join(dir, "model-"+a+".json")
		fg[i] = &timing{Name: "flowguard " + a,
			FitCmd:   fmt.Sprintf("GOMAXPROCS=%d %s events fit --algo %s --data %s -o %s", workers, bin, a, train, model),
			ScoreCmd: fmt.Sprintf("GOMAXPROCS=%d %s events score --model %s --data %s --data %s > %s", workers, bin, model, tests[0], tests[1], filepath.Join(dir, "scores-"+a+".jsonl"))}
	}
	sk := &timing{Name: "scikit-learn",
		FitCmd: fmt.Sprintf("OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d %s %s %s %s 1 %d (one process: fit then score)", workers, workers, python, ref, data, filepath.Join(dir, "sklearn.json"), workers)}
	sk.ScoreCmd = sk.FitCmd
	var loads []string
	start := time.Now()
	for r := range runs {
		loads = append(loads, loadavg())
		for i, a := range algos {
			t := fg[i]
			model := filepath.Join(dir, "model-"+a+".json")
			s, out, err := timed(env, nil, bin, "events", "fit", "--algo", a, "--data", train, "-o", model)
			if err != nil {
				return err
			}
			t.FitS = append(t.FitS, s)
			if t.FitEvents, err = countEvents(out); err != nil {
				return fmt.Errorf("fit %s: %w", a, err)
			}
			scores := filepath.Join(dir, "scores-"+a+".jsonl")
			f, err := os.Create(scores)
			if err != nil {
				return err
			}
			s, _, err = timed(env, f, bin, "events", "score", "--model", model, "--data", tests[0], "--data", tests[1])
			f.Close()
			if err != nil {
				return err
			}
			t.ScoreS = append(t.ScoreS, s)
			auc, n, err := scoreAUC(scores, tests[1])
			if err != nil {
				return err
			}
			t.AUC, t.ScoreEvts = append(t.AUC, auc), n
			fmt.Printf("round %d flowguard %-8s fit %6.2f s  score %6.2f s  ROC-AUC %.4f\n", r+1, a, t.FitS[r], s, auc)
		}
		out := filepath.Join(dir, "sklearn.json")
		cmd := exec.Command(python, ref, data, out, "1", strconv.Itoa(workers))
		cmd.Env, cmd.Stderr = pyEnv, os.Stderr
		if b, err := cmd.Output(); err != nil {
			return fmt.Errorf("%s: %w\n%s", ref, err, b)
		}
		var k skRun
		b, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &k); err != nil {
			return fmt.Errorf("%s: %w", out, err)
		}
		sk.FitS, sk.ScoreS, sk.AUC = append(sk.FitS, k.FitS...), append(sk.ScoreS, k.ScoreS...), append(sk.AUC, k.AUC)
		sk.Phases = append(sk.Phases, k.Phases...)
		sk.FitEvents, sk.ScoreEvts, sk.Version, sk.Vocabulary = k.FitEvents, k.ScoreEvents, k.Version, k.Vocabulary
		fmt.Printf("round %d scikit-learn       fit %6.2f s  score %6.2f s  ROC-AUC %.4f\n", r+1, k.FitS[0], k.ScoreS[0], k.AUC)
	}
	loads = append(loads, loadavg())
	wall := time.Since(start)

	fmt.Printf("\nCSIC 2010: fit on %d normal training requests, score %d test requests (36,000 normal + 25,065 anomalous)\n",
		sk.FitEvents, sk.ScoreEvts)
	fmt.Printf("%d workers (GOMAXPROCS / n_jobs + BLAS threads), median of %d rounds, scikit-learn %s, %s, %d cores\n",
		workers, runs, sk.Version, runtime.Version(), runtime.NumCPU())
	fmt.Printf("load average (1/5/15 min) at each round start and at the end: %s\n\n", strings.Join(loads, " | "))
	fmt.Println("| pipeline | fit (s) | fit events/s | score (s) | score events/s | ROC-AUC |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, t := range append(fg, sk) {
		fmt.Printf("| %s | %.2f | %s | %.2f | %s | %.4f |\n", t.Name, median(t.FitS), thousands(float64(t.FitEvents)/median(t.FitS)),
			median(t.ScoreS), thousands(float64(t.ScoreEvts)/median(t.ScoreS)), median(t.AUC))
	}
	fmt.Println("\n| flowguard / scikit-learn (events/s) | fit | score |")
	fmt.Println("|---|---:|---:|")
	for _, t := range fg {
		fmt.Printf("| %s | %.2f× | %.2f× |\n", t.Name, ratio(t.FitEvents, t.FitS, sk.FitEvents, sk.FitS), ratio(t.ScoreEvts, t.ScoreS, sk.ScoreEvts, sk.ScoreS))
	}
	fmt.Printf("\nscikit-learn phases, median s:")
	for _, p := range []string{"fit_parse_s", "fit_featurize_s", "fit_iforest_s", "score_parse_s", "score_featurize_s", "score_iforest_s"} {
		var v []float64
		for _, ph := range sk.Phases {
			v = append(v, ph[p])
		}
		if len(v) > 0 {
			fmt.Printf(" %s %.2f", strings.TrimSuffix(p, "_s"), median(v))
		}
	}
	fmt.Printf("\nwhole run %.0f s wall; scikit-learn vocabulary %d character n-grams\n", wall.Seconds(), sk.Vocabulary)
	fmt.Println("\ncommands:")
	for _, t := range append(fg, sk) {
		fmt.Println("  " + t.FitCmd)
		if t.ScoreCmd != t.FitCmd {
			fmt.Println("  " + t.ScoreCmd)
		}
	}
	b, err := json.MarshalIndent(map[string]any{"date": start.UTC().Format(time.RFC3339), "loadavg": loads,
		"workers": workers, "go": runtime.Version(), "results": append(fg, sk)}, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644)
}

// timed runs a command with stdout to w (captured when nil) and returns
// its wall time and stderr.
func timed(env []string, w *os.File, name string, args ...string) (float64, []byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var stderr, stdout bytes.Buffer
	cmd.Stderr = &stderr
	if w != nil {
		cmd.Stdout = w
	} else {
		cmd.Stdout = &stdout
	}
	start := time.Now()
	err := cmd.Run()
	s := time.Since(start).Seconds()
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return s, stderr.Bytes(), nil
}

var eventsLine = regexp.MustCompile(`(?m)^events: .*: (\d+) events \(`)

// countEvents sums the per-file event counts readEvents reports on stderr.
func countEvents(stderr []byte) (int, error) {
	n := 0
	for _, m := range eventsLine.FindAllSubmatch(stderr, -1) {
		k, _ := strconv.Atoi(string(m[1]))
		n += k
	}
	if n == 0 {
		return 0, fmt.Errorf("no event count in %q", stderr)
	}
	return n, nil
}

// scoreAUC reads `events score` JSON lines; events of the anomalous file
// are the positives.
func scoreAUC(path, anomalous string) (float64, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var scores []float64
	var pos []bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct {
			File  string  `json:"file"`
			Score float64 `json:"score"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return 0, 0, fmt.Errorf("%s line %d: %w", path, len(scores)+1, err)
		}
		scores, pos = append(scores, l.Score), append(pos, l.File == anomalous)
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	return rocAUC(scores, pos), len(scores), nil
}

// rocAUC is the Mann–Whitney statistic: the probability that a random
// positive scores above a random negative, ties counting one half
// (what sklearn.metrics.roc_auc_score computes).
func rocAUC(scores []float64, pos []bool) float64 {
	ix := make([]int, len(scores))
	for i := range ix {
		ix[i] = i
	}
	slices.SortFunc(ix, func(a, b int) int {
		switch {
		case scores[a] < scores[b]:
			return -1
		case scores[a] > scores[b]:
			return 1
		}
		return 0
	})
	var rankSum float64
	var nPos int
	for lo := 0; lo < len(ix); {
		hi := lo
		for hi < len(ix) && scores[ix[hi]] == scores[ix[lo]] {
			hi++
		}
		rank := float64(lo+hi+1) / 2 // mean of the 1-based ranks lo+1..hi
		for _, i := range ix[lo:hi] {
			if pos[i] {
				rankSum += rank
				nPos++
			}
		}
		lo = hi
	}
	nNeg := len(scores) - nPos
	if nPos == 0 || nNeg == 0 {
		return 0
	}
	return (rankSum - float64(nPos)*float64(nPos+1)/2) / (float64(nPos) * float64(nNeg))
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ratio(n int, s []float64, skN int, skS []float64) float64 {
	return (float64(n) / median(s)) / (float64(skN) / median(skS))
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

func thousands(x float64) string {
	s := strconv.FormatInt(int64(x+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
