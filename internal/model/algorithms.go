package model

import (
	"cmp"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/forest"
	"github.com/flowguard/flowguard/internal/ml/gbdt"
	"github.com/flowguard/flowguard/internal/ml/knn"
	"github.com/flowguard/flowguard/internal/ml/linear"
)

// Params are the algorithm settings the CLI exposes; each algorithm reads
// the ones that apply to it and records them in the artifact.
type Params struct {
	Trees        int     `json:"trees,omitempty"`         // gbdt rounds, forest trees
	Depth        int     `json:"depth,omitempty"`         // tree depth
	Leaves       int     `json:"leaves,omitempty"`        // max leaves (0: depth-wise)
	LearningRate float64 `json:"learning_rate,omitempty"` // gbdt eta
	L2           float64 `json:"l2,omitempty"`            // gbdt λ, logreg penalty
	Subsample    float64 `json:"subsample,omitempty"`
	Colsample    float64 `json:"colsample,omitempty"`
	EarlyStop    int     `json:"early_stop,omitempty"`  // gbdt rounds without validation improvement
	K            int     `json:"k,omitempty"`           // knn neighbours; iforest normal profiles
	SampleSize   int     `json:"sample_size,omitempty"` // iforest rows per tree (ψ)
	Metric       string  `json:"metric,omitempty"`      // knn: euclidean|cosine
	Weights      string  `json:"weights,omitempty"`     // knn: uniform|distance
	Threads      int     `json:"threads,omitempty"`
	Seed         uint64  `json:"seed"`
}

// algorithm is what the pipeline needs of one learning algorithm: a trainer
// for given settings and, for loading artifacts, a decoder that turns the
// stored model data back into a validated classifier.
type algorithm struct {
	describe string
	// trainer returns a trainer for p; log, when not nil, receives
	// progress lines of long fits.
	trainer func(p Params, log func(string, ...any)) ml.Trainer
	decode  func(json.RawMessage) (ml.Classifier, error)
	// unweighted algorithms have no loss to weight rows in, and refuse
	// class and duplicate weights rather than ignore them.
	unweighted bool
}

// decodeInto unmarshals data into a model type with a Validate method.
func decodeInto[M interface {
	ml.Classifier
	Validate() error
}](raw json.RawMessage, m M) (ml.Classifier, error) {
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, fmt.Errorf("decode model data: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("invalid model data: %w", err)
	}
	return m, nil
}

var algorithms = map[string]algorithm{
	"gbdt": {
		describe: "gradient-boosted trees (histogram, softmax/logistic)",
		trainer: func(p Params, log func(string, ...any)) ml.Trainer {
			o := gbdt.DefaultOptions()
			o.Rounds = cmp.Or(p.Trees, o.Rounds)
			o.MaxDepth = cmp.Or(p.Depth, o.MaxDepth)
			o.MaxLeaves = cmp.Or(p.Leaves, o.MaxLeaves)
			o.LearningRate = cmp.Or(p.LearningRate, o.LearningRate)
			o.Lambda = cmp.Or(p.L2, o.Lambda)
			o.Subsample = cmp.Or(p.Subsample, o.Subsample)
			o.ColsampleByTree = cmp.Or(p.Colsample, o.ColsampleByTree)
			o.EarlyStoppingRounds = cmp.Or(p.EarlyStop, 20)
			o.Threads, o.Seed = p.Threads, p.Seed
			if log != nil {
				o.Progress = func(round int, train, valid float64) {
					if round%50 == 0 {
						log("gbdt round %d/%d: train logloss %.5f, validation %.5f", round, o.Rounds, train, valid)
					}
				}
			}
			return gbdt.New(o)
		},
		decode: func(raw json.RawMessage) (ml.Classifier, error) { return decodeInto(raw, &gbdt.Model{}) },
	},
	"rf": {
		describe: "random forest (bootstrap, √p features per node)",
		trainer: func(p Params, log func(string, ...any)) ml.Trainer {
			return forest.New(forestOptions(forest.DefaultOptions(), p, log))
		},
		decode: func(raw json.RawMessage) (ml.Classifier, error) { return decodeInto(raw, &forest.Model{}) },
	},
	"et": {
		describe: "extra trees (random cuts, no bootstrap)",
		trainer: func(p Params, log func(string, ...any)) ml.Trainer {
			return forest.New(forestOptions(forest.ExtraTreesOptions(), p, log))
		},
		decode: func(raw json.RawMessage) (ml.Classifier, error) { return decodeInto(raw, &forest.Model{}) },
	},
	"logreg": {
		describe: "multinomial logistic regression (L2, L-BFGS)",
		trainer: func(p Params, _ func(string, ...any)) ml.Trainer {
			return linear.Trainer{L2: p.L2, Workers: p.Threads}
		},
		decode: func(raw json.RawMessage) (ml.Classifier, error) { return decodeInto(raw, &linear.Model{}) },
	},
	"knn": {
		describe: "exact k-nearest neighbours",
		trainer: func(p Params, _ func(string, ...any)) ml.Trainer {
			t := knn.Trainer{K: cmp.Or(p.K, 5), Metric: knn.Metric(cmp.Or(p.Metric, "euclidean")),
				Weights: knn.Weighting(cmp.Or(p.Weights, "uniform")), Standardize: true}
			return t
		},
		decode:     func(raw json.RawMessage) (ml.Classifier, error) { return decodeInto(raw, &knn.Model{}) },
		unweighted: true,
	},
}

func forestOptions(o forest.Options, p Params, log func(string, ...any)) forest.Options {
	o.Trees = cmp.Or(p.Trees, o.Trees)
	o.MaxDepth = cmp.Or(p.Depth, o.MaxDepth)
	o.MaxLeaves = cmp.Or(p.Leaves, o.MaxLeaves)
	o.Threads, o.Seed = p.Threads, p.Seed
	if log != nil {
		o.Progress = func(done, total int) {
			if done%25 == 0 || done == total {
				log("trees %d/%d", done, total)
			}
		}
	}
	return o
}

// Algorithms names the algorithms flowguard trains.
func Algorithms() []string {
	names := make([]string, 0, len(algorithms))
	for n := range algorithms {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func lookup(name string) (algorithm, error) {
	a, ok := algorithms[name]
	if !ok {
		return a, fmt.Errorf("unknown algorithm %q (want one of %s)", name, strings.Join(Algorithms(), ", "))
	}
	return a, nil
}

func decodeClassifier(name string, raw json.RawMessage) (ml.Classifier, error) {
	a, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s artifact has no model data", name)
	}
	return a.decode(raw)
}
