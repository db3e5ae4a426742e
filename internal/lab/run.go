package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/flowmeter"
)

// Config is one lab run.
type Config struct {
	Scenarios []string          // names of shipped scenarios, run in order
	Out       string            // output directory: OUT/SCENARIO/... and OUT/summary.json
	Set       map[string]string // parameter overrides (--set), for scenarios that have them
	Seed      int64             // seeds background clients and {{.Seed}}
	// Watcher, when set, runs live detection on the bridge during each
	// scenario; its alerts are scored against the labelled flows.
	Watcher Watcher
	// Self is the command prefix that runs flowguard's hidden lab roles
	// ("victim", "client" are appended); default: this executable + "lab".
	Self     []string
	Progress io.Writer // progress lines; nil discards them

	onBuild func(*Lab) // tests: the lab once built
}

// Result is one scenario's outcome, its directory's summary.json.
type Result struct {
	Scenario    string            `json:"scenario"`
	Label       string            `json:"label"`
	Params      map[string]string `json:"params"`
	Seed        int64             `json:"seed"`
	Start       time.Time         `json:"start"`
	End         time.Time         `json:"end"`
	Victim      string            `json:"victim"`
	Attacker    string            `json:"attacker"`
	Clients     []string          `json:"clients"`
	Services    []string          `json:"services"`
	Steps       []StepResult      `json:"steps"`
	Packets     int64             `json:"packets"`
	Flows       int               `json:"flows"`        // engelen profile (flows.csv)
	AttackFlows int               `json:"attack_flows"` // of them labelled as attack
	// The cic2017 profile's counts (flows-cic2017.csv).
	FlowsCIC2017       int `json:"flows_cic2017"`
	AttackFlowsCIC2017 int `json:"attack_flows_cic2017"`
	// Detection is present with a Watcher (--detect).
	*Detection
}

