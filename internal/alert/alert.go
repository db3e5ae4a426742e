// Package alert defines flowguard's alert record, compatible with Suricata's
// EVE JSON so SOC pipelines that read EVE ingest it unchanged, and the sinks
// alerts go to (an EVE file, webhooks, live streams, the store).
package alert

import (
	"time"
)

// Alert is one detection. The top-level fields are EVE's; flowguard's own
// detail is in Flowguard, under a key EVE consumers ignore.
type Alert struct {
	// ID is flowguard's unique alert ID (assigned when the alert is made;
	// a store keeps it as the primary key).
	ID          string    `json:"id"`
	Timestamp   time.Time `json:"timestamp"`  // when the verdict was made; EVE's event time
	EventType   string    `json:"event_type"` // always "alert"
	FlowID      uint64    `json:"flow_id"`    // EVE's numeric flow id (derived from the Community ID)
	CommunityID string    `json:"community_id"`
	SrcIP       string    `json:"src_ip"`
	SrcPort     int       `json:"src_port"`
	DestIP      string    `json:"dest_ip"`
	DestPort    int       `json:"dest_port"`
	Proto       string    `json:"proto"` // "TCP", "UDP", "ICMP", "IPv6-ICMP" or the number
	Alert       Info      `json:"alert"`
	Flowguard   Detail    `json:"flowguard"`
}

// Info is EVE's alert object.
type Info struct {
	Action      string `json:"action"` // "allowed": flowguard detects, it does not block
	GID         int    `json:"gid"`
	SignatureID int    `json:"signature_id"`
	Rev         int    `json:"rev"`
	Signature   string `json:"signature"`
	Category    string `json:"category"`
	Severity    int    `json:"severity"` // 1 (high) to 3 (low), as in Suricata
}

// Detail is what flowguard adds: which model said what, how sure it was,
// and why.
type Detail struct {
	Kind         string    `json:"kind"` // "classifier" or "anomaly"
	Model        string    `json:"model"`
	ModelVersion string    `json:"model_version"`
	Class        string    `json:"class"`
	Score        float64   `json:"score"`     // attack score 1 − P(benign), or anomaly score
	Threshold    float64   `json:"threshold"` // the score at and above which flowguard alerts
	Profile      string    `json:"profile"`   // flow-meter profile of the features
	Features     []Feature `json:"top_features,omitempty"`
	FlowStart    time.Time `json:"flow_start"`
	FlowEnd      time.Time `json:"flow_end"`
	Packets      int64     `json:"packets"`
	Bytes        int64     `json:"bytes"`
	Source       string    `json:"source"` // file, interface or upload job the flow came from
	Job          string    `json:"job,omitempty"`
	// Anomaly is the anomaly detector's verdict when one runs beside the
	// classifier and flagged the flow: set on every alert of Kind
	// "anomaly", and on a classifier alert whose flow was also anomalous
	// (one alert per flow carries both verdicts).
	Anomaly *Anomaly `json:"anomaly,omitempty"`
	// Early is set on a verdict made while the flow was still in
	// progress (live capture, --early): FlowEnd is its latest packet.
	Early bool `json:"early,omitempty"`
}

// Anomaly says how unusual a flow is against normal traffic and which
// normal profile (a centroid of the benign training flows) it is nearest.
type Anomaly struct {
	Model     string  `json:"model"`
	Score     float64 `json:"score"`     // isolation-forest score, higher is more unusual
	Threshold float64 `json:"threshold"` // flagged when Score is above it
	// NearestProfile is the index of the nearest normal profile,
	// ProfileDistance the distance to its centroid in the model's
	// standardised feature space, and ProfileRadius that profile's usual
	// spread (95th percentile of its own training flows' distances).
	NearestProfile  int     `json:"nearest_profile"`
	ProfileDistance float64 `json:"profile_distance"`
	ProfileRadius   float64 `json:"profile_radius"`
}

// Feature is one of the flow's features that contributed most to the
// verdict.
type Feature struct {
	Name         string  `json:"name"`
	Value        float64 `json:"value"`
	Contribution float64 `json:"contribution"`
}

// Filter selects alerts, for queries and live streams. Zero fields match
// everything.
type Filter struct {
	Since, Until time.Time
	Class        string
	Host         string // source or destination address
	MaxSeverity  int    // 1..3: alerts at least this severe (lower number); 0 all
	Kind         string
	Job          string
}

// Match reports whether a passes f.
func (f *Filter) Match(a *Alert) bool {
	switch {
	case !f.Since.IsZero() && a.Timestamp.Before(f.Since):
	case !f.Until.IsZero() && !a.Timestamp.Before(f.Until):
	case f.Class != "" && a.Flowguard.Class != f.Class:
	case f.Host != "" && a.SrcIP != f.Host && a.DestIP != f.Host:
	case f.MaxSeverity > 0 && a.Alert.Severity > f.MaxSeverity:
	case f.Kind != "" && a.Flowguard.Kind != f.Kind:
	case f.Job != "" && a.Flowguard.Job != f.Job:
	default:
		return true
	}
	return false
}
