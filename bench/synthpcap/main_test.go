package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

func gen(t *testing.T, cfg config) ([]byte, stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := generate(&buf, cfg)
	if err != nil {
		t.Fatalf("generate(%+v): %v", cfg, err)
	}
	if int64(buf.Len()) != st.bytes {
		t.Fatalf("stats say %d bytes, wrote %d", st.bytes, buf.Len())
	}
	return buf.Bytes(), st
}

func TestDeterministic(t *testing.T) {
	a, _ := gen(t, config{scale: 0.5, seed: 7})
	b, _ := gen(t, config{scale: 0.5, seed: 7})
	if sha256.Sum256(a) != sha256.Sum256(b) {
		t.Fatal("same scale and seed gave different bytes")
	}
	c, _ := gen(t, config{scale: 0.5, seed: 8})
	if sha256.Sum256(a) == sha256.Sum256(c) {
		t.Fatal("seeds 7 and 8 gave the same bytes")
	}
}

// onesSum is the ones'-complement sum of b as 16-bit big-endian words, done
// the long way, independently of the generator's sum16.
func onesSum(b []byte, sum uint32) uint32 {
	for i := 0; i < len(b); i += 2 {
		w := uint32(b[i]) << 8
		if i+1 < len(b) {
			w |= uint32(b[i+1])
		}
		sum += w
		if sum > 0xffff {
			sum = sum&0xffff + 1
		}
	}
	return sum
}

// TestFramesValid parses every record by hand: pcap header, Ethernet,
// IPv4 header and checksum, and the TCP, UDP or ICMP checksum.
func TestFramesValid(t *testing.T) {
	data, st := gen(t, config{scale: 1, seed: 7})
	if st.packets < 20000 {
		t.Fatalf("scale 1 gave only %d packets", st.packets)
	}
	for sc := range numScenarios {
		if st.sessions[sc] != int64(scenarioInfo[sc].perScale) {
			t.Errorf("%s: %d sessions, want %d", scenarioInfo[sc].name, st.sessions[sc], scenarioInfo[sc].perScale)
		}
		if st.scPackets[sc] == 0 {
			t.Errorf("%s: no packets", scenarioInfo[sc].name)
		}
	}

	le := binary.LittleEndian
	be := binary.BigEndian
	if len(data) < 24 || le.Uint32(data) != 0xa1b2c3d4 || le.Uint32(data[20:]) != 1 {
		t.Fatalf("bad pcap header % x", data[:min(24, len(data))])
	}
	protos := map[byte]int{}
	var lastTS uint64
	n := 0
	for off := 24; off < len(data); n++ {
		if off+16 > len(data) {
			t.Fatalf("packet %d: truncated record header", n)
		}
		sec, usec := le.Uint32(data[off:]), le.Uint32(data[off+4:])
		incl, orig := int(le.Uint32(data[off+8:])), int(le.Uint32(data[off+12:]))
		off += 16
		if incl != orig || off+incl > len(data) {
			t.Fatalf("packet %d: caplen %d, len %d, %d bytes left", n, incl, orig, len(data)-off)
		}
		f := data[off : off+incl]
		off += incl
		if usec >= 1e6 || sec < uint32(startUnix) {
			t.Fatalf("packet %d: timestamp %d.%06d", n, sec, usec)
		}
		ts := uint64(sec)*1e6 + uint64(usec)
		if ts < lastTS {
			t.Fatalf("packet %d: timestamp goes back", n)
		}
		lastTS = ts

		if len(f) < 60 || len(f) > 1514 {
			t.Fatalf("packet %d: frame length %d", n, len(f))
		}
		if be.Uint16(f[12:]) != 0x0800 {
			t.Fatalf("packet %d: EtherType %#04x", n, be.Uint16(f[12:]))
		}
		ip := f[14:]
		if ip[0] != 0x45 {
			t.Fatalf("packet %d: version/IHL %#02x", n, ip[0])
		}
		total := int(be.Uint16(ip[2:]))
		if total < 20 || 14+total > len(f) || 14+total < len(f) && len(f) != 60 {
			t.Fatalf("packet %d: IPv4 total length %d in a %d-byte frame", n, total, len(f))
		}
		if s := onesSum(ip[:20], 0); s != 0xffff {
			t.Fatalf("packet %d: IPv4 header checksum does not verify (sum %#04x)", n, s)
		}
		for _, b := range f[14+total:] {
			if b != 0 {
				t.Fatalf("packet %d: non-zero padding", n)
			}
		}
		if ip[12] != 192 && ip[12] != 198 && ip[12] != 203 || ip[16] != 192 && ip[16] != 198 && ip[16] != 203 {
			t.Fatalf("packet %d: address outside RFC 5737: % d -> % d", n, ip[12:16], ip[16:20])
		}
		proto := ip[9]
		protos[proto]++
		l4 := ip[20:total]
		var sum uint32
		switch proto {
		case 6, 17:
			sum = onesSum(ip[12:20], uint32(proto)+uint32(len(l4)))
			if proto == 17 && int(be.Uint16(l4[4:])) != len(l4) {
				t.Fatalf("packet %d: UDP length %d, IP payload %d", n, be.Uint16(l4[4:]), len(l4))
			}
			if proto == 6 && int(l4[12]>>4)*4 > len(l4) {
				t.Fatalf("packet %d: TCP data offset beyond the packet", n)
			}
		case 1:
		default:
			t.Fatalf("packet %d: protocol %d", n, proto)
		}
		if s := onesSum(l4, sum); s != 0xffff {
			t.Fatalf("packet %d: protocol %d checksum does not verify (sum %#04x)", n, proto, s)
		}
	}
	if int64(n) != st.packets {
		t.Fatalf("parsed %d packets, stats say %d", n, st.packets)
	}
	for _, p := range []byte{1, 6, 17} {
		if protos[p] == 0 {
			t.Errorf("no packets of protocol %d", p)
		}
	}
}

func TestPacketLimit(t *testing.T) {
	_, st := gen(t, config{scale: 1, seed: 3, maxPackets: 1234})
	if st.packets != 1234 {
		t.Fatalf("wrote %d packets, want 1234", st.packets)
	}
}

func TestRunWritesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pcap")
	var stderr bytes.Buffer
	if code := run([]string{"-scale", "0.1", "-seed", "2", "-o", path}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	want, _ := gen(t, config{scale: 0.1, seed: 2})
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("file differs from the generator's output")
	}
	if !bytes.Contains(stderr.Bytes(), []byte("udp_dns")) {
		t.Fatalf("no per-scenario summary on stderr: %s", stderr.String())
	}
	if code := run([]string{"-scale", "0.1"}, &stderr); code != 2 {
		t.Fatalf("missing -o: exit %d, want 2", code)
	}
}

func BenchmarkGenerate(b *testing.B) {
	var st stats
	for b.Loop() {
		var err error
		st, err = generate(discard{}, config{scale: 1, seed: 13})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
