package server

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/dataset"
)

type predictResp struct {
	Model       string `json:"model"`
	Rows        int    `json:"rows"`
	Alerts      int    `json:"alerts"`
	Predictions []struct {
		Class       string  `json:"class"`
		Probability float64 `json:"probability"`
		Score       float64 `json:"score"`
		Alert       bool    `json:"alert"`
	} `json:"predictions"`
}

// validationRows reads ml-ids's validation.csv: header and rows.
func validationRows(t *testing.T) ([]string, [][]string, []byte) {
	raw, err := os.ReadFile(shared(t, "data/seeds/ml-ids/validation.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs[0], recs[1:], raw
}

// TestPredictFormatsAgree scores the same 180 real flows sent as CSV,
// pandas-split and records (keyed by CIC-IDS2017 long names) and expects
// the same verdicts.
func TestPredictFormatsAgree(t *testing.T) {
	header, rows, raw := validationRows(t)
	ts := start(t, Config{})
	code, _, b := do(t, "POST", ts.url+"/v1/predict/flows?allow_nonfinite=true", "text/csv", bytes.NewReader(raw), "")
	if code != 200 {
		t.Fatalf("csv: %d %s", code, b)
	}
	viaCSV := decode[predictResp](t, b)
	if viaCSV.Rows != len(rows) || len(viaCSV.Predictions) != len(rows) {
		t.Fatalf("csv: %d rows, %d alerts", viaCSV.Rows, viaCSV.Alerts)
	}

	// pandas-split, values as numbers (inf spelled as Python writes it).
	var sb strings.Builder
	cols, _ := json.Marshal(header[1:])
	fmt.Fprintf(&sb, `{"columns":%s,"index":[],"data":[`, cols)
	for i, r := range rows {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('[')
		for j, v := range r[1:] {
			if j > 0 {
				sb.WriteByte(',')
			}
			switch {
			case header[j+1] == "timestamp" || header[j+1] == "label":
				q, _ := json.Marshal(v)
				sb.Write(q)
			case v == "inf":
				sb.WriteString("Infinity")
			case v == "-inf":
				sb.WriteString("-Infinity")
			default:
				sb.WriteString(v)
			}
		}
		sb.WriteByte(']')
	}
	sb.WriteString("]}")
	split := sb.String()
	code, _, b = do(t, "POST", ts.url+"/v1/predict/flows?allow_nonfinite=true", "application/json; format=pandas-split", strings.NewReader(split), "")
	if code != 200 {
		t.Fatalf("split: %d %s", code, b)
	}
	same(t, "split", viaCSV, decode[predictResp](t, b))

	// Records keyed by CIC-IDS2017's long names, non-finite as strings.
	long := map[string]string{}
	for _, c := range dataset.Columns() {
		if n := c.Names["cic-ids2017"]; len(n) > 0 {
			long[c.ID] = n[0]
		}
	}
	var recs []map[string]any
	for _, r := range rows {
		m := map[string]any{}
		for j, v := range r {
			id, ok := canonicalID(header[j])
			if !ok || long[id] == "" || id == "label" || id == "timestamp" {
				continue
			}
			var f any = json.Number(v)
			switch {
			case v == "":
				f = nil
			case strings.Contains(v, "inf"):
				f = map[bool]string{true: "-Infinity", false: "Infinity"}[strings.HasPrefix(v, "-")]
			}
			m[long[id]] = f
		}
		recs = append(recs, m)
	}
	body, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	code, _, b = do(t, "POST", ts.url+"/v1/predict/flows?allow_nonfinite=true", "application/json", bytes.NewReader(body), "")
	if code != 200 {
		t.Fatalf("records: %d %s", code, b)
	}
	same(t, "records", viaCSV, decode[predictResp](t, b))
}

func same(t *testing.T, name string, want, got predictResp) {
	t.Helper()
	if got.Rows != want.Rows {
		t.Fatalf("%s: %d rows, want %d", name, got.Rows, want.Rows)
	}
	for i := range want.Predictions {
		if got.Predictions[i] != want.Predictions[i] {
			t.Fatalf("%s row %d: %+v, csv gave %+v", name, i, got.Predictions[i], want.Predictions[i])
		}
	}
}

// TestBadInputs sends client mistakes: each must be a problem+json naming
// what is wrong, never a 500.
func TestBadInputs(t *testing.T) {
	_, _, raw := validationRows(t)
	ts := start(t, Config{MaxBodyBytes: 1 << 20, MaxPcapBytes: 1 << 20})
	rec := func(extra string) string {
		var sb strings.Builder
		sb.WriteString(`[{`)
		for i, f := range ts.models.current().art.Schema.Features {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `"%s":1`, f)
		}
		sb.WriteString(extra + `}]`)
		return sb.String()
	}
	lines := strings.SplitN(string(raw), "\n", 4)
	fields := strings.Split(lines[2], ",")
	fields[4] = "12x"
	lines[2] = strings.Join(fields, ",")
	badCSV := strings.Join(lines, "\n")
	pcap, err := os.ReadFile(shared(t, "golden/pcap/cicids2017_webattack_sqlinj.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path, ct, body, token string
		status                              int
		loc                                 string // substring of some errors[].location
	}{
		{"bad JSON", "POST", "/v1/predict/flows", "application/json", `[{"flow_duration": 1,,}]`, "", 400, "body@"},
		{"truncated JSON", "POST", "/v1/predict/flows", "application/json", `[{"flow_duration": 1`, "", 400, "body@"},
		{"empty", "POST", "/v1/predict/flows", "application/json", ``, "", 400, "body"},
		{"missing columns", "POST", "/v1/predict/flows", "application/json", `[{"flow_duration": 1}]`, "", 400, "body[0]"},
		{"NaN", "POST", "/v1/predict/flows", "application/json", rec(`,"flow_duration":NaN`), "", 400, "body[0].flow_duration"},
		{"Infinity string", "POST", "/v1/predict/flows", "application/json", rec(`,"Flow Bytes/s":"Infinity"`), "", 400, "body[0].flow_byts_s"},
		{"wrong type", "POST", "/v1/predict/flows", "application/json", rec(`,"flow_duration":"long"`), "", 400, "body[0].flow_duration"},
		{"wrong type bool", "POST", "/v1/predict/flows", "application/json", rec(`,"tot_fwd_pkts":true`), "", 400, "body[0].tot_fwd_pkts"},
		{"CSV missing columns", "POST", "/v1/predict/flows", "text/csv", "flow_duration\n1\n", "", 400, "body.header"},
		{"CSV bad number", "POST", "/v1/predict/flows?allow_nonfinite=true", "text/csv", badCSV, "", 400, "body.line[3].flow_duration"},
		{"CSV inf not allowed", "POST", "/v1/predict/flows", "text/csv", string(raw), "", 400, "body.line["},
		{"split data first", "POST", "/v1/predict/flows", "application/json; format=pandas-split", `{"data":[[1]],"columns":["a"]}`, "", 400, "body@"},
		{"unsupported type", "POST", "/v1/predict/flows", "application/xml", `<x/>`, "", 415, "header.Content-Type"},
		{"oversized body", "POST", "/v1/predict/flows?allow_nonfinite=true", "text/csv", lines[0] + "\n" + strings.Repeat(lines[1]+"\n", 1+(1<<20)/len(lines[1])), "", 413, "body@"},
		{"no token", "POST", "/v1/jobs/pcap", "application/vnd.tcpdump.pcap", string(pcap), "", 401, "header.Authorization"},
		{"wrong token", "POST", "/v1/jobs/pcap", "application/vnd.tcpdump.pcap", string(pcap), "nope", 401, "header.Authorization"},
		{"model upload no token", "POST", "/v1/models", "application/octet-stream", "x", "", 401, "header.Authorization"},
		{"activate no token", "POST", "/v1/models/flowguard-default/activate", "", "", "", 401, "header.Authorization"},
		{"truncated pcap", "POST", "/v1/jobs/pcap", "application/vnd.tcpdump.pcap", string(pcap[:len(pcap)-7]), testToken, 400, "body@"},
		{"non-pcap", "POST", "/v1/jobs/pcap", "application/octet-stream", "hello, this is not a capture file at all", testToken, 400, "body"},
		{"empty pcap", "POST", "/v1/jobs/pcap", "application/octet-stream", "", testToken, 400, "body"},
		{"oversized pcap", "POST", "/v1/jobs/pcap", "application/octet-stream", strings.Repeat(string(pcap), 1+(1<<20)/len(pcap)), testToken, 413, "body@"},
		{"bad model", "POST", "/v1/models", "application/octet-stream", "not a model", testToken, 422, "body"},
		{"unknown model", "POST", "/v1/models/nope/activate", "", "", testToken, 404, "path.id"},
		{"unknown job", "GET", "/v1/jobs/nope", "", "", "", 404, "path.id"},
		{"bad alert query", "GET", "/v1/alerts?since=yesterday&host=foo", "", "", "", 400, "query.since"},
		{"bad cursor", "GET", "/v1/alerts?cursor=%21%21", "", "", "", 400, "query.cursor"},
		{"ml-ids wrong type", "POST", "/api/predictions", "application/json", `{"columns":[],"data":[]}`, "", 415, "header.Content-Type"},
		{"ml-ids empty", "POST", "/api/predictions", "application/json; format=pandas-split", ``, "", 400, "body"},
		{"ml-ids unparsable", "POST", "/api/predictions", "application/json; format=pandas-split", `{"columns": [`, "", 400, "body@"},
		{"misuse bad JSON", "POST", "/predict/", "application/json", `{"features": [1, 2,`, "", 400, "body@"},
		{"misuse wrong type", "POST", "/predict/", "application/json", `{"features": "abc"}`, "", 400, "body.features"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, ct, b := do(t, c.method, ts.url+c.path, c.ct, strings.NewReader(c.body), c.token)
			if code != c.status {
				t.Fatalf("status %d, want %d: %s", code, c.status, b)
			}
			if ct != "application/problem+json" {
				t.Fatalf("content type %q: %s", ct, b)
			}
			var p struct {
				Status int
				Detail string
				Errors []struct{ Location, Message string }
			}
			if err := json.Unmarshal(b, &p); err != nil || p.Status != code || p.Detail == "" {
				t.Fatalf("not a problem: %s", b)
			}
			for _, e := range p.Errors {
				if strings.Contains(e.Location, c.loc) {
					return
				}
			}
			t.Fatalf("no error located at %q: %s", c.loc, b)
		})
	}
	_, _, b := do(t, "GET", ts.url+"/metrics", "", nil, "")
	if bytes.Contains(b, []byte(`code="500"`)) {
		t.Fatal("a client mistake was answered 500")
	}
}
