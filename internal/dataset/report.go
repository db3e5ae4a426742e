package dataset

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Report says what Load read and what each cleaning step did. It prints
// for people (String) and marshals to JSON for run records.
type Report struct {
	Files []FileReport `json:"files"`
	// Features are the table's columns; Excluded the canonical columns
	// some file had that are not among them, with the reason.
	Features []string     `json:"features"`
	Excluded []ColumnNote `json:"excluded_columns,omitempty"`
	Profiles []string     `json:"profiles"`

	RowsRead int `json:"rows_read"`
	// Dropped lists rows removed per reason, in the order the steps ran.
	Dropped []Drop `json:"rows_dropped"`
	Rows    int    `json:"rows"`

	// Cells per column that were non-finite, or negative where a
	// feature cannot be (whatever the policy did with them).
	NonFinite       map[string]int  `json:"non_finite_cells,omitempty"`
	NonFinitePolicy string          `json:"non_finite_policy"`
	Negative        map[string]int  `json:"negative_cells,omitempty"`
	NegativePolicy  string          `json:"negative_policy"`
	Duplicates      DuplicateReport `json:"duplicates"`

	LabelMode string `json:"label_mode"`
	// LabelsRead counts the dataset classes of all rows read; Labels the
	// training labels of the rows kept.
	LabelsRead map[string]int `json:"labels_read"`
	Labels     map[string]int `json:"labels"`

	Warnings []string `json:"warnings,omitempty"`
}

// FileReport describes one file of a load.
type FileReport struct {
	FileInfo
	Rows int `json:"rows_read"`
	Kept int `json:"rows_kept"`
	// Features counts the canonical feature columns the file has.
	Features        int            `json:"feature_columns"`
	Unknown         []string       `json:"unknown_columns,omitempty"`
	Duplicate       []string       `json:"duplicate_columns,omitempty"`
	IndexColumn     bool           `json:"index_column,omitempty"`
	Timestamps      bool           `json:"timestamps"`
	RepeatedHeaders int            `json:"repeated_headers,omitempty"`
	Blank           int            `json:"blank_lines,omitempty"`
	Labels          map[string]int `json:"labels"`
}

// ColumnNote says why a column is not a feature.
type ColumnNote struct {
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// Drop counts the rows one step removed.
type Drop struct {
	Reason string `json:"reason"`
	Rows   int    `json:"rows"`
}

// DuplicateReport describes duplicate removal.
type DuplicateReport struct {
	// Removed counts rows equal to an earlier row in features and label;
	// CrossFile those whose earlier copy is in another file.
	Removed   int            `json:"exact_removed"`
	CrossFile int            `json:"cross_file"`
	ByLabel   map[string]int `json:"exact_removed_by_label,omitempty"`
	// ConflictGroups counts feature vectors that carried several labels;
	// ConflictRows the rows the policy dropped for them.
	ConflictGroups int            `json:"conflict_vectors"`
	ConflictRows   int            `json:"conflict_rows_dropped"`
	ConflictLabels map[string]int `json:"conflict_rows_by_label,omitempty"`
	Policy         string         `json:"conflict_policy,omitempty"`
}

// minFeatures: below this many features a model sees a small part of a
// flow's description; loads still work but say so.
const minFeatures = 20

func (r *Report) warn(t *Table) {
	if len(r.Profiles) > 1 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("files of profiles %s are mixed: same-named features are "+
			"computed differently by each flow meter, so a model cannot be fed by one profile", strings.Join(r.Profiles, " and ")))
	}
	if len(t.Features) < minFeatures {
		r.Warnings = append(r.Warnings, fmt.Sprintf("only %d of the %d canonical features are in every file (%s)",
			len(t.Features), len(features), strings.Join(t.Features, ", ")))
	}
	var untimed, ambiguous []string
	for _, f := range r.Files {
		if !f.Timestamps {
			untimed = append(untimed, f.Path)
		}
		if d := dialectNamed(f.Dialect); d != nil && d.ambiguous {
			ambiguous = append(ambiguous, f.Path)
		}
	}
	if len(untimed) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d of %d files have no timestamps (temporal and by-day splits cannot use them): %s",
			len(untimed), len(r.Files), strings.Join(untimed, ", ")))
	}
	if len(ambiguous) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("a 12-hour clock without AM/PM makes times within a day ambiguous in %s",
			strings.Join(ambiguous, ", ")))
	}
	if n := r.Labels[Unlabelled]; n > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d rows have no label (no label column, or a placeholder such as \"No Label\")", n))
	}
	if len(r.Labels) == 1 {
		r.Warnings = append(r.Warnings, "a single class: nothing to tell apart")
	}
}

