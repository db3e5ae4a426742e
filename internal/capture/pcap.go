package capture

import (
	"encoding/binary"
	"io"
)

// readPcapHeader reads the 24-byte classic pcap file header; the magic has
// been checked to be one of the four pcap magics.
func (r *Reader) readPcapHeader() error {
	h, err := r.peek("pcap file header", 0, 24)
	if err != nil {
		return err
	}
	// The magic is written in the writer's byte order; its middle bytes say
	// whether fractions are micro- or nanoseconds.
	magic := binary.BigEndian.Uint32(h)
	r.be = magic == 0xa1b2c3d4 || magic == 0xa1b23c4d
	r.fracScale = 1000
	if magic == 0xa1b23c4d || magic == 0x4d3cb2a1 {
		r.fracScale = 1
	}
	// Only the low 16 bits are the link type; the high ones may carry the
	// FCS length, which flowguard does not need.
	r.link = LinkType(r.u32(h[20:]) & 0xffff)
	r.r += 24
	return nil
}

// nextPcap reads one record: a 16-byte header (seconds, fraction, captured
// length, original length) and the captured bytes.
func (r *Reader) nextPcap(p *Packet) error {
	const what = "pcap record"
	if r.atEOF() {
		return io.EOF
	}
	off := r.offset()
	h, err := r.peek(what, off, 16)
	if err != nil {
		return err
	}
	caplen := r.u32(h[8:])
	if caplen > maxCaplen {
		return formatErr(what, off, "captured length %d exceeds %d", caplen, maxCaplen)
	}
	n := 16 + int(caplen)
	rec, err := r.peek(what, off, n) // may move the buffer: h is stale now
	if err != nil {
		return err
	}
	// Seconds are unsigned in the format, which carries it past 2038.
	p.Timestamp = int64(r.u32(rec))*1e9 + int64(r.u32(rec[4:]))*r.fracScale
	p.Data = rec[16:n:n] // capped so that an append cannot scribble on the next record
	p.OrigLen = max(int(r.u32(rec[12:])), int(caplen))
	p.Link = r.link
	p.Interface = 0
	r.r += n
	return nil
}
