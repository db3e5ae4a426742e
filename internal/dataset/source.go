package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

// source is one file, probed: its format and header.
type source struct {
	path string
	info FileInfo
	size int64 // on disk
	text int64 // decompressed, estimated
	gz   bool
	hdr  *header
	// line is the CSV header line exactly, to recognise repeats.
	line  []byte
	roles []role
	// keys index a JSONL object's keys.
	keys map[string]int
}

// open returns the file's content, decompressed when it is gzip, and
// counts the on-disk bytes read into n.
func (s *source) open(n *atomic.Int64) (io.Reader, func() error, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, nil, err
	}
	var r io.Reader = &countReader{f, n}
	if s.gz {
		z, err := gzip.NewReader(bufio.NewReaderSize(r, 1<<16))
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		r = z
	}
	return r, f.Close, nil
}

type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n != nil {
		c.n.Add(int64(n))
	}
	return n, err
}

var bom = []byte("\xEF\xBB\xBF")

// probe recognises a file's format by its content (gzip and Parquet by
// magic, JSON lines by a leading "{", else CSV) and reads its header.
func probe(path string) (*source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	s := &source{path: path, size: st.Size(), text: st.Size(), info: FileInfo{Path: path}}
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	switch {
	case n == 0:
		return nil, errors.New("empty file")
	case n == 4 && string(magic[:]) == "PAR1":
		s.info.Format = "parquet"
		names, err := parquetHeader(f, s.size)
		if err != nil {
			return nil, err
		}
		return s, s.setHeader(names)
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		s.gz = true
		// The gzip trailer holds the text size modulo 4 GiB: a hint for
		// preallocating, no more, and bounded by deflate's best ratio
		// (1032:1) so a damaged trailer cannot reserve gigabytes.
		var isize [4]byte
		if _, err := f.ReadAt(isize[:], s.size-4); err == nil {
			s.text = min(int64(binary.LittleEndian.Uint32(isize[:])), 1032*s.size)
		}
	}
	r, closeFile, err := s.open(nil)
	if err != nil {
		return nil, err
	}
	defer closeFile()
	br := bufio.NewReaderSize(r, 1<<16)
	if err := skipBOM(br); err != nil {
		return nil, err
	}
	first, err := br.Peek(1)
	if err != nil {
		return nil, fmt.Errorf("no header line: %w", err)
	}
	if first[0] == '{' {
		s.info.Format = "jsonl"
		line, err := readLine(br)
		if err != nil {
			return nil, err
		}
		names, err := jsonKeys(line)
		if err != nil {
			return nil, fmt.Errorf("line 1: %w", err)
		}
		s.keys = make(map[string]int, len(names))
		for i, k := range names {
			s.keys[k] = i
		}
		return s, s.setHeader(names)
	}
	s.info.Format = "csv"
	line, err := readLine(br)
	if err != nil {
		return nil, err
	}
	s.line = line
	names, _, err := splitCSV(line, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	fields := make([]string, len(names))
	for i, b := range names {
		fields[i] = string(b)
	}
	return s, s.setHeader(fields)
}

func (s *source) setHeader(names []string) error {
	h, err := readHeader(names)
	if err != nil {
		return err
	}
	s.hdr = h
	s.info.Dialect, s.info.Profile = h.dialect.Name, h.dialect.Profile
	if s.gz {
		s.info.Format += ".gz"
	}
	return nil
}

func skipBOM(br *bufio.Reader) error {
	b, err := br.Peek(3)
	if err == nil && bytes.Equal(b, bom) {
		_, err = br.Discard(3)
	}
	if errors.Is(err, io.EOF) {
		err = nil // a file shorter than a BOM fails later, with its content
	}
	return err
}

// readLine returns the next line without its line ending; a file without
// line breaks fails at maxLine instead of being read whole.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		switch {
		case len(line) > maxLine:
			return nil, fmt.Errorf("first line longer than %d MiB", maxLine>>20)
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil && !(errors.Is(err, io.EOF) && len(line) > 0):
			return nil, fmt.Errorf("no header line: %w", err)
		}
		return bytes.TrimRight(line, "\r\n"), nil
	}
}
