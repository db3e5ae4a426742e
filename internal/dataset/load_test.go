package dataset

import (
	"bytes"
	"compress/gzip"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func fixture(name string) string { return filepath.Join("testdata", name) }

func load(t *testing.T, opts LoadOptions, paths ...string) (*Table, *Report) {
	t.Helper()
	tab, rep, err := Load(paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, tab)
	return tab, rep
}

// checkTable asserts the invariants every loaded table keeps.
func checkTable(t testing.TB, tab *Table) {
	t.Helper()
	n := tab.X.Rows
	if len(tab.X.Data) != n*tab.X.Cols || tab.X.Cols != len(tab.Features) || len(tab.Labels) != n ||
		len(tab.Original) != n || len(tab.Time) != n || len(tab.File) != n {
		t.Fatalf("inconsistent table: %d rows, %d cols, %d values, %d labels, %d originals, %d times, %d files",
			n, tab.X.Cols, len(tab.X.Data), len(tab.Labels), len(tab.Original), len(tab.Time), len(tab.File))
	}
	for i, v := range tab.X.Data {
		if v-v != 0 {
			t.Fatalf("row %d holds a non-finite value after cleaning", i/tab.X.Cols)
		}
	}
	for _, f := range tab.File {
		if f < 0 || f >= len(tab.Files) {
			t.Fatalf("file index %d of %d files", f, len(tab.Files))
		}
	}
	if tab.Copies != nil && len(tab.Copies) != n {
		t.Fatalf("%d copy counts for %d rows", len(tab.Copies), n)
	}
	for i, c := range tab.Copies {
		if c < 1 {
			t.Fatalf("row %d stands for %d rows", i, c)
		}
	}
}

func dropped(r *Report) map[string]int {
	m := map[string]int{}
	for _, d := range r.Dropped {
		if d.Rows > 0 {
			m[d.Reason] = d.Rows
		}
	}
	return m
}

func TestLoadDialects(t *testing.T) {
	cases := []struct {
		file      string
		dialect   string
		profile   string
		format    string
		features  int
		read      int
		dropped   map[string]int
		labels    map[string]int
		dups      []string
		index     bool
		headers   int
		blank     int
		timestamp bool
	}{
		{file: "cic-ids2017-machinelearningcve.csv", dialect: "cic-ids2017", profile: "cic2017", format: "csv", features: 76,
			read: 11, blank: 1, dups: []string{"Fwd Header Length"},
			dropped: map[string]int{DropNonFinite: 2, DropDuplicate: 2, DropConflict: 1},
			labels:  map[string]int{Benign: 2, "DoS Hulk": 2, "Web Attack - Brute Force": 1, "Web Attack - XSS": 1}},
		{file: "cic-ids2017-trafficlabelling.csv", dialect: "cic-ids2017", profile: "cic2017", format: "csv", features: 76,
			read: 3, dups: []string{"Fwd Header Length.1"}, timestamp: true, dropped: map[string]int{},
			labels: map[string]int{"Web Attack - Sql Injection": 2, "DDoS": 1}},
		{file: "cse-cic-ids2018.csv", dialect: "cse-cic-ids2018", profile: "cic2017", format: "csv", features: 76,
			read: 4, headers: 1, timestamp: true, dropped: map[string]int{DropEpoch: 1},
			labels: map[string]int{Benign: 1, "DoS attacks-Hulk": 1, "FTP-BruteForce": 1}},
		{file: "ml-ids.csv", dialect: "ml-ids", profile: "cic2017", format: "csv", features: 76, read: 3, index: true,
			timestamp: true, dropped: map[string]int{DropNonFinite: 1}, labels: map[string]int{Benign: 1, "Infilteration": 1}},
		{file: "kubernetes.csv.gz", dialect: "kubernetes", profile: "engelen", format: "csv.gz", features: 79, read: 3,
			timestamp: true, dropped: map[string]int{},
			labels: map[string]int{Benign: 1, "Node-RED Reconnaissance": 1, "CVE-2019-5736": 1}},
		{file: "rdube.csv", dialect: "rdube", profile: "cic2017", format: "csv", features: 74, read: 3, dups: []string{"X56"},
			dropped: map[string]int{}, labels: map[string]int{Benign: 1, "Heartbleed": 1, "Web Attack": 1}},
		{file: "flowguard-engelen.jsonl", dialect: "flowguard-engelen", profile: "engelen", format: "jsonl", features: 86,
			read: 2, timestamp: true, dropped: map[string]int{DropNonFinite: 1}, labels: map[string]int{Unlabelled: 1}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			tab, rep := load(t, LoadOptions{}, fixture(c.file))
			f := rep.Files[0]
			if f.Dialect != c.dialect || f.Profile != c.profile || f.Format != c.format || tab.Profile != c.profile {
				t.Errorf("dialect %s profile %s format %s, table profile %s; want %s %s %s",
					f.Dialect, f.Profile, f.Format, tab.Profile, c.dialect, c.profile, c.format)
			}
			if len(tab.Features) != c.features || f.Features != c.features {
				t.Errorf("%d features (%d in file), want %d", len(tab.Features), f.Features, c.features)
			}
			if f.Rows != c.read || f.RepeatedHeaders != c.headers || f.Blank != c.blank || f.IndexColumn != c.index ||
				f.Timestamps != c.timestamp || !slices.Equal(f.Duplicate, c.dups) || len(f.Unknown) > 0 {
				t.Errorf("file report %+v", f)
			}
			if got := dropped(rep); !maps.Equal(got, c.dropped) {
				t.Errorf("dropped %v, want %v", got, c.dropped)
			}
			if !maps.Equal(rep.Labels, c.labels) {
				t.Errorf("labels %v, want %v", rep.Labels, c.labels)
			}
			for _, id := range []string{"flow_id", "src_ip", "src_port", "dst_ip", "dst_port", "protocol", "timestamp"} {
				if slices.Contains(tab.Features, id) {
					t.Errorf("identifier %s is a feature by default", id)
				}
			}
			if f.Kept != tab.Rows() || rep.Rows != tab.Rows() {
				t.Errorf("kept %d, report says %d and %d", tab.Rows(), f.Kept, rep.Rows)
			}
			if s := rep.String(); !strings.Contains(s, c.dialect) {
				t.Errorf("report does not name the dialect:\n%s", s)
			}
		})
	}
}

