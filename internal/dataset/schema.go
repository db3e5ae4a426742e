package dataset

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"regexp"
	"strings"
)

// schema.csv is the canonical schema and the dialect mapping in one table:
// a row per canonical column, a column per naming scheme. A cell may hold
// several names separated by "|"; an empty cell means the scheme lacks the
// column.
//
//go:embed schema.csv
var schemaCSV string

// Kind says what a canonical column is for.
type Kind uint8

// Column kinds.
const (
	KindFeature   Kind = iota // a flow feature
	KindNumericID             // port or protocol: a feature only with LoadOptions.IncludeIdentifiers
	KindTextID                // Flow ID, addresses, Community ID: never a feature
	KindTime                  // the flow's first packet
	KindLabel                 // the class
)

var kindNames = map[string]Kind{"feature": KindFeature, "numeric-id": KindNumericID,
	"text-id": KindTextID, "time": KindTime, "label": KindLabel}

// Column is one canonical column: its snake_case ID, its kind and its names
// in each naming scheme of schema.csv.
type Column struct {
	ID    string
	Kind  Kind
	Names map[string][]string
}

// Dialect is one way of writing flow files: the names of its columns (a
// naming scheme of schema.csv), the flow-meter profile whose semantics its
// features have, and how it writes labels and times.
type Dialect struct {
	Name string
	// Profile is the flowguard flow-meter profile ("cic2017" or "engelen")
	// that computes these features the same way: a model trained on this
	// dialect must be fed by that profile at detection time.
	Profile string
	About   string

	scheme string // schema.csv column holding the names
	snake  bool   // names are the scheme's, in ml-ids snake_case
	marker string // canonical column the header must have
	// codes name integer labels: codes[i] is the class written as i.
	codes []string
	// afternoon repairs a 12-hour clock written without AM/PM: hours
	// below it are p.m. hours. Zero means the clock is 24-hour, or
	// cannot be repaired when ambiguous is set.
	afternoon int
	ambiguous bool
	// offset is added to the written wall clock to get UTC, in µs.
	offset int64
}

// k8sCodes are the classes of the Kubernetes misuse dataset (Sever & Dogan
// 2023); 11 is the extra class of the Misuse-in-Containers project built on it.
var k8sCodes = []string{"Benign", "CVE-2020-13379", "Node-RED Reconnaissance", "Node-RED RCE",
	"Node-RED Container Escape", "CVE-2021-43798", "CVE-2019-20933", "CVE-2021-30465",
	"CVE-2021-25741", "CVE-2022-23648", "CVE-2019-5736", "DSB Nuclei Scan"}

// rdubeCodes are r-dube/CICIDS's numbering of the CIC-IDS2017 classes; it
// merged the three web attacks into 8.
var rdubeCodes = []string{"BENIGN", "FTP-Patator", "SSH-Patator", "DoS slowloris", "DoS Slowhttptest",
	"DoS Hulk", "DoS GoldenEye", "Heartbleed", "Web Attack", "Infiltration", "Bot", "PortScan", "DDoS"}

const hour = 3600 * 1e6

// dialects in detection order: on equal scores the earlier one wins, so a
// dialect with a marker precedes the one it refines.
var dialects = []*Dialect{
	{Name: "cic-ids2017", Profile: "cic2017", scheme: "cic-ids2017", afternoon: 8, offset: 3 * hour,
		About: "CIC-IDS2017 MachineLearningCVE / TrafficLabelling long names; times ADT (UTC-3), 12-hour clock"},
	{Name: "rdube", Profile: "cic2017", scheme: "rdube", codes: rdubeCodes,
		About: "r-dube/CICIDS anonymised CIC-IDS2017 (X1..X78 by MachineLearningCVE position, label YY as code)"},
	{Name: "flowguard-cic2017", Profile: "cic2017", scheme: "cse-cic-ids2018", marker: "community_id", ambiguous: true,
		About: "flowguard flows --profile cic2017 (with Community ID); times UTC, 12-hour clock without AM/PM"},
	{Name: "cse-cic-ids2018", Profile: "cic2017", scheme: "cse-cic-ids2018", afternoon: 8,
		About: "CSE-CIC-IDS2018 / CICFlowMeter-V3 short names; times as written, 12-hour clock"},
	{Name: "ml-ids", Profile: "cic2017", scheme: "cse-cic-ids2018", snake: true, afternoon: 8,
		About: "cstub/ml-ids snake_case CSE-CIC-IDS2018 names"},
	{Name: "kubernetes", Profile: "engelen", scheme: "kubernetes", codes: k8sCodes,
		About: "Kubernetes misuse dataset (Engelen CICFlowMeter fork, 87 columns, integer labels); times UTC"},
	{Name: "flowguard-engelen", Profile: "engelen", scheme: "engelen", marker: "community_id",
		About: "flowguard flows --profile engelen (with Community ID); times UTC"},
	{Name: "engelen", Profile: "engelen", scheme: "engelen",
		About: "GintsEngelen CICFlowMeter 94 columns, as flowguard --profile engelen writes; times UTC"},
}

var (
	columns  []Column
	features []string // canonical feature IDs in schema order
	colIndex = map[string]int{}
	// byName maps a normalised column name to a column index, over every
	// dialect; byDialect does the same for each dialect alone.
	byName    = map[string]int{}
	byDialect = map[*Dialect]map[string]int{}
)

func init() {
	if err := parseSchema(schemaCSV); err != nil {
		panic(err) // the embedded table is part of the source; its tests catch this
	}
}

