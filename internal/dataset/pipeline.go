package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// chunk is a run of whole lines and, once parsed, their rows.
type chunk struct {
	seq                  int
	raw                  []byte // the lines, until parsed
	line                 int    // number of the first line
	size                 int    // len(raw)
	x                    []float64
	labels               []string
	times                []int64
	ids                  *Identifiers
	rows, blank, headers int
	extra                map[string]bool // JSONL keys not in the first object
	err                  error
}

// loader reads the sources one after another into t, each with parallel
// parsers whose chunks it appends in file order.
type loader struct {
	opts         LoadOptions
	t            *Table
	fr           *FileReport
	total        int64
	bytes        atomic.Int64
	rows         int
	index, files int
	est          bool // capacity reserved for the current file
}

func (l *loader) progress() {
	if l.opts.Progress != nil {
		l.opts.Progress(Progress{File: l.fr.Path, FileIndex: l.index, Files: l.files,
			Bytes: l.bytes.Load(), TotalBytes: l.total, Rows: l.rows})
	}
}

func (l *loader) workers() int {
	if l.opts.Workers > 0 {
		return l.opts.Workers
	}
	return runtime.GOMAXPROCS(0)
}

const chunkSize = 1 << 20

// maxLine bounds a line, so a file without line breaks fails instead of
// filling memory.
const maxLine = 64 << 20

func (l *loader) read(s *source) error {
	l.est = false
	if s.info.Format == "parquet" {
		return l.readParquet(s)
	}
	r, closeFile, err := s.open(&l.bytes)
	if err != nil {
		return err
	}
	defer closeFile()
	br := bufio.NewReaderSize(r, 1<<16)
	if err := skipBOM(br); err != nil {
		return err
	}
	line := 1
	if s.line != nil {
		if _, err := readLine(br); err != nil { // the header, probed already
			return err
		}
		line = 2
	}

	n := l.workers()
	jobs, results := make(chan *chunk, n), make(chan *chunk, n)
	free := make(chan []byte, 2*n+2) // read buffers, recycled once parsed
	xfree := make(chan []float64, 2*n+2)
	stop := make(chan struct{})
	var readErr error
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := newParser(s, len(l.t.Features), l.opts.KeepIdentifiers)
			p.xfree = xfree
			for c := range jobs {
				raw := c.raw
				p.parse(c)
				select {
				case free <- raw[:0]:
				default:
				}
				results <- c
			}
		}()
	}
	go func() {
		readErr = split(br, line, jobs, free, stop)
		close(jobs)
		wg.Wait()
		close(results)
	}()
	// Chunks finish out of order; append them in order as they complete.
	pending := map[int]*chunk{}
	next := 0
	var failed *chunk
	for c := range results {
		if c.err != nil && (failed == nil || c.seq < failed.seq) {
			if failed == nil {
				close(stop)
			}
			failed = c
		}
		if failed != nil {
			continue // drain
		}
		pending[c.seq] = c
		for c, ok := pending[next]; ok; c, ok = pending[next] {
			delete(pending, next)
			next++
			l.add(s, c)
			select {
			case xfree <- c.x[:0]:
			default:
			}
			c.x = nil
		}
		l.progress()
	}
	if failed != nil {
		return failed.err
	}
	if readErr != nil {
		return fmt.Errorf("read: %w", readErr)
	}
	return nil
}

var errStopped = errors.New("stopped")

// split cuts r into chunks of whole lines for the parsers, numbering
// them and their first lines, until r ends or stop is closed.
func split(r io.Reader, line int, jobs chan<- *chunk, free chan []byte, stop <-chan struct{}) error {
	var carry []byte // an incomplete last line, copied out of its buffer
	for seq := 0; ; {
		var buf []byte
		select {
		case buf = <-free:
		default:
		}
		if need := max(chunkSize, 2*len(carry)); cap(buf) < need {
			buf = make([]byte, 0, need)
		}
		buf = append(buf[:0], carry...)
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return err
		}
		cut := len(buf)
		if !eof {
			cut = bytes.LastIndexByte(buf, '\n') + 1
			if cut == 0 {
				if len(buf) > maxLine {
					return fmt.Errorf("line %d: longer than %d MiB", line, maxLine>>20)
				}
				carry = buf // a line longer than the buffer: read on
				continue
			}
		}
		carry = append([]byte(nil), buf[cut:]...)
		if cut > 0 {
			select {
			case jobs <- &chunk{seq: seq, raw: buf[:cut], size: cut, line: line}:
			case <-stop:
				return errStopped
			}
			seq++
			line += bytes.Count(buf[:cut], []byte{'\n'})
		}
		if eof {
			return nil
		}
	}
}

// reserve makes room for rows more rows, once per file.
func (l *loader) reserve(rows int) {
	t := l.t
	l.est = true
	t.X.Data = grow(t.X.Data, rows*t.X.Cols)
	t.Labels = grow(t.Labels, rows)
	t.Time = grow(t.Time, rows)
	t.File = grow(t.File, rows)
}

// grow is slices.Grow without clearing the new capacity, which append
// overwrites anyway: a fresh allocation of this size comes zeroed from the
// OS, and clearing a gigabyte again costs most of a second.
func grow[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	g := make([]T, len(s), len(s)+n)
	copy(g, s)
	return g
}

// add appends a parsed chunk to the table and the file's report. The
// first chunk of a file reserves room for the rows the file's size
// suggests, so the matrix is not copied as it grows.
func (l *loader) add(s *source, c *chunk) {
	t, fr := l.t, l.fr
	if !l.est && c.size > 0 {
		l.reserve(int(float64(s.text) / float64(c.size) * float64(c.rows) * 1.02))
	}
	t.X.Data = append(t.X.Data, c.x...)
	t.Labels = append(t.Labels, c.labels...)
	t.Time = append(t.Time, c.times...)
	for range c.rows {
		t.File = append(t.File, l.index)
	}
	if t.IDs != nil {
		t.IDs.append(c.ids)
	}
	fr.Rows += c.rows
	fr.Blank += c.blank
	fr.RepeatedHeaders += c.headers
	for _, lb := range c.labels {
		fr.Labels[lb]++
	}
	for k := range c.extra {
		if !slices.Contains(fr.Unknown, k) {
			fr.Unknown = append(fr.Unknown, k)
		}
	}
	l.rows += c.rows
}

func (ids *Identifiers) append(o *Identifiers) {
	ids.FlowID = append(ids.FlowID, o.FlowID...)
	ids.SrcIP = append(ids.SrcIP, o.SrcIP...)
	ids.DstIP = append(ids.DstIP, o.DstIP...)
	ids.CommunityID = append(ids.CommunityID, o.CommunityID...)
	ids.SrcPort = append(ids.SrcPort, o.SrcPort...)
	ids.DstPort = append(ids.DstPort, o.DstPort...)
	ids.Protocol = append(ids.Protocol, o.Protocol...)
}
