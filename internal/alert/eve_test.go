package alert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testAlert is a fully populated alert; times are whole microseconds, all
// EVE keeps.
func testAlert(i int) Alert {
	at := time.Date(2024, 3, 5, 14, 7, 22, 418305000, time.FixedZone("", 3600)).Add(time.Duration(i) * time.Millisecond)
	cid := "1:Hn3GmkI6Y0gD3LeXx6tNrxwWDeU="
	return Alert{
		ID:          fmt.Sprintf("fg-%06d", i),
		Timestamp:   at,
		EventType:   "alert",
		FlowID:      FlowID(cid),
		CommunityID: cid,
		SrcIP:       "198.51.100.23",
		SrcPort:     51544,
		DestIP:      "192.0.2.80",
		DestPort:    80,
		Proto:       ProtoName(6),
		Alert: Info{Action: "allowed", GID: 1, SignatureID: 9000001, Rev: 1,
			Signature: "FLOWGUARD DDoS", Category: "Attempted Denial of Service", Severity: Severity(0.97, 0.5)},
		Flowguard: Detail{
			Kind: "classifier", Model: "gbdt", ModelVersion: "2024.03.1", Class: "DDoS",
			Score: 0.97, Threshold: 0.5, Profile: "cic",
			Features: []Feature{
				{Name: "Flow IAT Mean", Value: 1523.5, Contribution: 0.41},
				{Name: "Fwd Packets/s", Value: 2.5e-7, Contribution: -0.12},
			},
			FlowStart: at.Add(-3 * time.Second), FlowEnd: at.Add(-time.Second),
			Packets: 9, Bytes: 1702, Source: "eth0", Job: "job-7",
		},
	}
}

var eveTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d{4}$`)

// suricataEvent is how an EVE consumer reads an alert: Suricata's field
// names and JSON types, nothing of flowguard's.
type suricataEvent struct {
	Timestamp   string `json:"timestamp"`
	FlowID      int64  `json:"flow_id"`
	EventType   string `json:"event_type"`
	SrcIP       string `json:"src_ip"`
	SrcPort     int    `json:"src_port"`
	DestIP      string `json:"dest_ip"`
	DestPort    int    `json:"dest_port"`
	Proto       string `json:"proto"`
	CommunityID string `json:"community_id"`
	Alert       *struct {
		Action      string `json:"action"`
		GID         int    `json:"gid"`
		SignatureID int    `json:"signature_id"`
		Rev         int    `json:"rev"`
		Signature   string `json:"signature"`
		Category    string `json:"category"`
		Severity    int    `json:"severity"`
	} `json:"alert"`
}

func (e *suricataEvent) check(t *testing.T, what string) {
	t.Helper()
	if !eveTimestamp.MatchString(e.Timestamp) {
		t.Errorf("%s: timestamp %q is not in EVE's format", what, e.Timestamp)
	}
	if _, err := time.Parse(EVETimeLayout, e.Timestamp); err != nil {
		t.Errorf("%s: %v", what, err)
	}
	if e.FlowID <= 0 || e.FlowID >= 1<<51 {
		t.Errorf("%s: flow_id %d outside Suricata's 51 bits", what, e.FlowID)
	}
	if e.EventType != "alert" || e.Alert == nil || e.Alert.Severity < 1 || e.Alert.Severity > 3 || e.Proto == "" {
		t.Errorf("%s: not an EVE alert: %+v", what, e)
	}
}

func TestSuricataConsumerReadsOurs(t *testing.T) {
	fixture, err := os.ReadFile("testdata/suricata-alert.json")
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert(0)
	ours, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	for what, line := range map[string][]byte{"fixture": fixture, "ours": ours} {
		var e suricataEvent
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		e.check(t, what)
	}

	// Every key both have holds the same JSON type.
	var fx, us map[string]any
	json.Unmarshal(fixture, &fx)
	json.Unmarshal(ours, &us)
	for _, obj := range []string{"", "alert"} {
		f, u := fx, us
		if obj != "" {
			f, u = fx[obj].(map[string]any), us[obj].(map[string]any)
		}
		for k, fv := range f {
			uv, ok := u[k]
			if !ok {
				continue
			}
			if reflect.TypeOf(fv) != reflect.TypeOf(uv) {
				t.Errorf("%s.%s: Suricata has %T, we have %T", obj, k, fv, uv)
			}
		}
	}
	for _, k := range []string{"timestamp", "flow_id", "event_type", "src_ip", "src_port", "dest_ip", "dest_port", "proto", "community_id", "alert"} {
		if _, ok := us[k]; !ok {
			t.Errorf("ours lacks EVE's %q", k)
		}
	}
	if got := string(ours[:len(`{"timestamp":"2024-03-05T14:07:22.418305+0100"`)]); got != `{"timestamp":"2024-03-05T14:07:22.418305+0100"` {
		t.Errorf("timestamp first and in EVE's format: got %s", got)
	}
}

// TestMarshalCoversAlert guards the hand-rolled encoder against drift from
// the struct: it must write the keys, and values, that reflection would.
func TestMarshalCoversAlert(t *testing.T) {
	type plain Alert // no methods: encoding/json's own encoding
	a := testAlert(3)
	a.Flowguard.Job = ""
	an := testAlert(4)
	an.Flowguard.Kind, an.Flowguard.Class = "anomaly", "anomaly"
	an.Flowguard.Anomaly = &Anomaly{Model: "iforest", Score: 0.71, Threshold: 0.66, NearestProfile: 3, ProfileDistance: 7.25, ProfileRadius: 2.5}
	an.Flowguard.Early = true
	for _, a := range []Alert{testAlert(3), a, an} {
		std, err := json.Marshal(plain(a))
		if err != nil {
			t.Fatal(err)
		}
		ours, _ := json.Marshal(a)
		var want, got map[string]any
		json.Unmarshal(std, &want)
		json.Unmarshal(ours, &got)
		normalizeTimes(t, want)
		normalizeTimes(t, got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("encoding differs from the struct's:\n got %v\nwant %v", got, want)
		}
	}
}

func normalizeTimes(t *testing.T, m map[string]any) {
	t.Helper()
	fg := m["flowguard"].(map[string]any)
	for _, p := range []struct {
		m map[string]any
		k string
	}{{m, "timestamp"}, {fg, "flow_start"}, {fg, "flow_end"}} {
		ts, err := parseTime(p.m[p.k].(string))
		if err != nil {
			t.Fatal(err)
		}
		p.m[p.k] = ts.UTC().Format(time.RFC3339Nano)
	}
}

func TestRoundTrip(t *testing.T) {
	a := testAlert(5)
	a.Flowguard.Early = true
	a.Flowguard.Anomaly = &Anomaly{Model: "iforest", Score: 0.71, Threshold: 0.66, NearestProfile: 3, ProfileDistance: 7.25, ProfileRadius: 2.5}
	b, _ := json.Marshal(a)
	var back Alert
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ got, want time.Time }{
		{back.Timestamp, a.Timestamp}, {back.Flowguard.FlowStart, a.Flowguard.FlowStart}, {back.Flowguard.FlowEnd, a.Flowguard.FlowEnd},
	} {
		if !p.got.Equal(p.want) {
			t.Errorf("time %v, want %v", p.got, p.want)
		}
	}
	back.Timestamp, back.Flowguard.FlowStart, back.Flowguard.FlowEnd = a.Timestamp, a.Flowguard.FlowStart, a.Flowguard.FlowEnd
	if !reflect.DeepEqual(back, a) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, a)
	}
	// RFC 3339 is read too, for alerts that came from elsewhere.
	var rfc Alert
	if err := json.Unmarshal([]byte(`{"timestamp":"2024-03-05T13:07:22.418305Z","flowguard":{"flow_start":null}}`), &rfc); err != nil {
		t.Fatal(err)
	}
	if !rfc.Timestamp.Equal(testAlert(0).Timestamp) || !rfc.Flowguard.FlowStart.IsZero() {
		t.Errorf("RFC 3339 read as %v, %v", rfc.Timestamp, rfc.Flowguard.FlowStart)
	}
	if err := json.Unmarshal([]byte(`{"timestamp":"yesterday"}`), &rfc); err == nil {
		t.Error("a bad timestamp decoded")
	}
}

func TestMarshalEscapesAndNonFinite(t *testing.T) {
	a := testAlert(1)
	a.Alert.Signature = "quote\" backslash\\ nl\n cr\r tab\t nul\x00 esc\x1b del\x7f sep\u2028\u2029 é 🙂"
	a.Flowguard.Class = "bad\xff\xfeutf8"
	a.Flowguard.Score = math.NaN()
	a.Flowguard.Features[0].Value = math.Inf(1)
	a.Flowguard.Features[1].Contribution = math.Inf(-1)
	a.Timestamp = time.Time{}
	b, _ := json.Marshal(a)
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	if bytes.ContainsAny(b, "\n\r\x00") || strings.Contains(string(b), "\u2028") {
		t.Errorf("raw line break or NUL in %q", b)
	}
	var back Alert
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Alert.Signature != a.Alert.Signature {
		t.Errorf("signature %q, want %q", back.Alert.Signature, a.Alert.Signature)
	}
	if back.Flowguard.Class != "bad\ufffd\ufffdutf8" {
		t.Errorf("invalid UTF-8 became %q", back.Flowguard.Class)
	}
	for _, s := range []string{`"score":null`, `"value":null`, `"contribution":null`, `"timestamp":null`} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("want %s in %s", s, b)
		}
	}
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, 1, -1, 0.5, 1e-7, 1e-6, 123456789, 1e20, 1e21, 1.5e300, -2.5e-10, 0.1 + 0.2} {
		want, _ := json.Marshal(f)
		if got := appendFloat(nil, f); string(got) != string(want) {
			t.Errorf("%v: got %s, want %s", f, got, want)
		}
	}
}

func TestHelpers(t *testing.T) {
	cid := "1:Hn3GmkI6Y0gD3LeXx6tNrxwWDeU="
	if FlowID(cid) != FlowID(cid) || FlowID(cid) == FlowID("1:other") || FlowID(cid) >= 1<<51 || FlowID(cid) == 0 {
		t.Errorf("FlowID not stable, distinct and within 51 bits: %d", FlowID(cid))
	}
	if FlowID("") != 0 {
		t.Error("FlowID of no Community ID")
	}
	// The derivation is part of the format: ids must not change between
	// releases, or EVE joins across them break.
	if got := FlowID(cid); got != 1385614127571396 {
		t.Errorf("FlowID(%s) = %d, want 1385614127571396", cid, got)
	}
	for p, want := range map[uint8]string{1: "ICMP", 6: "TCP", 17: "UDP", 58: "IPv6-ICMP", 132: "132", 0: "0"} {
		if got := ProtoName(p); got != want {
			t.Errorf("ProtoName(%d) = %q, want %q", p, got, want)
		}
	}
	for _, c := range []struct {
		score, threshold float64
		want             int
	}{
		{0.99, 0.5, 1}, {0.75, 0.5, 1}, {0.74, 0.5, 2}, {0.61, 0.5, 2}, {0.59, 0.5, 3}, {0.5, 0.5, 3}, {0.2, 0.5, 3},
		{0.96, 0.9, 1}, {0.93, 0.9, 2}, {0.91, 0.9, 3},
		{15, 10, 1}, {12, 10, 2}, {11, 10, 3}, // unbounded anomaly scores
		{math.NaN(), 0.5, 3}, {math.Inf(1), 0.5, 1},
	} {
		if got := Severity(c.score, c.threshold); got != c.want {
			t.Errorf("Severity(%v, %v) = %d, want %d", c.score, c.threshold, got, c.want)
		}
	}
}

func BenchmarkEVEEncode(b *testing.B) {
	a := testAlert(1)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendAlert(buf[:0], &a)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}
