package events

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// sharedDir is the read-only data shared beside the checkout.
const sharedDir = "../../../shared/data"

func sharedFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(sharedDir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data %s absent (%v): skipping real-file test", p, err)
	}
	return p
}

// readFile parses a whole file, failing on any error.
func readFile(t testing.TB, path string, f Format, opt *Options) []*Event {
	t.Helper()
	fh, err := Open(path, f, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var evs []*Event
	for {
		e, err := fh.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		evs = append(evs, e)
	}
	return evs
}

func TestSharedCSIC(t *testing.T) {
	for _, c := range []struct {
		file              string
		n, get, post, put int
		label             string
	}{
		{"normalTrafficTraining.txt.gz", 36000, 28000, 8000, 0, LabelNormal},
		{"normalTrafficTest.txt.gz", 36000, 28000, 8000, 0, LabelNormal},
		{"anomalousTrafficTest.txt.gz", 25065, 15088, 9580, 397, LabelAnomalous},
	} {
		p := sharedFile(t, "http/csic2010/"+c.file)
		evs := readFile(t, p, FormatAuto, nil)
		methods := map[string]int{}
		for _, e := range evs {
			methods[e.Method]++
			if e.Label != c.label {
				t.Fatalf("%s: label %q, want %q", c.file, e.Label, c.label)
			}
			if (e.Method == "POST" || e.Method == "PUT") && e.Body == "" {
				t.Errorf("%s line %d: %s without body", c.file, e.Source.Line, e.Method)
			}
		}
		if len(evs) != c.n || methods["GET"] != c.get || methods["POST"] != c.post || methods["PUT"] != c.put {
			t.Errorf("%s: %d events %v, want %d (GET %d POST %d PUT %d)", c.file, len(evs), methods, c.n, c.get, c.post, c.put)
		}
		t.Logf("%s: %d events %v", c.file, len(evs), methods)
	}
}

func TestSharedHTTPParams(t *testing.T) {
	for _, c := range []struct {
		file            string
		n, norm, anom   int
		sqli, xss, path int
		cmdi            int
	}{
		{"payload_full.csv.gz", 31067, 19304, 11763, 10852, 532, 290, 89},
		{"payload_train.csv.gz", 20712, 12870, 7842, -1, -1, -1, -1},
		{"payload_test.csv", 10355, 6434, 3921, -1, -1, -1, -1},
		{"payload_test_lexical.csv", 1106, -1, -1, -1, -1, -1, -1},
	} {
		p := sharedFile(t, "http/HttpParamsDataset/"+c.file)
		evs := readFile(t, p, FormatAuto, nil)
		labels, types := map[string]int{}, map[string]int{}
		for _, e := range evs {
			labels[e.Label]++
			types[e.AttackType]++
		}
		check := func(what string, got, want int) {
			if want >= 0 && got != want {
				t.Errorf("%s: %s = %d, want %d", c.file, what, got, want)
			}
		}
		check("rows", len(evs), c.n)
		check("norm", labels[LabelNormal], c.norm)
		check("anom", labels[LabelAnomalous], c.anom)
		check("sqli", types["sqli"], c.sqli)
		check("xss", types["xss"], c.xss)
		check("path-traversal", types["path-traversal"], c.path)
		check("cmdi", types["cmdi"], c.cmdi)
		t.Logf("%s: %d rows, labels %v, types %v", c.file, len(evs), labels, types)
	}
}

func TestSharedFWAF(t *testing.T) {
	for _, c := range []struct {
		file  string
		n     int
		label string
	}{
		{"badqueries.txt.gz", 48126, LabelAnomalous},
		// 112,161 newline-terminated lines plus the cut final "/" (no newline).
		{"goodqueries_subset_liuzc188.txt.gz", 112162, LabelNormal},
	} {
		p := sharedFile(t, "http/fwaf/"+c.file)
		evs := readFile(t, p, FormatAuto, nil)
		blank := 0
		for _, e := range evs {
			if e.Label != c.label {
				t.Fatalf("%s: label %q", c.file, e.Label)
			}
		}
		// Blank lines carry no request and are skipped; count them so the
		// total matches the file's line count.
		fh, _ := Open(p, FormatLines, nil)
		lr := fh.Reader.(labelReader).r.(*linesReader)
		for {
			if _, err := lr.Next(); err != nil {
				break
			}
		}
		blank = lr.lr.line - len(evs)
		fh.Close()
		if len(evs)+blank != c.n {
			t.Errorf("%s: %d events + %d blank lines, want %d lines", c.file, len(evs), blank, c.n)
		}
		t.Logf("%s: %d events (%d blank lines skipped)", c.file, len(evs), blank)
	}
}

func TestSharedCCF(t *testing.T) {
	for _, c := range []struct {
		file string
		n    int
		norm bool
	}{
		{"label0_white_benign.csv", 6489, true},
		{"label3_rce.csv.gz", 1397, false},
		{"label4_cmd_exec.csv", 697, false},
		{"label5_xss.csv", 659, false},
	} {
		p := sharedFile(t, "http/ccf-bdci2022-webattack/"+c.file)
		m := CCFMapping
		evs := readFile(t, p, FormatCSV, &Options{CSV: &m})
		want := LabelAnomalous
		if c.norm {
			want = LabelNormal
		}
		for _, e := range evs {
			if e.Label != want {
				t.Fatalf("%s line %d: label %q, want %q", c.file, e.Source.Line, e.Label, want)
			}
		}
		if len(evs) != c.n {
			t.Errorf("%s: %d rows, want %d", c.file, len(evs), c.n)
		}
		t.Logf("%s: %d rows", c.file, len(evs))
	}
}
