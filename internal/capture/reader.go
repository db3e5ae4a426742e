package capture

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"sync/atomic"
)

const (
	// bufSize is the largest read buffer. Packet data is handed out
	// straight from it, and records and the pcapng blocks that are parsed
	// (not skipped) must fit in it. The buffer starts at sniffSize and
	// doubles at each refill, so small files stay cheap.
	bufSize = 1 << 20
	// sniffSize buffers the raw file while the format is detected; small so
	// that Offset of a gzip file runs little ahead of what was decompressed.
	sniffSize = 64 << 10
	// maxCaplen bounds a record's captured length, as libpcap does for all
	// but a few exotic link types. Anything larger is a corrupt header.
	maxCaplen = 256 << 10
)

// Reader reads packets from a classic pcap or a pcapng file, either of them
// optionally gzip-compressed; the format is detected from the first bytes.
//
// Timestamps are converted to nanoseconds since the Unix epoch: pcap files
// in microseconds or nanoseconds, pcapng with each interface's if_tsresol
// (powers of 10 and of 2) and if_tsoffset.
//
// pcapng sections may follow each other in one file; each one starts with no
// interfaces, and Packet.Interface is the index of an interface within its
// section, as in the file. A Simple Packet Block belongs to interface 0 of
// its section and carries no timestamp: it gets the timestamp of the
// previous packet (0 if there was none), which keeps time monotonic for the
// flow meter.
//
// Packet.OrigLen is never less than len(Packet.Data): a record claiming a
// shorter original length gets the captured one.
//
// Limits: a record may capture at most 256 KiB, and a pcapng block that is
// parsed (interface descriptions and packets) may be at most 1 MiB; other
// blocks are skipped by their length whatever it is. Offsets in errors count
// bytes of the capture stream, after gzip decompression.
//
// A Reader is not safe for concurrent use, except for Offset and Size.
type Reader struct {
	src    *countingReader // the file side, before decompression
	zr     *gzip.Reader    // nil unless the input is gzip-compressed
	closer io.Closer       // the file Open opened; nil for NewReader and stdin
	size   int64
	err    error // sticky: once Next fails it keeps failing the same way
	be     bool  // the file (pcap) or current section (pcapng) is big-endian

	// The stream is read into buf; buf[r:w] is not consumed yet. Records
	// are parsed and handed out in place, so the hot path is slicing and a
	// length check, without the calls a bufio.Reader would cost.
	in   io.Reader // the stream: the sniffing buffer, or the gzip reader on it
	buf  []byte
	r, w int
	base int64 // stream offset of buf[0], for error messages
	rerr error // what in returned last; it stands once buf[r:w] runs short

	ng bool // pcapng; classic pcap otherwise

	// mapped is the whole file when it is read through a memory mapping;
	// then buf is mapped, never moved, and released behind the reader.
	mapped   []byte
	released int // mapped[:released] has been handed back to the kernel

	// classic pcap
	link      LinkType
	fracScale int64 // nanoseconds per unit of the fractional timestamp

	// pcapng
	ifaces []iface // interfaces of the current section, by id
	lastTS int64   // timestamp of the previous packet, for Simple Packet Blocks
}

// countingReader counts the bytes read from the file so that Offset can be
// read from another goroutine (a progress bar) without locking.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Open opens a capture file; "-" reads standard input (which Close leaves
// open).
func Open(path string) (*Reader, error) {
	if path == "-" {
		r, err := NewReader(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("stdin: %w", err)
		}
		return r, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err // already names the path
	}
	if r, ok := openMapped(f); ok {
		return r, nil
	}
	r, err := NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.closer = f
	return r, nil
}

