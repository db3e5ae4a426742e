package detect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/capture"
	"github.com/flowguard/flowguard/internal/decode"
	"github.com/flowguard/flowguard/internal/flowmeter"
)

// LiveSource is a live capture. Next blocks until a packet arrives; an
// error for which LiveConfig.Idle is true only means that none arrived for
// a while, and io.EOF that the capture was closed.
type LiveSource interface {
	Next(*capture.Packet) error
}

// LiveConfig sets up a Live pipeline.
type LiveConfig struct {
	Detector Config
	// Meter's timeouts and table size apply; its Profile is the
	// detector's and its Early hook is Live's own.
	Meter flowmeter.Config
	// EarlyPackets scores a flow when its EarlyPackets-th packet arrives,
	// so a long flow (a slow attack) is alerted on before it ends; each
	// flow raises at most one alert. 0: verdicts only when flows end.
	EarlyPackets int
	// Tick is how often the wall clock ends quiet flows and batched
	// alerts are sent (default 250 ms): it bounds the delay an alert
	// waits after its flow ends.
	Tick time.Duration
	// Idle reports whether an error from the source only means that no
	// packet arrived in time (nil: every error ends the run).
	Idle func(error) bool
	// Now is the wall clock (default time.Now); tests replay captures
	// with their own.
	Now func() time.Time
}

// LiveStats are a Live pipeline's counters, safe to read while it runs.
type LiveStats struct {
	Packets     atomic.Int64 // frames read from the source
	Undecoded   atomic.Int64 // frames the decoder could not summarise
	Flows       atomic.Int64 // flows ended and scored
	Evicted     atomic.Int64 // flows ended early because the flow table was full
	Alerts      atomic.Int64
	EarlyAlerts atomic.Int64 // alerts raised on flows still in progress
	SinkErrors  atomic.Int64 // alert batches a sink refused
	Open        atomic.Int64 // flows in the table now
	// Delay is the time from a flow's last packet (for early alerts, the
	// packet that triggered them) to its alert leaving for the sinks.
	Delay Histogram
}

// Live runs the detection pipeline on a live capture: packets are metered
// as they arrive, the wall clock ends flows that went quiet, and alerts go
// to the sink within a tick of the verdict.
type Live struct {
	cfg   LiveConfig
	det   *Detector
	next  atomic.Pointer[Detector] // set by SetDetector, taken by the next tick
	meter *flowmeter.Meter
	sink  delaySink
	ctx   context.Context
	Stats LiveStats
}

// NewLive builds a Live pipeline that sends its alerts to sink.
func NewLive(cfg LiveConfig, sink Sink) (*Live, error) {
	if cfg.Tick <= 0 {
		cfg.Tick = 250 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Idle == nil {
		cfg.Idle = func(error) bool { return false }
	}
	l := &Live{cfg: cfg}
	l.sink = delaySink{next: sink, live: l}
	d, err := l.newDetector(cfg.Detector)
	if err != nil {
		return nil, err
	}
	l.det = d
	mc := cfg.Meter
	mc.Profile = cfg.Detector.Profile
	mc.Early, mc.EarlyPackets = nil, 0
	if cfg.EarlyPackets > 0 {
		mc.Early, mc.EarlyPackets = l.early, cfg.EarlyPackets
	}
	if l.meter, err = flowmeter.New(mc, l.flow); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Live) newDetector(cfg Config) (*Detector, error) {
	if cfg.Batch == 0 {
		// A tick flushes anyway; big batches only add latency.
		cfg.Batch = 64
	}
	return New(cfg, &l.sink)
}

// SetDetector hands the pipeline another detector configuration (another
// model, say) while it runs: from the next tick on, every flow that ends
// or reaches its early verdict is scored by it, including the flows
// already in progress. No packet is missed and the counters go on. It is
// safe to call from any goroutine; a second call before the tick replaces
// the first. The flow-meter profile must be the running one's, since the
// open flows were metered by it: a model of another profile needs a new
// Live.
func (l *Live) SetDetector(cfg Config) error {
	if cfg.Profile != l.cfg.Detector.Profile {
		return fmt.Errorf("live detection: the new detector reads %s flows, the capture meters %s ones: restart it",
			profileName(cfg.Profile), profileName(l.cfg.Detector.Profile))
	}
	d, err := l.newDetector(cfg)
	if err != nil {
		return err
	}
	l.next.Store(d)
	return nil
}

func profileName(p *flowmeter.Profile) string {
	if p == nil {
		return "no"
	}
	return p.Name
}

// flow takes a finished flow from the meter.
func (l *Live) flow(f *flowmeter.Flow) {
	l.Stats.Flows.Add(1)
	if f.Flagged {
		return // alerted on while in progress
	}
	l.det.Flow(l.ctx, f)
}

// early scores a flow in progress; a flow alerted on now is not alerted on
// again when it ends.
func (l *Live) early(f *flowmeter.Flow) {
	l.det.inProgress = true
	alerted := l.det.Flow(l.ctx, f)
	l.det.inProgress = false
	if alerted {
		f.Flagged = true
		l.Stats.EarlyAlerts.Add(1)
	}
}

// Run meters and scores src until ctx ends or src reports io.EOF, then ends
// every open flow, sends the last alerts and returns. It returns ctx's
// error only when ctx ended the run, and an error from src that is neither
// idle nor io.EOF.
func (l *Live) Run(ctx context.Context, src LiveSource) error {
	// Alerts of flows ended by the shutdown still reach the sinks.
	l.ctx = context.WithoutCancel(ctx)
	var (
		cp   capture.Packet
		d    decode.Packet
		err  error
		last = l.cfg.Now()
	)
	for i := uint(0); ; i++ {
		// The clock and the context are read every 64 packets, and on
		// every idle return, not per packet.
		poll := i&63 == 0
		if poll {
			if err = ctx.Err(); err != nil {
				break
			}
		}
		err = src.Next(&cp)
		if err == nil {
			l.Stats.Packets.Add(1)
			d.Timestamp, d.WireLen = cp.Timestamp, cp.OrigLen
			if r := decode.Decode(cp.Link, cp.Data, &d); r != decode.OK {
				l.meter.Skip(r)
				l.Stats.Undecoded.Add(1)
			} else {
				l.meter.Add(&d)
			}
		} else if !l.cfg.Idle(err) {
			break
		}
		if !poll && err == nil {
			continue
		}
		if err != nil {
			if err = ctx.Err(); err != nil {
				break
			}
		}
		if now := l.cfg.Now(); now.Sub(last) >= l.cfg.Tick {
			last = now
			l.tick(now)
		}
	}
	// End of the capture: every open flow gets its verdict.
	l.meter.Flush()
	l.tick(l.cfg.Now())
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	default:
		return fmt.Errorf("live capture: %w", err)
	}
}

