package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

var update = flag.Bool("update", false, "rewrite the fixtures in testdata")

var le, be = binary.LittleEndian, binary.BigEndian

// base is a plausible capture time: 2017-07-14 02:40:00 UTC.
const base = int64(1_500_000_000) * 1e9

// ngSection appends one pcapng section to w that covers every block kind the
// reader knows plus three it must skip, and returns the packets in it.
func ngSection(w *ngWriter) []rec {
	w.shb(w.opt(4, []byte("flowguard test")), w.endOpts()) // shb_userappl
	w.idb(LinkEthernet, 96, w.opt(optTsresol, []byte{9}))  // nanoseconds
	// Binary units of 2^-20 s, and the clock 1000 s behind.
	w.idb(LinkRaw, 0, w.opt(optTsresol, []byte{0x80 | 20}), w.opt(optTsoffset, w.bo.AppendUint64(nil, 1000)))
	w.block(4, w.u16(1), w.u16(8), []byte{192, 0, 2, 1, 'a', '.', 'b', 0}, w.u32(0)) // name resolution
	bin := func(sec, half uint64) uint64 { return sec<<20 | half<<19 }

	w.epb(0, uint64(base+123_456_789), 60, frame(1, 60))
	w.epb(1, bin(1_500_000_010, 1), 40, frame(2, 40), w.opt(1, []byte("a comment")))
	w.block(5, w.u32(0), w.u32(0), w.u32(7))       // interface statistics
	w.block(0x40000bad, w.u32(32473), frame(9, 5)) // custom, copiable
	w.pb(1, bin(1_500_000_011, 0), 50, frame(3, 50))
	w.spb(70, frame(4, 70))
	w.epb(0, uint64(base+2e9), 1500, frame(5, 96)) // cut to the snap length
	w.spb(300, frame(6, 96))                       // so is this one, implicitly
	return []rec{
		{0, LinkEthernet, base + 123_456_789, 60, frame(1, 60)},
		{1, LinkRaw, (1_500_000_010+1000)*1e9 + 5e8, 40, frame(2, 40)},
		{1, LinkRaw, (1_500_000_011 + 1000) * 1e9, 50, frame(3, 50)},
		{0, LinkEthernet, (1_500_000_011 + 1000) * 1e9, 70, frame(4, 70)}, // SPB: previous timestamp
		{0, LinkEthernet, base + 2e9, 1500, frame(5, 96)},
		{0, LinkEthernet, base + 2e9, 300, frame(6, 96)},
	}
}

// ngFixture is a file of two sections in opposite byte orders; the second
// one starts over with a single interface of another link type.
func ngFixture(first binary.AppendByteOrder) (file []byte, want []rec, ends []int) {
	w := &ngWriter{bo: first}
	want = ngSection(w)
	w.bo = be
	if first == be {
		w.bo = le
	}
	w.shb()
	w.idb(LinkLinuxSLL2, 0) // no options: microseconds
	w.epb(0, uint64(base/1e3+3e6), 80, frame(7, 80))
	w.spb(30, frame(8, 30))
	want = append(want,
		rec{0, LinkLinuxSLL2, base + 3e9, 80, frame(7, 80)},
		rec{0, LinkLinuxSLL2, base + 3e9, 30, frame(8, 30)})
	return w.b, want, w.ends
}

// pcapFixture is a small microsecond pcap file made by PcapWriter.
func pcapFixture(t testing.TB) (file []byte, want []rec, ends []int) {
	var buf bytes.Buffer
	pw, err := NewPcapWriter(&buf, LinkEthernet, 65535, false)
	if err != nil {
		t.Fatal(err)
	}
	want = []rec{
		{0, LinkEthernet, base + 1000, 60, frame(1, 60)},
		{0, LinkEthernet, base + 5e8, 1514, frame(2, 100)},
		{0, LinkEthernet, base + 1e9, 0, nil},
	}
	ends = []int{buf.Len()}
	for _, r := range want {
		if err := pw.WritePacket(r.ts, r.data, r.orig); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, buf.Len())
	}
	return buf.Bytes(), want, ends
}

