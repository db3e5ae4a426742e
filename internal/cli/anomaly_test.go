package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestAnomalyTrainEvalDetect trains the flow anomaly detector with
// `flowguard train --algo iforest` on the benign rows of the shared
// CIC-IDS2017 flows, evaluates it per attack class with `flowguard eval`,
// and runs it beside the embedded classifier with `flowguard detect
// --anomaly-model` on a SYN scan capture.
func TestAnomalyTrainEvalDetect(t *testing.T) {
	s := sharedData(t, "flows/cic-ids2017")
	var data []string
	for _, d := range []string{"lccde-sample", "machinelearningcve-heads", "rdube-machinelearningcve-heads", "trafficlabelling-attack-extracts", "trafficlabelling-heads"} {
		data = append(data, filepath.Join(s, d))
	}
	dir := t.TempDir()
	m := filepath.Join(dir, "anomaly.model")
	out, stderr, code := run(t, nil, "train", "-q", "--algo", "iforest", "--target-fpr", "0.01", "--data", strings.Join(data, ","),
		"--runs-dir", dir, "-o", m)
	if code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	if !strings.Contains(out, "all attacks") || !strings.Contains(out, "WebAttack") {
		t.Errorf("train output lacks the per-class table:\n%s", out)
	}
	t.Logf("train:\n%s", out)

	out, stderr, code = run(t, nil, "eval", "--json", "--model", m, "--data", filepath.Join(s, "lccde-sample"))
	if code != 0 {
		t.Fatalf("eval: %s", stderr)
	}
	var rep struct {
		ROCAUC   float64 `json:"roc_auc"`
		FPR      float64 `json:"benign_false_alert_rate"`
		PerClass []struct {
			Class  string   `json:"class"`
			ROCAUC *float64 `json:"roc_auc"`
			Recall *float64 `json:"recall"`
		} `json:"per_class"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, out)
	}
	if len(rep.PerClass) != 6 || !(rep.ROCAUC > 0.6) {
		t.Errorf("eval on the sample: ROC-AUC %.4f, %d attack classes (want 6)", rep.ROCAUC, len(rep.PerClass))
	}
	for _, c := range rep.PerClass {
		if c.ROCAUC == nil || c.Recall == nil {
			t.Errorf("class %s: ROC-AUC or recall missing", c.Class)
		}
	}

	out, stderr, code = run(t, nil, "detect", "--anomaly-model", m, sharedPcap(t, "ppa2e_synscan"))
	if code != 0 {
		t.Fatalf("detect: %s", stderr)
	}
	anomalies := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var eve struct {
			Alert struct {
				Signature string `json:"signature"`
				Category  string `json:"category"`
			} `json:"alert"`
			Flowguard struct {
				Kind    string `json:"kind"`
				Anomaly *struct {
					Score           float64  `json:"score"`
					Threshold       float64  `json:"threshold"`
					NearestProfile  *int     `json:"nearest_profile"`
					ProfileDistance *float64 `json:"profile_distance"`
				} `json:"anomaly"`
			} `json:"flowguard"`
		}
		if err := json.Unmarshal([]byte(l), &eve); err != nil {
			t.Fatalf("not EVE JSON: %v: %s", err, l)
		}
		if eve.Flowguard.Kind != "anomaly" {
			continue
		}
		anomalies++
		an := eve.Flowguard.Anomaly
		if eve.Alert.Category != "Anomaly" || eve.Alert.Signature != "flowguard anomaly: unusual flow" || an == nil ||
			an.NearestProfile == nil || an.ProfileDistance == nil || an.Score <= an.Threshold {
			t.Errorf("malformed anomaly alert %s", l)
		}
	}
	if anomalies == 0 {
		t.Errorf("no anomaly alert for the SYN scan; stderr %s", stderr)
	}
	if !strings.Contains(stderr, "flows anomalous") {
		t.Errorf("summary does not count anomalies: %s", stderr)
	}
	// An anomaly model given as --model runs alone: anomaly alerts only.
	out, stderr, code = run(t, nil, "detect", "--model", m, sharedPcap(t, "ppa2e_synscan"))
	if code != 0 || !strings.Contains(stderr, "alone") {
		t.Fatalf("anomaly model alone: exit %d: %s", code, stderr)
	}
	if n := strings.Count(out, `"kind":"anomaly"`); n == 0 || n != strings.Count(out, "\n") {
		t.Errorf("anomaly model alone: %d anomaly alerts in %d lines", n, strings.Count(out, "\n"))
	}
	// ... but not beside another anomaly model.
	if _, stderr, code = run(t, nil, "detect", "--model", m, "--anomaly-model", m, sharedPcap(t, "ppa2e_synscan")); code == 0 || !strings.Contains(stderr, "anomaly model") {
		t.Errorf("two anomaly models accepted: %s", stderr)
	}
}
