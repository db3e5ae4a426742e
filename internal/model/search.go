package model

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// Search configures hyperparameter search: each candidate setting is
// cross-validated on the training rows like an algorithm comparison, and
// the best by the objective is trained on all fitting rows.
type Search struct {
	Mode   string               // "grid" or "random"; "" is no search
	Trials int                  // random: candidates per algorithm (default 10)
	Space  map[string][]float64 // parameter → values; nil uses DefaultSpace
}

// candidate is one algorithm with one setting.
type candidate struct {
	algo   string
	params Params
}

// DefaultSpace is the search space per algorithm when none is given.
func DefaultSpace(algo string) map[string][]float64 {
	switch algo {
	case "gbdt":
		return map[string][]float64{"trees": {100, 200, 400}, "depth": {4, 6, 8}, "learning_rate": {0.05, 0.1, 0.2}, "l2": {0.1, 1, 10}}
	case "rf", "et":
		return map[string][]float64{"trees": {100, 200, 400}, "depth": {0, 12, 24}}
	case "logreg":
		return map[string][]float64{"l2": {1e-6, 1e-5, 1e-4, 1e-3, 1e-2}}
	case "knn":
		return map[string][]float64{"k": {1, 3, 5, 9, 15}}
	}
	return nil
}

// ParseSpace reads "name=v1,v2;name=v3" into a search space.
func ParseSpace(s string) (map[string][]float64, error) {
	space := map[string][]float64{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, vals, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("search space %q: want name=v1,v2", part)
		}
		name = strings.TrimSpace(name)
		if err := setParam(&Params{}, name, 0); err != nil {
			return nil, err
		}
		for _, v := range strings.Split(vals, ",") {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return nil, fmt.Errorf("search space %s: %q is not a number", name, v)
			}
			space[name] = append(space[name], f)
		}
	}
	if len(space) == 0 {
		return nil, fmt.Errorf("empty search space %q", s)
	}
	return space, nil
}

func setParam(p *Params, name string, v float64) error {
	switch name {
	case "trees":
		p.Trees = int(v)
	case "depth":
		p.Depth = int(v)
	case "leaves":
		p.Leaves = int(v)
	case "learning_rate":
		p.LearningRate = v
	case "l2":
		p.L2 = v
	case "subsample":
		p.Subsample = v
	case "colsample":
		p.Colsample = v
	case "k":
		p.K = int(v)
	default:
		return fmt.Errorf("unknown search parameter %q (want trees, depth, leaves, learning_rate, l2, subsample, colsample or k)", name)
	}
	return nil
}

// candidates expands the algorithms and search into settings to compare.
func candidates(cfg *Config) ([]candidate, error) {
	var out []candidate
	for _, algo := range cfg.Algorithms {
		if cfg.Search.Mode == "" {
			out = append(out, candidate{algo, cfg.Params})
			continue
		}
		space := cfg.Search.Space
		if space == nil {
			space = DefaultSpace(algo)
		}
		names := make([]string, 0, len(space))
		for n := range space {
			names = append(names, n)
		}
		sort.Strings(names)
		// The grid, in a fixed order: every combination of the values.
		combos := [][]float64{{}}
		for _, n := range names {
			var next [][]float64
			for _, c := range combos {
				for _, v := range space[n] {
					next = append(next, append(append([]float64(nil), c...), v))
				}
			}
			combos = next
		}
		switch cfg.Search.Mode {
		case "grid":
			if len(combos) > 500 {
				return nil, fmt.Errorf("grid of %d settings for %s: narrow the space or use --search random", len(combos), algo)
			}
		case "random":
			trials := cfg.Search.Trials
			if trials <= 0 {
				trials = 10
			}
			r := rand.New(rand.NewPCG(cfg.Params.Seed, 7))
			r.Shuffle(len(combos), func(i, j int) { combos[i], combos[j] = combos[j], combos[i] })
			combos = combos[:min(trials, len(combos))]
		default:
			return nil, fmt.Errorf("unknown search %q (want grid or random)", cfg.Search.Mode)
		}
		for _, c := range combos {
			p := cfg.Params
			for i, n := range names {
				if err := setParam(&p, n, c[i]); err != nil {
					return nil, err
				}
			}
			out = append(out, candidate{algo, p})
		}
	}
	return out, nil
}
