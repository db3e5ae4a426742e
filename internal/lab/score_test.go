package lab

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
)

func TestScore(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	flows := []LabelledFlow{
		{CommunityID: "1:a", Start: at(10), End: at(11), Label: "PortScan"},
		// The same 5-tuple again later: a second flow.
		{CommunityID: "1:a", Start: at(20), End: at(21), Label: "PortScan"},
		{CommunityID: "1:b", Start: at(12), End: at(12), Label: "PortScan"},
		{CommunityID: "1:c", Start: at(13), End: at(14), Label: "PortScan"},
		{CommunityID: "1:d", Start: at(5), End: at(30), Label: "BENIGN"},
		{CommunityID: "1:e", Start: at(6), End: at(7), Label: "BENIGN"},
		{CommunityID: "1:f", Start: at(8), End: at(9), Label: "BENIGN"},
		{CommunityID: "1:g", Start: at(8), End: at(9), Label: "BENIGN"},
	}
	mk := func(id string, flowStart, ts float64) alert.Alert {
		return alert.Alert{CommunityID: id, Timestamp: at(ts), Flowguard: alert.Detail{FlowStart: at(flowStart)}}
	}
	alerts := []alert.Alert{
		mk("1:a", 20.2, 22), // the second 1:a flow
		mk("1:a", 20.1, 23), // again: still one detected flow
		mk("1:b", 12, 12.5), // first alert on an attack flow
		mk("1:d", 5, 31),    // benign flow: false alert
		mk("1:z", 10, 15),   // no such flow: false alert
		mk("1:c", 40, 41),   // 1:c but far from its start: false alert
	}
	d := Score(flows, alerts, at(9), time.Second)
	if d.Alerts != 6 || d.Detected != 2 || d.FalseAlerts != 3 {
		t.Errorf("alerts %d detected %d false %d, want 6 2 3", d.Alerts, d.Detected, d.FalseAlerts)
	}
	if math.Abs(d.Recall-0.5) > 1e-12 {
		t.Errorf("recall %v, want 0.5", d.Recall)
	}
	if math.Abs(d.FalseAlertRate-0.75) > 1e-12 {
		t.Errorf("false alert rate %v, want 0.75", d.FalseAlertRate)
	}
	if d.FirstAlertSeconds == nil || math.Abs(*d.FirstAlertSeconds-3.5) > 1e-9 {
		t.Errorf("first alert %v, want 3.5", d.FirstAlertSeconds)
	}

	// The nearest flow start wins when two flows of one tuple are in
	// tolerance.
	near := []LabelledFlow{
		{CommunityID: "1:x", Start: at(10), Label: "BENIGN"},
		{CommunityID: "1:x", Start: at(10.8), Label: "DoS SYN flood"},
	}
	d = Score(near, []alert.Alert{mk("1:x", 10.7, 11)}, at(10.5), time.Second)
	if d.Detected != 1 || d.FalseAlerts != 0 {
		t.Errorf("nearest: detected %d false %d, want 1 0", d.Detected, d.FalseAlerts)
	}

	// A slow flow the live meter's idle timeout cut into pieces: an alert
	// on a piece starting inside the dataset's flow belongs to it.
	slow := []LabelledFlow{
		{CommunityID: "1:s", Start: at(10), End: at(40), Label: "DoS Slowhttptest"},
		{CommunityID: "1:s", Start: at(60), End: at(61), Label: "BENIGN"},
	}
	d = Score(slow, []alert.Alert{mk("1:s", 25, 31), mk("1:s", 45, 46), mk("1:u", 25, 31)}, at(10), time.Second)
	if d.Detected != 1 || d.FalseAlerts != 2 || d.Unmatched != 2 {
		t.Errorf("slow flow: detected %d false %d unmatched %d, want 1 2 2", d.Detected, d.FalseAlerts, d.Unmatched)
	}

	// No alerts, no attack flows: zeros and no first alert.
	d = Score(flows[4:], nil, time.Time{}, time.Second)
	if d.Detected != 0 || d.Recall != 0 || d.FalseAlerts != 0 || d.FirstAlertSeconds != nil {
		t.Errorf("empty: %+v", d)
	}
}

func TestLabelOf(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	att := netip.MustParseAddr("10.99.1.66")
	vic := netip.MustParseAddr("10.99.1.10")
	cli := netip.MustParseAddr("10.99.1.101")
	ws := []window{{Attacker: att, Start: t0.Add(3 * time.Second), End: t0.Add(10 * time.Second), Label: "PortScan"}}
	cases := []struct {
		a, b       netip.Addr
		start, end time.Duration
		want       string
	}{
		{att, vic, 4 * time.Second, 5 * time.Second, "PortScan"},
		{vic, att, 9 * time.Second, 15 * time.Second, "PortScan"}, // reply direction, overlapping the end
		{att, vic, 0, 3 * time.Second, "PortScan"},                // touching the start
		{att, vic, 0, 2 * time.Second, "BENIGN"},                  // before the step
		{att, vic, 11 * time.Second, 12 * time.Second, "BENIGN"},  // after it
		{cli, vic, 4 * time.Second, 5 * time.Second, "BENIGN"},    // not the attacker
	}
	for _, c := range cases {
		if got := labelOf(ws, c.a, c.b, t0.Add(c.start), t0.Add(c.end)); got != c.want {
			t.Errorf("%v→%v %v–%v: %q, want %q", c.a, c.b, c.start, c.end, got, c.want)
		}
	}
}

func TestScenariosParse(t *testing.T) {
	scs, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"benign", "hping3-icmp", "hping3-syn", "hping3-udp", "hydra-ftp", "hydra-ssh", "nmap-connect",
		"nmap-syn", "nmap-udp", "nmap-version", "slowloris", "slowpost", "sqlmap"}
	if len(scs) != len(want) {
		t.Fatalf("%d scenarios, want %d", len(scs), len(want))
	}
	for i, s := range scs {
		if s.Name != want[i] {
			t.Errorf("scenario %d: %s, want %s", i, s.Name, want[i])
		}
		steps, err := s.plan(map[string]string{"rate": "1000", "duration": "9s"},
			TemplateData{Victim: "10.99.1.10", Attacker: "10.99.1.66", Dir: "/tmp/x", Seed: 3})
		if err != nil {
			t.Errorf("%s: %v", s.Name, err)
			continue
		}
		if l := s.length(map[string]string{"duration": "9s"}, steps); l < 9*time.Second || l > 30*time.Second {
			t.Errorf("%s: length %v with duration=9s", s.Name, l)
		}
		for _, st := range steps {
			if st.Duration != 9*time.Second {
				t.Errorf("%s: step duration %v, want the duration parameter", s.Name, st.Duration)
			}
		}
	}
	s, _ := Lookup("hping3-syn")
	steps, _ := s.plan(map[string]string{"rate": "2000"}, TemplateData{Victim: "10.99.1.10"})
	got := steps[0].Args
	if got[len(got)-1] != "10.99.1.10" || got[len(got)-2] != "u500" {
		t.Errorf("hping3-syn args at rate 2000: %v", got)
	}
	if _, err := ParseScenario([]byte(`{"name":"x","steps":[{"tool":"rm","args":["-rf"]}],"label":"X"}`)); err == nil {
		t.Error("a tool outside the table was accepted")
	}
	if _, err := ParseScenario([]byte(`{"name":"x","steps":[{"tool":"nmap","args":["{{.Nope}}"]}],"label":"X"}`)); err == nil {
		t.Error("an unknown template parameter was accepted")
	}
}
