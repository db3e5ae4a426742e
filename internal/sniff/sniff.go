// Package sniff runs live detection on a network interface: an AF_PACKET
// capture with an optional pcap-filter expression feeding the detection
// pipeline, and the counters an operator watches (packets, kernel and
// internal drops, flows, alerts, alert delay) as Prometheus metrics. The
// sniff command, serve --interface and the testbed's --detect share it.
package sniff

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowguard/flowguard/internal/capture"
	"github.com/flowguard/flowguard/internal/capture/afpacket"
	"github.com/flowguard/flowguard/internal/capture/filter"
	"github.com/flowguard/flowguard/internal/detect"
)

// Config says where to capture and how to detect.
type Config struct {
	Interface   string
	Filter      string // pcap-filter expression; "" captures everything
	SnapLen     int    // default 65535
	RingBytes   int    // capture ring size; default 64 MiB
	Promiscuous bool
	Live        detect.LiveConfig
}

// Sniffer is a running live capture. Run drives it; Stats and the
// collector may be read at any time.
type Sniffer struct {
	cfg  Config
	src  *afpacket.Source
	live *detect.Live

	closeOnce sync.Once
}

// Open compiles the filter, opens the capture and builds the pipeline. It
// fails with a message naming the interface, the filter token or the
// missing privilege.
func Open(cfg Config, sink detect.Sink) (*Sniffer, error) {
	if cfg.Interface == "" {
		return nil, errors.New("sniff: no interface: pass -i IFACE")
	}
	if cfg.SnapLen == 0 {
		cfg.SnapLen = 65535
	}
	if cfg.RingBytes == 0 {
		cfg.RingBytes = 64 << 20
	}
	const block = 1 << 20
	ac := afpacket.Config{
		Interface: cfg.Interface, SnapLen: cfg.SnapLen, Promiscuous: cfg.Promiscuous,
		BlockSize: block, Blocks: max(cfg.RingBytes/block, 2),
	}
	if cfg.Filter != "" {
		prog, err := filter.Compile(cfg.Filter, linkOf(cfg.Interface), cfg.SnapLen)
		if err != nil {
			return nil, fmt.Errorf("sniff: %w", err)
		}
		ac.Filter = prog
	}
	lc := cfg.Live
	lc.Idle = func(err error) bool { return errors.Is(err, afpacket.ErrTimeout) }
	lc.Detector = withSource(lc.Detector, cfg.Interface)
	live, err := detect.NewLive(lc, sink)
	if err != nil {
		return nil, fmt.Errorf("sniff: %w", err)
	}
	src, err := afpacket.Open(ac)
	if err != nil {
		return nil, fmt.Errorf("sniff: %w", err)
	}
	return &Sniffer{cfg: cfg, src: src, live: live}, nil
}

// withSource names the interface as the alerts' source unless dc names one.
func withSource(dc detect.Config, iface string) detect.Config {
	if dc.Source == "" {
		dc.Source = "interface:" + iface
	}
	return dc
}

// SetDetector switches the running capture to another detector, another
// model say, without stopping it: see detect.Live.SetDetector. It fails
// when the new model reads another flow-meter profile.
func (s *Sniffer) SetDetector(dc detect.Config) error {
	if err := s.live.SetDetector(withSource(dc, s.cfg.Interface)); err != nil {
		return fmt.Errorf("sniff: %w", err)
	}
	return nil
}

// linkOf guesses the link type the filter is compiled for from the
// interface's hardware type: raw IP for tunnels, Ethernet otherwise (the
// capture itself reports the type it finds).
func linkOf(iface string) capture.LinkType {
	b, err := os.ReadFile("/sys/class/net/" + iface + "/type")
	if err != nil {
		return capture.LinkEthernet
	}
	if t, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && t == 65534 { // ARPHRD_NONE
		return capture.LinkRaw
	}
	return capture.LinkEthernet
}

// Run captures and detects until ctx ends, then ends every open flow,
// sends the last alerts and closes the capture. It returns nil when ctx
// ended the run.
func (s *Sniffer) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	err := s.live.Run(ctx, s.src)
	s.Close()
	if ctx.Err() != nil && (err == nil || errors.Is(err, ctx.Err())) {
		return nil
	}
	return err
}

// Close ends the capture; Run returns once the pipeline has drained.
func (s *Sniffer) Close() error {
	var err error
	s.closeOnce.Do(func() { err = s.src.Close() })
	return err
}