func dialectNamed(name string) *Dialect {
	for _, d := range dialects {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// String prints the report as an aligned summary.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "files (%d):\n", len(r.Files))
	for _, f := range r.Files {
		fmt.Fprintf(&b, "  %s  %s, %s (profile %s), %d feature columns, rows %d -> %d\n",
			f.Path, f.Format, f.Dialect, f.Profile, f.Features, f.Rows, f.Kept)
		var notes []string
		if f.IndexColumn {
			notes = append(notes, "index column ignored")
		}
		if len(f.Duplicate) > 0 {
			notes = append(notes, "repeated columns ignored: "+strings.Join(f.Duplicate, ", "))
		}
		if len(f.Unknown) > 0 {
			notes = append(notes, "unknown columns ignored: "+strings.Join(f.Unknown, ", "))
		}
		if f.RepeatedHeaders > 0 {
			notes = append(notes, fmt.Sprintf("%d repeated header lines skipped", f.RepeatedHeaders))
		}
		if f.Blank > 0 {
			notes = append(notes, fmt.Sprintf("%d blank lines skipped", f.Blank))
		}
		for _, n := range notes {
			fmt.Fprintf(&b, "      %s\n", n)
		}
	}
	fmt.Fprintf(&b, "features: %d (profile %s)\n", len(r.Features), strings.Join(r.Profiles, ", "))
	var reasons []string
	byReason := map[string][]string{}
	for _, e := range r.Excluded {
		if byReason[e.Reason] == nil {
			reasons = append(reasons, e.Reason)
		}
		byReason[e.Reason] = append(byReason[e.Reason], e.Column)
	}
	for _, why := range reasons {
		fmt.Fprintf(&b, "  not features (%s): %s\n", why, strings.Join(byReason[why], ", "))
	}
	fmt.Fprintf(&b, "rows: %d read, %d kept\n", r.RowsRead, r.Rows)
	for _, d := range r.Dropped {
		fmt.Fprintf(&b, "  dropped %-22s %9d", d.Reason, d.Rows)
		switch d.Reason {
		case DropNonFinite:
			fmt.Fprintf(&b, "  (cells: %s)", counts(r.NonFinite))
		case DropDuplicate:
			fmt.Fprintf(&b, "  (%d with their first copy in another file; %s)", r.Duplicates.CrossFile, counts(r.Duplicates.ByLabel))
		case DropConflict:
			fmt.Fprintf(&b, "  (%d vectors with several labels, policy %s; %s)", r.Duplicates.ConflictGroups,
				r.Duplicates.Policy, counts(r.Duplicates.ConflictLabels))
		}
		b.WriteByte('\n')
	}
	if r.NonFinitePolicy != string(NonFiniteDrop) && len(r.NonFinite) > 0 {
		fmt.Fprintf(&b, "  Inf/NaN cells replaced (%s): %s\n", r.NonFinitePolicy, counts(r.NonFinite))
	}
	if len(r.Negative) > 0 {
		fmt.Fprintf(&b, "  negative cells (%s): %s\n", r.NegativePolicy, counts(r.Negative))
	}
	fmt.Fprintf(&b, "labels (%s): %s\n", r.LabelMode, counts(r.Labels))
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

// counts prints a count map largest first.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := k
		if name == Unlabelled {
			name = "(unlabelled)"
		}
		parts[i] = fmt.Sprintf("%s %d", name, m[k])
	}
	return strings.Join(parts, ", ")
}
