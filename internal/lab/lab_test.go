package lab

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
)

// TestMain lets the test binary stand in for flowguard in the lab's
// namespaces: `TESTBINARY lab-child victim|client ...` runs a role.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "lab-child" {
		if err := ChildMain(context.Background(), os.Args[2:], os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// needLab skips unless the lab can be built here: root, ip, tcpdump and
// the given tools.
func needLab(t *testing.T, progs ...program) {
	t.Helper()
	if testing.Short() {
		t.Skip("lab tests build network namespaces; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("lab tests need root (network namespaces, a bridge, raw sockets)")
	}
	for _, p := range append([]program{progIP, progTcpdump}, progs...) {
		if _, err := p.find(p.pkg); err != nil {
			t.Skipf("%v — run scripts/lab-deps.sh first", err)
		}
	}
}

func selfCommand(t *testing.T) []string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{exe, "lab-child"}
}

// TestRunBenignAndSYNFlood runs the benign scenario and a short hping3 SYN
// flood on one testbed and checks the dataset and the teardown.
func TestRunBenignAndSYNFlood(t *testing.T) {
	needLab(t, tools["hping3"])
	out := t.TempDir()
	var l *Lab
	cfg := Config{
		Scenarios: []string{"benign", "hping3-syn"},
		Out:       out,
		Set:       map[string]string{"duration": "8s", "rate": "200"},
		Seed:      7,
		Self:      selfCommand(t),
		Progress:  testWriter{t},
		onBuild:   func(b *Lab) { l = b },
	}
	fw := &fakeWatcher{}
	cfg.Watcher = fw
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sum, err := Run(ctx, cfg)
	if l != nil {
		defer assertTornDown(t, l)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Scenarios) != 2 {
		t.Fatalf("%d scenario results, want 2", len(sum.Scenarios))
	}
	attacker := sum.Scenarios[0].Attacker
	for _, name := range []string{"benign", "hping3-syn"} {
		dir := filepath.Join(out, name)
		st, err := os.Stat(filepath.Join(dir, "capture.pcap"))
		if err != nil || st.Size() < 24+16*10 {
			t.Errorf("%s: capture.pcap missing or nearly empty (%v)", name, err)
		}
		var res map[string]any
		b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"flows", "attack_flows", "packets", "steps",
			"detected", "recall", "false_alerts", "false_alert_rate", "first_alert_seconds"} {
			if _, ok := res[k]; !ok {
				t.Errorf("%s: summary.json has no %q", name, k)
			}
		}
		// The fake watcher's one alert matches no flow.
		if res["false_alerts"] != 1.0 || res["detected"] != 0.0 || res["first_alert_seconds"] != nil {
			t.Errorf("%s: false_alerts %v detected %v first_alert_seconds %v, want 1 0 null",
				name, res["false_alerts"], res["detected"], res["first_alert_seconds"])
		}
		labels := csvLabels(t, filepath.Join(dir, "flows.csv"), attacker)
		csvLabels(t, filepath.Join(dir, "flows-cic2017.csv"), attacker)
		t.Logf("%s: %v flows, %v attack flows, labels %v", name, res["flows"], res["attack_flows"], labels)
		switch name {
		case "benign":
			if len(labels) != 1 || labels["BENIGN"] < 5 {
				t.Errorf("benign: labels %v, want only BENIGN, at least 5 flows", labels)
			}
		case "hping3-syn":
			if labels["DoS SYN flood"] < 100 {
				t.Errorf("hping3-syn: %d flows labelled DoS SYN flood, want at least 100", labels["DoS SYN flood"])
			}
			if labels["BENIGN"] < 3 {
				t.Errorf("hping3-syn: %d BENIGN flows, want background traffic", labels["BENIGN"])
			}
		}
	}
	if fw.watched != 2 || fw.iface != sum.Bridge {
		t.Errorf("watcher: %d watches on %q, want 2 on %q", fw.watched, fw.iface, sum.Bridge)
	}
	var all Summary
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &all); err != nil || len(all.Scenarios) != 2 {
		t.Errorf("run summary.json: %v, %d scenarios", err, len(all.Scenarios))
	}
}

