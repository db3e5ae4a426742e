package flowmeter

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/capture"
)

// meterBytes runs the whole pipeline (reader, decoder, both profiles'
// meters, CSV and JSONL writers) over one capture held in memory. Any panic
// fails the caller; a malformed file may end with an error wrapping
// capture.ErrFormat, never with anything else.
func meterBytes(data []byte) (Stats, error) {
	var last Stats
	for _, pr := range []*Profile{CIC2017, Engelen} {
		r, err := capture.NewReader(bytes.NewReader(data))
		if err != nil {
			return last, err
		}
		cw, err := NewCSVWriter(io.Discard, pr, true)
		if err != nil {
			return last, err
		}
		jw := NewJSONLWriter(io.Discard, pr)
		m, err := New(Config{Profile: pr, MaxFlows: 4096}, func(f *Flow) {
			cw.Write(f)
			jw.Write(f)
		})
		if err != nil {
			return last, err
		}
		runErr := Run(context.Background(), r, m)
		m.Flush()
		last = m.Stats()
		if runErr != nil {
			return last, runErr
		}
	}
	return last, nil
}

// TestWalkSharedCaptures meters every capture under ../shared/pcaps and
// ../shared/golden, including each member of the two test-suite tarballs
// (nDPI's and tcpdump's, many deliberately malformed), and checks that bad
// input only ever yields a format error, and that every frame is accounted
// for: metered, skipped by reason, or past a reported format error.
func TestWalkSharedCaptures(t *testing.T) {
	shared := sharedDir(t)
	var files, members, formatErrs, packets int
	check := func(name string, data []byte) {
		st, err := meterBytes(data)
		packets += int(st.Packets)
		if err != nil {
			if !errors.Is(err, capture.ErrFormat) {
				t.Errorf("%s: error that is not a format error: %v", name, err)
			}
			formatErrs++
		}
		var skipped int64
		for _, n := range st.Skipped {
			skipped += n
		}
		if st.Metered+skipped+st.IPv6Skipped != st.Packets {
			t.Errorf("%s: %d packets but %d metered + %d skipped", name, st.Packets, st.Metered, skipped)
		}
	}
	for _, root := range []string{filepath.Join(shared, "pcaps"), filepath.Join(shared, "golden", "pcap")} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			if strings.HasSuffix(path, ".tar.gz") {
				members += walkTar(t, path, data, check)
				return nil
			}
			if !isCapture(data) {
				return nil // SOURCE notes and the like
			}
			check(path, data)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d files and %d tarball members metered with both profiles: %d packets, %d ended with a format error",
		files, members, packets, formatErrs)
}

func walkTar(t *testing.T, path string, data []byte, check func(string, []byte)) int {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(zr)
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		member, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("%s: %s: %v", path, h.Name, err)
		}
		if isCapture(member) {
			check(path+":"+h.Name, member)
			n++
		}
	}
}

// isCapture recognises pcap, pcapng and gzip by their first bytes.
func isCapture(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	switch string(b[:4]) {
	case "\xd4\xc3\xb2\xa1", "\xa1\xb2\xc3\xd4", "\x4d\x3c\xb2\xa1", "\xa1\xb2\x3c\x4d", "\x0a\x0d\x0d\x0a":
		return true
	}
	return b[0] == 0x1f && b[1] == 0x8b
}

// FuzzPipeline feeds arbitrary bytes through reader, decoder, meter and
// writers: the only acceptable outcomes are success or a format error.
func FuzzPipeline(f *testing.F) {
	f.Add(buildCapture(f, nil))
	f.Add(buildCapture(f, [][]byte{tcpFrame(f, 1, 2, 1000, 80, 0x02, 0), udpFrame(f, 3, 4, 53, 5353, 40)}))
	if shared, err := filepath.Abs("../../../shared/golden/pcap"); err == nil {
		for _, n := range []string{"ppa2e_tcp_teardown", "ppa1e_ipfragments", "ndpi_bot_vlan", "icmp_traceroute"} {
			if b, err := os.ReadFile(filepath.Join(shared, n+".pcap")); err == nil && len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := meterBytes(data); err != nil && !errors.Is(err, capture.ErrFormat) {
			t.Fatalf("not a format error: %v", err)
		}
	})
}
