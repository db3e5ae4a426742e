package capture

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sharedDir is the shared data beside the checkout, seen from this package.
const sharedDir = "../../../shared"

func needShared(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(sharedDir); err != nil {
		t.Skip("../shared not found: ", err)
	}
}

// readAll reads every packet of a capture and returns how many it got
// before the first error. It fails the test on a loop or a broken contract.
func readAll(t *testing.T, name string, rd io.Reader) (int, error) {
	r, err := NewReader(rd)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var p Packet
	n := 0
	for {
		err := r.Next(&p)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if len(p.Data) > p.OrigLen || len(p.Data) > maxCaplen {
			t.Errorf("%s packet %d: %d captured bytes, orig %d", name, n, len(p.Data), p.OrigLen)
		}
		n++
		if n > 50_000_000 {
			t.Fatalf("%s: reader does not stop", name)
		}
	}
}

type fileResult struct {
	name    string
	packets int
	err     error
}

// TestSharedCaptures reads every capture of ../shared, including the members
// of the tarballs (streamed, not extracted), and checks packet counts against
// the tables that list them.
func TestSharedCaptures(t *testing.T) {
	needShared(t)
	var results []fileResult
	for _, root := range []string{"golden/pcap", "pcaps"} {
		err := filepath.WalkDir(filepath.Join(sharedDir, root), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			name, _ := filepath.Rel(sharedDir, path)
			if strings.HasSuffix(name, ".tar.gz") {
				results = append(results, readTarball(t, path, name)...)
				return nil
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			n, rerr := readAll(t, name, f)
			results = append(results, fileResult{name, n, rerr})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	want := expectedCounts(t)
	if len(want) < 100 {
		t.Fatalf("only %d expected counts parsed from the tables", len(want))
	}
	kinds := map[string]int{}
	seen := 0
	for _, r := range results {
		t.Logf("%-70s %6d packets  err=%v", r.name, r.packets, r.err)
		if r.err != nil {
			kinds[errorKind(r.err)]++
		}
		if w, ok := want[r.name]; ok {
			seen++
			if r.err != nil || r.packets != w {
				t.Errorf("%s: read %d packets, err %v; want %d and no error", r.name, r.packets, r.err, w)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("only %d of the %d files listed in the tables were found", seen, len(want))
	}
	t.Logf("%d files read, %d checked against the tables, errors by kind: %v", len(results), seen, kinds)
}

// readTarball reads every regular member of a .tar.gz as a capture.
func readTarball(t *testing.T, path, name string) []fileResult {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	var res []fileResult
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return res
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		member := name + ":" + h.Name
		n, rerr := readAll(t, member, tr)
		res = append(res, fileResult{member, n, rerr})
	}
}

// errorKind groups errors for the summary: their message with every word
// that holds a number (offsets, lengths, magics) replaced by N.
func errorKind(err error) string {
	words := strings.Fields(err.Error())
	for i, w := range words {
		if strings.ContainsAny(w, "0123456789") {
			words[i] = "N"
		}
	}
	return strings.Join(words, " ")
}

// expectedCounts parses the packet counts of data/PCAP_TABLE.md (path in the
// first column, packets in the third) and of section 4 of golden/README.md
// (capture name first, packets third).
func expectedCounts(t *testing.T) map[string]int {
	want := map[string]int{}
	parse := func(file string, key func(string) string, inSection func(line string) bool) {
		b, err := os.ReadFile(filepath.Join(sharedDir, file))
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(b)) {
			if !inSection(line) {
				continue
			}
			cols := strings.Split(line, "|")
			if len(cols) < 5 {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(cols[3]))
			if err != nil {
				continue // header and separator rows
			}
			want[key(strings.TrimSpace(cols[1]))] = n
		}
	}
	parse("data/PCAP_TABLE.md", func(s string) string { return s }, func(string) bool { return true })
	section := false
	parse("golden/README.md", func(s string) string { return "golden/pcap/" + s + ".pcap" }, func(line string) bool {
		if strings.HasPrefix(line, "## ") {
			section = strings.HasPrefix(line, "## 4.")
		}
		return section
	})
	return want
}
