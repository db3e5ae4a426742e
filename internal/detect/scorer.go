// Package detect is the detection pipeline: flows from the flow meter are
// turned into the feature vectors a trained model reads, scored, and the
// flows over the model's alert threshold become alerts. The same pipeline
// serves files (flowguard detect), uploads and live capture.
package detect

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/flowguard/flowguard/internal/dataset"
	"github.com/flowguard/flowguard/internal/flowmeter"
	"github.com/flowguard/flowguard/internal/model"
)

// schemeOf names the naming scheme of schema.csv that a flow-meter
// profile's columns use.
var schemeOf = map[string]string{"cic2017": "cse-cic-ids2018", "engelen": "engelen"}

// Scorer computes a model's verdict on a flow. It is not safe for
// concurrent use: it reuses its buffers.
type Scorer struct {
	art   *model.Artifact
	cols  []*flowmeter.Column // profile column of each model feature
	x     []float64
	proba []float64
	// scale normalises feature deviations for the top-feature heuristic.
	median, scale []float64
	importance    []float64
}

// NewScorer maps the model's features onto the profile's columns. It fails
// when the profile does not compute a feature the model reads, naming them
// all, and when the model was trained on another profile's semantics.
func NewScorer(a *model.Artifact, pr *flowmeter.Profile) (*Scorer, error) {
	if a.IsAnomalyModel() {
		return nil, fmt.Errorf("model %s is an anomaly model: give it as the anomaly model (--anomaly-model), beside a classifier", a.Algorithm)
	}
	cols, err := profileColumns(a, pr)
	if err != nil {
		return nil, err
	}
	s := &Scorer{art: a, cols: cols, x: make([]float64, len(a.Schema.Features)), proba: make([]float64, len(a.Schema.Classes))}
	p := &a.Preprocess
	for i := range a.Schema.Features {
		s.median = append(s.median, p.NaN[i])
		s.scale = append(s.scale, math.Max(p.PosInf[i]-p.NegInf[i], 1e-12))
	}
	s.importance = a.Importance()
	return s, nil
}

// profileColumns maps a model's features onto the profile's columns.
func profileColumns(a *model.Artifact, pr *flowmeter.Profile) ([]*flowmeter.Column, error) {
	if a.Schema.Profile != "" && a.Schema.Profile != "mixed" && a.Schema.Profile != pr.Name {
		return nil, fmt.Errorf("model %s was trained on %s features; meter the traffic with --profile %s",
			a.Algorithm, a.Schema.Profile, a.Schema.Profile)
	}
	scheme, ok := schemeOf[pr.Name]
	if !ok {
		return nil, fmt.Errorf("profile %s has no feature naming scheme", pr.Name)
	}
	byName := map[string]*flowmeter.Column{}
	for i := range pr.Columns {
		byName[strings.ToLower(pr.Columns[i].Name)] = &pr.Columns[i]
	}
	col := map[string]*flowmeter.Column{}
	for _, c := range dataset.Columns() {
		for _, n := range c.Names[scheme] {
			if pc, ok := byName[strings.ToLower(n)]; ok && pc.Kind != flowmeter.KindText {
				col[c.ID] = pc
			}
		}
	}
	var cols []*flowmeter.Column
	var missing []string
	for _, f := range a.Schema.Features {
		c, ok := col[f]
		if !ok {
			missing = append(missing, f)
		}
		cols = append(cols, c)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: profile %s does not compute %v", model.ErrSchema, pr.Name, missing)
	}
	return cols, nil
}

// Verdict is a model's answer for one flow.
type Verdict struct {
	Class int
	Prob  float64 // probability of Class
	Score float64 // attack score 1 − P(benign); 0 without a benign class
	Alert bool
}

// Score scores flow f.
func (s *Scorer) Score(f *flowmeter.Flow) Verdict {
	for i, c := range s.cols {
		s.x[i] = c.Value(f).Float()
	}
	s.art.Clean(s.x)
	s.art.Classifier().PredictProba(s.x, s.proba)
	v := Verdict{}
	for k, p := range s.proba {
		if p > s.proba[v.Class] {
			v.Class = k
		}
	}
	v.Prob = s.proba[v.Class]
	if b := s.art.Schema.Benign; b >= 0 {
		v.Score = 1 - s.proba[b]
		if t := s.art.Threshold; t != nil {
			v.Alert = v.Score >= t.Value
		} else {
			v.Alert = v.Class != b
		}
	}
	return v
}

// TopFeatures ranks the last scored flow's features by importance times
// how far the value lies from the training median, relative to the
// training range: a cheap, model-agnostic pointer to what made the flow
// unusual, not an exact attribution.
func (s *Scorer) TopFeatures(n int) []Contribution {
	out := make([]Contribution, len(s.x))
	for i, v := range s.x {
		w := 1.0
		if s.importance != nil {
			w = s.importance[i]
		}
		out[i] = Contribution{Name: s.art.Schema.Features[i], Value: v, Weight: w * math.Abs(v-s.median[i]) / s.scale[i]}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Weight > out[j].Weight })
	return out[:min(n, len(out))]
}

// Contribution is one feature's share in TopFeatures.
type Contribution struct {
	Name   string
	Value  float64
	Weight float64
}