// Stats are a Sniffer's counters.
type Stats struct {
	Interface   string
	Packets     int64 // frames the pipeline read
	KernelDrops uint64
	Undecoded   int64
	Flows       int64
	Evicted     int64 // internal drops: flows ended early, the flow table full
	Alerts      int64
	EarlyAlerts int64
	SinkErrors  int64
	Open        int64
	DelayP50    float64 // seconds from a flow's last packet to its alert
	DelayP99    float64
	DelayMax    float64
}

// Stats reads the counters now.
func (s *Sniffer) Stats() Stats {
	l := &s.live.Stats
	ks, _ := s.src.Stats()
	_, _, _, mx := l.Delay.Snapshot()
	return Stats{
		Interface: s.cfg.Interface, Packets: l.Packets.Load(), KernelDrops: ks.Drops, Undecoded: l.Undecoded.Load(),
		Flows: l.Flows.Load(), Evicted: l.Evicted.Load(), Alerts: l.Alerts.Load(), EarlyAlerts: l.EarlyAlerts.Load(),
		SinkErrors: l.SinkErrors.Load(), Open: l.Open.Load(),
		DelayP50: l.Delay.Quantile(0.5), DelayP99: l.Delay.Quantile(0.99), DelayMax: mx,
	}
}

// String is the one-line summary printed when a capture ends.
func (st Stats) String() string {
	return fmt.Sprintf("%s: %d packets, %d kernel drops, %d internal drops (flow table full), %d undecoded, %d flows, %d alerts (%d early), alert delay p50 ≤ %gs p99 ≤ %gs max %.3fs",
		st.Interface, st.Packets, st.KernelDrops, st.Evicted, st.Undecoded, st.Flows, st.Alerts, st.EarlyAlerts, st.DelayP50, st.DelayP99, st.DelayMax)
}

// Collector exports the Sniffer's counters as flowguard_capture_* and
// flowguard_live_* series labelled with the interface.
func (s *Sniffer) Collector() prometheus.Collector { return collector{s} }

type collector struct{ s *Sniffer }

var (
	descPackets  = prometheus.NewDesc("flowguard_capture_packets_total", "Frames read from the interface.", []string{"interface"}, nil)
	descKernel   = prometheus.NewDesc("flowguard_capture_kernel_drops_total", "Frames the kernel dropped: the capture ring was full.", []string{"interface"}, nil)
	descUndec    = prometheus.NewDesc("flowguard_capture_undecoded_total", "Frames the decoder could not summarise (not IP, truncated).", []string{"interface"}, nil)
	descFlows    = prometheus.NewDesc("flowguard_live_flows_total", "Flows ended and scored.", []string{"interface"}, nil)
	descEvicted  = prometheus.NewDesc("flowguard_live_evicted_flows_total", "Flows ended early because the flow table was full (internal drops).", []string{"interface"}, nil)
	descAlerts   = prometheus.NewDesc("flowguard_live_alerts_total", "Alerts raised.", []string{"interface"}, nil)
	descEarly    = prometheus.NewDesc("flowguard_live_early_alerts_total", "Alerts raised on flows still in progress.", []string{"interface"}, nil)
	descSinkErrs = prometheus.NewDesc("flowguard_live_sink_errors_total", "Alert batches a sink refused.", []string{"interface"}, nil)
	descOpen     = prometheus.NewDesc("flowguard_live_open_flows", "Flows in the flow table.", []string{"interface"}, nil)
	descDelay    = prometheus.NewDesc("flowguard_live_alert_delay_seconds", "Time from a flow's last packet to its alert.", []string{"interface"}, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPackets, descKernel, descUndec, descFlows, descEvicted, descAlerts, descEarly, descSinkErrs, descOpen, descDelay} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	i := st.Interface
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, i)
	}
	counter(descPackets, float64(st.Packets))
	counter(descKernel, float64(st.KernelDrops))
	counter(descUndec, float64(st.Undecoded))
	counter(descFlows, float64(st.Flows))
	counter(descEvicted, float64(st.Evicted))
	counter(descAlerts, float64(st.Alerts))
	counter(descEarly, float64(st.EarlyAlerts))
	counter(descSinkErrs, float64(st.SinkErrors))
	ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, float64(st.Open), i)
	cum, n, sum, _ := c.s.live.Stats.Delay.Snapshot()
	buckets := make(map[float64]uint64, len(cum))
	for k, b := range detect.DelayBuckets {
		buckets[b] = cum[k]
	}
	ch <- prometheus.MustNewConstHistogram(descDelay, n, sum, buckets, i)
}
