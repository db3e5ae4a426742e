package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/dataset"
	"github.com/flowguard/flowguard/internal/detect"
	"github.com/flowguard/flowguard/internal/flowmeter"
	"github.com/flowguard/flowguard/internal/model"
	"github.com/flowguard/flowguard/internal/server"
	"github.com/flowguard/flowguard/internal/sniff"
)

// streamWatcher is what a SOC sees: flowguard serve --interface on the
// testbed's bridge, its alerts read from the Server-Sent Events stream by
// an HTTP client, each stamped with its arrival time.
type streamWatcher struct {
	t     *testing.T
	model string
	dir   string

	mu       sync.Mutex
	got      []alert.Alert
	arrivals []time.Time
	stored   int // alerts the store held when the server stopped
}

func (w *streamWatcher) Watch(ctx context.Context, iface string) (func() ([]alert.Alert, error), error) {
	srv, err := server.New(ctx, server.Config{
		Listen: "127.0.0.1:0", StoreURL: "sqlite:" + filepath.Join(w.dir, "alerts.db"), SpoolDir: filepath.Join(w.dir, "spool"),
		ModelPath: w.model, NoAuth: true, Interface: iface,
		Capture: sniff.Config{Live: detect.LiveConfig{Meter: flowmeter.Config{IdleTimeout: 2 * time.Second}}},
	}, server.Deps{})
	if err != nil {
		return nil, err
	}
	if err := srv.Listen(); err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	base := "http://" + srv.Addr()

	// Subscribe before the attack starts; the response headers mean the
	// subscription is in place.
	req, _ := http.NewRequestWithContext(runCtx, http.MethodGet, base+"/v1/alerts/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		stop()
		<-done
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		stop()
		<-done
		return nil, fmt.Errorf("alert stream: %s", resp.Status)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && event == "alert":
				var a alert.Alert
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &a); err != nil {
					w.t.Errorf("stream: not an alert: %v: %s", err, line)
					continue
				}
				w.mu.Lock()
				w.got = append(w.got, a)
				w.arrivals = append(w.arrivals, time.Now())
				w.mu.Unlock()
			}
		}
	}()
	return func() ([]alert.Alert, error) {
		// Count what the store holds while the server still runs.
		if r, err := http.Get(base + "/v1/alerts?limit=1000"); err == nil {
			var page struct {
				Alerts []alert.Alert `json:"alerts"`
			}
			json.NewDecoder(r.Body).Decode(&page)
			r.Body.Close()
			w.mu.Lock()
			w.stored = len(page.Alerts)
			w.mu.Unlock()
		}
		stop()
		err := <-done
		resp.Body.Close()
		<-read
		w.mu.Lock()
		defer w.mu.Unlock()
		return append([]alert.Alert(nil), w.got...), err
	}, nil
}

// TestAlertOverLiveStream is the testbed's end-to-end check: a benign run
// and a SYN flood make a labelled dataset; a model trained on it is served
// by flowguard serve --interface on the bridge of a fresh testbed (another
// seed); the next flood's alerts arrive on the live SSE stream within
// seconds of the attack's start and are in the store, and the benign run
// raises at most a few.
func TestAlertOverLiveStream(t *testing.T) {
	needLab(t, tools["hping3"])
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	set := map[string]string{"duration": "8s", "rate": "200"}
	train := filepath.Join(dir, "train")
	// The training data gets a longer benign run than the test: with a
	// handful of benign validation flows the alert threshold (calibrated
	// for no false positive among them) lands anywhere.
	for _, r := range []struct {
		scenario string
		set      map[string]string
	}{{"benign", map[string]string{"duration": "30s"}}, {"hping3-syn", set}} {
		if _, err := Run(ctx, Config{Scenarios: []string{r.scenario}, Out: train, Set: r.set, Seed: 21,
			Self: selfCommand(t), Progress: testWriter{t}}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := model.Train(ctx, model.Config{
		Data:       []string{filepath.Join(train, "benign", "flows.csv"), filepath.Join(train, "hping3-syn", "flows.csv")},
		Load:       dataset.LoadOptions{},
		Algorithms: []string{"gbdt"},
		Log:        t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	modelPath := filepath.Join(dir, "lab.model")
	if err := res.Artifact.Save(modelPath); err != nil {
		t.Fatal(err)
	}

	w := &streamWatcher{t: t, model: modelPath, dir: dir}
	var l *Lab
	sum, err := Run(ctx, Config{Scenarios: []string{"benign", "hping3-syn"}, Out: filepath.Join(dir, "live"), Set: set, Seed: 22,
		Watcher: w, Self: selfCommand(t), Progress: testWriter{t}, onBuild: func(b *Lab) { l = b }})
	if l != nil {
		defer assertTornDown(t, l)
	}
	if err != nil {
		t.Fatal(err)
	}
	benign, flood := sum.Scenarios[0], sum.Scenarios[1]
	if benign.Detection == nil || flood.Detection == nil {
		t.Fatal("no detection results")
	}
	t.Logf("benign: %d flows, %d false alerts; flood: %d flows, %d attack flows, recall %.3f, first alert after %v s",
		benign.Flows, benign.FalseAlerts, flood.Flows, flood.AttackFlows, flood.Recall, deref(flood.FirstAlertSeconds))
	if benign.FalseAlerts > max(2, benign.Flows/20) {
		t.Errorf("benign run: %d false alerts on %d flows", benign.FalseAlerts, benign.Flows)
	}
	// The first flood alert that came over the stream, against the
	// attack's start.
	start := flood.Steps[0].Start
	w.mu.Lock()
	defer w.mu.Unlock()
	first := time.Duration(-1)
	for i, a := range w.got {
		if a.SrcIP == flood.Attacker || a.DestIP == flood.Attacker {
			first = w.arrivals[i].Sub(start)
			break
		}
	}
	if first < 0 {
		t.Fatalf("no alert on the attacker's traffic over the live stream (%d alerts streamed)", len(w.got))
	}
	t.Logf("first flood alert on the SSE stream %.2fs after the attack started; %d alerts streamed, %d stored", first.Seconds(), len(w.got), w.stored)
	if first > 10*time.Second {
		t.Errorf("first alert arrived %v after the attack started, want within seconds", first)
	}
	if flood.Recall < 0.5 {
		t.Errorf("recall %.3f on the flood with a model trained on another flood", flood.Recall)
	}
	if w.stored == 0 {
		t.Error("the streamed alerts are not in the store")
	}
}

func deref(p *float64) any {
	if p == nil {
		return "never"
	}
	return *p
}
