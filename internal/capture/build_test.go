package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"testing"
)

// This file encodes capture files for the tests by hand, in either byte
// order, so that every field the reader parses is under the test's control.

// rec is one packet of a fixture and what the reader must return for it.
type rec struct {
	iface int
	link  LinkType
	ts    int64
	orig  int
	data  []byte
}

// pcapFile encodes a classic pcap file. PcapWriter only writes
// little-endian, so the other byte order needs its own encoder.
func pcapFile(bo binary.AppendByteOrder, nanos bool, linkField uint32, recs []rec) []byte {
	var b []byte
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	b = bo.AppendUint32(b, magic)
	b = bo.AppendUint16(b, 2)
	b = bo.AppendUint16(b, 4)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 65535)
	b = bo.AppendUint32(b, linkField)
	for _, r := range recs {
		frac := r.ts % 1e9
		if !nanos {
			frac /= 1e3
		}
		b = bo.AppendUint32(b, uint32(r.ts/1e9))
		b = bo.AppendUint32(b, uint32(frac))
		b = bo.AppendUint32(b, uint32(len(r.data)))
		b = bo.AppendUint32(b, uint32(r.orig))
		b = append(b, r.data...)
	}
	return b
}

// ngWriter encodes pcapng blocks. ends records where each block ends, the
// offsets at which a truncated file is still a clean one.
type ngWriter struct {
	bo   binary.AppendByteOrder
	b    []byte
	ends []int
}

// block appends a block with its body padded to 32 bits.
func (w *ngWriter) block(typ uint32, body ...[]byte) {
	n := 0
	for _, p := range body {
		n += len(p)
	}
	blen := uint32(12 + (n+3)&^3)
	w.b = w.bo.AppendUint32(w.b, typ)
	w.b = w.bo.AppendUint32(w.b, blen)
	for _, p := range body {
		w.b = append(w.b, p...)
	}
	w.b = append(w.b, make([]byte, (4-n%4)%4)...)
	w.b = w.bo.AppendUint32(w.b, blen)
	w.ends = append(w.ends, len(w.b))
}

func (w *ngWriter) u16(v uint16) []byte { return w.bo.AppendUint16(nil, v) }
func (w *ngWriter) u32(v uint32) []byte { return w.bo.AppendUint32(nil, v) }

// opt encodes one option, padded; opts end with opt_endofopt.
func (w *ngWriter) opt(code uint16, val []byte) []byte {
	b := w.bo.AppendUint16(nil, code)
	b = w.bo.AppendUint16(b, uint16(len(val)))
	b = append(b, val...)
	return append(b, make([]byte, (4-len(val)%4)%4)...)
}

func (w *ngWriter) endOpts() []byte { return make([]byte, 4) }

func (w *ngWriter) shb(opts ...[]byte) {
	body := [][]byte{w.u32(byteOrderMagic), w.u16(1), w.u16(0), w.bo.AppendUint64(nil, ^uint64(0))}
	w.block(blockSHB, append(body, opts...)...)
}

func (w *ngWriter) idb(link LinkType, snaplen uint32, opts ...[]byte) {
	body := [][]byte{w.u16(uint16(link)), w.u16(0), w.u32(snaplen)}
	if len(opts) > 0 {
		opts = append(opts, w.endOpts())
	}
	w.block(blockIDB, append(body, opts...)...)
}

// epb writes an Enhanced Packet Block; ts is in the interface's units.
func (w *ngWriter) epb(id uint32, ts uint64, orig int, data []byte, opts ...[]byte) {
	body := [][]byte{w.u32(id), w.u32(uint32(ts >> 32)), w.u32(uint32(ts)),
		w.u32(uint32(len(data))), w.u32(uint32(orig)), pad(data)}
	if len(opts) > 0 {
		opts = append(opts, w.endOpts())
	}
	w.block(blockEPB, append(body, opts...)...)
}

// pb writes an obsolete Packet Block.
func (w *ngWriter) pb(id uint16, ts uint64, orig int, data []byte) {
	w.block(blockPB, w.u16(id), w.u16(0), w.u32(uint32(ts>>32)), w.u32(uint32(ts)),
		w.u32(uint32(len(data))), w.u32(uint32(orig)), pad(data))
}

func (w *ngWriter) spb(orig int, data []byte) {
	w.block(blockSPB, w.u32(uint32(orig)), data)
}

func pad(b []byte) []byte { return append(bytes.Clone(b), make([]byte, (4-len(b)%4)%4)...) }

// gz compresses b.
func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// frame returns n recognisable bytes.
func frame(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}
