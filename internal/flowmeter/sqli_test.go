package flowmeter

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCICIDS2017Reproduced meters the genuine CIC-IDS2017 excerpt (DVWA SQL
// injection, Thursday 2017-07-06) with the cic2017 profile and checks that
// the 16 published TrafficLabelling rows that belong to it come out again,
// every column but Timestamp (published in local time, re-saved by Excel)
// and Label. The published file carries a duplicated "Fwd Header Length"
// column that the profile does not write; it must equal the original.
func TestCICIDS2017Reproduced(t *testing.T) {
	shared := sharedDir(t)
	ref := readCSVFile(t, filepath.Join(shared, "data/flows/cic-ids2017/trafficlabelling-attack-extracts/baseline_sqli.csv"))
	got := readTable(t, meterFile(t, filepath.Join(shared, "golden/pcap/cicids2017_webattack_sqlinj.pcap"), CIC2017))

	const dup = "Fwd Header Length.1"
	refCols := ref[0]
	// Published column i is our column ours[i]; -1 marks columns not compared.
	ours := make([]int, len(refCols))
	j := 0
	for i, name := range refCols {
		switch name {
		case dup:
			ours[i] = -1
			continue
		case "Timestamp", "Label":
			ours[i] = -1
		default:
			ours[i] = j
		}
		j++
	}
	if j != len(got.header) {
		t.Fatalf("published layout has %d columns besides the duplicate, profile has %d", j, len(got.header))
	}
	tuple := func(r []string) string {
		return strings.Join([]string{r[1], trimFloat(r[2]), r[3], trimFloat(r[4]), trimFloat(r[5])}, "|")
	}
	used := map[string]bool{}
	reproduced := 0
	for _, r := range ref[1:] {
		best, bestDiffs := "", []string(nil)
		for _, k := range got.order {
			g := got.rows[k]
			if used[k] || tuple(g) != tuple(r) {
				continue
			}
			var diffs []string
			for i, o := range ours {
				if o >= 0 && cellDiff(trimFloat(r[i]), g[o]) == "value" {
					diffs = append(diffs, refCols[i]+": published "+r[i]+", ours "+g[o])
				}
			}
			if best == "" || len(diffs) < len(bestDiffs) {
				best, bestDiffs = k, diffs
			}
		}
		if best == "" {
			continue // starts after the capture ends (5 of the 21 rows)
		}
		used[best] = true
		if len(bestDiffs) > 0 {
			t.Errorf("published row %s differs: %v", r[0], bestDiffs)
			continue
		}
		if dupIdx := indexOf(refCols, dup); cellDiff(trimFloat(r[dupIdx]), got.rows[best][indexOf(got.header, "Fwd Header Len")]) != "" {
			t.Errorf("published row %s: %s = %s differs from Fwd Header Len", r[0], dup, r[dupIdx])
		}
		reproduced++
	}
	if reproduced != 16 {
		t.Errorf("reproduced %d of the 16 published rows that belong to the capture", reproduced)
	}
	t.Logf("%d published CIC-IDS2017 rows reproduced in all %d compared columns", reproduced, len(got.header)-2)
}

// trimFloat turns pandas' "36196.0" into "36196" so integers compare as text.
func trimFloat(s string) string {
	return strings.TrimSuffix(s, ".0")
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}