// tick ends the flows the wall clock has timed out and sends the alerts
// waiting in the detector's batch.
func (l *Live) tick(now time.Time) {
	l.meter.Advance(now.UnixMicro())
	if err := l.det.Flush(l.ctx); err != nil {
		// The detector keeps its first error; live detection goes on, and
		// delaySink counts every refused batch.
		l.det.err = nil
	}
	// A new detector takes over once the old one's batch is out.
	if d := l.next.Swap(nil); d != nil {
		l.det = d
	}
	st := l.meter.Stats()
	l.Stats.Evicted.Store(st.Evicted)
	l.Stats.Open.Store(int64(l.meter.Open()))
}

// delaySink stamps each alert with the time it leaves the pipeline (live,
// the EVE timestamp is when flowguard raised the alert, as Suricata's is;
// the flow's own times stay in the flowguard block), measures its delay
// and counts the batches the next sink refuses.
type delaySink struct {
	next Sink
	live *Live
}

func (s *delaySink) Send(ctx context.Context, as []alert.Alert) error {
	now := s.live.cfg.Now()
	for i := range as {
		as[i].Timestamp = now.UTC()
		s.live.Stats.Delay.Observe(now.Sub(as[i].Flowguard.FlowEnd).Seconds())
	}
	s.live.Stats.Alerts.Add(int64(len(as)))
	if err := s.next.Send(ctx, as); err != nil {
		s.live.Stats.SinkErrors.Add(1)
		return err
	}
	return nil
}

// DelayBuckets are the upper bounds, in seconds, of Histogram's buckets.
var DelayBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// Histogram counts observations in DelayBuckets; safe for concurrent use.
type Histogram struct {
	counts [15]atomic.Uint64 // one per bucket, then +Inf
	sumNs  atomic.Int64
	max    atomic.Int64 // ns
}

// Observe records one value in seconds (negative values count as 0: a
// flow's last packet can carry a kernel timestamp a little ahead of the
// clock read after it).
func (h *Histogram) Observe(sec float64) {
	sec = math.Max(sec, 0)
	i := 0
	for i < len(DelayBuckets) && sec > DelayBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	ns := int64(sec * 1e9)
	h.sumNs.Add(ns)
	for {
		m := h.max.Load()
		if ns <= m || h.max.CompareAndSwap(m, ns) {
			break
		}
	}
}

// Snapshot returns the cumulative bucket counts (as Prometheus wants them,
// without +Inf), the total count, the sum and the maximum, in seconds.
func (h *Histogram) Snapshot() (cum []uint64, count uint64, sum, max float64) {
	cum = make([]uint64, len(DelayBuckets))
	for i := range h.counts {
		count += h.counts[i].Load()
		if i < len(cum) {
			cum[i] = count
		}
	}
	return cum, count, float64(h.sumNs.Load()) / 1e9, float64(h.max.Load()) / 1e9
}

// Quantile estimates the q-quantile (0..1) as the upper bound of the
// bucket it falls in; +Inf past the last bucket, 0 with no observations.
func (h *Histogram) Quantile(q float64) float64 {
	cum, n, _, _ := h.Snapshot()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	for i, c := range cum {
		if c >= rank {
			return DelayBuckets[i]
		}
	}
	return math.Inf(1)
}
