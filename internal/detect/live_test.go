package detect

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/capture"
	"github.com/flowguard/flowguard/internal/detect/defaultmodel"
	"github.com/flowguard/flowguard/internal/flowmeter"
	"github.com/flowguard/flowguard/internal/sharedtest"
)

var errQuiet = errors.New("no packet yet")

// replay plays a capture file as a live source on a simulated clock: the
// clock follows the packets, then, once they run out, advances a second
// per idle return for quiet seconds before the source reports io.EOF.
type replay struct {
	r       *capture.Reader
	now     time.Time
	quiet   int
	pending capture.Packet // read ahead across a gap in the capture
	held    bool
	// onPacket, when set, is called with the number of packets handed
	// out so far, before the next one.
	onPacket func(n int)
	n        int
	// sent counts the alerts that reached the sink before the source ran
	// dry: those are the ones the wall clock released.
	mu   sync.Mutex
	done bool
}

func (s *replay) Next(p *capture.Packet) error {
	if !s.done {
		if !s.held {
			if err := s.r.Next(&s.pending); err == nil {
				s.held = true
			} else if !errors.Is(err, io.EOF) {
				return err
			} else {
				s.done = true
			}
		}
		if s.held {
			// A gap of more than a second in the capture is quiet time
			// for the pipeline, as it would be on a live link.
			ts := time.Unix(0, s.pending.Timestamp)
			if !s.now.IsZero() && ts.Sub(s.now) > time.Second {
				s.now = s.now.Add(time.Second)
				return errQuiet
			}
			s.now, s.held = ts, false
			if s.onPacket != nil {
				s.onPacket(s.n)
			}
			s.n++
			*p = s.pending
			return nil
		}
	}
	if s.quiet == 0 {
		return io.EOF
	}
	s.quiet--
	s.now = s.now.Add(time.Second)
	return errQuiet
}

type collect struct {
	mu  sync.Mutex
	got []alert.Alert
	// atEOF is how many alerts had arrived when the source ran dry.
	src   *replay
	atEOF int
}

func (c *collect) Send(_ context.Context, as []alert.Alert) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range as {
		c.got = append(c.got, a)
		if !c.src.done || c.src.quiet > 0 {
			c.atEOF++
		}
	}
	return nil
}

func sharedCapture(t *testing.T, name string) string {
	t.Helper()
	return sharedtest.Path(t, "golden/pcap/"+name+".pcap")
}

