package sniff

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/capture"
	"github.com/flowguard/flowguard/internal/decode"
	"github.com/flowguard/flowguard/internal/detect"
	"github.com/flowguard/flowguard/internal/detect/defaultmodel"
	"github.com/flowguard/flowguard/internal/flowmeter"
	"github.com/flowguard/flowguard/internal/sharedtest"
	"github.com/flowguard/flowguard/internal/sniff/snifftest"
)

func goldenPcap(t *testing.T, name string) string {
	t.Helper()
	return sharedtest.Path(t, "golden/pcap/"+name+".pcap")
}

// offlineCount meters a capture as flowguard detect would and counts the
// frames a filter predicate keeps and the flows they make.
func offlineCount(t *testing.T, path string, keep func(*decode.Packet) bool) (frames, flows int64) {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m, err := flowmeter.New(flowmeter.Config{Profile: flowmeter.CIC2017}, func(*flowmeter.Flow) { flows++ })
	if err != nil {
		t.Fatal(err)
	}
	var cp capture.Packet
	var d decode.Packet
	for r.Next(&cp) == nil {
		d.Timestamp, d.WireLen = cp.Timestamp, cp.OrigLen
		if decode.Decode(cp.Link, cp.Data, &d) != decode.OK || !keep(&d) {
			continue
		}
		frames++
		m.Add(&d)
	}
	m.Flush()
	return frames, flows
}

// TestSniff replays the genuine CIC-IDS2017 SQL-injection capture (94
// frames, gaps shortened 20×) into a veth pair and runs live detection on
// the other end with the embedded model: every frame is captured, the
// flows are the ones offline metering finds, and a filter keeps exactly
// the frames it selects. Verdicts are not compared: shortening the gaps
// changes the timing features (at the capture's own pace, 112 s, the
// embedded model alerts on 3 flows live against 14 offline, the idle
// timeout splitting the rest); the testbed test covers live alerts.
func TestSniff(t *testing.T) {
	path := goldenPcap(t, "cicids2017_webattack_sqlinj")
	a, err := defaultmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		filter string
		keep   func(*decode.Packet) bool
	}{
		{"", func(*decode.Packet) bool { return true }},
		{"tcp and src port 80", func(d *decode.Packet) bool { return d.Proto == decode.ProtoTCP && d.SrcPort == 80 }},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("filter=%q", c.filter), func(t *testing.T) {
			l := snifftest.NewLink(t)
			sink := &alert.Buffer{}
			s, err := Open(Config{Interface: l.Outer, Filter: c.filter, Live: detect.LiveConfig{
				Detector: detect.Config{Model: a, Profile: flowmeter.Profiles[a.Schema.Profile]},
				Meter:    flowmeter.Config{IdleTimeout: 10 * time.Second},
			}}, sink)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			sent := l.Replay(t, path, 20)
			// Let the last blocks reach the ring, then stop.
			time.Sleep(500 * time.Millisecond)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			st := s.Stats()
			wantFrames, wantFlows := offlineCount(t, path, c.keep)
			t.Logf("sent %d frames; %s", sent, st)
			if st.Packets != wantFrames || st.KernelDrops != 0 {
				t.Errorf("captured %d frames (%d kernel drops), want %d", st.Packets, st.KernelDrops, wantFrames)
			}
			if st.Flows != wantFlows {
				t.Errorf("%d flows, offline metering finds %d", st.Flows, wantFlows)
			}
			for _, al := range sink.Alerts() {
				if al.DestIP != "192.168.10.50" && al.SrcIP != "192.168.10.50" {
					t.Errorf("alert on a flow outside the attack: %s %s -> %s", al.CommunityID, al.SrcIP, al.DestIP)
				}
				if al.Flowguard.Source != "interface:"+l.Outer {
					t.Errorf("alert source %q", al.Flowguard.Source)
				}
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	a, err := defaultmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	lc := detect.LiveConfig{Detector: detect.Config{Model: a, Profile: flowmeter.Profiles[a.Schema.Profile]}}
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Live: lc}, "no interface"},
		{Config{Interface: "lo", Filter: "tcp port", Live: lc}, "filter"},
		{Config{Interface: "fg-no-such0", Live: lc}, "fg-no-such0"},
	}
	for _, c := range cases {
		_, err := Open(c.cfg, &alert.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%q, filter %q): %v, want an error mentioning %q", c.cfg.Interface, c.cfg.Filter, err, c.want)
		}
	}
}
