package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDetectEmbeddedModel runs `flowguard detect` with the embedded model
// on the genuine CIC-IDS2017 SQL-injection capture (every connection in it
// is the attack) and on benign synthetic traffic.
func TestDetectEmbeddedModel(t *testing.T) {
	out, stderr, code := run(t, nil, "detect", sharedPcap(t, "cicids2017_webattack_sqlinj"))
	if code != 0 {
		t.Fatalf("detect: %s", stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 10 {
		t.Fatalf("%d alerts for the 16 attack flows of the capture; stderr %s", len(lines), stderr)
	}
	for _, l := range lines {
		var eve struct {
			Timestamp   string `json:"timestamp"`
			EventType   string `json:"event_type"`
			FlowID      uint64 `json:"flow_id"`
			CommunityID string `json:"community_id"`
			SrcIP       string `json:"src_ip"`
			DestIP      string `json:"dest_ip"`
			DestPort    int    `json:"dest_port"`
			Proto       string `json:"proto"`
			Alert       struct {
				Signature string `json:"signature"`
				Category  string `json:"category"`
				Severity  int    `json:"severity"`
			} `json:"alert"`
			Flowguard struct {
				Class     string  `json:"class"`
				Score     float64 `json:"score"`
				Threshold float64 `json:"threshold"`
				Features  []any   `json:"top_features"`
			} `json:"flowguard"`
		}
		if err := json.Unmarshal([]byte(l), &eve); err != nil {
			t.Fatalf("not EVE JSON: %v: %s", err, l)
		}
		if eve.EventType != "alert" || eve.DestIP != "192.168.10.50" || eve.DestPort != 80 || eve.Proto != "TCP" ||
			eve.FlowID == 0 || !strings.HasPrefix(eve.CommunityID, "1:") || eve.Alert.Severity < 1 || eve.Alert.Severity > 3 {
			t.Errorf("unexpected alert %s", l)
		}
		if eve.Flowguard.Class != "WebAttack" || eve.Flowguard.Score < eve.Flowguard.Threshold || len(eve.Flowguard.Features) == 0 {
			t.Errorf("unexpected verdict %+v", eve.Flowguard)
		}
	}
	out, stderr, code = run(t, nil, "detect", sharedPcap(t, "synth_small"))
	if code != 0 || out != "" {
		t.Errorf("benign synthetic traffic: exit %d, %d alerts: %s", code, strings.Count(out, "\n"), stderr)
	}
}
