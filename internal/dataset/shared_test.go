package dataset

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/capture"
	"github.com/flowguard/flowguard/internal/flowmeter"
)

// sharedDir locates the shared data beside the checkout, or skips.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("../../../shared")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "data", "flows"))
	}
	if err != nil {
		t.Skipf("shared data not found at %s (it lives beside the repository; CI has it): %v", dir, err)
	}
	return dir
}

// meter writes the flows of a golden capture in one of flowguard's output
// formats, as `flowguard flows` does, and returns how many it wrote.
func meter(t *testing.T, pcap, out, profile, format string, communityID bool) int {
	t.Helper()
	r, err := capture.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := flowmeter.NewWriter(f, format, flowmeter.Profiles[profile], communityID)
	if err != nil {
		t.Fatal(err)
	}
	cfg := flowmeter.DefaultConfig()
	cfg.Profile = flowmeter.Profiles[profile]
	n := 0
	m, err := flowmeter.New(cfg, func(fl *flowmeter.Flow) {
		n++
		if err := w.Write(fl); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := flowmeter.Run(context.Background(), r, m); err != nil {
		t.Fatal(err)
	}
	m.Flush()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return n
}

// flowguard's own output loads in every format with its profile
// recognised, and the three formats give the same table.
func TestFlowguardOutput(t *testing.T) {
	pcap := filepath.Join(sharedDir(t), "golden", "pcap", "synth_small.pcap")
	for _, profile := range []string{"cic2017", "engelen"} {
		var tables []*Table
		for _, c := range []struct {
			format, ext string
			id          bool
			dialect     string
		}{
			{"csv", "csv", false, map[string]string{"cic2017": "cse-cic-ids2018", "engelen": "engelen"}[profile]},
			{"csv", "csv", true, "flowguard-" + profile},
			{"jsonl", "jsonl", true, "flowguard-" + profile},
			{"parquet", "parquet", true, "flowguard-" + profile},
		} {
			name := fmt.Sprintf("%s %s community-id %v", profile, c.format, c.id)
			path := filepath.Join(t.TempDir(), "flows."+c.ext)
			flows := meter(t, pcap, path, profile, c.format, c.id)
			tab, rep, err := Load([]string{path}, LoadOptions{KeepIdentifiers: true})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			checkTable(t, tab)
			f := rep.Files[0]
			if f.Dialect != c.dialect || tab.Profile != profile || f.Rows != flows || len(f.Unknown) > 0 {
				t.Errorf("%s: dialect %s, profile %s, %d rows of %d flows, unknown %q", name, f.Dialect, tab.Profile, f.Rows, flows, f.Unknown)
			}
			if want := map[string]int{"cic2017": 76, "engelen": 86}[profile]; len(tab.Features) != want {
				t.Errorf("%s: %d features, want %d", name, len(tab.Features), want)
			}
			if slices.Contains(tab.Time, TimeUnknown) || !maps.Equal(rep.LabelsRead, map[string]int{Unlabelled: flows}) {
				t.Errorf("%s: times or labels missing: %v", name, rep.LabelsRead)
			}
			if c.id && tab.IDs.CommunityID[0] == "" || tab.IDs.SrcIP[0] == "" {
				t.Errorf("%s: identifiers not kept", name)
			}
			t.Logf("%s: %d flows, %d rows kept, dropped %v", name, flows, tab.Rows(), dropped(rep))
			tables = append(tables, tab)
		}
		for _, other := range tables[1:] {
			if !slices.Equal(other.X.Data, tables[0].X.Data) || !slices.Equal(other.Time, tables[0].Time) {
				t.Errorf("%s: the formats load different features or times", profile)
			}
		}
	}
}

// sharedFile is one expectation about a shared file loaded alone.
type sharedFile struct {
	path    string
	dialect string
	read    int
	classes []string // dataset classes read, when checked
	err     string   // the file is not flow data: the error names why
}

var sharedFiles = []sharedFile{
	{path: "data/flows/cic-ids2017/lccde-sample/CICIDS2017_sample.csv.gz", dialect: "cic-ids2017", read: 6311,
		classes: []string{Benign, "Bot", "BruteForce", "DoS", "Infiltration", "PortScan", "WebAttack"}},
	{path: "data/flows/cic-ids2017/machinelearningcve-heads/Friday-WorkingHours-Afternoon-DDos.first9998rows.csv.gz",
		dialect: "cic-ids2017", read: 9998, classes: []string{Benign}},
	{path: "data/flows/cic-ids2017/rdube-heartbleed/heartbleed-cicids2017.csv.gz", dialect: "rdube", read: 8011,
		classes: []string{Benign, "Heartbleed"}},
	{path: "data/flows/cic-ids2017/rdube-machinelearningcve-heads/f1.csv", dialect: "cic-ids2017", read: 999},
	{path: "data/flows/cic-ids2017/rdube-machinelearningcve-heads/f2.csv", dialect: "cic-ids2017", read: 999},
	{path: "data/flows/cic-ids2017/rdube-machinelearningcve-heads/f3.csv", dialect: "cic-ids2017", read: 999},
	{path: "data/flows/cic-ids2017/rdube-machinelearningcve-heads/m1.csv", dialect: "cic-ids2017", read: 999},
	{path: "data/flows/cic-ids2017/rdube-machinelearningcve-heads/th1.csv", dialect: "cic-ids2017", read: 1006,
		classes: []string{Benign, "Web Attack - Brute Force", "Web Attack - Sql Injection", "Web Attack - XSS"}},
	{path: "data/flows/cic-ids2017/rdube-machinelearningcve-heads/th2.csv", dialect: "cic-ids2017", read: 999},
	{path: "data/flows/cic-ids2017/rdube-machinelearningcve-heads/tu1.csv", dialect: "cic-ids2017", read: 999},
	{path: "data/flows/cic-ids2017/trafficlabelling-attack-extracts/baseline_ddos.csv", dialect: "cic-ids2017", read: 1000,
		classes: []string{"DDoS"}},
	{path: "data/flows/cic-ids2017/trafficlabelling-attack-extracts/baseline_portscan.csv", dialect: "cic-ids2017", read: 1000,
		classes: []string{"PortScan"}},
	{path: "data/flows/cic-ids2017/trafficlabelling-attack-extracts/baseline_sqli.csv", dialect: "cic-ids2017", read: 21,
		classes: []string{"Web Attack - Sql Injection"}},
	{path: "data/flows/cic-ids2017/trafficlabelling-attack-extracts/baseline_xss.csv", dialect: "cic-ids2017", read: 652,
		classes: []string{"Web Attack - XSS"}},
	{path: "data/flows/cic-ids2017/trafficlabelling-heads/Friday-WorkingHours-Afternoon-DDos.first299rows.csv",
		dialect: "cic-ids2017", read: 299},
	{path: "data/flows/cic-ids2017/wednesday-0948-1010-slowloris-10col/cic-data-0948-1010.csv.gz", dialect: "cic-ids2017",
		read: 30233, classes: []string{Benign, "DoS slowloris"}},
	{path: "data/flows/cse-cic-ids2018/cstub-ml-ids-validation.csv", dialect: "ml-ids", read: 180},
	{path: "data/seeds/ml-ids/validation.csv", dialect: "ml-ids", read: 180},
	{path: "data/seeds/ml-ids/api_client_dataset.csv", dialect: "ml-ids", read: 1000},
	{path: "data/flows/k8s-misuse/malicious.csv.gz", dialect: "kubernetes", read: 4128},
	{path: "data/flows/k8s-misuse/benign/background_traffic_20230319T1802.pcap_Flow.csv.gz", dialect: "kubernetes",
		read: 5297, classes: []string{Benign}},
	{path: "data/flows/k8s-misuse/malicious/attack-pods_20230319T1712.pcap_Flow.csv", dialect: "kubernetes", read: 163,
		classes: []string{"Node-RED Container Escape"}},
	{path: "data/flows/k8s-misuse/malicious/cve201920933_20230309T0438.pcap_Flow.csv", dialect: "kubernetes", read: 193},
	{path: "data/flows/k8s-misuse/malicious/cve20195736_20230319T1518.pcap_Flow.csv", dialect: "kubernetes", read: 48,
		classes: []string{"CVE-2019-5736"}},
	{path: "data/flows/k8s-misuse/malicious/cve202013379_20230318T2159.pcap_Flow.csv", dialect: "kubernetes", read: 56},
	{path: "data/flows/k8s-misuse/malicious/cve202125741_20230319T1549.pcap_Flow.csv", dialect: "kubernetes", read: 824},
	{path: "data/flows/k8s-misuse/malicious/cve202130465_20230319T1601.pcap_Flow.csv", dialect: "kubernetes", read: 131},
	{path: "data/flows/k8s-misuse/malicious/cve202143798_20230309T0401.pcap_Flow.csv", dialect: "kubernetes", read: 36},
	{path: "data/flows/k8s-misuse/malicious/cve202223648_20230319T1524.pcap_Flow.csv", dialect: "kubernetes", read: 34},
	{path: "data/flows/k8s-misuse/malicious/rce-reverse-shell_20230319T1710.pcap_Flow.csv", dialect: "kubernetes", read: 168},
	{path: "data/flows/k8s-misuse/malicious/reconnaissance_20230319T1704.pcap_Flow.csv.gz", dialect: "kubernetes", read: 2475,
		classes: []string{"Node-RED Reconnaissance"}},
	{path: "data/flows/nsl-kdd/KDDTest+.txt.gz", err: "NSL-KDD"},
	{path: "data/flows/nsl-kdd/KDDTrain+_20Percent.txt.gz", err: "NSL-KDD"},
	{path: "data/seeds/misuse-containers/knn_v4_training_set_pca9.csv.gz", err: "no known flow feature column"},
	{path: "data/seeds/ml-pt/X_y_pca9_dbscan_labels.csv.gz", err: "no known flow feature column"},
}

// Every shared flow file loads alone with the defaults, in the expected
// dialect, and every stratified split of it passes the leak check. The
// log is a table of what cleaning did to each.
func TestSharedFiles(t *testing.T) {
	dir := sharedDir(t)
	var table strings.Builder
	table.WriteString("| file | dialect | profile | features | rows read | kept | Inf/NaN | 1970 | duplicates | conflicts | classes kept |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range sharedFiles {
		tab, rep, err := Load([]string{filepath.Join(dir, f.path)}, LoadOptions{})
		if f.err != "" {
			if err == nil || !strings.Contains(err.Error(), f.err) {
				t.Errorf("%s: error %v, want one saying %q", f.path, err, f.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", f.path, err)
			continue
		}
		checkTable(t, tab)
		fr := rep.Files[0]
		if fr.Dialect != f.dialect || fr.Rows != f.read {
			t.Errorf("%s: dialect %s, %d rows; want %s, %d", f.path, fr.Dialect, fr.Rows, f.dialect, f.read)
		}
		if f.classes != nil && !slices.Equal(slices.Sorted(maps.Keys(rep.LabelsRead)), f.classes) {
			t.Errorf("%s: classes %v, want %v", f.path, rep.LabelsRead, f.classes)
		}
		if len(fr.Unknown) > 0 {
			t.Errorf("%s: unknown columns %q", f.path, fr.Unknown)
		}
		if _, err := json.Marshal(rep); err != nil {
			t.Errorf("%s: report does not marshal: %v", f.path, err)
		}
		if s, err := Stratified(tab.Labels, nil, 0.3, 1); err == nil {
			if err := Verify(tab, s); err != nil {
				t.Errorf("%s: %v", f.path, err)
			}
		}
		d := dropped(rep)
		fmt.Fprintf(&table, "| %s | %s | %s | %d | %d | %d | %d | %d | %d | %d | %s |\n", strings.TrimPrefix(f.path, "data/"),
			fr.Dialect, fr.Profile, len(tab.Features), fr.Rows, tab.Rows(), d[DropNonFinite], d[DropEpoch], d[DropDuplicate],
			d[DropConflict], counts(rep.Labels))
	}
	t.Log("\n" + table.String())
}

// The slowloris extract has 10 columns: it loads, with 3 features, and
// says so.
func TestSharedFewFeatures(t *testing.T) {
	p := filepath.Join(sharedDir(t), "data/flows/cic-ids2017/wednesday-0948-1010-slowloris-10col/cic-data-0948-1010.csv.gz")
	tab, rep := load(t, LoadOptions{}, p)
	if len(tab.Features) != 3 || !strings.Contains(strings.Join(rep.Warnings, "\n"), "only 3 of the 86") {
		t.Errorf("%d features, warnings %q", len(tab.Features), rep.Warnings)
	}
}

// Loaded together, the CIC-IDS2017 extracts overlap (f1 is the first 999
// rows of the Friday head; the LCCDE sample contains the XSS extract):
// without deduplication a random split leaks those copies, and Verify
// says so; with it, nothing leaks.
func TestSharedCrossFileLeak(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "data/flows/cic-ids2017")
	var files []string
	for _, f := range sharedFiles {
		if strings.HasPrefix(f.path, "data/flows/cic-ids2017/") && !strings.Contains(f.path, "slowloris") {
			files = append(files, filepath.Join(dir, strings.TrimPrefix(f.path, "data/flows/cic-ids2017/")))
		}
	}
	raw, _ := load(t, LoadOptions{KeepDuplicates: true, Labels: LabelsFamilies}, files...)
	s, _ := Stratified(raw.Labels, nil, 0.3, 1)
	if err := Verify(raw, s); err == nil {
		t.Error("a split of the overlapping extracts without deduplication passed the leak check")
	} else {
		t.Log(err)
	}
	tab, rep := load(t, LoadOptions{Labels: LabelsFamilies}, files...)
	for seed := range uint64(5) {
		s, _ := Stratified(tab.Labels, nil, 0.3, seed)
		if err := Verify(tab, s); err != nil {
			t.Error(err)
		}
	}
	t.Logf("%d files, %d rows read, %d kept\n%s", len(files), rep.RowsRead, tab.Rows(), rep)
}
