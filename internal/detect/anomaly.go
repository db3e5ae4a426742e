package detect

import (
	"fmt"
	"sort"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/flowmeter"
	"github.com/flowguard/flowguard/internal/model"
)

// AnomalyScorer computes an anomaly model's verdict on a flow: the
// isolation-forest score against the threshold calibrated on benign
// flows, and the nearest normal profile. It is not safe for concurrent
// use: it reuses its buffers.
type AnomalyScorer struct {
	art  *model.Artifact
	cols []*flowmeter.Column
	x, z []float64
	last model.AnomalyVerdict
}

// NewAnomalyScorer maps an anomaly model's features onto the profile's
// columns, as NewScorer does for a classifier.
func NewAnomalyScorer(a *model.Artifact, pr *flowmeter.Profile) (*AnomalyScorer, error) {
	if !a.IsAnomalyModel() {
		return nil, fmt.Errorf("model %s is not an anomaly model (train one with --algo %s)", a.Algorithm, model.AlgoIForest)
	}
	cols, err := profileColumns(a, pr)
	if err != nil {
		return nil, err
	}
	n := len(a.Schema.Features)
	return &AnomalyScorer{art: a, cols: cols, x: make([]float64, n), z: make([]float64, n)}, nil
}

// Score scores flow f.
func (s *AnomalyScorer) Score(f *flowmeter.Flow) model.AnomalyVerdict {
	for i, c := range s.cols {
		s.x[i] = c.Value(f).Float()
	}
	s.art.Clean(s.x)
	s.last = s.art.ScoreAnomaly(s.x, s.z)
	return s.last
}

// TopFeatures ranks the last scored flow's features by their share of
// the squared distance to the nearest normal profile (in the model's
// standardised space): the features in which the flow differs most from
// the normal traffic it most resembles.
func (s *AnomalyScorer) TopFeatures(n int) []Contribution {
	c := s.art.Anomaly.Profiles[s.last.Profile].Centroid
	total := s.last.Distance * s.last.Distance
	out := make([]Contribution, len(s.x))
	for i, v := range s.x {
		d := s.z[i] - c[i]
		w := 0.0
		if total > 0 {
			w = d * d / total
		}
		out[i] = Contribution{Name: s.art.Schema.Features[i], Value: v, Weight: w}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Weight > out[j].Weight })
	return out[:min(n, len(out))]
}

// anomalySignatureID is the signature of anomaly alerts, apart from the
// classifier's per-class range.
const anomalySignatureID = 9_199_999

// anomalyAlert is the alert for a flow only the anomaly model flagged.
// Its top features are those that set the flow apart from its nearest
// normal profile.
func (d *Detector) anomalyAlert(f *flowmeter.Flow, av model.AnomalyVerdict) alert.Alert {
	out := d.base(f)
	out.Alert.SignatureID = anomalySignatureID
	out.Alert.Signature = "flowguard anomaly: unusual flow"
	out.Alert.Category = "Anomaly"
	out.Alert.Severity = alert.Severity(av.Score, d.cfg.Anomaly.Threshold.Value)
	fg := &out.Flowguard
	fg.Kind, fg.Model, fg.ModelVersion = "anomaly", d.cfg.AnomalyName, d.cfg.Anomaly.Training.DataFingerprint
	fg.Class, fg.Score, fg.Threshold = "anomaly", av.Score, d.cfg.Anomaly.Threshold.Value
	fg.Anomaly = d.anomalyDetail(av)
	for _, c := range d.anomaly.TopFeatures(d.cfg.TopFeatures) {
		fg.Features = append(fg.Features, alert.Feature{Name: c.Name, Value: c.Value, Contribution: c.Weight})
	}
	return out
}

func (d *Detector) anomalyDetail(av model.AnomalyVerdict) *alert.Anomaly {
	return &alert.Anomaly{Model: d.cfg.AnomalyName, Score: av.Score, Threshold: d.cfg.Anomaly.Threshold.Value,
		NearestProfile: av.Profile, ProfileDistance: av.Distance, ProfileRadius: av.Radius}
}