// readRecs reads a whole capture and fails the test on any error.
func readRecs(t *testing.T, rd io.Reader) []rec {
	t.Helper()
	r, err := NewReader(rd)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []rec
	for {
		var p Packet
		err := r.Next(&p)
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatalf("after %d packets: %v", len(got), err)
		}
		got = append(got, rec{p.Interface, p.Link, p.Timestamp, p.OrigLen, bytes.Clone(p.Data)})
	}
}

func checkRecs(t *testing.T, got, want []rec) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d packets, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.iface != w.iface || g.link != w.link || g.ts != w.ts || g.orig != w.orig || !bytes.Equal(g.data, w.data) {
			t.Errorf("packet %d: got iface %d link %d ts %d orig %d %d bytes, want iface %d link %d ts %d orig %d %d bytes",
				i, g.iface, g.link, g.ts, g.orig, len(g.data), w.iface, w.link, w.ts, w.orig, len(w.data))
		}
	}
}

func TestPcap(t *testing.T) {
	recs := []rec{
		{0, LinkEthernet, base + 1000, 60, frame(1, 60)},
		{0, LinkEthernet, base + 999_999_000, 1514, frame(2, 200)},
		{0, LinkEthernet, 4_000_000_000 * 1e9, 1, frame(3, 1)}, // past 2038: seconds are unsigned
		{0, LinkEthernet, base, 0, nil},
	}
	nsRecs := append([]rec{{0, LinkEthernet, base + 1, 4, frame(4, 4)}}, recs...)
	tests := []struct {
		name  string
		bo    binary.AppendByteOrder
		nanos bool
		link  uint32
		recs  []rec
	}{
		{"little-endian µs", le, false, 1, recs},
		{"big-endian µs", be, false, 1, recs},
		{"little-endian ns", le, true, 1, nsRecs},
		{"big-endian ns", be, true, 1, nsRecs},
		{"FCS length in the link type", le, false, 0x24000001, recs}, // 2x16 bits of FCS, present
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRecs(t, readRecs(t, bytes.NewReader(pcapFile(tt.bo, tt.nanos, tt.link, tt.recs))), tt.recs)
		})
	}
}

// TestPcapEncoder checks the test encoder against the package's writer.
func TestPcapEncoder(t *testing.T) {
	file, want, _ := pcapFixture(t)
	if enc := pcapFile(le, false, uint32(LinkEthernet), want); !bytes.Equal(enc, file) {
		t.Fatal("pcapFile and PcapWriter disagree")
	}
	checkRecs(t, readRecs(t, bytes.NewReader(file)), want)
}

func TestPcapng(t *testing.T) {
	for _, bo := range []binary.AppendByteOrder{le, be} {
		t.Run(bo.String(), func(t *testing.T) {
			file, want, _ := ngFixture(bo)
			checkRecs(t, readRecs(t, bytes.NewReader(file)), want)
		})
	}
}

// TestFixtureFiles keeps testdata in step with the encoders; the files are
// there so that other tools (tshark, capinfos) can check the encoders too.
func TestFixtureFiles(t *testing.T) {
	ng, _, _ := ngFixture(le)
	pcap, _, _ := pcapFixture(t)
	for name, want := range map[string][]byte{"sections.pcapng": ng, "small.pcap": pcap} {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: go test -run TestFixtureFiles -update", path)
		}
	}
}

