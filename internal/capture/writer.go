package capture

import (
	"encoding/binary"
	"fmt"
	"io"
)

// PcapWriter writes a classic little-endian pcap file. flowguard uses it for
// test fixtures, benchmark traffic and the testbed's captures.
type PcapWriter struct {
	w     io.Writer
	nanos bool
	hdr   [16]byte
}

// NewPcapWriter writes the file header and returns a writer for records of
// the given link type. With nanos the file uses nanosecond timestamps.
func NewPcapWriter(w io.Writer, link LinkType, snaplen uint32, nanos bool) (*PcapWriter, error) {
	var h [24]byte
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	binary.LittleEndian.PutUint32(h[0:], magic)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], snaplen)
	binary.LittleEndian.PutUint32(h[20:], uint32(link))
	if _, err := w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("write pcap header: %w", err)
	}
	return &PcapWriter{w: w, nanos: nanos}, nil
}

// WritePacket appends one record. ts is nanoseconds since the Unix epoch;
// origLen is the frame's length on the wire (at least len(data)).
func (pw *PcapWriter) WritePacket(ts int64, data []byte, origLen int) error {
	if origLen < len(data) {
		origLen = len(data)
	}
	sec, frac := ts/1e9, ts%1e9
	if !pw.nanos {
		frac /= 1e3
	}
	binary.LittleEndian.PutUint32(pw.hdr[0:], uint32(sec))
	binary.LittleEndian.PutUint32(pw.hdr[4:], uint32(frac))
	binary.LittleEndian.PutUint32(pw.hdr[8:], uint32(len(data)))
	binary.LittleEndian.PutUint32(pw.hdr[12:], uint32(origLen))
	if _, err := pw.w.Write(pw.hdr[:]); err != nil {
		return fmt.Errorf("write pcap record header: %w", err)
	}
	if _, err := pw.w.Write(data); err != nil {
		return fmt.Errorf("write pcap record: %w", err)
	}
	return nil
}
