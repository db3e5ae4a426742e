package cli

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/flowguard/flowguard/internal/sharedtest"
)

func sharedPcap(t *testing.T, name string) string {
	t.Helper()
	return sharedtest.Path(t, "golden/pcap/"+name+".pcap")
}

func run(t *testing.T, stdin []byte, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, bytes.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func TestFlowsFormatsAgree(t *testing.T) {
	in := sharedPcap(t, "cicids2017_webattack_sqlinj")
	csvOut, stderr, code := run(t, nil, "flows", "--ipv4-only", "--community-id", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "94 packets") || !strings.Contains(stderr, "9 flows written") {
		t.Errorf("summary does not say what was done: %q", stderr)
	}
	recs, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 10 || recs[0][len(recs[0])-1] != "Community ID" {
		t.Fatalf("want header + 9 engelen rows with a Community ID column, got %d rows", len(recs))
	}

	jsonOut, _, code := run(t, nil, "flows", "--ipv4-only", "--format", "jsonl", "-q", in)
	if code != 0 {
		t.Fatal("jsonl failed")
	}
	lines := strings.Split(strings.TrimSpace(jsonOut), "\n")
	if len(lines) != 9 {
		t.Fatalf("want 9 JSON lines, got %d", len(lines))
	}
	for i, l := range lines {
		var obj map[string]any
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			t.Fatalf("line %d is not JSON: %v", i, err)
		}
		if obj["Flow ID"] != recs[i+1][0] || obj["Community ID"] != recs[i+1][len(recs[i+1])-1] {
			t.Errorf("line %d disagrees with CSV: %v vs %v", i, obj["Flow ID"], recs[i+1][0])
		}
	}

	pq := filepath.Join(t.TempDir(), "flows.parquet")
	if _, stderr, code := run(t, nil, "flows", "--ipv4-only", "--format", "parquet", "-o", pq, in); code != 0 {
		t.Fatalf("parquet: %s", stderr)
	}
	f, err := os.Open(pq)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if pf.NumRows() != 9 || len(pf.Schema().Fields()) != len(recs[0]) {
		t.Errorf("parquet: %d rows, %d columns; want 9 and %d", pf.NumRows(), len(pf.Schema().Fields()), len(recs[0]))
	}
}

func TestFlowsStdinAndGzip(t *testing.T) {
	in := sharedPcap(t, "ppa2e_tcp_teardown")
	raw, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	want, _, _ := run(t, nil, "flows", "--profile", "cic2017", "-q", in)
	for name, stdin := range map[string][]byte{"plain": raw, "gzip": gz.Bytes()} {
		got, stderr, code := run(t, stdin, "flows", "--profile", "cic2017", "-q", "-")
		if code != 0 || got != want {
			t.Errorf("%s stdin: exit %d, %s; output differs: %v", name, code, stderr, got != want)
		}
	}
}

func TestFlowsErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("this is not a capture\n"), 0o644)
	truncated := filepath.Join(dir, "cut.pcap")
	if in, err := filepath.Abs("../../../shared/golden/pcap/ppa1e_http.pcap"); err == nil {
		if raw, err := os.ReadFile(in); err == nil {
			os.WriteFile(truncated, raw[:len(raw)-100], 0o644)
		}
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"flows"}, "requires at least 1 arg"},
		{[]string{"flows", filepath.Join(dir, "missing.pcap")}, "no such file"},
		{[]string{"flows", text}, "not a pcap or pcapng"},
		{[]string{"flows", "--profile", "cic2019", text}, `unknown profile "cic2019"`},
		{[]string{"flows", "--format", "xml", text}, `unknown format "xml"`},
		{[]string{"flows", "--max-flows", "-3", text}, "max flows -3"},
		{[]string{"flows", "--flow-timeout", "0s", text}, "must be positive"},
		{[]string{"flows", "-", "-"}, "stdin"},
	}
	if _, err := os.Stat(truncated); err == nil {
		cases = append(cases, struct {
			args []string
			want string
		}{[]string{"flows", "-q", truncated}, "unexpected EOF"})
	}
	for _, c := range cases {
		_, stderr, code := run(t, nil, c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error containing %q", c.args, code, stderr, c.want)
		}
	}
}

// A damaged capture still yields the flows metered before the damage.
func TestFlowsTruncatedKeepsFlows(t *testing.T) {
	in := sharedPcap(t, "ppa1e_http")
	raw, _ := os.ReadFile(in)
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	os.WriteFile(cut, raw[:len(raw)-100], 0o644)
	out, stderr, code := run(t, nil, "flows", cut)
	if code == 0 || len(strings.Split(strings.TrimSpace(out), "\n")) < 2 {
		t.Errorf("want flows written and a non-zero exit, got exit %d, %q, stderr %q", code, out, stderr)
	}
}

func TestFlowsWorkersSameRecords(t *testing.T) {
	in := sharedPcap(t, "synth_small")
	for _, format := range []string{"csv", "jsonl", "parquet"} {
		dir := t.TempDir()
		var outs [2][]string
		for i, workers := range []string{"1", "2"} {
			path := filepath.Join(dir, workers+"."+format)
			if _, stderr, code := run(t, nil, "flows", "-q", "--workers", workers, "--format", format, "-o", path, in); code != 0 {
				t.Fatalf("%s workers=%s: %s", format, workers, stderr)
			}
			if format == "parquet" {
				f, _ := os.Open(path)
				st, _ := f.Stat()
				pf, err := parquet.OpenFile(f, st.Size())
				if err != nil {
					t.Fatal(err)
				}
				outs[i] = []string{strconv.FormatInt(pf.NumRows(), 10)}
				f.Close()
				continue
			}
			data, _ := os.ReadFile(path)
			outs[i] = strings.Split(string(data), "\n")
			slices.Sort(outs[i])
		}
		if !slices.Equal(outs[0], outs[1]) {
			t.Errorf("%s: --workers 2 wrote different records than --workers 1", format)
		}
	}
}