func TestLoadTimes(t *testing.T) {
	tab, _ := load(t, LoadOptions{}, fixture("cic-ids2017-trafficlabelling.csv"), fixture("cse-cic-ids2018.csv"))
	want := []string{
		"2017-07-06 13:40:00", "2017-07-06 13:41:00", // 10:40 ADT
		"2017-07-07 18:56:00", // 3:56 p.m. ADT
		"2018-02-15 08:25:18", "2018-02-16 13:47:37", "2018-02-14 10:32:00",
	}
	for i, w := range want {
		if got := time.UnixMicro(tab.Time[i]).UTC().Format(time.DateTime); got != w {
			t.Errorf("row %d at %s, want %s", i, got, w)
		}
	}
	if days := tab.Days(); days[0] != "2017-07-06" || days[2] != "2017-07-07" {
		t.Errorf("days %q", days)
	}
}

func TestLoadIdentifiers(t *testing.T) {
	tab, _ := load(t, LoadOptions{KeepIdentifiers: true}, fixture("cic-ids2017-trafficlabelling.csv"))
	ids := tab.IDs
	if ids.SrcIP[0] != "172.16.0.1" || ids.DstIP[0] != "192.168.10.50" || ids.SrcPort[0] != 36196 || ids.DstPort[0] != 80 ||
		ids.Protocol[0] != 6 || ids.FlowID[0] != "172.16.0.1-192.168.10.50-36196-80-6" || ids.CommunityID[0] != "" {
		t.Errorf("identifiers of row 0: %+v", ids)
	}

	// Opting in makes ports and protocol features: the 8080 copy of a
	// DoS flow is then a flow of its own.
	tab, rep := load(t, LoadOptions{IncludeIdentifiers: true}, fixture("cic-ids2017-machinelearningcve.csv"))
	if !slices.Contains(tab.Features, "dst_port") || !tab.IdentifierFeatures || tab.Rows() != 7 {
		t.Errorf("IncludeIdentifiers: features %v, %d rows (%v)", tab.Features, tab.Rows(), rep.Dropped)
	}
}