// runLive replays a capture through a Live pipeline with the default model;
// hook, when given, is called before each packet with the number handed
// out so far.
func runLive(t *testing.T, path string, quiet int, cfg LiveConfig, hook ...func(n int, l *Live)) (*Live, *collect) {
	t.Helper()
	a, err := defaultmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	src := &replay{r: r, quiet: quiet}
	sink := &collect{src: src}
	cfg.Detector = Config{Model: a, Profile: flowmeter.Profiles[a.Schema.Profile], Source: "replay"}
	cfg.Idle = func(err error) bool { return errors.Is(err, errQuiet) }
	cfg.Now = func() time.Time { return src.now }
	l, err := NewLive(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hook {
		src.onPacket = func(n int) { h(n, l) }
	}
	if err := l.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	return l, sink
}

func flowKeys(as []alert.Alert) []string {
	var k []string
	for _, a := range as {
		k = append(k, a.CommunityID+" "+a.Flowguard.FlowStart.String())
	}
	slices.Sort(k)
	return k
}

// TestLiveMatchesOffline checks that the live pipeline, fed the genuine
// CIC-IDS2017 SQL-injection capture, raises exactly the alerts of offline
// detection when neither early verdicts nor an idle timeout change the
// flows.
func TestLiveMatchesOffline(t *testing.T) {
	path := sharedCapture(t, "cicids2017_webattack_sqlinj")
	a, err := defaultmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	_, want := detectWith(t, path, a, nil)
	l, got := runLive(t, path, 0, LiveConfig{})
	if len(want) < 10 {
		t.Fatalf("offline detection raised %d alerts; the test needs the attack to be detected", len(want))
	}
	if !slices.Equal(flowKeys(got.got), flowKeys(want)) {
		t.Errorf("live alerts differ from offline:\nlive    %v\noffline %v", flowKeys(got.got), flowKeys(want))
	}
	if n := l.Stats.Alerts.Load(); n != int64(len(want)) {
		t.Errorf("Stats.Alerts %d, want %d", n, len(want))
	}
	if l.Stats.Packets.Load() == 0 || l.Stats.Flows.Load() == 0 || l.Stats.Open.Load() != 0 {
		t.Errorf("stats: packets %d flows %d open %d", l.Stats.Packets.Load(), l.Stats.Flows.Load(), l.Stats.Open.Load())
	}
	if _, n, _, _ := l.Stats.Delay.Snapshot(); n != uint64(len(want)) {
		t.Errorf("delay histogram holds %d observations, want %d", n, len(want))
	}
}

// TestLiveWallClock checks that quiet flows end by the wall clock: with an
// idle timeout every alert reaches the sink while the source is still
// open, within the idle timeout plus a tick of the flow's last packet.
func TestLiveWallClock(t *testing.T) {
	path := sharedCapture(t, "cicids2017_webattack_sqlinj")
	const idle = 3 * time.Second
	l, got := runLive(t, path, 10, LiveConfig{Meter: flowmeter.Config{IdleTimeout: idle}, Tick: time.Second})
	if len(got.got) == 0 {
		t.Fatal("no alerts")
	}
	if got.atEOF != len(got.got) {
		t.Errorf("%d of %d alerts arrived only when the capture closed", len(got.got)-got.atEOF, len(got.got))
	}
	if max := l.Stats.Delay.Quantile(1); max > (idle + 2*time.Second).Seconds() {
		t.Errorf("slowest alert %.1fs after its flow's last packet", max)
	}
}

// TestLiveEarly checks early verdicts: a flow alerted on while in progress
// is not alerted on again when it ends.
func TestLiveEarly(t *testing.T) {
	path := sharedCapture(t, "cicids2017_webattack_sqlinj")
	l, got := runLive(t, path, 0, LiveConfig{EarlyPackets: 3})
	seen := map[string]bool{}
	early := 0
	for _, a := range got.got {
		if a.Flowguard.Early {
			early++
		}
		k := a.CommunityID + " " + a.Flowguard.FlowStart.String()
		if seen[k] {
			t.Errorf("flow %s alerted twice", k)
		}
		seen[k] = true
	}
	if int64(early) != l.Stats.EarlyAlerts.Load() {
		t.Errorf("%d alerts marked early, %d counted", early, l.Stats.EarlyAlerts.Load())
	}
	if l.Stats.EarlyAlerts.Load() == 0 {
		t.Errorf("no early alert on %d alerts", len(got.got))
	}
	t.Logf("%d alerts, %d early", len(got.got), l.Stats.EarlyAlerts.Load())
}

// TestLiveSetDetector hands the running pipeline another detector (the
// same model under another name) partway through the SQL-injection
// capture: the flows that end after the next tick are scored by it, the
// alerts are exactly those of a run without the switch (nothing lost or
// doubled), and a detector of another flow-meter profile is refused.
func TestLiveSetDetector(t *testing.T) {
	path := sharedCapture(t, "cicids2017_webattack_sqlinj")
	// Early verdicts raise alerts while the capture plays, so some come
	// before the switch and some after.
	cfg := LiveConfig{EarlyPackets: 3, Tick: time.Second}
	base, want := runLive(t, path, 0, cfg)
	const at = 40
	var switchErr, otherErr error
	l, got := runLive(t, path, 0, cfg, func(n int, l *Live) {
		if n != at {
			return
		}
		dc := l.cfg.Detector
		dc.ModelName = "second"
		switchErr = l.SetDetector(dc)
		dc.Profile = flowmeter.Profiles["engelen"]
		otherErr = l.SetDetector(dc)
	})
	if switchErr != nil {
		t.Fatal(switchErr)
	}
	if otherErr == nil {
		t.Error("a detector of another flow-meter profile was accepted")
	}
	if !slices.Equal(flowKeys(got.got), flowKeys(want.got)) {
		t.Errorf("alerts with the switch differ from a run without:\nwith    %v\nwithout %v", flowKeys(got.got), flowKeys(want.got))
	}
	if l.Stats.Packets.Load() != base.Stats.Packets.Load() || l.Stats.Flows.Load() != base.Stats.Flows.Load() {
		t.Errorf("packets %d, flows %d; without the switch %d, %d", l.Stats.Packets.Load(), l.Stats.Flows.Load(),
			base.Stats.Packets.Load(), base.Stats.Flows.Load())
	}
	names := map[string]int{}
	for _, a := range got.got {
		names[a.Flowguard.Model]++
	}
	if names["second"] == 0 || names["second"] == len(got.got) {
		t.Errorf("alerts by model %v: want some before the switch and some after", names)
	}
	t.Logf("alerts by model: %v", names)
}

func TestHistogramQuantile(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 {
		t.Error("empty histogram")
	}
	for _, v := range []float64{0.004, 0.02, 0.02, 0.3, 700} {
		h.Observe(v)
	}
	cases := []struct{ q, want float64 }{{0.2, 0.01}, {0.6, 0.025}, {0.8, 0.5}}
	for _, c := range cases {
		if got := h.Quantile(c.q); got != c.want {
			t.Errorf("q%.1f = %v, want %v", c.q, got, c.want)
		}
	}
	if got := h.Quantile(1); got < 1e300 {
		t.Errorf("q1 = %v, want +Inf", got)
	}
	cum, n, sum, max := h.Snapshot()
	if n != 5 || cum[len(cum)-1] != 4 || max != 700 || sum < 700 {
		t.Errorf("snapshot %v %d %v %v", cum, n, sum, max)
	}
}
