package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/detect"
	"github.com/flowguard/flowguard/internal/flowmeter"
	"github.com/flowguard/flowguard/internal/sniff"
	"github.com/flowguard/flowguard/internal/store"
)

// liveFlags are the flags sniff and serve --interface share.
type liveFlags struct {
	filter                            string
	flowTimeout, activity, idle, tick time.Duration
	maxFlows, early, snapLen, ringMiB int
	promisc                           bool
}

// register adds the flags to cmd; prefix starts each help line (serve
// says they apply to --interface only).
func (lf *liveFlags) register(cmd *cobra.Command, prefix string) {
	d := flowmeter.DefaultConfig()
	f := pflag.NewFlagSet("live", pflag.ContinueOnError)
	f.StringVar(&lf.filter, "filter", "", `pcap-filter expression run in the kernel, e.g. "tcp port 80 or udp"`)
	f.DurationVar(&lf.flowTimeout, "flow-timeout", d.FlowTimeout, "a flow ends this long after its first packet")
	f.DurationVar(&lf.activity, "activity-timeout", d.ActivityTimeout, "gaps longer than this separate active and idle periods")
	f.DurationVar(&lf.idle, "idle-timeout", 15*time.Second,
		"a flow with no packet for this long ends (0: only at the flow timeout, as the training data); shorter gives faster verdicts on quiet flows but splits long idle connections")
	f.DurationVar(&lf.tick, "tick", 250*time.Millisecond, "how often the wall clock ends quiet flows and alerts are sent")
	f.IntVar(&lf.maxFlows, "max-flows", d.MaxFlows, "flow table capacity (full: the oldest flow ends early, counted as an internal drop)")
	f.IntVar(&lf.early, "early", 0, "also score each flow at its Nth packet and alert at once (0: off; at least 2)")
	f.IntVar(&lf.snapLen, "snaplen", 65535, "bytes captured of each frame")
	f.IntVar(&lf.ringMiB, "ring-mib", 64, "kernel capture ring size, MiB (larger rides out bursts)")
	f.BoolVar(&lf.promisc, "promisc", false, "put the interface in promiscuous mode")
	f.VisitAll(func(fl *pflag.Flag) { fl.Usage = prefix + fl.Usage })
	cmd.Flags().AddFlagSet(f)
}

// config is the sniff configuration for iface with detector dc.
func (lf *liveFlags) config(iface string, dc detect.Config) sniff.Config {
	return sniff.Config{
		Interface: iface, Filter: lf.filter, SnapLen: lf.snapLen, RingBytes: lf.ringMiB << 20, Promiscuous: lf.promisc,
		Live: detect.LiveConfig{
			Detector:     dc,
			Meter:        flowmeter.Config{FlowTimeout: lf.flowTimeout, ActivityTimeout: lf.activity, IdleTimeout: lf.idle, MaxFlows: lf.maxFlows},
			EarlyPackets: lf.early,
			Tick:         lf.tick,
		},
	}
}

func newSniffCmd(e *env) *cobra.Command {
	var (
		lf                       liveFlags
		iface, modelPath, output string
		anomalyPath              string
		storeURL, metricsListen  string
		webhooks                 []string
		duration                 time.Duration
	)
	cmd := &cobra.Command{
		Use:   "sniff -i IFACE [--filter EXPR] [--model MODEL] [--anomaly-model MODEL] [--store URL]",
		Short: "Detect attacks live on a network interface: EVE JSON alerts as they happen",
		Long: `Captures from a network interface (AF_PACKET, Linux; needs root or
CAP_NET_RAW), meters packets into flows with the profile the model was trained
on, and scores every flow as it ends: by its own packets (FIN, teardown), by
the wall clock (--idle-timeout, --flow-timeout) so quiet flows still end, and
optionally early, at a flow's Nth packet (--early N). Alerts go out as EVE
JSON lines (stdout by default), to a store (--store sqlite:PATH|postgres://...)
and to webhooks. Counters (packets, kernel and internal drops, flows, alerts,
alert delay) are served on --metrics-listen /metrics and printed on exit.
Runs until interrupted (Ctrl-C, SIGTERM) or for --duration.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dc, err := detectors(modelPath, anomalyPath)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			log := slog.New(slog.NewTextHandler(e.stderr, nil))
			out, closeOut, err := openOutput(e.stdout, output)
			if err != nil {
				return err
			}
			routes := []alert.Route{{Name: "eve", Sink: alert.NewEVEWriter(out), Lossless: true}}
			if storeURL != "" {
				st, err := store.Open(ctx, storeURL)
				if err != nil {
					closeOut()
					return err
				}
				routes = append(routes, alert.Route{Name: "store", Sink: st, Lossless: true})
			}
			if routes, err = alert.AddWebhooks(routes, webhooks); err != nil {
				closeOut()
				return err
			}
			fan := alert.NewFanout(log, 0, routes...)
			s, err := sniff.Open(lf.config(iface, dc), fan)
			if err != nil {
				fan.Close()
				closeOut()
				return err
			}
			if metricsListen != "" {
				stopMetrics, err := serveMetrics(metricsListen, s.Collector(), log)
				if err != nil {
					s.Close()
					fan.Close()
					closeOut()
					return err
				}
				defer stopMetrics()
			}
			log.Info("flowguard sniff", "interface", iface, "filter", lf.filter, "model", dc.ModelName, "anomaly_model", dc.AnomalyName, "profile", dc.Profile.Name,
				"idle_timeout", lf.idle, "early", lf.early)
			runErr := s.Run(ctx)
			fanErr := fan.Close()
			var dropped uint64
			for _, r := range fan.Stats() {
				dropped += r.Dropped
			}
			st := s.Stats()
			fmt.Fprintf(e.stderr, "flowguard sniff: %s; %d alerts dropped by slow sinks\n", st, dropped)
			return errors.Join(runErr, fanErr, closeOut())
		},
	}
	lf.register(cmd, "")
	f := cmd.Flags()
	f.StringVarP(&iface, "interface", "i", "", "network interface to capture from (required)")
	f.StringVar(&modelPath, "model", "", "model file (default: the embedded model); an anomaly model here runs alone")
	f.StringVar(&anomalyPath, "anomaly-model", "", "also score flows with this anomaly model (train --algo iforest): anomalies the classifier misses raise alerts of kind \"anomaly\"")
	f.StringVarP(&output, "output", "o", "-", `EVE JSON output ("-" for stdout)`)
	f.StringVar(&storeURL, "store", "", "also store alerts: sqlite:PATH or postgres://...")
	f.StringArrayVar(&webhooks, "webhook", nil, "also POST alerts to this URL (repeatable)")
	f.StringVar(&metricsListen, "metrics-listen", "", "serve Prometheus /metrics on this address")
	f.DurationVar(&duration, "duration", 0, "stop after this long (0: until interrupted)")
	cmd.MarkFlagRequired("interface")
	return cmd
}

// serveMetrics serves c (and the Go runtime's metrics) on addr/metrics
// until the returned function is called.
func serveMetrics(addr string, c prometheus.Collector, log *slog.Logger) (func(), error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server", "err", err)
		}
	}()
	log.Info("metrics", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}
