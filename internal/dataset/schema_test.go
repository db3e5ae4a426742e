package dataset

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/flowmeter"
)

func TestSchemaShape(t *testing.T) {
	if n := len(Features()); n != 86 {
		t.Errorf("%d canonical features, want 86 (76 CICFlowMeter-V3 + 10 Engelen)", n)
	}
	want := map[string]int{"cic-ids2017": 76, "cse-cic-ids2018": 76, "rdube": 76, "kubernetes": 79, "engelen": 86}
	for scheme, n := range want {
		got := 0
		for _, c := range Columns() {
			if c.Kind == KindFeature && len(c.Names[scheme]) > 0 {
				got++
			}
		}
		if got != n {
			t.Errorf("%s names %d features, want %d", scheme, got, n)
		}
	}
	for _, d := range Dialects() {
		if d.Profile != "cic2017" && d.Profile != "engelen" {
			t.Errorf("dialect %s: profile %q is not a flow-meter profile", d.Name, d.Profile)
		}
	}
}

// flowguard's own output must map completely: every column of both
// profiles is a canonical column, and the profile is recognised.
func TestFlowmeterColumnsMapped(t *testing.T) {
	for name, pr := range flowmeter.Profiles {
		var names []string
		for _, c := range pr.Columns {
			names = append(names, c.Name)
		}
		for _, withID := range []bool{false, true} {
			cols := names
			if withID {
				cols = append(slices.Clone(names), "Community ID")
			}
			h, err := readHeader(cols)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(h.unknown)+len(h.dups) > 0 {
				t.Errorf("%s: unknown %q, repeated %q", name, h.unknown, h.dups)
			}
			if h.dialect.Profile != name {
				t.Errorf("%s output read as dialect %s of profile %s", name, h.dialect.Name, h.dialect.Profile)
			}
			if want := strings.HasPrefix(h.dialect.Name, "flowguard-"); want != withID {
				t.Errorf("%s output with Community ID %v: dialect %s", name, withID, h.dialect.Name)
			}
			if want := map[string]int{"cic2017": 76, "engelen": 86}[name]; h.features != want {
				t.Errorf("%s: %d features, want %d", name, h.features, want)
			}
		}
	}
}

// r-dube numbered the MachineLearningCVE columns X1..X78 by position.
func TestRdubePositions(t *testing.T) {
	for i, n := range machineLearningCVE()[:78] {
		a, ok1 := lookup(dialects[0], n)
		b, ok2 := lookup(dialects[1], "X"+strconv.Itoa(i+1))
		if !ok1 || !ok2 || a != b {
			t.Errorf("X%d is %v, MachineLearningCVE column %d %q is %v", i+1, col(b, ok2), i+1, n, col(a, ok1))
		}
	}
}

// machineLearningCVE is the MachineLearningCVE header: TrafficLabelling's
// without Flow ID, addresses, source port, protocol and timestamp.
func machineLearningCVE() []string {
	tl := strings.Split(trafficLabellingHeader, ",")
	return append([]string{tl[4]}, tl[7:]...)
}

func col(c int, ok bool) string {
	if !ok {
		return "unknown"
	}
	return columns[c].ID
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{"Flow Byts/s": "flow_byts_s", "Down/Up Ratio": "down_up_ratio",
		"CWE Flag Count": "cwe_flag_count", "Fwd Pkts/b Avg": "fwd_pkts_b_avg", "Dst Port": "dst_port"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadHeader(t *testing.T) {
	short := func(extra ...string) []string {
		var out []string
		for _, c := range Columns() {
			if c.Kind == KindFeature && len(c.Names["cse-cic-ids2018"]) > 0 {
				out = append(out, c.Names["cse-cic-ids2018"][0])
			}
		}
		return append(out, extra...)
	}
	snaked := func(names []string) []string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = snake(n)
		}
		return out
	}
	cases := []struct {
		name      string
		header    []string
		dialect   string
		unknown   []string
		dups      []string
		index     bool
		wantError string
	}{
		{name: "MachineLearningCVE, spaces and repeated Fwd Header Length",
			header: machineLearningCVE(), dialect: "cic-ids2017", dups: []string{"Fwd Header Length"}},
		{name: "short names", header: short("Dst Port", "Label"), dialect: "cse-cic-ids2018"},
		{name: "ml-ids with pandas index", header: append([]string{""}, snaked(short("Dst Port", "Label"))...),
			dialect: "ml-ids", index: true},
		{name: "unknown columns reported", header: short("Label", "Mystery", "Dst Port"), dialect: "cse-cic-ids2018",
			unknown: []string{"Mystery"}},
		{name: "pandas suffix on a repeat", header: short("Flow Duration.1"), dialect: "cse-cic-ids2018",
			dups: []string{"Flow Duration.1"}},
		{name: "pandas suffix without a first", header: []string{"Tot Fwd Pkts", "Flow Pkts/s.1"}, dialect: "cse-cic-ids2018",
			unknown: []string{"Flow Pkts/s.1"}},
		{name: "NSL-KDD", header: strings.Split("0,tcp,ftp_data,SF,491,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0.00,0.00,0.00,0.00,1.00,0.00,0.00,150,25,0.17,0.03,0.17,0.00,0.00,0.00,0.05,0.00,normal,20", ","),
			wantError: "NSL-KDD"},
		{name: "PCA components", header: []string{"PC1", "PC2", "Label"}, wantError: "no known flow feature column"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := readHeader(c.header)
			if c.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantError) {
					t.Fatalf("error %v, want one mentioning %q", err, c.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.dialect.Name != c.dialect || !slices.Equal(h.unknown, c.unknown) || !slices.Equal(h.dups, c.dups) || h.index != c.index {
				t.Errorf("dialect %s unknown %q dups %q index %v; want %s %q %q %v",
					h.dialect.Name, h.unknown, h.dups, h.index, c.dialect, c.unknown, c.dups, c.index)
			}
		})
	}
}
