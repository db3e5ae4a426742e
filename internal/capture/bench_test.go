package capture

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// benchPackets is the number of packets in a benchmark file: 64-byte frames,
// the worst case for per-packet overhead (a SYN flood looks like this).
const benchPackets = 200_000

func benchPcap(b *testing.B) []byte {
	var buf bytes.Buffer
	pw, err := NewPcapWriter(&buf, LinkEthernet, 65535, false)
	if err != nil {
		b.Fatal(err)
	}
	data := frame(0, 64)
	for i := range benchPackets {
		if err := pw.WritePacket(base+int64(i)*1000, data, 64); err != nil {
			b.Fatal(err)
		}
	}
	return buf.Bytes()
}

func benchPcapng() []byte {
	w := &ngWriter{bo: le}
	w.shb()
	w.idb(LinkEthernet, 0, w.opt(optTsresol, []byte{9}))
	data := frame(0, 64)
	for i := range benchPackets {
		w.epb(0, uint64(base+int64(i)*1000), 64, data)
	}
	return w.b
}

// BenchmarkReaderFile reads a whole warm file per operation, through Open as
// flowguard does.
func BenchmarkReaderFile(b *testing.B) {
	pcap := benchPcap(b)
	files := []struct {
		name string
		data []byte
	}{
		{"pcap", pcap},
		{"pcapng", benchPcapng()},
		{"pcap.gz", gz(b, pcap)},
	}
	dir := b.TempDir()
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(f.data)))
			var p Packet
			for b.Loop() {
				r, err := Open(path)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for r.Next(&p) == nil {
					n++
				}
				r.Close()
				if n != benchPackets {
					b.Fatalf("read %d packets, want %d", n, benchPackets)
				}
			}
			b.ReportMetric(float64(b.N)*benchPackets/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// loopReader repeats the records of a capture forever after its header.
type loopReader struct {
	head, recs []byte
	off        int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if len(l.head) > 0 {
		n := copy(p, l.head)
		l.head = l.head[n:]
		return n, nil
	}
	n := copy(p, l.recs[l.off:])
	l.off = (l.off + n) % len(l.recs)
	return n, nil
}

// BenchmarkReaderNext measures one Next per operation on an endless stream,
// so allocs/op is the hot path's own.
func BenchmarkReaderNext(b *testing.B) {
	pcap, ng := benchPcap(b), benchPcapng()
	const ngHead = 28 + 32 // SHB and IDB
	for _, s := range []struct {
		name       string
		file       []byte
		headerSize int
	}{
		{"pcap", pcap, 24},
		{"pcapng", ng, ngHead},
	} {
		b.Run(s.name, func(b *testing.B) {
			r, err := NewReader(&loopReader{head: s.file[:s.headerSize], recs: s.file[s.headerSize:]})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var p Packet
			for b.Loop() {
				if err := r.Next(&p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}