func parseSchema(text string) error {
	recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		return fmt.Errorf("schema.csv: %w", err)
	}
	head := recs[0]
	for _, r := range recs[1:] {
		k, ok := kindNames[r[1]]
		if !ok {
			return fmt.Errorf("schema.csv: %s: unknown kind %q", r[0], r[1])
		}
		c := Column{ID: r[0], Kind: k, Names: map[string][]string{}}
		for j := 2; j < len(r); j++ {
			if r[j] != "" {
				c.Names[head[j]] = strings.Split(r[j], "|")
			}
		}
		colIndex[c.ID] = len(columns)
		columns = append(columns, c)
		if k == KindFeature {
			features = append(features, c.ID)
		}
	}
	for _, d := range dialects {
		m := map[string]int{}
		for i, c := range columns {
			for _, n := range c.Names[d.scheme] {
				if d.snake {
					n = snake(n)
				}
				if j, dup := byName[normName(n)]; dup && j != i {
					return fmt.Errorf("schema.csv: name %q means both %s and %s", n, columns[j].ID, c.ID)
				}
				m[normName(n)] = i
				byName[normName(n)] = i
			}
		}
		byDialect[d] = m
	}
	return nil
}

// Features returns the canonical feature IDs in schema order.
func Features() []string { return append([]string(nil), features...) }

// Columns returns the canonical schema: every feature, identifier, time and
// label column with its names in each naming scheme.
func Columns() []Column { return append([]Column(nil), columns...) }

// Dialects returns the known dialects in detection order.
func Dialects() []Dialect {
	out := make([]Dialect, len(dialects))
	for i, d := range dialects {
		out[i] = *d
	}
	return out
}

// snake is ml-ids's renaming: lower case, every non-word character "_".
func snake(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, s)
}

// normName is the key names are matched on: case and surrounding or
// repeated spaces do not matter (CIC-IDS2017 headers have leading spaces).
func normName(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// pandasIndex matches the names pandas gives an unnamed index column.
var pandasIndex = regexp.MustCompile(`^(Unnamed: \d+|index)?$`)

// pandasDup matches the suffix pandas appends to a repeated column name
// ("Fwd Header Length.1").
var pandasDup = regexp.MustCompile(`\.\d+$`)

// header is what a file's header says: for each of its columns the
// canonical column it holds (-1 for none) and the dialect.
type header struct {
	names   []string
	canon   []int
	dialect *Dialect
	// report material
	unknown, dups []string
	index         bool
	features      int
}

// readHeader maps a header's names to canonical columns. Unknown names are
// recorded, not fatal; a header without a single feature column is an error.
func readHeader(names []string) (*header, error) {
	h := &header{names: make([]string, len(names)), canon: make([]int, len(names))}
	for i, n := range names {
		h.names[i] = strings.TrimSpace(n)
	}
	h.dialect = detect(h.names)
	seen := map[int]bool{}
	for i, n := range h.names {
		h.canon[i] = -1
		c, ok := lookup(h.dialect, n)
		switch {
		case !ok && i == 0 && pandasIndex.MatchString(n):
			h.index = true
			continue
		case !ok && pandasDup.MatchString(n):
			if c, ok = lookup(h.dialect, pandasDup.ReplaceAllString(n, "")); ok && seen[c] {
				h.dups = append(h.dups, n)
				continue
			}
			h.unknown = append(h.unknown, n)
			continue
		case !ok:
			h.unknown = append(h.unknown, n)
			continue
		case seen[c]:
			// CIC-IDS2017 writes Fwd Header Length twice with equal
			// values; a repeated column is never a second feature.
			h.dups = append(h.dups, n)
			continue
		}
		seen[c] = true
		h.canon[i] = c
		if columns[c].Kind == KindFeature {
			h.features++
		}
	}
	if h.features == 0 {
		return nil, noFeatures(h.names)
	}
	return h, nil
}

func lookup(d *Dialect, name string) (int, bool) {
	k := normName(name)
	if c, ok := byDialect[d][k]; ok {
		return c, true
	}
	c, ok := byName[k]
	return c, ok
}

// detect returns the dialect naming most of the header's columns; a dialect
// with a marker column only counts when the header has it.
func detect(names []string) *Dialect {
	var best *Dialect
	bestScore := 0
	for _, d := range dialects {
		score, marked := 0, d.marker == ""
		for _, n := range names {
			if c, ok := byDialect[d][normName(n)]; ok {
				score++
				marked = marked || columns[c].ID == d.marker
			}
		}
		if marked && score > bestScore {
			best, bestScore = d, score
		}
	}
	if best == nil {
		return dialects[0] // nothing matches; readHeader reports it
	}
	return best
}

// noFeatures explains a header without flow features, naming the one
// well-known non-CIC format people feed by mistake.
func noFeatures(names []string) error {
	if len(names) >= 41 && len(names) <= 43 {
		switch strings.ToLower(names[1]) {
		case "tcp", "udp", "icmp":
			return fmt.Errorf("this looks like NSL-KDD / KDD Cup 99 (41 connection features, no header), " +
				"which is not a CICFlowMeter dialect and cannot be mapped to flow features")
		}
	}
	shown := names
	if len(shown) > 8 {
		shown = shown[:8]
	}
	return fmt.Errorf("no known flow feature column among %d columns (%s...): not a CICFlowMeter dialect",
		len(names), strings.Join(shown, ", "))
}
