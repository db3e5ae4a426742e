package capture

import (
	"encoding/binary"
	"io"
	"math/bits"
)

// pcapng block types (draft-ietf-opsawg-pcapng). Every block starts with its
// type and total length and ends with the total length again.
const (
	blockSHB = 0x0a0d0d0a // section header; a palindrome, so either byte order reads it
	blockIDB = 1          // interface description
	blockPB  = 2          // packet (obsolete, still written by old tools)
	blockSPB = 3          // simple packet
	blockEPB = 6          // enhanced packet

	byteOrderMagic = 0x1a2b3c4d

	optEndOfOpt = 0
	optTsresol  = 9
	optTsoffset = 14
)

// iface is what the reader keeps of an Interface Description Block.
type iface struct {
	link    LinkType
	snaplen uint32 // 0: no limit
	// Timestamp units convert to nanoseconds as units*mul when a unit is a
	// whole number of nanoseconds, units/div for finer decimal units, and
	// units*1e9 >> shift for binary units of 2^-shift seconds.
	mul, div uint64
	shift    uint
	offset   int64 // if_tsoffset in nanoseconds
}

// setTsresol applies an if_tsresol value: 10^-v seconds, or 2^-v when the
// top bit is set. It reports false for decimal units too fine to convert.
func (f *iface) setTsresol(v byte) bool {
	f.mul, f.div, f.shift = 0, 0, 0
	switch e := uint64(v & 0x7f); {
	case v&0x80 != 0 && e == 0:
		f.mul = 1e9
	case v&0x80 != 0:
		f.shift = uint(e)
	case e <= 9:
		f.mul = pow10(9 - e)
	case e-9 <= 19: // 10^19 is the largest power of 10 in a uint64
		f.div = pow10(e - 9)
	default:
		return false
	}
	return true
}

func pow10(e uint64) uint64 {
	p := uint64(1)
	for range e {
		p *= 10
	}
	return p
}

// nanos converts a 64-bit timestamp in interface units to Unix nanoseconds.
// Absurd values wrap around rather than fail: a timestamp is data, not
// framing.
func (f *iface) nanos(u uint64) int64 {
	var ns uint64
	switch {
	case f.mul != 0:
		ns = u * f.mul
	case f.div != 0:
		ns = u / f.div
	default:
		// 128-bit product so that fine binary units do not overflow.
		hi, lo := bits.Mul64(u, 1e9)
		if f.shift < 64 {
			ns = lo>>f.shift | hi<<(64-f.shift)
		} else {
			ns = hi >> (f.shift - 64)
		}
	}
	return int64(ns) + f.offset
}

// readSHB reads a Section Header Block, which sets the byte order of the
// section and forgets the interfaces of the previous one.
func (r *Reader) readSHB() error {
	const what = "pcapng section header"
	off := r.offset()
	h, err := r.peek(what, off, 16) // type, length, byte-order magic, version
	if err != nil {
		return err
	}
	switch bom := binary.LittleEndian.Uint32(h[8:]); bom {
	case byteOrderMagic:
		r.be = false
	case bits.ReverseBytes32(byteOrderMagic):
		r.be = true
	default:
		return formatErr(what, off, "bad byte-order magic 0x%08x", bom)
	}
	blen := r.u32(h[4:])
	if blen < 28 || blen%4 != 0 {
		return formatErr(what, off, "bad block length %d", blen)
	}
	// Version 2 would be incompatible by definition; minor versions are not.
	if major := r.u16(h[12:]); major != 1 {
		return formatErr(what, off, "unsupported version %d.%d", major, r.u16(h[14:]))
	}
	r.ifaces = r.ifaces[:0]
	return r.skipBlock(what, off, blen) // options (application, OS...) are not needed
}

// skipBlock consumes a block of blen bytes starting at off without keeping
// it in memory, so its size is not limited by the buffer, and checks its
// trailing length.
func (r *Reader) skipBlock(what string, off int64, blen uint32) error {
	if err := r.skip(int64(blen) - 4); err != nil {
		return r.readErr(what, off, err)
	}
	t, err := r.peek(what, off, 4)
	if err != nil {
		return err
	}
	if tl := r.u32(t); tl != blen {
		return formatErr(what, off, "trailing length %d does not match block length %d", tl, blen)
	}
	r.r += 4
	return nil
}