// csvLabels counts a flows file's labels, checking that exactly the flows
// touching the attacker carry attack labels.
func csvLabels(t *testing.T, path, attacker string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	col := map[string]int{}
	for i, n := range rows[0] {
		col[strings.TrimSpace(n)] = i
	}
	src, dst, lab := col["Src IP"], col["Dst IP"], col["Label"]
	if lab == 0 || src == dst {
		t.Fatalf("%s: header without Src IP, Dst IP, Label: %v", path, rows[0])
	}
	counts := map[string]int{}
	for _, r := range rows[1:] {
		counts[r[lab]]++
		if r[lab] != "BENIGN" && r[src] != attacker && r[dst] != attacker {
			t.Errorf("%s: flow %s → %s labelled %q without the attacker", path, r[src], r[dst], r[lab])
		}
	}
	return counts
}

// assertTornDown checks that nothing of lab l is left: no namespace, no
// link with its suffix, no process in its namespaces or of its groups.
func assertTornDown(t *testing.T, l *Lab) {
	t.Helper()
	out, err := exec.Command(l.ip, "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), l.ID) {
		t.Errorf("namespaces of lab %s left: %s", l.ID, out)
	}
	out, err = exec.Command(l.ip, "-o", "link", "show").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "fg-"+l.ID) {
		t.Errorf("links of lab %s left: %s", l.ID, out)
	}
	inos := map[uint64]bool{}
	for _, h := range l.hosts() {
		inos[h.ino] = true
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		var st syscall.Stat_t
		if syscall.Stat(p+"/ns/net", &st) == nil && inos[st.Ino] {
			cmd, _ := os.ReadFile(p + "/cmdline")
			t.Errorf("process %s of lab %s left: %q", filepath.Base(p), l.ID, cmd)
		}
	}
	for _, pid := range l.procs.pids() {
		if syscall.Kill(-pid, 0) == nil {
			t.Errorf("process group %d of lab %s left", pid, l.ID)
		}
	}
	if _, err := os.Stat(l.Dir); err == nil {
		t.Errorf("scratch directory %s left", l.Dir)
	}
}

// TestTeardownOnCancel cancels a run mid-scenario and checks the cleanup.
func TestTeardownOnCancel(t *testing.T) {
	needLab(t)
	var l *Lab
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := Config{Scenarios: []string{"benign"}, Out: t.TempDir(), Self: selfCommand(t),
		Progress: testWriter{t}, onBuild: func(b *Lab) {
			l = b
			time.AfterFunc(3*time.Second, cancel)
		}}
	_, err := Run(ctx, cfg)
	if err == nil {
		t.Fatal("cancelled run returned no error")
	}
	if l == nil {
		t.Fatalf("lab never built: %v", err)
	}
	assertTornDown(t, l)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestCleanRemains builds a lab, makes its owner look dead (as after a
// SIGKILL) and checks that Clean removes it and leaves live labs alone.
func TestCleanRemains(t *testing.T) {
	needLab(t)
	ctx := context.Background()
	dead, err := Build(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	live, err := Build(ctx, 0)
	if err != nil {
		dead.Close()
		t.Fatal(err)
	}
	defer live.Close()
	if err := os.WriteFile(filepath.Join(ownerDir, dead.ID), []byte("999999999 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ids, err := Clean(ctx)
	if err != nil {
		t.Error(err)
	}
	if !slices.Contains(ids, dead.ID) || slices.Contains(ids, live.ID) {
		t.Errorf("cleaned %v; want %s and not %s", ids, dead.ID, live.ID)
	}
	assertTornDown(t, dead)
	if !linkExists(live.Bridge()) {
		t.Errorf("the live lab's bridge %s was removed", live.Bridge())
	}
}

// fakeWatcher stands in for live detection: one alert on no flow.
type fakeWatcher struct {
	watched int
	iface   string
}

func (w *fakeWatcher) Watch(ctx context.Context, iface string) (func() ([]alert.Alert, error), error) {
	w.watched++
	w.iface = iface
	return func() ([]alert.Alert, error) {
		return []alert.Alert{{CommunityID: "1:nothing", Timestamp: time.Now(), Flowguard: alert.Detail{FlowStart: time.Now()}}}, nil
	}, nil
}
