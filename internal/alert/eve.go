package alert

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// EVETimeLayout is Suricata's EVE timestamp (strftime
// "%Y-%m-%dT%H:%M:%S.%06u%z"): microseconds and a zone offset without a
// colon. It is not RFC 3339, and EVE parsers (Logstash, Filebeat, jq
// recipes) expect exactly this, so every alert timestamp is written in it,
// in the time's own location as Suricata writes local time.
const EVETimeLayout = "2006-01-02T15:04:05.000000-0700"

// flowIDMask keeps flow ids to 51 bits, as Suricata does, so JavaScript and
// other float64-backed JSON readers hold them exactly.
const flowIDMask = 1<<51 - 1

// FlowID derives EVE's numeric flow_id from a flow's Community ID, as the
// 64-bit FNV-1a hash of the string cut to 51 bits: the same flow gets the
// same id in every run and every sink (and other tools can recompute it),
// so EVE tools that join events on flow_id work. It is 0 for an empty
// Community ID.
func FlowID(communityID string) uint64 {
	if communityID == "" {
		return 0
	}
	h := fnv.New64a() // stable by definition, unlike hash/maphash
	h.Write([]byte(communityID))
	return h.Sum64() & flowIDMask
}

// ProtoName is EVE's proto value for an IP protocol number.
func ProtoName(p uint8) string {
	switch p {
	case 1:
		return "ICMP"
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	case 58:
		return "IPv6-ICMP"
	}
	return strconv.Itoa(int(p))
}

// Severity maps a score to EVE's severity, 1 (high) to 3 (low), by how far
// the score is into the room above its threshold: 1 − threshold for
// probability-like scores (threshold < 1), the threshold itself for
// unbounded anomaly scores. Half-way or more is 1, a fifth or more is 2,
// anything less (including a score under the threshold, or NaN) is 3.
func Severity(score, threshold float64) int {
	room := 1 - threshold
	if threshold >= 1 {
		room = threshold
	}
	switch margin := (score - threshold) / room; {
	case margin >= 0.5:
		return 1
	case margin >= 0.2:
		return 2
	}
	return 3
}

// MarshalJSON writes a as one EVE alert object. It is hand-rolled rather
// than reflective because every sink encodes every alert: timestamps in
// EVETimeLayout (zero times as null), non-finite numbers as null (JSON has
// neither NaN nor infinities, and a feature ratio can be either), invalid
// UTF-8 replaced. Fields are in Suricata's order.
func (a Alert) MarshalJSON() ([]byte, error) {
	return appendAlert(make([]byte, 0, 768), &a), nil
}

// UnmarshalJSON reads an alert written by MarshalJSON; timestamps may also
// be RFC 3339.
func (a *Alert) UnmarshalJSON(b []byte) error {
	// The aliases have no methods, so decoding into them does not recurse;
	// the outer time fields shadow the embedded ones.
	type plainAlert Alert
	type plainDetail Detail
	var w struct {
		*plainAlert
		Timestamp eveTime `json:"timestamp"`
		Flowguard struct {
			*plainDetail
			FlowStart eveTime `json:"flow_start"`
			FlowEnd   eveTime `json:"flow_end"`
		} `json:"flowguard"`
	}
	w.plainAlert = (*plainAlert)(a)
	w.Flowguard.plainDetail = (*plainDetail)(&a.Flowguard)
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	a.Timestamp = time.Time(w.Timestamp)
	a.Flowguard.FlowStart = time.Time(w.Flowguard.FlowStart)
	a.Flowguard.FlowEnd = time.Time(w.Flowguard.FlowEnd)
	return nil
}

// eveTime decodes an EVE or RFC 3339 timestamp, or null.
type eveTime time.Time

func (t *eveTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := parseTime(s)
	*t = eveTime(v)
	return err
}

// parseTime reads a timestamp in EVE's layout or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(EVETimeLayout, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: want EVE (%s) or RFC 3339", s, EVETimeLayout)
	}
	return t, nil
}

