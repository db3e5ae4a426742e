package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/capture"
	"github.com/flowguard/flowguard/internal/detect"
	"github.com/flowguard/flowguard/internal/detect/defaultmodel"
	"github.com/flowguard/flowguard/internal/flowmeter"
	"github.com/flowguard/flowguard/internal/model"
)

// loadModel loads the model at path, or the embedded default when path is
// empty, and says which it is.
func loadModel(path string) (*model.Artifact, string, error) {
	if path == "" {
		a, err := defaultmodel.Load()
		return a, defaultmodel.Name, err
	}
	a, err := model.Load(path)
	return a, path, err
}

// detectors loads what scores flows: the classifier at modelPath (the
// embedded default when empty) and the anomaly model at anomalyPath (none
// when empty). A modelPath naming an anomaly model runs it alone, without
// a classifier. The profile is the one both were trained on.
func detectors(modelPath, anomalyPath string) (detect.Config, error) {
	var c detect.Config
	a, name, err := loadModel(modelPath)
	if err != nil {
		return c, err
	}
	if a.IsAnomalyModel() {
		if anomalyPath != "" {
			return c, fmt.Errorf("--model %s is an anomaly model; give a classifier with --model, or the anomaly model alone", modelPath)
		}
		c.Anomaly, c.AnomalyName = a, name
	} else {
		c.Model, c.ModelName = a, name
	}
	if anomalyPath != "" {
		an, err := loadAnomalyModel(anomalyPath)
		if err != nil {
			return c, err
		}
		if an.Schema.Profile != a.Schema.Profile {
			return c, fmt.Errorf("--anomaly-model %s reads %s features, the classifier %s: train both on one flow-meter profile", anomalyPath, an.Schema.Profile, a.Schema.Profile)
		}
		c.Anomaly, c.AnomalyName = an, anomalyPath
	}
	pr, ok := flowmeter.Profiles[a.Schema.Profile]
	if !ok {
		return c, fmt.Errorf("model %s was trained on %q features, which no flow-meter profile computes", name, a.Schema.Profile)
	}
	c.Profile = pr
	return c, nil
}

// loadAnomalyModel loads the anomaly model at path.
func loadAnomalyModel(path string) (*model.Artifact, error) {
	a, err := model.Load(path)
	if err != nil {
		return nil, err
	}
	if !a.IsAnomalyModel() {
		return nil, fmt.Errorf("--anomaly-model %s is a %s classifier, not an anomaly model (train one with --algo %s)", path, a.Algorithm, model.AlgoIForest)
	}
	return a, nil
}

func newDetectCmd(e *env) *cobra.Command {
	var (
		modelPath, anomalyPath, output string
		flowTimeout, activityTimeout   time.Duration
		maxFlows                       int
	)
	cmd := &cobra.Command{
		Use:   "detect [--model MODEL] INPUT...",
		Short: "Detect attacks in pcap/pcapng files: EVE JSON alerts on stdout",
		Long: `Meters the captures into flows with the flow-meter profile the model was
trained on, scores every flow, and writes an alert for each flow at or above
the model's calibrated threshold as one Suricata-compatible EVE JSON line
(event_type "alert", with flowguard's model, class, score, threshold and top
features). Without --model the embedded default model is used. A summary
goes to stderr.

With --anomaly-model (train --algo iforest) an anomaly detector trained on
benign flows scores every flow beside the classifier: a flow it flags that
the classifier does not alert on raises an alert of kind "anomaly"
(signature "flowguard anomaly: unusual flow", category "Anomaly") naming
the nearest normal profile and the distance to it; a flow both flag raises
one classifier alert carrying the anomaly verdict.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, inputs []string) error {
			dc, err := detectors(modelPath, anomalyPath)
			if err != nil {
				return err
			}
			pr := dc.Profile
			out, closeOut, err := openOutput(e.stdout, output)
			if err != nil {
				return err
			}
			eve := alert.NewEVEWriter(out)
			ctx := cmd.Context()
			start := time.Now()
			var metered flowmeter.Stats
			var total detect.Stats
			classes := map[string]int{}
			for _, in := range inputs {
				r, err := capture.Open(in)
				if err != nil {
					closeOut()
					return err
				}
				sink := countingSink{next: eve, classes: classes}
				dc.Source = in
				d, err := detect.New(dc, sink)
				if err != nil {
					r.Close()
					closeOut()
					return err
				}
				m, err := flowmeter.New(flowmeter.Config{Profile: pr, FlowTimeout: flowTimeout, ActivityTimeout: activityTimeout, MaxFlows: maxFlows},
					func(f *flowmeter.Flow) { d.Flow(ctx, f) })
				if err != nil {
					r.Close()
					closeOut()
					return err
				}
				runErr := flowmeter.Run(ctx, r, m)
				m.Flush()
				r.Close()
				flushErr := d.Flush(ctx)
				addStats(&metered, m.Stats())
				total.Flows.Add(d.Stats.Flows.Load())
				total.Alerts.Add(d.Stats.Alerts.Load())
				total.Anomalies.Add(d.Stats.Anomalies.Load())
				if runErr != nil {
					fmt.Fprintf(e.stderr, "flowguard: %s: %v\n", in, runErr)
				}
				if flushErr != nil {
					closeOut()
					return flushErr
				}
			}
			if err := eve.Close(); err != nil {
				return err
			}
			if err := closeOut(); err != nil {
				return err
			}
			var byClass []string
			for c, n := range classes {
				byClass = append(byClass, fmt.Sprintf("%s %d", c, n))
			}
			sort.Strings(byClass)
			with := "model " + dc.ModelName
			switch {
			case dc.Model == nil:
				with = fmt.Sprintf("anomaly model %s alone (%d flows anomalous)", dc.AnomalyName, total.Anomalies.Load())
			case dc.Anomaly != nil:
				with += fmt.Sprintf(" and anomaly model %s (%d flows anomalous)", dc.AnomalyName, total.Anomalies.Load())
			}
			fmt.Fprintf(e.stderr, "flowguard detect: %d packets, %d flows (%s profile), %d alerts [%s] in %.2fs with %s\n",
				metered.Packets, total.Flows.Load(), pr.Name, total.Alerts.Load(), strings.Join(byClass, ", "), time.Since(start).Seconds(), with)
			return nil
		},
	}
	d := flowmeter.DefaultConfig()
	f := cmd.Flags()
	f.StringVar(&modelPath, "model", "", "model file (default: the embedded model); an anomaly model here runs alone")
	f.StringVar(&anomalyPath, "anomaly-model", "", "anomaly model (train --algo iforest) scored beside the classifier")
	f.StringVarP(&output, "output", "o", "-", `EVE JSON output ("-" for stdout)`)
	f.DurationVar(&flowTimeout, "flow-timeout", d.FlowTimeout, "a flow ends this long after its first packet")
	f.DurationVar(&activityTimeout, "activity-timeout", d.ActivityTimeout, "gaps longer than this separate active and idle periods")
	f.IntVar(&maxFlows, "max-flows", d.MaxFlows, "flow table capacity")
	return cmd
}

// countingSink counts alerts by class on their way to the next sink.
type countingSink struct {
	next    detect.Sink
	classes map[string]int
}

func (c countingSink) Send(ctx context.Context, as []alert.Alert) error {
	for i := range as {
		c.classes[as[i].Flowguard.Class]++
	}
	return c.next.Send(ctx, as)
}

func addStats(t *flowmeter.Stats, s flowmeter.Stats) {
	t.Packets += s.Packets
	t.Metered += s.Metered
	t.Flows += s.Flows
}