// openMapped reads a regular, uncompressed file through a memory mapping.
// It reports false when that is not possible or not worth it (gzip, small
// files, a platform without mmap), and the caller reads the file normally.
func openMapped(f *os.File) (*Reader, bool) {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() < 1<<20 || fi.Size() > 1<<46 {
		return nil, false
	}
	var magic [2]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil || magic[0] == 0x1f && magic[1] == 0x8b {
		return nil, false
	}
	m, err := mapFile(f, fi.Size())
	if err != nil {
		return nil, false
	}
	adviseSequential(m)
	populate(m[:min(len(m), 2*releaseStep)])
	r := &Reader{src: &countingReader{}, size: fi.Size(), mapped: m, buf: m, w: len(m), rerr: io.EOF, closer: f}
	if err := r.readHeader(); err != nil {
		unmapFile(m)
		return nil, false // let the ordinary path report it
	}
	return r, true
}

// NewReader reads the file header from rd and returns a Reader for its
// packets. Close does not close rd. Size is known when rd is a regular file.
func NewReader(rd io.Reader) (*Reader, error) {
	r := &Reader{src: &countingReader{r: rd}, size: -1}
	if st, ok := rd.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
			r.size = fi.Size()
		}
	}
	sniff := bufio.NewReaderSize(r.src, sniffSize)
	var stream io.Reader = sniff
	if m, _ := sniff.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(sniff)
		if err != nil {
			return nil, r.readErr("gzip header", 0, err)
		}
		r.zr, stream = zr, zr
	}
	// For a plain file the big buffer reads past the small one directly, so
	// the double buffering only costs the first copy of the sniffed bytes.
	r.in, r.buf = stream, make([]byte, sniffSize)
	if err := r.readHeader(); err != nil {
		return nil, err
	}
	return r, nil
}

// readHeader detects the format and reads the file or section header.
func (r *Reader) readHeader() error {
	if r.atEOF() {
		return fmt.Errorf("empty input: %w", ErrFormat)
	}
	m, err := r.peek("file header", 0, 4)
	if err != nil {
		return err
	}
	switch magic := binary.BigEndian.Uint32(m); magic {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		return r.readPcapHeader()
	case blockSHB:
		r.ng = true
		return r.readSHB()
	}
	return fmt.Errorf("not a pcap or pcapng file (magic 0x%08x): %w", binary.BigEndian.Uint32(m), ErrFormat)
}

// Next reads the next packet into p. p.Data points into the Reader's buffer
// and is valid until the next call to Next. Next returns io.EOF at the clean
// end of the file; every error caused by bad data wraps ErrFormat, and a file
// cut inside a record also wraps io.ErrUnexpectedEOF.
func (r *Reader) Next(p *Packet) error {
	if r.err != nil {
		return r.err
	}
	var err error
	if r.ng {
		err = r.nextPcapng(p)
	} else {
		err = r.nextPcap(p)
	}
	if err != nil {
		r.err = err
	}
	if r.mapped != nil && r.r-r.released >= releaseStep {
		r.release()
	}
	return err
}

// releaseStep is how much of a mapped file is consumed before its pages are
// released; the packet handed out last stays mapped.
const releaseStep = 8 << 20

func (r *Reader) release() {
	end := (r.r - maxCaplen) &^ (os.Getpagesize() - 1)
	if end > r.released {
		releasePages(r.mapped[r.released:end])
		r.released = end
	}
	// Map the window after the one being read, so the reader does not stop
	// for a page fault every few packets.
	// (madvise wants a page-aligned start.)
	if ahead := (r.r + releaseStep) &^ (os.Getpagesize() - 1); ahead < len(r.mapped) {
		populate(r.mapped[ahead:min(len(r.mapped), ahead+releaseStep)])
	}
	r.src.n.Store(int64(r.r))
}