// nextPcapng reads blocks until one holds a packet.
func (r *Reader) nextPcapng(p *Packet) error {
	const what = "pcapng block"
	for {
		if r.atEOF() {
			return io.EOF
		}
		off := r.offset()
		h, err := r.peek(what, off, 8)
		if err != nil {
			return err
		}
		typ := r.u32(h)
		if typ == blockSHB {
			if err := r.readSHB(); err != nil {
				return err
			}
			continue
		}
		blen := r.u32(h[4:])
		if blen < 12 || blen%4 != 0 {
			return formatErr(what, off, "bad block length %d", blen)
		}
		if typ != blockIDB && typ != blockEPB && typ != blockSPB && typ != blockPB {
			if err := r.skipBlock(what, off, blen); err != nil {
				return err
			}
			continue
		}
		if blen > bufSize {
			return formatErr(what, off, "block of type %d is %d bytes, more than %d", typ, blen, bufSize)
		}
		b, err := r.peek(what, off, int(blen))
		if err != nil {
			return err
		}
		if tl := r.u32(b[blen-4:]); tl != blen {
			return formatErr(what, off, "trailing length %d does not match block length %d", tl, blen)
		}
		if typ == blockIDB {
			if err := r.parseIDB(b, off); err != nil {
				return err
			}
			r.r += int(blen)
			continue
		}
		if err := r.parsePacket(typ, b, off, p); err != nil {
			return err
		}
		r.r += int(blen)
		return nil
	}
}

// parseIDB appends the interface described by block b to the section's.
func (r *Reader) parseIDB(b []byte, off int64) error {
	const what = "pcapng interface description"
	if len(b) < 20 {
		return formatErr(what, off, "block of %d bytes is too short", len(b))
	}
	ifc := iface{link: LinkType(r.u16(b[8:])), snaplen: r.u32(b[12:]), mul: 1000} // default: µs
	for opts := b[16 : len(b)-4]; len(opts) >= 4; {
		code, n := r.u16(opts), int(r.u16(opts[2:]))
		if code == optEndOfOpt {
			break
		}
		if 4+n > len(opts) {
			return formatErr(what, off, "option %d of %d bytes overruns the block", code, n)
		}
		v := opts[4 : 4+n]
		switch {
		case code == optTsresol && n >= 1:
			if !ifc.setTsresol(v[0]) {
				return formatErr(what, off, "unsupported if_tsresol 0x%02x", v[0])
			}
		case code == optTsoffset && n >= 8:
			ifc.offset = int64(r.u64(v)) * 1e9
		}
		opts = opts[min(4+(n+3)&^3, len(opts)):] // values are padded to 32 bits
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// parsePacket fills p from an Enhanced, Simple or obsolete Packet Block b.
// p.Data points into b.
func (r *Reader) parsePacket(typ uint32, b []byte, off int64, p *Packet) error {
	const what = "pcapng block"
	if typ == blockSPB {
		// origlen, data. The captured length is implied: the original one,
		// cut to the snap length and to the block.
		if len(b) < 16 {
			return formatErr(what, off, "simple packet block of %d bytes is too short", len(b))
		}
		if len(r.ifaces) == 0 {
			return formatErr(what, off, "simple packet block before any interface description")
		}
		ifc := &r.ifaces[0]
		orig := r.u32(b[8:])
		caplen := min(orig, uint32(len(b)-16))
		if ifc.snaplen != 0 {
			caplen = min(caplen, ifc.snaplen)
		}
		if caplen > maxCaplen {
			return formatErr(what, off, "captured length %d exceeds %d", caplen, maxCaplen)
		}
		end := 12 + int(caplen)
		p.Data = b[12:end:end]
		p.OrigLen = max(int(orig), int(caplen)) // int(orig) is negative past 2 GiB on 32-bit
		p.Timestamp = r.lastTS
		p.Link = ifc.link
		p.Interface = 0
		return nil
	}
	// EPB: interface id (32 bits); PB: interface id and drop count (16 bits
	// each). Then both have timestamp high and low, captured length,
	// original length, data and options.
	if len(b) < 32 {
		return formatErr(what, off, "packet block of %d bytes is too short", len(b))
	}
	id := r.u32(b[8:])
	if typ == blockPB {
		id = uint32(r.u16(b[8:]))
	}
	if id >= uint32(len(r.ifaces)) {
		return formatErr(what, off, "packet on interface %d, but the section describes %d", id, len(r.ifaces))
	}
	caplen := r.u32(b[20:])
	if caplen > maxCaplen {
		return formatErr(what, off, "captured length %d exceeds %d", caplen, maxCaplen)
	}
	if caplen > uint32(len(b)-32) {
		return formatErr(what, off, "captured length %d overruns the %d-byte block", caplen, len(b))
	}
	ifc := &r.ifaces[id]
	r.lastTS = ifc.nanos(uint64(r.u32(b[12:]))<<32 | uint64(r.u32(b[16:])))
	end := 28 + int(caplen)
	p.Data = b[28:end:end]
	p.OrigLen = max(int(r.u32(b[24:])), int(caplen))
	p.Timestamp = r.lastTS
	p.Link = ifc.link
	p.Interface = int(id)
	return nil
}
