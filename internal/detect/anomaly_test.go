package detect

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/capture"
	"github.com/flowguard/flowguard/internal/detect/defaultmodel"
	"github.com/flowguard/flowguard/internal/flowmeter"
	"github.com/flowguard/flowguard/internal/model"
	"github.com/flowguard/flowguard/internal/sharedtest"
)

// sharedPath returns ../shared/rel, skipping the test without it.
func sharedPath(t *testing.T, rel string) string {
	t.Helper()
	return sharedtest.Path(t, rel)
}

// anomalyTestFPR is the benign false-alert rate the test model is
// calibrated for.
var anomalyTestFPR = 0.01

var (
	anomalyOnce  sync.Once
	anomalyModel *model.Artifact
	anomalyErr   error
)

// cicAnomalyModel trains the flow anomaly detector once on the benign rows
// of the shared CIC-IDS2017 flows (the sample and the day heads, as the
// default classifier is trained on).
func cicAnomalyModel(t *testing.T) *model.Artifact {
	t.Helper()
	base := sharedPath(t, "data/flows/cic-ids2017")
	anomalyOnce.Do(func() {
		var data []string
		for _, d := range []string{"lccde-sample", "machinelearningcve-heads", "rdube-machinelearningcve-heads",
			"trafficlabelling-attack-extracts", "trafficlabelling-heads"} {
			data = append(data, filepath.Join(base, d))
		}
		res, err := model.Train(context.Background(), model.Config{Data: data, Algorithms: []string{model.AlgoIForest},
			Params: model.Params{Seed: 1}, TargetFPR: anomalyTestFPR})
		if err != nil {
			anomalyErr = err
			return
		}
		anomalyModel = res.Artifact
	})
	if anomalyErr != nil {
		t.Fatal(anomalyErr)
	}
	return anomalyModel
}

// detectPcap meters a capture and runs a detector with the embedded
// classifier and the anomaly model over it.
func detectPcap(t *testing.T, pcap string, anom *model.Artifact) (*Detector, []alert.Alert) {
	t.Helper()
	clf, err := defaultmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	return detectWith(t, pcap, clf, anom)
}

// detectWith runs a detector with the given classifier and anomaly model
// (either may be nil) over a capture, as flowguard detect does.
func detectWith(t *testing.T, pcap string, clf, anom *model.Artifact) (*Detector, []alert.Alert) {
	t.Helper()
	trained := clf
	if trained == nil {
		trained = anom
	}
	pr := flowmeter.Profiles[trained.Schema.Profile]
	var sink alert.Buffer
	d, err := New(Config{Model: clf, Profile: pr, Source: pcap, Anomaly: anom, AnomalyName: "cic-iforest"}, &sink)
	if err != nil {
		t.Fatal(err)
	}
	r, err := capture.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	m, err := flowmeter.New(flowmeter.Config{Profile: pr}, func(f *flowmeter.Flow) { d.Flow(ctx, f) })
	if err != nil {
		t.Fatal(err)
	}
	if err := flowmeter.Run(ctx, r, m); err != nil {
		t.Fatal(err)
	}
	m.Flush()
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return d, sink.Alerts()
}

// TestDetectAnomalyBesideClassifier runs the embedded classifier with an
// anomaly model trained on benign CIC-IDS2017 flows over real attack
// captures and a benign one: anomaly verdicts appear, with the nearest
// normal profile, and one flow never raises two alerts.
func TestDetectAnomalyBesideClassifier(t *testing.T) {
	anom := cicAnomalyModel(t)
	// At FPR 1e-2 the model flags flows of the fragmented DNS amplification
	// (35 of 180) and the SYN scan (3 of 8); the slowloris, SQL-injection
	// and spoofed SYN-flood flows score like benign ones (measured
	// 2026-11-21: at most 0.57, 0.49 and 0.51 against a threshold of
	// 0.60), which the classifier must catch instead.
	for _, c := range []struct {
		pcap   string
		attack bool // anomalies expected
	}{
		{"pcaps/stopddos/amp.dns.RRSIG.fragmented.pcap", true},
		{"golden/pcap/ppa2e_synscan.pcap", true},
		{"golden/pcap/cicids2017_webattack_sqlinj.pcap", false},
		{"golden/pcap/ppa1e_http.pcap", false},
		{"golden/pcap/synth_small.pcap", false},
	} {
		t.Run(filepath.Base(c.pcap), func(t *testing.T) {
			d, alerts := detectPcap(t, sharedPath(t, c.pcap), anom)
			flows, anomalies := d.Stats.Flows.Load(), d.Stats.Anomalies.Load()
			kinds := map[string]int{}
			seen := map[string]bool{}
			for _, a := range alerts {
				kinds[a.Flowguard.Kind]++
				key := a.CommunityID + a.Flowguard.FlowStart.String()
				if seen[key] {
					t.Errorf("flow %s alerted twice", key)
				}
				seen[key] = true
				an := a.Flowguard.Anomaly
				switch a.Flowguard.Kind {
				case "anomaly":
					if an == nil || a.Alert.Category != "Anomaly" || a.Alert.Signature != "flowguard anomaly: unusual flow" ||
						a.Flowguard.Score <= a.Flowguard.Threshold || an.Score != a.Flowguard.Score || len(a.Flowguard.Features) == 0 {
						t.Errorf("malformed anomaly alert %+v %+v", a.Alert, a.Flowguard)
					}
				case "classifier":
				default:
					t.Errorf("alert kind %q", a.Flowguard.Kind)
				}
				if an != nil && (an.NearestProfile < 0 || an.NearestProfile >= len(anom.Anomaly.Profiles) ||
					!(an.ProfileDistance >= 0) || an.Score <= an.Threshold || an.Model != "cic-iforest") {
					t.Errorf("anomaly verdict %+v", an)
				}
			}
			t.Logf("%s: %d flows, %d anomalous, alerts %v", filepath.Base(c.pcap), flows, anomalies, kinds)
			if c.attack && anomalies == 0 {
				t.Errorf("no anomaly in %d flows of an attack capture", flows)
			}
			if !c.attack && float64(anomalies) > 0.02*float64(flows)+1 {
				t.Errorf("%d of %d benign flows flagged as anomalies", anomalies, flows)
			}
		})
	}
}

// TestAnomalyAlone runs the anomaly model without a classifier: every
// alert is an anomaly alert, one per flagged flow.
func TestAnomalyAlone(t *testing.T) {
	anom := cicAnomalyModel(t)
	d, alerts := detectWith(t, sharedPath(t, "golden/pcap/ppa2e_synscan.pcap"), nil, anom)
	if len(alerts) == 0 || int64(len(alerts)) != d.Stats.Anomalies.Load() {
		t.Fatalf("%d alerts for %d anomalies in %d flows", len(alerts), d.Stats.Anomalies.Load(), d.Stats.Flows.Load())
	}
	for _, a := range alerts {
		if a.Flowguard.Kind != "anomaly" || a.Flowguard.Anomaly == nil {
			t.Errorf("alert of kind %q without a classifier", a.Flowguard.Kind)
		}
	}
	if _, err := New(Config{Profile: flowmeter.Engelen}, &alert.Buffer{}); err == nil {
		t.Error("a detector without any model was built")
	}
}