func appendAlert(b []byte, a *Alert) []byte {
	eventType := a.EventType
	if eventType == "" {
		eventType = "alert" // EVE consumers route on it: never leave it empty
	}
	b = append(b, `{"timestamp":`...)
	b = appendTime(b, a.Timestamp)
	b = append(b, `,"flow_id":`...)
	b = strconv.AppendUint(b, a.FlowID, 10)
	b = append(b, `,"event_type":`...)
	b = appendString(b, eventType)
	b = append(b, `,"src_ip":`...)
	b = appendString(b, a.SrcIP)
	b = append(b, `,"src_port":`...)
	b = strconv.AppendInt(b, int64(a.SrcPort), 10)
	b = append(b, `,"dest_ip":`...)
	b = appendString(b, a.DestIP)
	b = append(b, `,"dest_port":`...)
	b = strconv.AppendInt(b, int64(a.DestPort), 10)
	b = append(b, `,"proto":`...)
	b = appendString(b, a.Proto)
	b = append(b, `,"community_id":`...)
	b = appendString(b, a.CommunityID)
	b = append(b, `,"id":`...)
	b = appendString(b, a.ID)

	i := &a.Alert
	b = append(b, `,"alert":{"action":`...)
	b = appendString(b, i.Action)
	b = append(b, `,"gid":`...)
	b = strconv.AppendInt(b, int64(i.GID), 10)
	b = append(b, `,"signature_id":`...)
	b = strconv.AppendInt(b, int64(i.SignatureID), 10)
	b = append(b, `,"rev":`...)
	b = strconv.AppendInt(b, int64(i.Rev), 10)
	b = append(b, `,"signature":`...)
	b = appendString(b, i.Signature)
	b = append(b, `,"category":`...)
	b = appendString(b, i.Category)
	b = append(b, `,"severity":`...)
	b = strconv.AppendInt(b, int64(i.Severity), 10)

	d := &a.Flowguard
	b = append(b, `},"flowguard":{"kind":`...)
	b = appendString(b, d.Kind)
	b = append(b, `,"model":`...)
	b = appendString(b, d.Model)
	b = append(b, `,"model_version":`...)
	b = appendString(b, d.ModelVersion)
	b = append(b, `,"class":`...)
	b = appendString(b, d.Class)
	b = append(b, `,"score":`...)
	b = appendFloat(b, d.Score)
	b = append(b, `,"threshold":`...)
	b = appendFloat(b, d.Threshold)
	b = append(b, `,"profile":`...)
	b = appendString(b, d.Profile)
	if len(d.Features) > 0 {
		b = append(b, `,"top_features":[`...)
		for k := range d.Features {
			f := &d.Features[k]
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendString(b, f.Name)
			b = append(b, `,"value":`...)
			b = appendFloat(b, f.Value)
			b = append(b, `,"contribution":`...)
			b = appendFloat(b, f.Contribution)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"flow_start":`...)
	b = appendTime(b, d.FlowStart)
	b = append(b, `,"flow_end":`...)
	b = appendTime(b, d.FlowEnd)
	b = append(b, `,"packets":`...)
	b = strconv.AppendInt(b, d.Packets, 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, d.Bytes, 10)
	b = append(b, `,"source":`...)
	b = appendString(b, d.Source)
	if d.Job != "" {
		b = append(b, `,"job":`...)
		b = appendString(b, d.Job)
	}
	if an := d.Anomaly; an != nil {
		b = append(b, `,"anomaly":{"model":`...)
		b = appendString(b, an.Model)
		b = append(b, `,"score":`...)
		b = appendFloat(b, an.Score)
		b = append(b, `,"threshold":`...)
		b = appendFloat(b, an.Threshold)
		b = append(b, `,"nearest_profile":`...)
		b = strconv.AppendInt(b, int64(an.NearestProfile), 10)
		b = append(b, `,"profile_distance":`...)
		b = appendFloat(b, an.ProfileDistance)
		b = append(b, `,"profile_radius":`...)
		b = appendFloat(b, an.ProfileRadius)
		b = append(b, '}')
	}
	if d.Early {
		b = append(b, `,"early":true`...)
	}
	return append(b, "}}"...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, EVETimeLayout)
	return append(b, '"')
}

// appendFloat writes f as encoding/json would, except that NaN and
// infinities, which JSON cannot express, become null.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if abs := math.Abs(f); abs == 0 || (abs >= 1e-6 && abs < 1e21) {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	b = strconv.AppendFloat(b, f, 'e', -1, 64)
	if n := len(b); b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2], b = b[n-1], b[:n-1] // e-07 to e-7
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. Control characters are escaped,
// invalid UTF-8 becomes U+FFFD, and U+2028/U+2029 are escaped because
// JavaScript treats them as line ends.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
