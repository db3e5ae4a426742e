package lab

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
)

//go:embed scenarios/*.json
var scenarioFS embed.FS

// Scenario is one data file of internal/lab/scenarios: what the attacker
// runs against the victim, with which background, and how its flows are
// labelled. docs/lab.md describes the format.
type Scenario struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Label is the CIC-style class of the attacker's flows during the
	// steps ("PortScan", "DoS SYN flood", ...); empty for benign-only runs.
	Label string `json:"label"`
	// Params are the template parameters and their defaults; --set
	// overrides them. "duration" is the attack's length and also the
	// length of a scenario without steps.
	Params map[string]string `json:"params"`
	// Services the victim must run for this scenario (http is always run).
	Services   []string   `json:"services"`
	Background Background `json:"background"`
	Steps      []Step     `json:"steps"`
	// Files are written into the run directory before the steps start
	// (word lists, request bodies); arguments name them {{.Dir}}/NAME.
	Files map[string][]string `json:"files"`
}

// Background is the benign traffic of a scenario.
type Background struct {
	Clients int     `json:"clients"` // benign client hosts
	Rate    float64 `json:"rate"`    // mean actions per second per client
}

// Step is one attack tool invocation from the attacker host.
type Step struct {
	Tool string   `json:"tool"` // a name of the tool table (tools.go)
	Args []string `json:"args"` // templates, see TemplateData
	// Start is the offset from the scenario's start (default "3s", after
	// the background has warmed up); Duration (a template, default
	// "{{.duration}}") is when the tool is stopped if it has not ended.
	Start    string `json:"start"`
	Duration string `json:"duration"`
	// Label overrides the scenario's label for this step's flows.
	Label string `json:"label"`
}

// Scenarios returns every shipped scenario, sorted by name.
func Scenarios() ([]*Scenario, error) {
	names, err := fs.Glob(scenarioFS, "scenarios/*.json")
	if err != nil {
		return nil, err
	}
	var out []*Scenario
	for _, n := range names {
		b, err := scenarioFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		s, err := ParseScenario(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if want := strings.TrimSuffix(path.Base(n), ".json"); s.Name != want {
			return nil, fmt.Errorf("%s: name %q, want the file's name %q", n, s.Name, want)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Scenario) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Lookup returns the shipped scenario called name.
func Lookup(name string) (*Scenario, error) {
	all, err := Scenarios()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return nil, fmt.Errorf("unknown scenario %q (have %s)", name, strings.Join(names, ", "))
}

// ParseScenario reads and checks one scenario file.
func ParseScenario(b []byte) (*Scenario, error) {
	var s Scenario
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, err
	}
	if s.Name == "" {
		return nil, fmt.Errorf("scenario without a name")
	}
	if s.Params == nil {
		s.Params = map[string]string{}
	}
	if _, ok := s.Params["duration"]; !ok {
		s.Params["duration"] = "15s"
	}
	for _, sv := range s.Services {
		if _, ok := services[sv]; !ok {
			return nil, fmt.Errorf("unknown service %q", sv)
		}
	}
	if len(s.Steps) > 0 && s.Label == "" {
		return nil, fmt.Errorf("scenario %s has steps but no label", s.Name)
	}
	for i, st := range s.Steps {
		if _, ok := tools[st.Tool]; !ok {
			return nil, fmt.Errorf("step %d: unknown tool %q", i+1, st.Tool)
		}
	}
	// Check that the templates render with the defaults.
	if _, err := s.plan(nil, TemplateData{}); err != nil {
		return nil, err
	}
	return &s, nil
}

// TemplateData is what step arguments see: the lab's addresses and run
// directory, plus every parameter under its own name ({{.rate}}) and
// capitalised ({{.Rate}}).
type TemplateData struct {
	Victim, Attacker string
	Dir              string
	Seed             int64
}

// plannedStep is a step with its templates rendered.
type plannedStep struct {
	Tool     string
	Args     []string
	Start    time.Duration
	Duration time.Duration
	Label    string
}

// plan renders the steps with the parameters (defaults overridden by set)
// and returns them with the scenario's length.
func (s *Scenario) plan(set map[string]string, td TemplateData) ([]plannedStep, error) {
	params := maps.Clone(s.Params)
	for k, v := range set {
		if _, ok := params[k]; !ok {
			// A --set for several scenarios need not apply to all.
			continue
		}
		params[k] = v
	}
	data := map[string]any{
		"Victim": td.Victim, "Attacker": td.Attacker, "Dir": td.Dir, "Seed": td.Seed,
	}
	for k, v := range params {
		data[k] = v
		data[strings.ToUpper(k[:1])+k[1:]] = v
	}
	render := func(what, text string) (string, error) {
		t, err := template.New(what).Funcs(templateFuncs).Option("missingkey=error").Parse(text)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		var b strings.Builder
		if err := t.Execute(&b, data); err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		return b.String(), nil
	}
	var out []plannedStep
	for i, st := range s.Steps {
		ps := plannedStep{Tool: st.Tool, Label: st.Label}
		if ps.Label == "" {
			ps.Label = s.Label
		}
		for j, a := range st.Args {
			r, err := render(fmt.Sprintf("step %d arg %d", i+1, j+1), a)
			if err != nil {
				return nil, err
			}
			ps.Args = append(ps.Args, r)
		}
		start := st.Start
		if start == "" {
			start = "3s"
		}
		dur := st.Duration
		if dur == "" {
			dur = "{{.duration}}"
		}
		var err error
		if ps.Start, err = time.ParseDuration(start); err != nil {
			return nil, fmt.Errorf("step %d start: %w", i+1, err)
		}
		d, err := render(fmt.Sprintf("step %d duration", i+1), dur)
		if err != nil {
			return nil, err
		}
		if ps.Duration, err = time.ParseDuration(d); err != nil || ps.Duration <= 0 {
			return nil, fmt.Errorf("step %d duration %q: want a positive duration", i+1, d)
		}
		out = append(out, ps)
	}
	if _, err := time.ParseDuration(params["duration"]); err != nil {
		return nil, fmt.Errorf("parameter duration: %w", err)
	}
	return out, nil
}

// length is how long the scenario runs: its duration parameter, or until
// the last step's end, whichever is later.
func (s *Scenario) length(set map[string]string, steps []plannedStep) time.Duration {
	d := s.Params["duration"]
	if v, ok := set["duration"]; ok {
		d = v
	}
	l, _ := time.ParseDuration(d)
	for _, st := range steps {
		l = max(l, st.Start+st.Duration)
	}
	return l
}

// templateFuncs help turn parameters into tool syntax: {{secs .duration}}
// is whole seconds, {{interval_us .rate}} the microseconds between packets
// at rate per second.
var templateFuncs = template.FuncMap{
	"secs": func(v any) (int64, error) {
		d, err := time.ParseDuration(fmt.Sprint(v))
		if err != nil {
			return 0, err
		}
		return max(1, int64((d+time.Second/2)/time.Second)), nil
	},
	"interval_us": func(v any) (int64, error) {
		r, err := strconv.ParseFloat(fmt.Sprint(v), 64)
		if err != nil || r <= 0 {
			return 0, fmt.Errorf("rate %v: want a positive number", v)
		}
		return max(1, int64(1e6/r)), nil
	},
}
