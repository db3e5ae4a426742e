package capture

import (
	"bytes"
	"errors"
	"hash/fnv"
	"io"
	"testing"
	"testing/iotest"
)

// fuzzRead reads a capture from memory and checks the reader's contract; it
// returns a digest of the packets and the final error.
func fuzzRead(t *testing.T, rd io.Reader, size int) (uint64, error) {
	r, err := NewReader(rd)
	if err != nil {
		if !errors.Is(err, ErrFormat) {
			t.Fatalf("NewReader: %v does not wrap ErrFormat", err)
		}
		return 0, err
	}
	h := fnv.New64a()
	var p Packet
	for n := 0; ; n++ {
		err := r.Next(&p)
		if err == io.EOF {
			return h.Sum64(), nil
		}
		if err != nil {
			// Memory cannot fail to read: every error is the data's fault.
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("packet %d: %v does not wrap ErrFormat", n, err)
			}
			return h.Sum64(), err
		}
		if len(p.Data) > p.OrigLen || len(p.Data) > maxCaplen || cap(p.Data) != len(p.Data) {
			t.Fatalf("packet %d: len %d cap %d orig %d", n, len(p.Data), cap(p.Data), p.OrigLen)
		}
		// Every record takes at least 16 bytes, and deflate expands at most
		// 1032 times, so more packets than this means the reader loops.
		if n > 1032*size/16 {
			t.Fatalf("%d packets from %d bytes", n, size)
		}
		h.Write(p.Data)
		h.Write([]byte{byte(p.OrigLen), byte(p.Timestamp), byte(p.Timestamp >> 32), byte(p.Link), byte(p.Interface)})
	}
}

// fuzzCapture reads data whole and one byte at a time: the two must agree,
// which catches mistakes at buffer boundaries.
func fuzzCapture(t *testing.T, data []byte) {
	sum, err := fuzzRead(t, bytes.NewReader(data), len(data))
	sum1, err1 := fuzzRead(t, iotest.OneByteReader(bytes.NewReader(data)), len(data))
	if sum != sum1 || (err == nil) != (err1 == nil) || (err != nil && err.Error() != err1.Error()) {
		t.Fatalf("whole: %x %v; one byte at a time: %x %v", sum, err, sum1, err1)
	}
}

func FuzzPcap(f *testing.F) {
	pcap, want, _ := pcapFixture(f)
	f.Add(pcap)
	f.Add(pcapFile(be, true, 0x24000001, want))
	f.Add(gz(f, pcap))
	f.Fuzz(fuzzCapture)
}

func FuzzPcapng(f *testing.F) {
	ng, _, _ := ngFixture(le)
	f.Add(ng)
	ng, _, _ = ngFixture(be)
	f.Add(ng)
	w := &ngWriter{bo: le}
	w.shb()
	w.idb(LinkEthernet, 0, w.opt(optTsresol, []byte{0x80 | 10}), w.opt(optTsoffset, w.bo.AppendUint64(nil, 7)))
	w.epb(0, 1<<40, 10, frame(0, 5))
	w.spb(3, frame(1, 3))
	f.Add(w.b)
	f.Add(gz(f, w.b))
	f.Fuzz(fuzzCapture)
}