// Close releases the file opened by Open. It does not close standard input
// or a reader passed to NewReader.
func (r *Reader) Close() error {
	if r.mapped != nil {
		unmapFile(r.mapped)
		r.mapped, r.buf = nil, nil
	}
	if r.zr != nil {
		r.zr.Close() // only reports an earlier read error, already returned by Next
	}
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// Offset returns how many bytes of the underlying file have been read so far
// (compressed bytes for a gzip file). It runs ahead of the packets returned
// by up to the read buffer, which is fine for its purpose, progress reports.
// It is safe to call concurrently with Next.
func (r *Reader) Offset() int64 { return r.src.n.Load() }

// Size returns the size of the underlying file, or -1 when it is not a
// regular file (a pipe, a socket, an io.Reader).
func (r *Reader) Size() int64 { return r.size }

// u16 and u32 read in the byte order of the file or section. They inline,
// unlike calls through binary.ByteOrder, and the hot path reads four fields.
func (r *Reader) u16(b []byte) uint16 {
	v := binary.LittleEndian.Uint16(b)
	if r.be {
		v = bits.ReverseBytes16(v)
	}
	return v
}

func (r *Reader) u32(b []byte) uint32 {
	v := binary.LittleEndian.Uint32(b)
	if r.be {
		v = bits.ReverseBytes32(v)
	}
	return v
}

func (r *Reader) u64(b []byte) uint64 {
	v := binary.LittleEndian.Uint64(b)
	if r.be {
		v = bits.ReverseBytes64(v)
	}
	return v
}

// fill makes at least n bytes, n <= len(buf), available in buf[r:w], reading
// as needed. When it cannot, it returns the error of the stream (io.EOF at
// its end), and whatever bytes there are stay available.
func (r *Reader) fill(n int) error {
	if r.r+n > len(r.buf) && r.mapped == nil {
		// Move the unread bytes to the front, of a larger buffer until it
		// reaches bufSize. This is what ends the validity of the Data
		// handed out before.
		buf := r.buf
		if len(buf) < bufSize {
			buf = make([]byte, min(max(2*len(buf), n), bufSize))
		}
		r.base += int64(r.r)
		r.w = copy(buf, r.buf[r.r:r.w])
		r.r, r.buf = 0, buf
	}
	for empty := 0; r.w-r.r < n; {
		if r.rerr != nil {
			return r.rerr
		}
		m, err := r.in.Read(r.buf[r.w:])
		r.w += m
		r.rerr = err
		if m > 0 {
			empty = 0
		} else if empty++; empty == 100 && err == nil {
			r.rerr = io.ErrNoProgress // a broken io.Reader must not hang us
		}
	}
	return nil
}

// peek returns the next n bytes without consuming them, or the error why the
// stream does not have them; what and off name the record for that error.
func (r *Reader) peek(what string, off int64, n int) ([]byte, error) {
	if r.w-r.r < n {
		if err := r.fill(n); err != nil {
			return nil, r.readErr(what, off, err)
		}
	}
	return r.buf[r.r : r.r+n], nil
}

// atEOF reports whether the stream ended cleanly before the next record.
func (r *Reader) atEOF() bool { return r.r == r.w && r.fill(1) == io.EOF }

// skip consumes n bytes, however many: they are not kept in memory. It
// returns the stream's error if it ends first.
func (r *Reader) skip(n int64) error {
	for {
		k := min(n, int64(r.w-r.r))
		r.r += int(k)
		if n -= k; n == 0 {
			return nil
		}
		if err := r.fill(1); err != nil {
			return err
		}
	}
}

// offset is the stream offset of the next unread byte.
func (r *Reader) offset() int64 { return r.base + int64(r.r) }

// readErr turns a failed read of a record starting at off into an error: the
// end of the stream there means the file is truncated, a gzip failure means
// it is corrupt, anything else is an I/O error and does not wrap ErrFormat.
func (r *Reader) readErr(what string, off int64, err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s at offset %d: %w: %w", what, off, ErrFormat, io.ErrUnexpectedEOF)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, &corrupt):
		return fmt.Errorf("%s at offset %d: gzip: %w: %w", what, off, ErrFormat, err)
	}
	return fmt.Errorf("read %s at offset %d: %w", what, off, err)
}

// formatErr reports malformed content in a record starting at off.
func formatErr(what string, off int64, format string, args ...any) error {
	return fmt.Errorf("%s at offset %d: %s: %w", what, off, fmt.Sprintf(format, args...), ErrFormat)
}