func TestLoadCleaning(t *testing.T) {
	ml := fixture("cic-ids2017-machinelearningcve.csv")
	col := func(tab *Table, name string) []float64 {
		j := slices.Index(tab.Features, name)
		var out []float64
		for i := range tab.Rows() {
			out = append(out, tab.X.At(i, j))
		}
		return out
	}
	cases := []struct {
		name   string
		opts   LoadOptions
		path   string
		rows   int
		labels map[string]int
		check  func(*testing.T, *Table, *Report)
	}{
		{name: "zero non-finite", opts: LoadOptions{NonFinite: NonFiniteZero}, rows: 8},
		{name: "max non-finite", opts: LoadOptions{NonFinite: NonFiniteMax}, rows: 8, check: func(t *testing.T, tab *Table, r *Report) {
			if v := col(tab, "flow_byts_s"); !slices.Contains(v, 4e6) || slices.Contains(v, 0) == false {
				t.Errorf("flow_byts_s %v: want +Inf as the column's largest (4e6) and NaN as 0", v)
			}
			if r.NonFinite["flow_byts_s"] != 2 || r.NonFinite["flow_pkts_s"] != 1 {
				t.Errorf("non-finite cells %v", r.NonFinite)
			}
		}},
		{name: "negatives kept and counted", rows: 6, check: func(t *testing.T, tab *Table, r *Report) {
			if r.Negative["flow_iat_min"] != 1 || r.Negative["init_bwd_win_byts"] != 0 || slices.Min(col(tab, "flow_iat_min")) != -1 {
				t.Errorf("negatives %v", r.Negative)
			}
		}},
		{name: "negatives clipped", opts: LoadOptions{Negative: NegativeClip}, rows: 6, check: func(t *testing.T, tab *Table, r *Report) {
			if slices.Min(col(tab, "flow_iat_min")) != 0 || slices.Min(col(tab, "init_bwd_win_byts")) != -1 {
				t.Errorf("clip: flow_iat_min %v, init_bwd_win_byts %v", col(tab, "flow_iat_min"), col(tab, "init_bwd_win_byts"))
			}
		}},
		{name: "negatives dropped", opts: LoadOptions{Negative: NegativeDrop}, rows: 5},
		{name: "allowed negatives set", opts: LoadOptions{Negative: NegativeDrop,
			NegativeOK: append(slices.Clone(DefaultNegativeOK), "flow_iat_min")}, rows: 6},
		{name: "conflicts dropped", opts: LoadOptions{Conflicts: ConflictDrop}, rows: 5,
			labels: map[string]int{Benign: 1, "DoS Hulk": 2, "Web Attack - Brute Force": 1, "Web Attack - XSS": 1}},
		{name: "duplicates kept", opts: LoadOptions{KeepDuplicates: true}, rows: 9, check: func(t *testing.T, tab *Table, r *Report) {
			if tab.Copies != nil {
				t.Errorf("copy counts %v with duplicates kept", tab.Copies)
			}
		}},
		{name: "duplicates counted", rows: 6, check: func(t *testing.T, tab *Table, r *Report) {
			// Every kept row stands for itself and its removed copies;
			// the conflict's losing row is gone, not counted.
			sum := 0
			for _, c := range tab.Copies {
				sum += int(c)
			}
			if r.Duplicates.Removed == 0 || sum != tab.Rows()+r.Duplicates.Removed {
				t.Errorf("copies %v sum to %d; %d rows and %d duplicates removed", tab.Copies, sum, tab.Rows(), r.Duplicates.Removed)
			}
		}},
		{name: "binary", opts: LoadOptions{Labels: LabelsBinary}, rows: 6, labels: map[string]int{BinaryBenign: 2, BinaryAttack: 4},
			check: func(t *testing.T, tab *Table, r *Report) {
				if !slices.Contains(tab.Original, "Web Attack - XSS") {
					t.Errorf("original classes lost: %v", tab.Original)
				}
			}},
		{name: "binary 0/1 labels", opts: LoadOptions{Labels: LabelsBinary}, path: fixture("zero-one-labels.csv"), rows: 3,
			labels: map[string]int{BinaryBenign: 1, BinaryAttack: 2}},
		{name: "families", opts: LoadOptions{Labels: LabelsFamilies}, rows: 6,
			labels: map[string]int{Benign: 2, "DoS": 2, "WebAttack": 2}},
		{name: "families of 2018 names", opts: LoadOptions{Labels: LabelsFamilies}, path: fixture("cse-cic-ids2018.csv"), rows: 3,
			labels: map[string]int{Benign: 1, "DoS": 1, "BruteForce": 1}},
		{name: "families unknown to the table", opts: LoadOptions{Labels: LabelsFamilies}, path: fixture("kubernetes.csv.gz"), rows: 3,
			check: func(t *testing.T, tab *Table, r *Report) {
				if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "CVE-2019-5736") }) {
					t.Errorf("no warning about classes without a family: %q", r.Warnings)
				}
			}},
		{name: "1970 rows kept on request", opts: LoadOptions{KeepEpochRows: true}, path: fixture("cse-cic-ids2018.csv"), rows: 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.path
			if path == "" {
				path = ml
			}
			tab, rep := load(t, c.opts, path)
			if tab.Rows() != c.rows {
				t.Errorf("%d rows, want %d; dropped %v", tab.Rows(), c.rows, rep.Dropped)
			}
			if c.labels != nil && !maps.Equal(rep.Labels, c.labels) {
				t.Errorf("labels %v, want %v", rep.Labels, c.labels)
			}
			if c.check != nil {
				c.check(t, tab, rep)
			}
		})
	}
}

func TestLabelFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full := write("full.csv", "from,to\nBENIGN,ok\nDoS Hulk,dos\n# the separator as the dataset writes it\nWeb Attack \x96 Brute Force,web\nWeb Attack - XSS,web\nPortScan,scan\n")
	tab, rep := load(t, LoadOptions{LabelFile: full}, fixture("cic-ids2017-machinelearningcve.csv"))
	if !maps.Equal(rep.Labels, map[string]int{"ok": 2, "dos": 2, "web": 2}) || tab.Rows() != 6 {
		t.Errorf("labels %v", rep.Labels)
	}
	part := write("part.csv", "BENIGN,ok\n")
	_, _, err := Load([]string{fixture("cic-ids2017-machinelearningcve.csv")}, LoadOptions{LabelFile: part})
	if err == nil || !strings.Contains(err.Error(), "DoS Hulk") || !strings.Contains(err.Error(), "PortScan") {
		t.Errorf("unmapped classes: error %v", err)
	}
	conflict := write("conflict.csv", "a,b\na,c\n")
	if _, _, err := Load([]string{fixture("rdube.csv")}, LoadOptions{LabelFile: conflict}); err == nil {
		t.Error("a class mapped twice: no error")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	mlcve, err := os.ReadFile(fixture("cic-ids2017-machinelearningcve.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(mlcve), "\n")
	withLine := func(n int, edit func(string) string) string {
		out := slices.Clone(lines)
		out[n-1] = edit(out[n-1])
		return strings.Join(out, "")
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		path string
		opts LoadOptions
		want []string
	}{
		{name: "bad number", path: write("badnum.csv", withLine(4, func(l string) string { return strings.Replace(l, ",3,", ",3x,", 1) })),
			want: []string{"badnum.csv", "line 4", `column "Flow Duration"`, `"3x"`}},
		{name: "missing field", path: write("short.csv", withLine(3, func(l string) string { return strings.Replace(l, ",", "", 1) })),
			want: []string{"short.csv", "line 3", "78 fields, the header has 79"}},
		{name: "unterminated quote", path: write("quote.csv", withLine(5, func(l string) string { return `"` + l })),
			want: []string{"quote.csv", "line 5", "unterminated quote"}},
		{name: "bad timestamp", path: write("time.csv", strings.Replace(mustRead(t, fixture("cic-ids2017-trafficlabelling.csv")), "7/7/2017 3:56", "7/7/2017 noon", 1)),
			want: []string{"time.csv", "line 4", `column "Timestamp"`}},
		{name: "NSL-KDD", path: fixture("nsl-kdd.txt"), want: []string{"nsl-kdd.txt", "NSL-KDD"}},
		{name: "PCA components", path: fixture("pca.csv"), want: []string{"pca.csv", "no known flow feature column"}},
		{name: "empty file", path: write("empty.csv", ""), want: []string{"empty.csv", "empty file"}},
		{name: "header only", path: write("header.csv", lines[0]), want: []string{"no data rows"}},
		{name: "nested JSON", path: write("nested.jsonl", `{"Flow Duration": 3, "Label": "x"}`+"\n"+`{"Flow Duration": [3]}`+"\n"),
			want: []string{"nested.jsonl", "line 2", "nested"}},
		{name: "JSON junk", path: write("junk.jsonl", `{"Flow Duration": 3}`+"\n"+`{"Flow Duration": 3`+"\n"),
			want: []string{"junk.jsonl", "line 2"}},
		{name: "JSON number", path: write("num.jsonl", `{"Flow Duration": "fast"}`+"\n"),
			want: []string{"num.jsonl", "line 1", `column "Flow Duration"`}},
		{name: "no such file", path: filepath.Join(dir, "nope.csv"), want: []string{"nope.csv"}},
		{name: "bad policy", path: fixture("rdube.csv"), opts: LoadOptions{NonFinite: "impute"}, want: []string{`"impute"`}},
		{name: "bad label mode", path: fixture("rdube.csv"), opts: LoadOptions{Labels: "ternary"}, want: []string{`"ternary"`}},
		{name: "bad negative-ok", path: fixture("rdube.csv"), opts: LoadOptions{NegativeOK: []string{"src_ip"}}, want: []string{"src_ip"}},
		{name: "mode and file", path: fixture("rdube.csv"), opts: LoadOptions{Labels: LabelsBinary, LabelFile: "x"}, want: []string{"choose one"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Load([]string{c.path}, c.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if _, _, err := Load([]string{fixture("rdube.csv"), fixture("rdube.csv")}, LoadOptions{}); err == nil {
		t.Error("a file given twice loads")
	}
	if _, _, err := Load([]string{t.TempDir()}, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "no .csv") {
		t.Errorf("empty directory: %v", err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A directory loads every flow file under it, gzip is recognised by its
// magic whatever the name, and files of two profiles share only common
// features, with a warning.
func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	var gz bytes.Buffer
	z := gzip.NewWriter(&gz)
	z.Write([]byte(mustRead(t, fixture("cic-ids2017-machinelearningcve.csv"))))
	z.Close()
	files := map[string][]byte{
		"a/mlcve.csv":             gz.Bytes(), // gzip under a plain name
		"b/flowguard.jsonl":       []byte(mustRead(t, fixture("flowguard-engelen.jsonl"))),
		"b/c/kubernetes.csv.gz":   []byte(mustRead(t, fixture("kubernetes.csv.gz"))),
		"b/notes.txt":             []byte("not data"),
		"b/c/model-output.pickle": []byte("not data"),
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tab, rep := load(t, LoadOptions{}, dir)
	var got []string
	for _, f := range tab.Files {
		got = append(got, filepath.ToSlash(strings.TrimPrefix(f.Path, dir+string(filepath.Separator)))+" "+f.Format)
	}
	if want := []string{"a/mlcve.csv csv.gz", "b/c/kubernetes.csv.gz csv.gz", "b/flowguard.jsonl jsonl"}; !slices.Equal(got, want) {
		t.Errorf("files %q, want %q", got, want)
	}
	if tab.Profile != "mixed" || len(tab.Features) != 76 || !strings.Contains(strings.Join(rep.Warnings, "\n"), "profiles cic2017 and engelen") {
		t.Errorf("profile %s, %d features, warnings %q", tab.Profile, len(tab.Features), rep.Warnings)
	}
	if !slices.ContainsFunc(rep.Excluded, func(c ColumnNote) bool { return c.Column == "fwd_rst_flags" && strings.Contains(c.Reason, "2 of 3") }) {
		t.Errorf("excluded %v: fwd_rst_flags should be in 2 of 3 files only", rep.Excluded)
	}
}

// Parsing in parallel gives the same table as parsing alone, chunk order
// and line numbers included.
func TestLoadParallel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.csv")
	if err := writeSynthetic(path, 30_000, 3); err != nil {
		t.Fatal(err)
	}
	var calls int
	var last Progress
	one, _ := load(t, LoadOptions{Workers: 1, KeepIdentifiers: true}, path)
	many, rep := load(t, LoadOptions{Workers: 4, KeepIdentifiers: true, Progress: func(p Progress) { calls++; last = p }}, path)
	if !reflect.DeepEqual(one, many) {
		t.Error("1 and 4 workers load different tables")
	}
	if calls < 2 || last.Bytes != last.TotalBytes || last.Rows != rep.RowsRead || last.Files != 1 {
		t.Errorf("%d progress calls, last %+v, %d rows read", calls, last, rep.RowsRead)
	}
	// An error deep in the file names its line whatever the chunking.
	data := []byte(mustRead(t, path))
	at := bytes.Index(data[len(data)*3/4:], []byte("\n")) + len(data)*3/4 + 1
	line := bytes.Count(data[:at], []byte("\n")) + 1
	for range 7 { // to the Flow Duration cell
		at += bytes.IndexByte(data[at:], ',') + 1
	}
	data = append(data[:at:at], append([]byte("x"), data[at:]...)...)
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, data, 0o644)
	_, _, err := Load([]string{bad}, LoadOptions{Workers: 3})
	if err == nil || !strings.Contains(err.Error(), "line "+strconv.Itoa(line)+":") {
		t.Errorf("error %v, want line %d", err, line)
	}
}
