package detect

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/flowmeter"
	"github.com/flowguard/flowguard/internal/model"
)

// Sink receives batches of alerts.
type Sink interface {
	Send(ctx context.Context, alerts []alert.Alert) error
}

// Config sets up a Detector.
type Config struct {
	// Model is the classifier; nil runs the anomaly model alone.
	Model     *model.Artifact
	ModelName string // shown in alerts; default the algorithm
	Profile   *flowmeter.Profile
	Source    string // file, interface or upload the flows come from
	Job       string
	// TopFeatures is how many contributing features an alert lists
	// (default 5).
	TopFeatures int
	// Batch is how many alerts are sent to the sink at once (default 256);
	// Flush sends the rest.
	Batch int
	// Anomaly, when set, is an anomaly model (model.AlgoIForest) scored
	// beside Model on every flow. A flow it flags that the classifier
	// does not alert on raises an alert of Kind "anomaly"; a flow both
	// flag raises one classifier alert carrying the anomaly verdict too.
	Anomaly     *model.Artifact
	AnomalyName string // shown in alerts; default the algorithm
}

// Stats counts what a Detector did. It is safe to read while the detector
// runs.
type Stats struct {
	Flows, Alerts atomic.Int64
	// Anomalies counts flows the anomaly model flagged (alerted on alone
	// or with the classifier).
	Anomalies atomic.Int64
}

// Detector scores every flow it is given and sends alerts to its sink. It
// is meant to be the flow meter's emit function: not safe for concurrent
// use.
type Detector struct {
	cfg     Config
	scorer  *Scorer
	anomaly *AnomalyScorer // nil without an anomaly model
	sink    Sink
	batch   []alert.Alert
	err     error
	prefix  string
	seq     uint64
	// inProgress marks the flows being scored as not ended yet (live
	// early verdicts).
	inProgress bool
	Stats      Stats
}

// New returns a Detector; it fails when the model cannot read the profile's
// flows.
func New(cfg Config, sink Sink) (*Detector, error) {
	if cfg.Model == nil && cfg.Anomaly == nil {
		return nil, errors.New("detector: no model: give a classifier, an anomaly model or both")
	}
	var s *Scorer
	var err error
	if cfg.Model != nil {
		if s, err = NewScorer(cfg.Model, cfg.Profile); err != nil {
			return nil, err
		}
	}
	if cfg.TopFeatures == 0 {
		cfg.TopFeatures = 5
	}
	if cfg.Batch == 0 {
		cfg.Batch = 256
	}
	if cfg.ModelName == "" && cfg.Model != nil {
		cfg.ModelName = cfg.Model.Algorithm
	}
	var as *AnomalyScorer
	if cfg.Anomaly != nil {
		if as, err = NewAnomalyScorer(cfg.Anomaly, cfg.Profile); err != nil {
			return nil, fmt.Errorf("anomaly model: %w", err)
		}
		if cfg.AnomalyName == "" {
			cfg.AnomalyName = cfg.Anomaly.Algorithm
		}
	}
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("alert id prefix: %w", err)
	}
	return &Detector{cfg: cfg, scorer: s, anomaly: as, sink: sink, prefix: hex.EncodeToString(r[:])}, nil
}

// Flow scores one finished flow and reports whether it raised an alert.
// Errors from the sink are kept and returned by Flush; scoring goes on.
func (d *Detector) Flow(ctx context.Context, f *flowmeter.Flow) bool {
	d.Stats.Flows.Add(1)
	var v Verdict
	if d.scorer != nil {
		v = d.scorer.Score(f)
	}
	var av *model.AnomalyVerdict
	if d.anomaly != nil {
		if x := d.anomaly.Score(f); x.Alert {
			av = &x
			d.Stats.Anomalies.Add(1)
		}
	}
	if !v.Alert && av == nil {
		return false
	}
	d.Stats.Alerts.Add(1)
	var a alert.Alert
	if v.Alert {
		a = d.alert(f, v, av)
	} else {
		a = d.anomalyAlert(f, *av)
	}
	a.Flowguard.Early = d.inProgress
	d.batch = append(d.batch, a)
	if len(d.batch) >= d.cfg.Batch {
		d.send(ctx)
	}
	return true
}

// Flush sends the alerts not sent yet and reports the first sink error.
func (d *Detector) Flush(ctx context.Context) error {
	d.send(ctx)
	return d.err
}

func (d *Detector) send(ctx context.Context) {
	if len(d.batch) == 0 {
		return
	}
	if err := d.sink.Send(ctx, d.batch); err != nil && d.err == nil {
		d.err = fmt.Errorf("send alerts: %w", err)
	}
	d.batch = d.batch[:0]
}

// base is what every alert says of its flow.
func (d *Detector) base(f *flowmeter.Flow) alert.Alert {
	d.seq++
	cid := string(f.AppendCommunityID(nil))
	return alert.Alert{
		ID:          fmt.Sprintf("%s-%08x", d.prefix, d.seq),
		Timestamp:   time.UnixMicro(f.LastSeen).UTC(),
		EventType:   "alert",
		FlowID:      alert.FlowID(cid),
		CommunityID: cid,
		SrcIP:       f.Src.Addr(f.IsIPv6()).String(),
		SrcPort:     int(f.SrcPort),
		DestIP:      f.Dst.Addr(f.IsIPv6()).String(),
		DestPort:    int(f.DstPort),
		Proto:       alert.ProtoName(f.Proto),
		Alert:       alert.Info{Action: "allowed", GID: 1, Rev: 1},
		Flowguard: alert.Detail{
			Profile:   d.cfg.Profile.Name,
			FlowStart: time.UnixMicro(f.Start).UTC(),
			FlowEnd:   time.UnixMicro(f.LastSeen).UTC(),
			Packets:   f.Packets(),
			Bytes:     f.Bytes(),
			Source:    d.cfg.Source,
			Job:       d.cfg.Job,
		},
	}
}

// alert is a classifier alert; av, when not nil, is the anomaly model's
// verdict on the same flow, carried along.
func (d *Detector) alert(f *flowmeter.Flow, v Verdict, av *model.AnomalyVerdict) alert.Alert {
	a := d.cfg.Model
	class := a.Schema.Classes[v.Class]
	thr := 0.0
	if a.Threshold != nil {
		thr = a.Threshold.Value
	}
	out := d.base(f)
	out.Alert.SignatureID = signatureID(v.Class)
	out.Alert.Signature = fmt.Sprintf("flowguard %s: %s", d.cfg.ModelName, class)
	out.Alert.Category = class
	out.Alert.Severity = alert.Severity(v.Score, thr)
	fg := &out.Flowguard
	fg.Kind, fg.Model, fg.ModelVersion = "classifier", d.cfg.ModelName, a.Training.DataFingerprint
	fg.Class, fg.Score, fg.Threshold = class, v.Score, thr
	for _, c := range d.scorer.TopFeatures(d.cfg.TopFeatures) {
		fg.Features = append(fg.Features, alert.Feature{Name: c.Name, Value: c.Value, Contribution: c.Weight})
	}
	if av != nil {
		fg.Anomaly = d.anomalyDetail(*av)
	}
	return out
}

// signatureID gives each class its own stable signature number in a range
// far from Suricata's rule IDs.
func signatureID(class int) int { return 9_100_000 + class }
