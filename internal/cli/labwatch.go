package cli

import (
	"context"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/detect"
	"github.com/flowguard/flowguard/internal/flowmeter"
	"github.com/flowguard/flowguard/internal/lab"
	"github.com/flowguard/flowguard/internal/sniff"
)

func init() { newLabWatcher = newSniffWatcher }

// labIdleTimeout ends quiet testbed flows quickly: scenarios last seconds,
// and the time to the first alert is part of what the testbed measures.
const labIdleTimeout = 5 * time.Second

// sniffWatcher is lab run --detect: flowguard sniff on the testbed's
// bridge, keeping the alerts for the scoring.
type sniffWatcher struct {
	cfg detect.Config
}

func newSniffWatcher(modelPath string) (lab.Watcher, error) {
	dc, err := detectors(modelPath, "")
	if err != nil {
		return nil, err
	}
	return &sniffWatcher{cfg: dc}, nil
}

func (w *sniffWatcher) Watch(ctx context.Context, iface string) (func() ([]alert.Alert, error), error) {
	sink := &alert.Buffer{}
	s, err := sniff.Open(sniff.Config{Interface: iface, Live: detect.LiveConfig{
		Detector: w.cfg,
		Meter:    flowmeter.Config{IdleTimeout: labIdleTimeout},
	}}, sink)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	return func() ([]alert.Alert, error) {
		cancel()
		err := <-done
		return sink.Alerts(), err
	}, nil
}

// Profile names the flow-meter profile the detector meters with, so the
// testbed scores its alerts against that profile's flows.
func (w *sniffWatcher) Profile() string { return w.cfg.Profile.Name }
