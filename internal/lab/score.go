package lab

import (
	"context"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
)

// Watcher runs live detection on an interface while scenarios run.
type Watcher interface {
	// Watch starts detection on iface; stop ends it and returns every alert raised.
	Watch(ctx context.Context, iface string) (stop func() ([]alert.Alert, error), err error)
}

// LabelledFlow is what scoring needs of one flow of the run's dataset.
type LabelledFlow struct {
	CommunityID string
	Start, End  time.Time
	Label       string // "BENIGN" or the attack class
}

// IsAttack reports whether the flow is labelled as an attack.
func (f *LabelledFlow) IsAttack() bool { return f.Label != "" && f.Label != benignLabel }

const benignLabel = "BENIGN"

// Detection is the live detector's score on one scenario.
type Detection struct {
	Alerts      int     `json:"alerts"`
	Detected    int     `json:"detected"`     // attack flows with at least one alert
	Recall      float64 `json:"recall"`       // detected / attack flows (0 without attack flows)
	FalseAlerts int     `json:"false_alerts"` // alerts on benign flows or on no flow of the dataset
	// Unmatched of the false alerts matched no flow of the dataset.
	Unmatched      int     `json:"unmatched_alerts"`
	FalseAlertRate float64 `json:"false_alert_rate"`
	// FirstAlertSeconds is the first alert on an attack flow minus the
	// attack's start; null when no attack flow was alerted on.
	FirstAlertSeconds *float64 `json:"first_alert_seconds"`
}

// Score matches alerts to the labelled flows and scores the detection. An
// alert belongs to the flow with its Community ID whose time span holds
// the alert's flow start, or lies nearest to it within tolerance, nearest
// start first among several (the same 5-tuple recurs in several flows:
// port reuse, timeouts; and the live meter's idle timeout cuts a slow flow
// into pieces that each fall inside the dataset's one flow).
// attackStart is when the first attack step started (zero: none).
func Score(flows []LabelledFlow, alerts []alert.Alert, attackStart time.Time, tolerance time.Duration) Detection {
	byID := make(map[string][]int, len(flows))
	benign := 0
	attacks := 0
	for i := range flows {
		byID[flows[i].CommunityID] = append(byID[flows[i].CommunityID], i)
		if flows[i].IsAttack() {
			attacks++
		} else {
			benign++
		}
	}
	hit := make([]bool, len(flows))
	d := Detection{Alerts: len(alerts)}
	var first time.Time
	for i := range alerts {
		a := &alerts[i]
		best, bestGap := -1, time.Duration(0)
		bestStart := time.Duration(0)
		for _, j := range byID[a.CommunityID] {
			at, start, end := a.Flowguard.FlowStart, flows[j].Start, flows[j].End
			if end.Before(start) {
				end = start
			}
			var gap time.Duration
			switch {
			case at.Before(start):
				gap = start.Sub(at)
			case at.After(end):
				gap = at.Sub(end)
			}
			fromStart := absDuration(at.Sub(flows[j].Start))
			if gap <= tolerance && (best < 0 || gap < bestGap || gap == bestGap && fromStart < bestStart) {
				best, bestGap, bestStart = j, gap, fromStart
			}
		}
		if best < 0 {
			d.Unmatched++
		}
		if best < 0 || !flows[best].IsAttack() {
			d.FalseAlerts++
			continue
		}
		if !hit[best] {
			hit[best] = true
			d.Detected++
		}
		if first.IsZero() || a.Timestamp.Before(first) {
			first = a.Timestamp
		}
	}
	if attacks > 0 {
		d.Recall = float64(d.Detected) / float64(attacks)
	}
	if benign > 0 {
		d.FalseAlertRate = float64(d.FalseAlerts) / float64(benign)
	}
	if !first.IsZero() && !attackStart.IsZero() {
		s := first.Sub(attackStart).Seconds()
		d.FirstAlertSeconds = &s
	}
	return d
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
