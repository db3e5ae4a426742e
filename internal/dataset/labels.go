package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// LabelMode says how dataset classes become training labels.
type LabelMode string

// Label modes.
const (
	// LabelsMulticlass keeps the dataset's classes, normalised (the default).
	LabelsMulticlass LabelMode = "multiclass"
	// LabelsBinary makes every benign spelling (and a bare "0") "benign"
	// and every other class "attack".
	LabelsBinary LabelMode = "binary"
	// LabelsFamilies merges variants of one attack (DoS Hulk, GoldenEye,
	// slowloris, Slowhttptest -> DoS; Web Attack * -> WebAttack, ...) by
	// the families table, for CIC-IDS2017 and CSE-CIC-IDS2018 names.
	LabelsFamilies LabelMode = "families"
)

// Binary labels.
const (
	BinaryBenign = "benign"
	BinaryAttack = "attack"
)

// families lists the classes of each attack family. A family's own name
// belongs to it too, so already-merged data (the LCCDE sample) maps onto
// itself.
var families = map[string][]string{
	Benign: {"Benign"},
	"DoS": {"DoS Hulk", "DoS GoldenEye", "DoS slowloris", "DoS Slowhttptest",
		"DoS attacks-Hulk", "DoS attacks-GoldenEye", "DoS attacks-Slowloris", "DoS attacks-SlowHTTPTest"},
	"DDoS":       {"DDoS attacks-LOIC-HTTP", "DDOS attack-HOIC", "DDOS attack-LOIC-UDP", "DDoS LOIT"},
	"BruteForce": {"FTP-Patator", "SSH-Patator", "FTP-BruteForce", "SSH-Bruteforce"},
	"WebAttack": {"Web Attack - Brute Force", "Web Attack - XSS", "Web Attack - Sql Injection", "Web Attack",
		"Brute Force -Web", "Brute Force -XSS", "SQL Injection"},
	"Infiltration": {"Infilteration"},
	"PortScan":     {},
	"Bot":          {},
	"Heartbleed":   {},
}

var familyOf = func() map[string]string {
	m := map[string]string{}
	for fam, members := range families {
		m[strings.ToLower(fam)] = fam
		for _, c := range members {
			m[strings.ToLower(c)] = fam
		}
	}
	return m
}()

// labelMapper maps a normalised class to a training label; ok is false for
// a class it has no mapping for.
type labelMapper struct {
	mode   LabelMode
	file   map[string]string
	strict bool // an unmapped class is an error (mapping files)
}

func (m *labelMapper) apply(c string) (string, bool) {
	if c == Unlabelled {
		return c, true
	}
	switch {
	case m.file != nil:
		to, ok := m.file[c]
		return to, ok
	case m.mode == LabelsBinary && (c == Benign || c == "0"):
		// "0" is benign in every integer labelling in use (ml-ids' 0/1,
		// the Kubernetes and r-dube codes) even without a code table.
		return BinaryBenign, true
	case m.mode == LabelsBinary:
		return BinaryAttack, true
	case m.mode == LabelsFamilies:
		fam, ok := familyOf[strings.ToLower(c)]
		if !ok {
			return c, false
		}
		return fam, true
	}
	return c, true
}

func (o *LoadOptions) labelMapper() (*labelMapper, error) {
	if o.LabelFile != "" {
		m, err := readLabelFile(o.LabelFile)
		if err != nil {
			return nil, err
		}
		return &labelMapper{mode: "file", file: m, strict: true}, nil
	}
	mode := o.Labels
	if mode == "" {
		mode = LabelsMulticlass
	}
	if !slices.Contains([]LabelMode{LabelsMulticlass, LabelsBinary, LabelsFamilies}, mode) {
		return nil, fmt.Errorf("unknown label mode %q (want multiclass, binary or families)", mode)
	}
	return &labelMapper{mode: mode}, nil
}

// readLabelFile reads "from,to" lines; a first line "from,to" is a header.
// Both sides are normalised as loaded labels are, so the file can spell
// classes as the dataset does.
func readLabelFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("label file: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	r.Comment = '#'
	m := map[string]string{}
	plain := &Dialect{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("label file %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if len(m) == 0 && strings.EqualFold(rec[0], "from") && strings.EqualFold(rec[1], "to") {
			continue
		}
		from, to := normLabel([]byte(rec[0]), plain), normLabel([]byte(rec[1]), plain)
		if prev, dup := m[from]; dup && prev != to {
			return nil, fmt.Errorf("label file %s line %d: %q mapped to both %q and %q", path, line, from, prev, to)
		}
		m[from] = to
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("label file %s: no mappings", path)
	}
	return m, nil
}