func TestTsresol(t *testing.T) {
	const sec = uint64(1_500_000_000)
	tests := []struct {
		name   string
		tsres  []byte // option value; nil: no option
		offset int64  // if_tsoffset, seconds
		units  uint64
		want   int64
	}{
		{"default µs", nil, 0, sec*1e6 + 7, base + 7000},
		{"10^-6", []byte{6}, 0, sec*1e6 + 7, base + 7000},
		{"10^-9", []byte{9}, 0, sec*1e9 + 7, base + 7},
		{"10^-3", []byte{3}, 0, sec*1e3 + 7, base + 7e6},
		{"10^0", []byte{0}, 0, sec, base},
		{"10^-12", []byte{12}, 0, 7e12 + 7000, 7e9 + 7}, // 2^64 ps is only 213 days
		{"10^-19", []byte{19}, 0, 15 * 1e18, 15e8},
		{"2^0", []byte{0x80}, 0, sec, base},
		{"2^-10", []byte{0x80 | 10}, 0, sec<<10 | 256, base + 25e7},
		{"2^-30", []byte{0x80 | 30}, 0, sec<<30 | 1<<29, base + 5e8},
		{"2^-64", []byte{0x80 | 64}, 0, 1 << 63, 5e8},
		{"2^-127", []byte{0x80 | 127}, 0, 1 << 63, 0},
		{"offset", []byte{6}, -3600, sec * 1e6, base - 3600e9},
		{"offset alone", nil, 60, sec * 1e6, base + 60e9},
		{"longer option value", []byte{9, 0, 0, 0, 0}, 0, sec*1e9 + 7, base + 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &ngWriter{bo: le}
			w.shb()
			var opts [][]byte
			if tt.tsres != nil {
				opts = append(opts, w.opt(optTsresol, tt.tsres))
			}
			if tt.offset != 0 {
				opts = append(opts, w.opt(optTsoffset, w.bo.AppendUint64(nil, uint64(tt.offset))))
			}
			w.idb(LinkEthernet, 0, opts...)
			w.epb(0, tt.units, 1, []byte{1})
			got := readRecs(t, bytes.NewReader(w.b))
			if len(got) != 1 || got[0].ts != tt.want {
				t.Fatalf("got %v, want timestamp %d", got, tt.want)
			}
		})
	}
}

// oneReader hides every method of its reader but Read, like a pipe.
type oneReader struct{ io.Reader }

func TestStreams(t *testing.T) {
	ng, ngWant, _ := ngFixture(le)
	pcap, pcapWant, _ := pcapFixture(t)
	tests := []struct {
		name string
		file []byte
		want []rec
	}{
		{"pcap", pcap, pcapWant},
		{"pcapng", ng, ngWant},
		{"gzip pcap", gz(t, pcap), pcapWant},
		{"gzip pcapng", gz(t, ng), ngWant},
		{"two gzip members", append(gz(t, pcap[:50]), gz(t, pcap[50:])...), pcapWant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Pipes hand out data in odd pieces, and may end with data.
			for _, rd := range []io.Reader{
				oneReader{bytes.NewReader(tt.file)},
				iotest.OneByteReader(bytes.NewReader(tt.file)),
				iotest.HalfReader(bytes.NewReader(tt.file)),
				iotest.DataErrReader(bytes.NewReader(tt.file)),
			} {
				checkRecs(t, readRecs(t, rd), tt.want)
			}
			r, err := NewReader(oneReader{bytes.NewReader(tt.file)})
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != -1 {
				t.Errorf("Size of a stream = %d, want -1", r.Size())
			}
		})
	}
}

