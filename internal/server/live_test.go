package server

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/detect"
	"github.com/flowguard/flowguard/internal/detect/defaultmodel"
	"github.com/flowguard/flowguard/internal/flowmeter"
	"github.com/flowguard/flowguard/internal/sniff"
	"github.com/flowguard/flowguard/internal/sniff/snifftest"
)

// TestLiveModelSwitch runs serve --interface on a veth pair, replays the
// genuine CIC-IDS2017 SQL-injection capture into it, activates another
// model of the same flow-meter profile and replays it again: the second
// replay's alerts come from the new model, and the capture was handed
// over, not restarted (its packet counter holds both replays).
func TestLiveModelSwitch(t *testing.T) {
	link := snifftest.NewLink(t)
	path := shared(t, "golden/pcap/cicids2017_webattack_sqlinj.pcap")
	ts := start(t, Config{Interface: link.Outer,
		Capture: sniff.Config{Live: detect.LiveConfig{Meter: flowmeter.Config{IdleTimeout: 2 * time.Second}}}})

	captured := regexp.MustCompile(`(?m)^flowguard_capture_packets_total\{interface="` + link.Outer + `"\} (\d+)`)
	packets := func() int {
		_, _, b := do(t, "GET", ts.url+"/metrics", "", nil, "")
		m := captured.FindSubmatch(b)
		if m == nil {
			return -1
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(200 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	byModel := func() map[string]int {
		_, _, b := do(t, "GET", ts.url+"/v1/alerts?limit=1000", "", nil, "")
		m := map[string]int{}
		for _, a := range decode[struct{ Alerts []alert.Alert }](t, b).Alerts {
			m[a.Flowguard.Model]++
		}
		return m
	}

	// Two copies of the default model that alert on every flow (alert
	// threshold 0), so that each replay gives alerts whatever the replay's
	// timing does to the features.
	upload := func(name string) string {
		t.Helper()
		a, err := defaultmodel.Load()
		if err != nil {
			t.Fatal(err)
		}
		a.Threshold.Value = 0
		a.Created = time.Now().UTC() // two files, two registry entries
		var buf bytes.Buffer
		if err := a.Write(&buf); err != nil {
			t.Fatal(err)
		}
		code, _, body := do(t, "POST", ts.url+"/v1/models?name="+name, "application/octet-stream", &buf, testToken)
		if code != 201 {
			t.Fatalf("upload model: %d %s", code, body)
		}
		return decode[ModelInfo](t, body).ID
	}
	activate := func(id string) {
		t.Helper()
		if code, _, body := do(t, "POST", ts.url+"/v1/models/"+id+"/activate", "", nil, testToken); code != 200 {
			t.Fatalf("activate: %d %s", code, body)
		}
		time.Sleep(1500 * time.Millisecond) // the capture looks at the active model every second
	}
	first, second := upload("first"), upload("second")

	waitFor("the live capture", func() bool { return packets() >= 0 })
	activate(first)
	sent := link.Replay(t, path, 20)
	waitFor("alerts of the first model", func() bool { return byModel()[first] > 0 })
	time.Sleep(3 * time.Second) // the replay's last flows end by the 2 s idle timeout
	one := byModel()

	activate(second)
	link.Replay(t, path, 20)
	waitFor("alerts of the second model", func() bool { return byModel()[second] > 0 })
	time.Sleep(3 * time.Second)
	two := byModel()

	if one[second] != 0 || len(one) != 1 {
		t.Errorf("alerts of the first replay by model: %v, want only %s", one, first)
	}
	if two[first] != one[first] || len(two) != 2 {
		t.Errorf("alerts after the switch by model: %v (before: %v)", two, one)
	}
	if n := packets(); n < 2*sent {
		t.Errorf("capture counted %d packets for two replays of %d: it was restarted", n, sent)
	}
	t.Logf("alerts by model: first replay %v, both %v; %d packets captured for 2 × %d sent", one, two, packets(), sent)
}
