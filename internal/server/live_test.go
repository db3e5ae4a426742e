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

	// metric reads one of the capture's series from /metrics, -1 while
	// the capture has none.
	metric := func(name string) int {
		_, _, b := do(t, "GET", ts.url+"/metrics", "", nil, "")
		m := regexp.MustCompile(`(?m)^` + name + `\{interface="` + link.Outer + `"\} (\d+)`).FindSubmatch(b)
		if m == nil {
			return -1
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	packets := func() int { return metric("flowguard_capture_packets_total") }
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
		// The capture looks at the active model every second and takes
		// it over at its next tick (250 ms).
		time.Sleep(2500 * time.Millisecond)
	}
	first, second := upload("first"), upload("second")

	waitFor("the live capture", func() bool { return packets() >= 0 })
	activate(first)
	// A replay is done when the capture has read its frames and every
	// flow has ended (2 s idle timeout): the alerts are stored by then.
	replayed := func(frames int) func() bool {
		return func() bool { return packets() >= frames && metric("flowguard_live_open_flows") == 0 }
	}
	sent := link.Replay(t, path, 20)
	waitFor("the first replay's flows to end", replayed(sent))
	one := byModel()

	activate(second)
	link.Replay(t, path, 20)
	// The capture's packet counter covers both replays only if it was
	// handed the new model rather than restarted.
	waitFor("the second replay's flows to end, counted on the same capture", replayed(2*sent))
	two := byModel()

	if one[second] != 0 || len(one) != 1 {
		t.Errorf("alerts of the first replay by model: %v, want only %s", one, first)
	}
	if one[first] == 0 || two[first] != one[first] || two[second] == 0 || len(two) != 2 {
		t.Errorf("alerts after the switch by model: %v (before: %v)", two, one)
	}
	t.Logf("alerts by model: first replay %v, both %v; %d packets captured for 2 × %d sent", one, two, packets(), sent)
}
