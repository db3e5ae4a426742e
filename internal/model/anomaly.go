package model

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/anomaly"
	"github.com/flowguard/flowguard/internal/ml/cluster"
)

// AlgoIForest is the algorithm of anomaly-detector artifacts: an isolation
// forest fitted on benign flows only, with normal profiles. Its artifact
// has an Anomaly section and no classifier.
const AlgoIForest = "iforest"

// Transforms an anomaly section may apply before standardising.
const (
	TransformNone  = "none"
	TransformLog1p = "log1p" // sign(x)·ln(1+|x|), which tames heavy-tailed counts and sizes
)

// Anomaly is the part of an anomaly-detector artifact that scoring needs
// besides the forest (in Model) and the threshold (in Threshold, where an
// anomaly model alerts when the score is strictly above Value). A row is
// cleaned with Preprocess, transformed, then standardised: z = (t − Center)
// / Scale. The forest and the profiles live in that z space.
type Anomaly struct {
	Transform string    `json:"transform"`
	Center    []float64 `json:"center"`
	Scale     []float64 `json:"scale"`
	// Profiles are k-means centroids of the benign fitting rows: the
	// normal traffic shapes an alert is compared with.
	Profiles []Profile `json:"profiles"`
}

// Profile is one normal profile.
type Profile struct {
	Centroid []float64 `json:"centroid"` // in z space
	Size     int       `json:"size"`     // benign fitting rows nearest to it
	// Radius is the 95th percentile of those rows' distances to the
	// centroid, so a distance can be read against what is usual there.
	Radius float64 `json:"radius"`
}

func (s *Anomaly) validate(n int) error {
	switch {
	case s.Transform != TransformNone && s.Transform != TransformLog1p:
		return fmt.Errorf("anomaly: unknown transform %q", s.Transform)
	case len(s.Center) != n || len(s.Scale) != n:
		return fmt.Errorf("anomaly: %d centres and %d scales for %d features", len(s.Center), len(s.Scale), n)
	case len(s.Profiles) == 0:
		return fmt.Errorf("anomaly: no normal profiles")
	}
	for i := range n {
		if !finite(s.Center[i]) || !finite(s.Scale[i]) || !(s.Scale[i] > 0) {
			return fmt.Errorf("anomaly: feature %d centre %v scale %v", i, s.Center[i], s.Scale[i])
		}
	}
	for p, pr := range s.Profiles {
		if len(pr.Centroid) != n {
			return fmt.Errorf("anomaly: profile %d has %d values for %d features", p, len(pr.Centroid), n)
		}
		for _, v := range pr.Centroid {
			if !finite(v) {
				return fmt.Errorf("anomaly: profile %d centroid holds %v", p, v)
			}
		}
		if pr.Size < 0 || !finite(pr.Radius) || pr.Radius < 0 {
			return fmt.Errorf("anomaly: profile %d size %d radius %v", p, pr.Size, pr.Radius)
		}
	}
	return nil
}

// validateAnomaly checks an anomaly artifact: section, forest and
// threshold; it sets the decoded forest and the profile matrix.
func (a *Artifact) validateAnomaly(n int) error {
	if a.Anomaly == nil {
		return fmt.Errorf("%s artifact has no anomaly section", a.Algorithm)
	}
	if err := a.Anomaly.validate(n); err != nil {
		return err
	}
	if a.Threshold == nil {
		return fmt.Errorf("%s artifact has no threshold", a.Algorithm)
	}
	if a.Schema.Benign < 0 {
		return fmt.Errorf("%w: %s artifact names no benign class", ErrSchema, a.Algorithm)
	}
	if len(a.Model) == 0 {
		return fmt.Errorf("%s artifact has no model data", a.Algorithm)
	}
	var f anomaly.IsolationForest
	if err := json.Unmarshal(a.Model, &f); err != nil {
		return fmt.Errorf("decode model data: %w", err)
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("invalid model data: %w", err)
	}
	if f.Features != n {
		return fmt.Errorf("%w: isolation forest reads %d features, schema says %d", ErrSchema, f.Features, n)
	}
	f.Threshold = a.Threshold.Value
	prof := ml.NewMatrix(len(a.Anomaly.Profiles), n)
	for p, pr := range a.Anomaly.Profiles {
		copy(prof.Row(p), pr.Centroid)
	}
	a.forest, a.profiles = &f, prof
	return nil
}

// IsAnomalyModel reports whether the artifact is an anomaly detector
// (no classifier; score with ScoreAnomaly).
func (a *Artifact) IsAnomalyModel() bool { return a.Anomaly != nil }

// Standardize writes the z-space image of the cleaned row x (schema
// order) to z.
func (a *Artifact) Standardize(x, z []float64) {
	s := a.Anomaly
	for i, v := range x {
		if s.Transform == TransformLog1p {
			v = log1p(v)
		}
		z[i] = (v - s.Center[i]) / s.Scale[i]
	}
}

func log1p(v float64) float64 {
	if v < 0 {
		return -math.Log1p(-v)
	}
	return math.Log1p(v)
}

// AnomalyVerdict is an anomaly model's answer for one row.
type AnomalyVerdict struct {
	Score float64 // isolation-forest score in (0, 1]; higher is more unusual
	Alert bool    // Score > the calibrated threshold
	// Profile is the nearest normal profile, Distance the Euclidean
	// distance to its centroid in z space and Radius that profile's
	// usual spread (95th percentile of its own rows).
	Profile  int
	Distance float64
	Radius   float64
}

// ScoreAnomaly scores the cleaned row x (schema order); z is scratch of
// the same length. The artifact must be an anomaly model.
func (a *Artifact) ScoreAnomaly(x, z []float64) AnomalyVerdict {
	a.Standardize(x, z)
	v := AnomalyVerdict{Score: a.forest.Score(z)}
	v.Alert = v.Score > a.Threshold.Value
	v.Profile, v.Distance = cluster.Nearest(a.profiles, z)
	v.Radius = a.Anomaly.Profiles[v.Profile].Radius
	return v
}
