package flowmeter

import (
	"io"

	"github.com/flowguard/flowguard/internal/communityid"
)

// CSVWriter writes flow records in a profile's exact CSV layout: its header,
// its column order and Java's number formatting, so tools and models built
// on the public CIC datasets read flowguard's output unchanged.
type CSVWriter struct {
	out         rowBuffer
	cols        []Column
	communityID bool
}

// NewCSVWriter writes the header line at once. With communityID a
// "Community ID" column is added after the profile's columns.
func NewCSVWriter(w io.Writer, pr *Profile, communityID bool) (*CSVWriter, error) {
	c := &CSVWriter{out: rowBuffer{w: w}, cols: pr.Columns, communityID: communityID}
	b := c.out.buf
	for i, col := range c.cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, col.Name...)
	}
	if communityID {
		b = append(b, ",Community ID"...)
	}
	b = append(b, '\n')
	c.out.buf = b
	// The header goes out at once, ahead of any fork's rows.
	return c, c.out.flush()
}

// Fork returns a writer of the same layout that writes no header, for
// another goroutine. Rows reach the shared io.Writer whole, in chunks, so
// the io.Writer only has to serialise its Write calls.
func (c *CSVWriter) Fork() Writer {
	return &CSVWriter{out: rowBuffer{w: c.out.w}, cols: c.cols, communityID: c.communityID}
}

// Write appends one record. The first error sticks and is returned again.
func (c *CSVWriter) Write(f *Flow) error {
	if c.out.err != nil {
		return c.out.err
	}
	b := c.out.buf
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
	return c.out.commit(append(b, '\n'))
}

// Close flushes buffered records; it does not close the underlying writer.
func (c *CSVWriter) Close() error { return c.out.flush() }

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
