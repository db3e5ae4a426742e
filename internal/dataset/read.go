package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/flowguard/flowguard/internal/ml"
)

// LoadOptions select what Load reads and how it cleans. The zero value is
// the honest default: identifiers excluded, rows with Inf/NaN dropped,
// negatives kept, exact duplicates removed, label conflicts resolved to
// the majority, 1970-stamped rows dropped, labels as the dataset names them.
type LoadOptions struct {
	// IncludeIdentifiers makes source/destination port and protocol
	// features. They are excluded by default because in the public
	// data sets they identify the testbed's hosts and tools rather than
	// the behaviour of a flow. Flow ID, addresses, Community ID and
	// Timestamp are never features.
	IncludeIdentifiers bool
	// KeepIdentifiers fills Table.IDs, for writing predictions.
	KeepIdentifiers bool

	NonFinite NonFinitePolicy
	Negative  NegativePolicy
	// NegativeOK lists the columns whose negative values are legitimate
	// and never touched by Negative; nil means DefaultNegativeOK.
	NegativeOK []string
	// KeepDuplicates keeps exact duplicate rows. Splitting such a table
	// puts copies of one flow on both sides; Verify reports it.
	KeepDuplicates bool
	Conflicts      ConflictPolicy
	// KeepEpochRows keeps rows stamped before 1990 (CSE-CIC-IDS2018's
	// broken 1970 flows, with negative durations).
	KeepEpochRows bool

	Labels LabelMode
	// LabelFile, instead of Labels, maps labels by a CSV file of
	// "from,to" lines; a label it does not map is an error.
	LabelFile string

	// Workers parse one file in parallel; 0 means GOMAXPROCS.
	Workers int
	// Progress, when set, is called from the loading goroutine as data
	// is read.
	Progress func(Progress)
}

// Progress reports a load under way.
type Progress struct {
	File       string
	FileIndex  int   // 0-based index of File
	Files      int   // files in the load
	Bytes      int64 // on-disk bytes read so far, all files
	TotalBytes int64 // on-disk bytes of all files
	Rows       int   // rows read so far
}

// extensions a directory walk picks up; named files are read whatever
// their name says, by their content.
var extensions = []string{".csv", ".csv.gz", ".jsonl", ".jsonl.gz", ".parquet"}

// Load reads flow files (directories are walked recursively, in lexical
// order), maps every dialect onto the canonical schema, concatenates the
// rows and cleans them as opts says. The features are the canonical
// features present in every file. The report lists what each step did.
func Load(paths []string, opts LoadOptions) (*Table, *Report, error) {
	if err := opts.check(); err != nil {
		return nil, nil, err
	}
	mapper, err := opts.labelMapper()
	if err != nil {
		return nil, nil, err
	}
	files, err := expand(paths)
	if err != nil {
		return nil, nil, err
	}
	srcs := make([]*source, len(files))
	var total int64
	for i, f := range files {
		if srcs[i], err = probe(f); err != nil {
			return nil, nil, fmt.Errorf("load %s: %w", f, err)
		}
		total += srcs[i].size
	}
	rep := &Report{}
	t := &Table{IdentifierFeatures: opts.IncludeIdentifiers}
	t.Features = layout(srcs, opts, rep)

	l := &loader{opts: opts, total: total, files: len(srcs), t: t}
	t.X = &ml.Matrix{Cols: len(t.Features)}
	if opts.KeepIdentifiers {
		t.IDs = &Identifiers{}
	}
	for i, s := range srcs {
		l.index = i
		l.fr = &FileReport{FileInfo: s.info, Features: s.hdr.features, Unknown: s.hdr.unknown,
			Duplicate: s.hdr.dups, IndexColumn: s.hdr.index, Labels: map[string]int{},
			Timestamps: slices.ContainsFunc(s.hdr.canon, func(c int) bool { return c >= 0 && columns[c].Kind == KindTime })}
		if err := l.read(s); err != nil {
			return nil, nil, fmt.Errorf("load %s: %w", s.path, err)
		}
		rep.Files = append(rep.Files, *l.fr)
		t.Files = append(t.Files, s.info)
	}
	t.X.Rows = len(t.Labels)
	t.Original = t.Labels
	if t.X.Rows == 0 {
		return nil, nil, fmt.Errorf("load: no data rows in %d files", len(srcs))
	}
	if err := clean(t, opts, mapper, rep); err != nil {
		return nil, nil, err
	}
	return t, rep, nil
}

