package server

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/detect"
	"github.com/flowguard/flowguard/internal/sniff"
)

// live is serve --interface: live detection with the active model whose
// alerts take the pcap jobs' path (store first, then streams, EVE file
// and webhooks). Activating another model of the same flow-meter profile
// hands it the running capture within a second: flows in progress are
// scored by it when they end, no packet is missed, the counters go on.
// A model of another profile restarts the capture: the open flows end
// and are scored by the model that saw them begin.
type live struct {
	s   *Server
	cur atomic.Pointer[sniff.Sniffer]
}

// open starts the capture with the active model; errors (no such
// interface, no privilege, a bad filter, a model without a flow profile)
// stop the server from starting.
func (lv *live) open(l *loaded, fan *alert.Fanout) (*sniff.Sniffer, error) {
	if l.profile == nil {
		return nil, fmt.Errorf("server: live capture on %s: model %s reads %q features, which no flow-meter profile computes",
			lv.s.cfg.Interface, l.id, l.art.Schema.Profile)
	}
	cfg := lv.s.cfg.Capture
	cfg.Interface = lv.s.cfg.Interface
	cfg.Live.Detector = lv.detector(l)
	sn, err := sniff.Open(cfg, &jobSink{s: lv.s, fan: fan})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	lv.cur.Store(sn)
	return sn, nil
}

func (lv *live) detector(l *loaded) detect.Config {
	return detect.Config{Model: l.art, ModelName: l.id, Profile: l.profile,
		Anomaly: lv.s.cfg.AnomalyModel, AnomalyName: lv.s.cfg.AnomalyModelName}
}

// follow checks the active model every second while sn runs with l's: a
// model of the same profile is handed to the running capture, any other
// change cancels the run so that run reopens the capture.
func (lv *live) follow(ctx context.Context, cancel func(), sn *sniff.Sniffer, l *loaded) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := lv.s.models.current()
		if cur == l {
			continue
		}
		if cur.profile == l.profile {
			err := sn.SetDetector(lv.detector(cur))
			if err == nil {
				lv.s.log.Info("active model changed: live capture goes on with it", "interface", lv.s.cfg.Interface, "model", cur.id)
				l = cur
				continue
			}
			lv.s.log.Warn("active model changed: cannot hand it to the running capture", "model", cur.id, "err", err)
		}
		cancel()
		return
	}
}

// run captures until ctx ends, reopening the capture when the active model
// changes to one of another flow-meter profile; first is the capture
// opened already.
func (lv *live) run(ctx context.Context, first *sniff.Sniffer, fan *alert.Fanout) error {
	sn, l := first, lv.s.models.current()
	for {
		runCtx, cancel := context.WithCancel(ctx)
		go lv.follow(runCtx, cancel, sn, l)
		err := sn.Run(runCtx)
		cancel()
		st := sn.Stats()
		lv.s.log.Info("live capture ended", "stats", st.String())
		if err != nil || ctx.Err() != nil {
			return err
		}
		l = lv.s.models.current()
		lv.s.log.Info("active model changed: restarting live capture", "interface", lv.s.cfg.Interface, "model", l.id)
		if sn, err = lv.open(l, fan); err != nil {
			return err
		}
	}
}

// Describe and Collect export the current capture's counters.
func (lv *live) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(lv, ch) }

func (lv *live) Collect(ch chan<- prometheus.Metric) {
	if sn := lv.cur.Load(); sn != nil {
		sn.Collector().Collect(ch)
	}
}