func TestOpen(t *testing.T) {
	ng, want, _ := ngFixture(be)
	dir := t.TempDir()
	for name, file := range map[string][]byte{"plain": ng, "gzip": gz(t, ng)} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, file, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != int64(len(file)) {
				t.Errorf("Size = %d, want %d", r.Size(), len(file))
			}
			var p Packet
			n := 0
			for r.Next(&p) == nil {
				n++
				if off := r.Offset(); off <= 0 || off > r.Size() {
					t.Fatalf("Offset = %d of %d", off, r.Size())
				}
			}
			if n != len(want) || r.Offset() != r.Size() {
				t.Errorf("read %d packets, want %d; Offset at the end = %d, want %d", n, len(want), r.Offset(), r.Size())
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("stdin", func(t *testing.T) {
		path := filepath.Join(dir, "stdin")
		if err := os.WriteFile(path, ng, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		stdin := os.Stdin
		os.Stdin = f
		defer func() { os.Stdin = stdin }()
		r, err := Open("-")
		if err != nil {
			t.Fatal(err)
		}
		if r.Size() != int64(len(ng)) {
			t.Errorf("Size of redirected stdin = %d, want %d", r.Size(), len(ng))
		}
		var p Packet
		if err := r.Next(&p); err != nil {
			t.Fatal(err)
		}
		r.Close()
		if _, err := f.Stat(); err != nil {
			t.Errorf("Close closed stdin: %v", err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		empty := filepath.Join(dir, "empty")
		if err := os.WriteFile(empty, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(empty)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		stdin := os.Stdin
		os.Stdin = f
		_, err = Open("-")
		os.Stdin = stdin
		if !errors.Is(err, ErrFormat) || !strings.HasPrefix(err.Error(), "stdin: empty input") {
			t.Errorf("empty stdin: %v", err)
		}

		if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("missing file: %v", err)
		}
		path := filepath.Join(dir, "notes.txt")
		if err := os.WriteFile(path, []byte("flow notes\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = Open(path)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), path) {
			t.Errorf("text file: %v", err)
		}
	})
}

// readToEnd opens a capture and reads it to the end; it returns the packets
// read and the error that stopped it (nil at a clean end).
func readToEnd(rd io.Reader) (int, error) {
	r, err := NewReader(rd)
	if err != nil {
		return 0, err
	}
	var p Packet
	for n := 0; ; n++ {
		if err := r.Next(&p); err != nil {
			if err == io.EOF {
				err = nil
			}
			return n, err
		}
		if n > 1e6 {
			panic("reader does not stop")
		}
	}
}

func TestErrors(t *testing.T) {
	ng := func(build func(w *ngWriter)) []byte {
		w := &ngWriter{bo: le}
		w.shb()
		build(w)
		return w.b
	}
	withIDB := func(build func(w *ngWriter)) []byte {
		return ng(func(w *ngWriter) { w.idb(LinkEthernet, 0); build(w) })
	}
	patch := func(b []byte, off int, v uint32) []byte {
		b = bytes.Clone(b)
		le.PutUint32(b[off:], v)
		return b
	}
	pcap, _, _ := pcapFixture(t)
	goodNg := withIDB(func(w *ngWriter) { w.epb(0, 1, 4, frame(0, 4)) })
	badCRC := gz(t, pcap)
	badCRC[len(badCRC)-8] ^= 0xff

	tests := []struct {
		name      string
		file      []byte
		packets   int    // read before the error
		msg       string // in the error
		truncated bool   // wraps io.ErrUnexpectedEOF
	}{
		{"text", []byte("hello, world\n"), 0, "not a pcap or pcapng file (magic 0x68656c6c)", false},
		{"empty", nil, 0, "empty input", false},
		{"three bytes", []byte{0xd4, 0xc3, 0xb2}, 0, "file header at offset 0", true},
		{"short pcap header", pcap[:20], 0, "pcap file header at offset 0", true},
		{"huge caplen", patch(pcap, 24+8, 1<<30), 0, "pcap record at offset 24: captured length 1073741824 exceeds 262144", false},
		{"pcap cut in a record", pcap[:len(pcap)-50], 1, "pcap record at offset 100", true},
		{"pcap cut in a record header", pcap[:24+16+60+5], 1, "pcap record at offset 100", true},
		{"short section header", goodNg[:14], 0, "pcapng section header at offset 0", true},
		{"byte-order magic", patch(goodNg, 8, 0x01020304), 0, "bad byte-order magic 0x01020304", false},
		{"version 2", patch(goodNg, 12, 2), 0, "unsupported version 2.0", false},
		{"section length", patch(goodNg, 4, 27), 0, "pcapng section header at offset 0: bad block length 27", false},
		{"section trailer", patch(goodNg, 24, 99), 0, "pcapng section header at offset 0: trailing length 99", false},
		{"packet before interface", ng(func(w *ngWriter) { w.epb(0, 1, 4, frame(0, 4)) }), 0,
			"pcapng block at offset 28: packet on interface 0, but the section describes 0", false},
		{"unknown interface", withIDB(func(w *ngWriter) { w.epb(0, 1, 1, []byte{1}); w.epb(3, 1, 1, []byte{1}) }), 1,
			"packet on interface 3, but the section describes 1", false},
		{"obsolete packet before interface", ng(func(w *ngWriter) { w.pb(0, 1, 4, frame(0, 4)) }), 0,
			"packet on interface 0, but the section describes 0", false},
		{"simple packet before interface", ng(func(w *ngWriter) { w.spb(4, frame(0, 4)) }), 0,
			"simple packet block before any interface description", false},
		{"interfaces are per section", ng(func(w *ngWriter) {
			w.idb(LinkEthernet, 0)
			w.idb(LinkRaw, 0)
			w.shb()
			w.idb(LinkEthernet, 0)
			w.epb(1, 1, 1, []byte{1})
		}), 0, "packet on interface 1, but the section describes 1", false},
		{"block length not aligned", patch(goodNg, 28+20+4, 46), 0, "pcapng block at offset 48: bad block length 46", false},
		{"block length too small", patch(goodNg, 28+20+4, 8), 0, "pcapng block at offset 48: bad block length 8", false},
		{"packet trailer", patch(goodNg, len(goodNg)-4, 40), 0, "pcapng block at offset 48: trailing length 40 does not match block length 36", false},
		{"skipped block trailer", ng(func(w *ngWriter) { w.block(4, w.u32(0)); w.b = patch(w.b, len(w.b)-4, 20) }), 0,
			"pcapng block at offset 28: trailing length 20 does not match block length 16", false},
		{"skipped block cut", ng(func(w *ngWriter) { w.block(4, make([]byte, 1000)); w.b = w.b[:500] }), 0,
			"pcapng block at offset 28", true},
		{"huge block", ng(func(w *ngWriter) { w.block(blockEPB, make([]byte, bufSize)) }), 0,
			"block of type 6 is 1048588 bytes, more than 1048576", false},
		{"huge skipped block, cut", ng(func(w *ngWriter) { w.block(0x99, w.u32(1)); w.b = patch(w.b, 28+4, 0xfffffff0)[:40] }), 0,
			"pcapng block at offset 28", true},
		{"captured length overruns block", patch(goodNg, 28+20+20, 5), 0, "captured length 5 overruns the 36-byte block", false},
		{"captured length too large", withIDB(func(w *ngWriter) { w.epb(0, 1, 1, make([]byte, maxCaplen+1)) }), 0,
			"captured length 262145 exceeds 262144", false},
		{"short packet block", withIDB(func(w *ngWriter) { w.block(blockEPB, make([]byte, 16)) }), 0,
			"packet block of 28 bytes is too short", false},
		{"short simple packet block", withIDB(func(w *ngWriter) { w.block(blockSPB) }), 0,
			"simple packet block of 12 bytes is too short", false},
		{"simple packet too large", withIDB(func(w *ngWriter) { w.spb(maxCaplen+4, make([]byte, maxCaplen+4)) }), 0,
			"captured length 262148 exceeds 262144", false},
		{"short interface block", ng(func(w *ngWriter) { w.block(blockIDB, w.u32(1)) }), 0,
			"pcapng interface description at offset 28: block of 16 bytes is too short", false},
		{"option overruns interface block", ng(func(w *ngWriter) { w.block(blockIDB, w.u32(1), w.u32(0), w.u16(9), w.u16(40)) }), 0,
			"option 9 of 40 bytes overruns the block", false},
		{"tsresol too fine", ng(func(w *ngWriter) { w.idb(LinkEthernet, 0, w.opt(optTsresol, []byte{29})) }), 0,
			"unsupported if_tsresol 0x1d", false},
		{"pcapng cut in a block", goodNg[:len(goodNg)-3], 0, "pcapng block at offset 48", true},
		{"pcapng cut in a block header", goodNg[:48+5], 0, "pcapng block at offset 48", true},
		{"gzip of text", gz(t, []byte("hello, world\n")), 0, "not a pcap or pcapng file (magic 0x68656c6c)", false},
		{"gzip header", []byte{0x1f, 0x8b, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, "gzip header at offset 0", false}, // method 1
		{"gzip cut", gz(t, pcap)[:40], 0, "", true},
		{"gzip checksum", badCRC, 3, "gzip: malformed capture file: gzip: invalid checksum", false},
		{"gzip data", append(gz(t, pcap)[:10], bytes.Repeat([]byte{0xff}, 40)...), 0, "gzip", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := readToEnd(bytes.NewReader(tt.file))
			if err == nil {
				t.Fatalf("no error after %d packets", n)
			}
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tt.msg) || n != tt.packets {
				t.Errorf("after %d packets: %v\nwant after %d packets: %q wrapping ErrFormat", n, err, tt.packets, tt.msg)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) != tt.truncated {
				t.Errorf("%v: wraps io.ErrUnexpectedEOF: %v, want %v", err, !tt.truncated, tt.truncated)
			}
		})
	}
}

// TestTruncated cuts fixtures at every byte: a cut between records is a clean
// end, anything else an error that wraps ErrFormat, and truncation is
// reported as such. Nothing may panic or loop.
func TestTruncated(t *testing.T) {
	pcap, _, pcapEnds := pcapFixture(t)
	ngLE, _, ngEnds := ngFixture(le)
	ngBE, _, _ := ngFixture(be)
	tests := []struct {
		name string
		file []byte
		ends []int // clean cuts, with the packets before each
		gzip bool
	}{
		{"pcap", pcap, pcapEnds, false},
		{"pcapng little-endian", ngLE, ngEnds, false},
		{"pcapng big-endian", ngBE, ngEnds, false},
		{"gzip pcapng", gz(t, ngLE), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, full := readToEnd(bytes.NewReader(tt.file))
			if full != nil {
				t.Fatal(full)
			}
			clean := map[int]bool{}
			for _, e := range tt.ends {
				clean[e] = true
			}
			for cut := range len(tt.file) {
				n, err := readToEnd(bytes.NewReader(tt.file[:cut]))
				switch {
				case clean[cut]:
					if err != nil {
						t.Errorf("cut at %d, between blocks: %v", cut, err)
					}
				case err == nil:
					t.Errorf("cut at %d: no error after %d packets", cut, n)
				case !errors.Is(err, ErrFormat):
					t.Errorf("cut at %d: %v does not wrap ErrFormat", cut, err)
				case cut >= 4 && !errors.Is(err, io.ErrUnexpectedEOF) && !tt.gzip:
					t.Errorf("cut at %d: %v does not wrap io.ErrUnexpectedEOF", cut, err)
				}
			}
		})
	}
}

// TestDataCapacity checks that appending to Data cannot overwrite the next
// packet, which sits right after it in the read buffer.
func TestDataCapacity(t *testing.T) {
	ng, _, _ := ngFixture(le)
	pcap, _, _ := pcapFixture(t)
	for _, file := range [][]byte{ng, pcap} {
		r, err := NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		for r.Next(&p) == nil {
			if cap(p.Data) != len(p.Data) {
				t.Fatalf("cap(Data) = %d, len %d", cap(p.Data), len(p.Data))
			}
		}
	}
}

func TestErrorsStick(t *testing.T) {
	pcap, _, _ := pcapFixture(t)
	r, err := NewReader(bytes.NewReader(pcap[:len(pcap)-1]))
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	for r.Next(&p) == nil {
	}
	first := r.Next(&p)
	if again := r.Next(&p); again != first || first == nil {
		t.Errorf("second Next after %v returned %v", first, again)
	}
}

// stuckReader returns nothing, forever, without an error.
type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }

// TestIOError checks that a failing source is not mistaken for bad data.
func TestIOError(t *testing.T) {
	pcap, _, _ := pcapFixture(t)
	broken := errors.New("disk on fire")
	tests := []struct {
		name string
		rd   io.Reader
		want error
	}{
		{"read error", io.MultiReader(bytes.NewReader(pcap[:60]), iotest.ErrReader(broken)), broken},
		{"no progress", io.MultiReader(bytes.NewReader(pcap[:60]), stuckReader{}), io.ErrNoProgress},
	}
	for _, tt := range tests {
		n, err := readToEnd(tt.rd)
		if !errors.Is(err, tt.want) || errors.Is(err, ErrFormat) || n != 0 {
			t.Errorf("%s: after %d packets: %v; want %v, not ErrFormat", tt.name, n, err, tt.want)
		}
	}
}

func TestNextDoesNotAllocate(t *testing.T) {
	ng, _, _ := ngFixture(le)
	pcap, _, _ := pcapFixture(t)
	for name, file := range map[string][]byte{"pcap": pcap, "pcapng": ng} {
		// Enough records that the reader refills its buffer during the run.
		big := bytes.Clone(file)
		more := file
		if name == "pcap" {
			more = file[24:] // records only; a pcapng file can follow itself
		}
		for len(big) < 12*bufSize {
			big = append(big, more...)
		}
		r, err := NewReader(bytes.NewReader(big))
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		for r.offset() < 2*bufSize { // past the buffer's growth
			if err := r.Next(&p); err != nil {
				t.Fatal(err)
			}
		}
		if a := testing.AllocsPerRun(50_000, func() {
			if err := r.Next(&p); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%s: %v allocations per Next", name, a)
		}
	}
}