func (o *LoadOptions) check() error {
	switch {
	case !slices.Contains([]NonFinitePolicy{"", NonFiniteDrop, NonFiniteMax, NonFiniteZero}, o.NonFinite):
		return fmt.Errorf("unknown non-finite policy %q (want drop, max or zero)", o.NonFinite)
	case !slices.Contains([]NegativePolicy{"", NegativeKeep, NegativeClip, NegativeDrop}, o.Negative):
		return fmt.Errorf("unknown negative policy %q (want keep, clip or drop)", o.Negative)
	case !slices.Contains([]ConflictPolicy{"", ConflictMajority, ConflictDrop}, o.Conflicts):
		return fmt.Errorf("unknown label-conflict policy %q (want majority or drop)", o.Conflicts)
	case o.LabelFile != "" && o.Labels != "":
		return fmt.Errorf("label mode %q and label file %s both given; choose one", o.Labels, o.LabelFile)
	}
	for _, c := range o.NegativeOK {
		if i, ok := colIndex[c]; !ok || columns[i].Kind != KindFeature {
			return fmt.Errorf("negative-ok column %q is not a canonical feature", c)
		}
	}
	return nil
}

// expand turns paths into the files to read.
func expand(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, errors.New("load: no input files")
	}
	var files []string
	seen := map[string]bool{}
	add := func(p string) error {
		if seen[p] {
			return fmt.Errorf("load: %s given twice", p)
		}
		seen[p] = true
		files = append(files, p)
		return nil
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		if !st.IsDir() {
			if err := add(filepath.Clean(p)); err != nil {
				return nil, err
			}
			continue
		}
		n := len(files)
		err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := strings.ToLower(d.Name())
			if d.Type().IsRegular() && slices.ContainsFunc(extensions, func(e string) bool { return strings.HasSuffix(name, e) }) {
				return add(filepath.Clean(f))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		if len(files) == n {
			return nil, fmt.Errorf("load: no %s file under %s", strings.Join(extensions, "/"), p)
		}
	}
	return files, nil
}

// layout chooses the features (the canonical ones every file has, in
// schema order), records in rep what is left out and why, and gives each
// source's columns their roles.
func layout(srcs []*source, opts LoadOptions, rep *Report) []string {
	have := make([]int, len(columns))
	profiles := map[string]bool{}
	for _, s := range srcs {
		for _, c := range s.hdr.canon {
			if c >= 0 {
				have[c]++
			}
		}
		profiles[s.info.Profile] = true
	}
	slot := make([]int, len(columns))
	var feats []string
	for c, col := range columns {
		slot[c] = -1
		usable := col.Kind == KindFeature || col.Kind == KindNumericID && opts.IncludeIdentifiers
		switch {
		case have[c] == 0:
		case !usable && col.Kind == KindNumericID:
			rep.Excluded = append(rep.Excluded, ColumnNote{col.ID, "identifier; IncludeIdentifiers makes it a feature"})
		case !usable && (col.Kind == KindTextID || col.Kind == KindTime):
			rep.Excluded = append(rep.Excluded, ColumnNote{col.ID, "identifier; never a feature"})
		case !usable:
		case have[c] < len(srcs):
			rep.Excluded = append(rep.Excluded, ColumnNote{col.ID, fmt.Sprintf("in %d of %d files only", have[c], len(srcs))})
		default:
			slot[c] = len(feats)
			feats = append(feats, col.ID)
		}
	}
	for _, s := range srcs {
		s.roles = make([]role, len(s.hdr.canon))
		for i, c := range s.hdr.canon {
			r := role{slot: -1, name: s.hdr.names[i]}
			if c >= 0 {
				r.slot = slot[c]
				switch id := columns[c].ID; {
				case id == "label":
					r.field = fieldLabel
				case id == "timestamp":
					r.field = fieldTime
				case opts.KeepIdentifiers:
					r.field = idFields[id]
				}
			}
			s.roles[i] = r
		}
	}
	rep.Features = feats
	for p := range profiles {
		rep.Profiles = append(rep.Profiles, p)
	}
	slices.Sort(rep.Profiles)
	return feats
}
