package flowmeter

import (
	"bufio"
	"io"

	"github.com/flowguard/flowguard/internal/communityid"
)

// CSVWriter writes flow records in a profile's exact CSV layout: its header,
// its column order and Java's number formatting, so tools and models built
// on the public CIC datasets read flowguard's output unchanged.
type CSVWriter struct {
	w           *bufio.Writer
	cols        []Column
	communityID bool
	buf         []byte
	err         error
}

// NewCSVWriter writes the header line at once. With communityID a
// "Community ID" column is added after the profile's columns.
func NewCSVWriter(w io.Writer, pr *Profile, communityID bool) (*CSVWriter, error) {
	c := &CSVWriter{w: bufio.NewWriterSize(w, 256<<10), cols: pr.Columns, communityID: communityID}
	for i, col := range c.cols {
		if i > 0 {
			c.buf = append(c.buf, ',')
		}
		c.buf = append(c.buf, col.Name...)
	}
	if communityID {
		c.buf = append(c.buf, ",Community ID"...)
	}
	c.buf = append(c.buf, '\n')
	_, err := c.w.Write(c.buf)
	return c, err
}

// Write appends one record. The first error sticks and is returned again.
func (c *CSVWriter) Write(f *Flow) error {
	if c.err != nil {
		return c.err
	}
	b := c.buf[:0]
	for i := range c.cols {
		if i > 0 {
			b = append(b, ',')
		}
		col := &c.cols[i]
		if col.Kind == KindText {
			b = col.text(b, f)
		} else {
			b = col.num(f).AppendCSV(b)
		}
	}
	if c.communityID {
		b = append(b, ',')
		b = f.AppendCommunityID(b)
	}
	b = append(b, '\n')
	c.buf = b
	_, c.err = c.w.Write(b)
	return c.err
}

// Close flushes buffered records; it does not close the underlying writer.
func (c *CSVWriter) Close() error {
	if c.err != nil {
		return c.err
	}
	return c.w.Flush()
}

// AppendCommunityID appends the flow's Community ID v1 (seed 0). ICMP flows
// use the type and code of their first packet, as the specification asks.
func (f *Flow) AppendCommunityID(b []byte) []byte {
	src, dst := f.Src.Addr(f.key.v6), f.Dst.Addr(f.key.v6)
	sp, dp := f.SrcPort, f.DstPort
	if isICMP(f.Proto) && f.ICMPType >= 0 {
		sp, dp = uint16(f.ICMPType), uint16(f.ICMPCode)
	}
	return communityid.Append(b, 0, src, dst, sp, dp, f.Proto)
}