// StepResult is one attack step as it ran.
type StepResult struct {
	Tool  string    `json:"tool"`
	Args  []string  `json:"args"`
	Label string    `json:"label"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Exit  string    `json:"exit"` // "ok", "stopped" (at its duration) or the error
}

// Summary is a whole run, OUT/summary.json.
type Summary struct {
	Lab       string    `json:"lab"`    // the run's name suffix
	Bridge    string    `json:"bridge"` // where the lab was captured
	Network   string    `json:"network"`
	Scenarios []*Result `json:"scenarios"`
}

const (
	tail       = 2 * time.Second // capture after the scenario's end
	matchSlack = 2 * time.Second // attack windows extend this far past a tool's exit
	stopGrace  = 2 * time.Second
)

// Run builds the lab, runs the scenarios one after another on it, writes
// each one's capture, flows and summary under cfg.Out, and tears
// everything down before it returns, also on error or cancellation.
func Run(ctx context.Context, cfg Config) (sum *Summary, err error) {
	logf := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "lab: "+format+"\n", args...)
		}
	}
	if len(cfg.Scenarios) == 0 {
		return nil, errors.New("no scenario given (flowguard lab list names them)")
	}
	if cfg.Out == "" {
		return nil, errors.New("no output directory")
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	var scs []*Scenario
	clients := 0
	want := []string{}
	for _, n := range cfg.Scenarios {
		s, err := Lookup(n)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(scs, func(o *Scenario) bool { return o.Name == s.Name }) {
			return nil, fmt.Errorf("scenario %s given twice", s.Name)
		}
		// Missing programs fail the run before anything is built.
		for _, st := range s.Steps {
			if _, err := tools[st.Tool].find(st.Tool); err != nil {
				return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
			}
		}
		for _, sv := range s.Services {
			if _, err := services[sv].find(sv + " server"); sv != "http" && err != nil {
				return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
			}
			if !slices.Contains(want, sv) {
				want = append(want, sv)
			}
		}
		if _, err := s.plan(cfg.Set, TemplateData{}); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
		}
		clients = max(clients, s.Background.Clients)
		scs = append(scs, s)
	}
	for k := range cfg.Set {
		if !slices.ContainsFunc(scs, func(s *Scenario) bool { _, ok := s.Params[k]; return ok }) {
			return nil, fmt.Errorf("--set %s: no given scenario has this parameter", k)
		}
	}
	if _, err := progTcpdump.find("tcpdump"); err != nil {
		return nil, err
	}
	if len(cfg.Self) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cfg.Self = []string{exe, "lab"}
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}

	if ids, err := Clean(ctx); err != nil {
		logf("removing remains of killed runs: %v", err)
	} else if len(ids) > 0 {
		logf("removed the remains of killed runs %s", strings.Join(ids, ", "))
	}
	logf("building the lab (%d clients)", clients)
	l, err := Build(ctx, clients)
	if err != nil {
		return nil, err
	}
	defer func() {
		logf("tearing down %s", l.ID)
		if cerr := l.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("teardown: %w", cerr)
		}
	}()
	if cfg.onBuild != nil {
		cfg.onBuild(l)
	}
	sum = &Summary{Lab: l.ID, Bridge: l.Bridge(), Network: l.Prefix.String()}
	logf("lab %s: bridge %s, network %s, victim %s, attacker %s", l.ID, l.Bridge(), l.Prefix, l.Victim.Addr, l.Attacker.Addr)
	up, err := l.startServices(ctx, cfg.Self, want)
	if err != nil {
		return sum, fmt.Errorf("victim services: %w", err)
	}
	logf("victim services up: %s", strings.Join(up, ", "))
	for _, s := range scs {
		res, err := runScenario(ctx, l, s, &cfg, up, logf)
		if err != nil && ctx.Err() != nil {
			return sum, fmt.Errorf("scenario %s: interrupted (%w); the lab is torn down", s.Name, ctx.Err())
		}
		if err != nil {
			return sum, fmt.Errorf("scenario %s: %w", s.Name, err)
		}
		sum.Scenarios = append(sum.Scenarios, res)
		if err := writeJSON(filepath.Join(cfg.Out, "summary.json"), sum); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// writeAlerts keeps the live detector's alerts beside the dataset, as EVE
// JSON lines, so a run can be scored again.
func writeAlerts(path string, alerts []alert.Alert) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := alert.NewEVEWriter(f)
	if err := w.Send(context.Background(), alerts); err != nil {
		f.Close()
		return err
	}
	if err := w.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// runScenario runs one scenario on a built lab with its services up.
func runScenario(ctx context.Context, l *Lab, s *Scenario, cfg *Config, up []string, logf func(string, ...any)) (*Result, error) {
	out := filepath.Join(cfg.Out, s.Name)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	work := filepath.Join(l.Dir, s.Name)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	for name, lines := range s.Files {
		if strings.ContainsAny(name, "/\\") {
			return nil, fmt.Errorf("file name %q: no directories", name)
		}
		if err := os.WriteFile(filepath.Join(work, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	td := TemplateData{Victim: l.Victim.Addr.String(), Attacker: l.Attacker.Addr.String(), Dir: work, Seed: cfg.Seed}
	steps, err := s.plan(cfg.Set, td)
	if err != nil {
		return nil, err
	}
	length := s.length(cfg.Set, steps)
	params := maps.Clone(s.Params)
	for k, v := range cfg.Set {
		if _, ok := params[k]; ok {
			params[k] = v
		}
	}
	res := &Result{Scenario: s.Name, Label: s.Label, Params: params, Seed: cfg.Seed,
		Victim: td.Victim, Attacker: td.Attacker, Services: up, Steps: []StepResult{}}
	if res.Label == "" {
		res.Label = benignLabel
	}
	nClients := min(s.Background.Clients, len(l.Clients))
	for _, c := range l.Clients[:nClients] {
		res.Clients = append(res.Clients, c.Addr.String())
	}

	// Capture first, so every flow starts inside the capture.
	pcap := filepath.Join(out, "capture.pcap")
	tcpdump, _ := progTcpdump.find("tcpdump")
	capLog := filepath.Join(l.Dir, s.Name+"-tcpdump.log")
	tp, err := l.procs.start("", "tcpdump", l.Dir, capLog, tcpdump, "-i", l.Bridge(), "-w", pcap, "-U", "-n", "-Z", "root", "-s", "262144")
	if err != nil {
		return nil, err
	}
	if err := waitLog(ctx, tp, capLog, "listening on"); err != nil {
		return nil, err
	}
	var stopWatch func() ([]alert.Alert, error)
	watching := false
	if cfg.Watcher != nil {
		if stopWatch, err = cfg.Watcher.Watch(ctx, l.Bridge()); err != nil {
			return nil, fmt.Errorf("live detection: %w", err)
		}
		watching = true
		// On early returns the watcher is still stopped.
		defer func() {
			if watching {
				stopWatch()
			}
		}()
	}

	logf("%s: %s (%s, %d background clients)", s.Name, s.Description, length, nClients)
	t0 := time.Now()
	res.Start = t0
	var clientProcs []*proc
	rate := s.Background.Rate
	if rate <= 0 {
		rate = 0.5
	}
	for _, c := range l.Clients[:nClients] {
		argv := append(slices.Clone(cfg.Self), "client", "--victim", td.Victim,
			"--seed", strconv.FormatInt(seedFrom(cfg.Seed, s.Name+"/"+c.Role), 10),
			"--rate", strconv.FormatFloat(rate, 'g', -1, 64),
			"--duration", (length + tail).String(), "--services", strings.Join(up, ","))
		p, err := l.procs.start(c.NS, c.Role, l.Dir, filepath.Join(out, c.Role+".log"), argv...)
		if err != nil {
			return nil, err
		}
		clientProcs = append(clientProcs, p)
	}

	// Steps, each at its offset, stopped at the end of its duration.
	results := make([]StepResult, len(steps))
	var wg sync.WaitGroup
	for i, st := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runStep(ctx, l, s.Name, i, st, t0, work, out, logf)
		}()
	}
	wg.Wait()
	if err := sleepCtx(ctx, time.Until(t0.Add(length+tail))); err != nil {
		return nil, err
	}
	res.Steps = results

	for _, p := range clientProcs {
		p.stop(stopGrace)
	}
	var alerts []alert.Alert
	var watchErr error
	if watching {
		watching = false
		alerts, watchErr = stopWatch()
	}
	tp.intFirst = true
	tp.stop(stopGrace)
	res.End = time.Now()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if watchErr != nil {
		return nil, fmt.Errorf("live detection: %w", watchErr)
	}

	var windows []window
	var attackStart time.Time
	for _, r := range results {
		if r.Start.IsZero() {
			continue
		}
		windows = append(windows, window{Attacker: l.Attacker.Addr, Start: r.Start, End: r.End.Add(matchSlack), Label: r.Label})
		if attackStart.IsZero() || r.Start.Before(attackStart) {
			attackStart = r.Start
		}
	}
	flows, c, err := meterPcap(ctx, pcap, filepath.Join(out, "flows.csv"), flowmeter.Engelen, windows, true)
	if err != nil {
		return nil, err
	}
	res.Packets, res.Flows, res.AttackFlows = c.Packets, c.Flows, c.AttackFlows
	flows2, c2, err := meterPcap(ctx, pcap, filepath.Join(out, "flows-cic2017.csv"), flowmeter.CIC2017, windows, true)
	if err != nil {
		return nil, err
	}
	res.FlowsCIC2017, res.AttackFlowsCIC2017 = c2.Flows, c2.AttackFlows
	if stopWatch != nil {
		// Alerts are scored against the flows of the profile the live
		// detector meters with.
		if p, ok := cfg.Watcher.(interface{ Profile() string }); ok && p.Profile() == flowmeter.CIC2017.Name {
			flows = flows2
		}
		d := Score(flows, alerts, attackStart, matchSlack)
		res.Detection = &d
		if err := writeAlerts(filepath.Join(out, "alerts.eve.json"), alerts); err != nil {
			return nil, err
		}
	}
	if err := writeJSON(filepath.Join(out, "summary.json"), res); err != nil {
		return nil, err
	}
	line := fmt.Sprintf("%s: %d packets, %d flows, %d attack flows", s.Name, res.Packets, res.Flows, res.AttackFlows)
	if res.Detection != nil {
		line += fmt.Sprintf("; detected %d (recall %.3f), %d false alerts (%d on no flow of the dataset)", res.Detected, res.Recall, res.FalseAlerts, res.Unmatched)
		if res.FirstAlertSeconds != nil {
			line += fmt.Sprintf(", first alert after %.1fs", *res.FirstAlertSeconds)
		}
	}
	logf("%s", line)
	return res, nil
}

// runStep runs one attack step from the attacker host.
// It runs in the scenario's scratch directory work; its output is kept in
// out/stepN-TOOL.log.
func runStep(ctx context.Context, l *Lab, scenario string, i int, st plannedStep, t0 time.Time, work, out string, logf func(string, ...any)) StepResult {
	r := StepResult{Tool: st.Tool, Args: st.Args, Label: st.Label}
	if err := sleepCtx(ctx, time.Until(t0.Add(st.Start))); err != nil {
		r.Exit = err.Error()
		return r
	}
	prog := tools[st.Tool]
	path, err := prog.find(st.Tool)
	if err != nil {
		r.Exit = err.Error()
		return r
	}
	name := fmt.Sprintf("step%d-%s", i+1, st.Tool)
	logPath := filepath.Join(out, name+".log")
	logf("%s: step %d: %s %s", scenario, i+1, st.Tool, strings.Join(st.Args, " "))
	r.Start = time.Now()
	p, err := l.procs.start(l.Attacker.NS, name, work, logPath, append([]string{path}, st.Args...)...)
	if err != nil {
		r.Start = time.Time{}
		r.Exit = err.Error()
		return r
	}
	p.intFirst = prog.signals
	t := time.NewTimer(st.Duration)
	defer t.Stop()
	select {
	case <-p.done:
		r.Exit = "ok"
		if p.err != nil {
			r.Exit = p.exitError(logPath).Error()
			logf("%s: step %d: %s", scenario, i+1, r.Exit)
		}
	case <-t.C:
		p.stop(stopGrace)
		r.Exit = "stopped"
	case <-ctx.Done():
		p.stop(stopGrace)
		r.Exit = ctx.Err().Error()
	}
	r.End = time.Now()
	return r
}

// waitLog waits until p's log contains s (a program saying it is ready).
func waitLog(ctx context.Context, p *proc, logPath, s string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(logPath); strings.Contains(string(b), s) {
			return nil
		}
		if !p.running() {
			return p.exitError(logPath)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("%s: not ready after 10s", p.name)
}
