package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/flowguard/flowguard/internal/ml"
)

// LoadOptions select what Load reads and how it cleans. The zero value is
// the honest default: identifiers excluded, rows with Inf/NaN dropped,
// negatives kept, exact duplicates removed, label conflicts resolved to
// the majority, 1970-stamped rows dropped, labels as the dataset names them.
type LoadOptions struct {
	// IncludeIdentifiers makes source/destination port and protocol
	// features. They are excluded by default because in the public
	// data sets they identify the testbed's hosts and tools rather than
	// the behaviour of a flow. Flow ID, addresses, Community ID and
	// Timestamp are never features.
	IncludeIdentifiers bool
	// KeepIdentifiers fills Table.IDs, for writing predictions.
	KeepIdentifiers bool

	NonFinite NonFinitePolicy
	Negative  NegativePolicy
	// NegativeOK lists the columns whose negative values are legitimate
	// and never touched by Negative; nil means DefaultNegativeOK.
	NegativeOK []string
	// KeepDuplicates keeps exact duplicate rows. Splitting such a table
	// puts copies of one flow on both sides; Verify reports it.
	KeepDuplicates bool
	Conflicts      ConflictPolicy
	// KeepEpochRows keeps rows stamped before 1990 (CSE-CIC-IDS2018's
	// broken 1970 flows, with negative durations).
	KeepEpochRows bool

	Labels LabelMode
	// LabelFile, instead of Labels, maps labels by a CSV file of
	// "from,to" lines; a label it does not map is an error.
	LabelFile string

	// Workers parse one file in parallel; 0 means GOMAXPROCS.
	Workers int
	// Progress, when set, is called from the loading goroutine as data
	// is read.
	Progress func(Progress)
}

// Progress reports a load under way.
type Progress struct {
	File       string
	FileIndex  int   // 0-based index of File
	Files      int   // files in the load
	Bytes      int64 // on-disk bytes read so far, all files
	TotalBytes int64 // on-disk bytes of all files
	Rows       int   // rows read so far
}

// extensions a directory walk picks up; named files are read whatever
// their name says, by their content.
var extensions = []string{".csv", ".csv.gz", ".jsonl", ".jsonl.gz", ".parquet"}

// Load reads flow files (directories are walked recursively, in lexical
// order), maps every dialect onto the canonical schema, concatenates the
// rows and cleans them as opts says. The features are the canonical
// features present in every file. The report lists what each step did.
func Load(paths []string, opts LoadOptions) (*Table, *Report, error) {
	if err := opts.check(); err != nil {
		return nil, nil, err
	}
	mapper, err := opts.labelMapper()
	if err != nil {
		return nil, nil, err
	}
	files, err := expand(paths)
	if err != nil {
		return nil, nil, err
	}
	srcs := make([]*source, len(files))
	var total int64
	for i, f := range files {
		if srcs[i], err = probe(f); err != nil {
			return nil, nil, fmt.Errorf("load %s: %w", f, err)
		}
		total += srcs[i].size
	}
	rep := &Report{}
	t := &Table{IdentifierFeatures: opts.IncludeIdentifiers}
	t.Features = layout(srcs, opts, rep)

	l := &loader{opts: opts, total: total, files: len(srcs), t: t}
	t.X = &ml.Matrix{Cols: len(t.Features)}
	if opts.KeepIdentifiers {
		t.IDs = &Identifiers{}
	}
	for i, s := range srcs {
		l.index = i
		l.fr = &FileReport{FileInfo: s.info, Features: s.hdr.features, Unknown: s.hdr.unknown,
			Duplicate: s.hdr.dups, IndexColumn: s.hdr.index, Labels: map[string]int{},
			Timestamps: slices.ContainsFunc(s.hdr.canon, func(c int) bool { return c >= 0 && columns[c].Kind == KindTime })}
		if err := l.read(s); err != nil {
			return nil, nil, fmt.Errorf("load %s: %w", s.path, err)
		}
		rep.Files = append(rep.Files, *l.fr)
		t.Files = append(t.Files, s.info)
	}
	t.X.Rows = len(t.Labels)
	t.Original = t.Labels
	if t.X.Rows == 0 {
		return nil, nil, fmt.Errorf("load: no data rows in %d files", len(srcs))
	}
	if err := clean(t, opts, mapper, rep); err != nil {
		return nil, nil, err
	}
	return t, rep, nil
}

func (o *LoadOptions) check() error {
	switch {
	case !slices.Contains([]NonFinitePolicy{"", NonFiniteDrop, NonFiniteMax, NonFiniteZero}, o.NonFinite):
		return fmt.Errorf("unknown non-finite policy %q (want drop, max or zero)", o.NonFinite)
	case !slices.Contains([]NegativePolicy{"", NegativeKeep, NegativeClip, NegativeDrop}, o.Negative):
		return fmt.Errorf("unknown negative policy %q (want keep, clip or drop)", o.Negative)
	case !slices.Contains([]ConflictPolicy{"", ConflictMajority, ConflictDrop}, o.Conflicts):
		return fmt.Errorf("unknown label-conflict policy %q (want majority or drop)", o.Conflicts)
	case o.LabelFile != "" && o.Labels != "":
		return fmt.Errorf("label mode %q and label file %s both given; choose one", o.Labels, o.LabelFile)
	}
	for _, c := range o.NegativeOK {
		if i, ok := colIndex[c]; !ok || columns[i].Kind != KindFeature {
			return fmt.Errorf("negative-ok column %q is not a canonical feature", c)
		}
	}
	return nil
}

// expand turns paths into the files to read.
func expand(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, errors.New("load: no input files")
	}
	var files []string
	seen := map[string]bool{}
	add := func(p string) error {
		if seen[p] {
			return fmt.Errorf("load: %s given twice", p)
		}
		seen[p] = true
		files = append(files, p)
		return nil
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		if !st.IsDir() {
			if err := add(filepath.Clean(p)); err != nil {
				return nil, err
			}
			continue
		}
		n := len(files)
		err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := strings.ToLower(d.Name())
			if d.Type().IsRegular() && slices.ContainsFunc(extensions, func(e string) bool { return strings.HasSuffix(name, e) }) {
				return add(filepath.Clean(f))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		if len(files) == n {
			return nil, fmt.Errorf("load: no %s file under %s", strings.Join(extensions, "/"), p)
		}
	}
	return files, nil
}

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

// field is what a column is kept for besides being a feature.
type field uint8

const (
	fieldNone field = iota
	fieldLabel
	fieldTime
	fieldFlowID
	fieldSrcIP
	fieldDstIP
	fieldCommunityID
	fieldSrcPort
	fieldDstPort
	fieldProtocol
)

var idFields = map[string]field{"flow_id": fieldFlowID, "src_ip": fieldSrcIP, "dst_ip": fieldDstIP,
	"community_id": fieldCommunityID, "src_port": fieldSrcPort, "dst_port": fieldDstPort, "protocol": fieldProtocol}

// role is what one input column feeds: a feature slot (-1 for none)
// and/or a field.
type role struct {
	slot  int
	field field
	name  string
}

// layout chooses the features (the canonical ones every file has, in
// schema order), records in rep what is left out and why, and gives each
// source's columns their roles.
func layout(srcs []*source, opts LoadOptions, rep *Report) []string {
	have := make([]int, len(columns))
	profiles := map[string]bool{}
	for _, s := range srcs {
		for _, c := range s.hdr.canon {
			if c >= 0 {
				have[c]++
			}
		}
		profiles[s.info.Profile] = true
	}
	slot := make([]int, len(columns))
	var feats []string
	for c, col := range columns {
		slot[c] = -1
		usable := col.Kind == KindFeature || col.Kind == KindNumericID && opts.IncludeIdentifiers
		switch {
		case have[c] == 0:
		case !usable && col.Kind == KindNumericID:
			rep.Excluded = append(rep.Excluded, ColumnNote{col.ID, "identifier; IncludeIdentifiers makes it a feature"})
		case !usable && (col.Kind == KindTextID || col.Kind == KindTime):
			rep.Excluded = append(rep.Excluded, ColumnNote{col.ID, "identifier; never a feature"})
		case !usable:
		case have[c] < len(srcs):
			rep.Excluded = append(rep.Excluded, ColumnNote{col.ID, fmt.Sprintf("in %d of %d files only", have[c], len(srcs))})
		default:
			slot[c] = len(feats)
			feats = append(feats, col.ID)
		}
	}
	for _, s := range srcs {
		s.roles = make([]role, len(s.hdr.canon))
		for i, c := range s.hdr.canon {
			r := role{slot: -1, name: s.hdr.names[i]}
			if c >= 0 {
				r.slot = slot[c]
				switch id := columns[c].ID; {
				case id == "label":
					r.field = fieldLabel
				case id == "timestamp":
					r.field = fieldTime
				case opts.KeepIdentifiers:
					r.field = idFields[id]
				}
			}
			s.roles[i] = r
		}
	}
	rep.Features = feats
	for p := range profiles {
		rep.Profiles = append(rep.Profiles, p)
	}
	slices.Sort(rep.Profiles)
	return feats
}

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

// builder turns cells into one row of a chunk. Each parsing goroutine has
// its own, with caches for the few distinct labels, times and addresses.
type builder struct {
	roles  []role
	d      *Dialect
	nf     int
	c      *chunk
	base   int
	labels map[string]string
	ips    map[string]string
	tRaw   []byte
	tVal   int64
	tErr   error
}

func (b *builder) begin() {
	c := b.c
	b.base = len(c.x)
	c.x = slices.Grow(c.x, b.nf)[:b.base+b.nf]
	for i := b.base; i < len(c.x); i++ {
		c.x[i] = nan
	}
	c.labels = append(c.labels, Unlabelled)
	c.times = append(c.times, TimeUnknown)
	if ids := c.ids; ids != nil {
		ids.FlowID = append(ids.FlowID, "")
		ids.SrcIP = append(ids.SrcIP, "")
		ids.DstIP = append(ids.DstIP, "")
		ids.CommunityID = append(ids.CommunityID, "")
		ids.SrcPort = append(ids.SrcPort, -1)
		ids.DstPort = append(ids.DstPort, -1)
		ids.Protocol = append(ids.Protocol, -1)
	}
}

func (b *builder) end() { b.c.rows++ }

// cellError names the column and shows the cell.
func cellError(name string, v []byte, err error) error {
	if len(v) > 40 {
		v = append(v[:37:37], "..."...)
	}
	return fmt.Errorf("column %q: %q: %w", name, v, err)
}

// text sets column i from its text.
func (b *builder) text(i int, v []byte) error {
	r := &b.roles[i]
	if r.field == fieldNone { // most cells: a feature, or a column ignored
		if r.slot < 0 {
			return nil
		}
		f, err := parseFloat(v)
		if err != nil {
			return cellError(r.name, v, err)
		}
		b.c.x[b.base+r.slot] = f
		return nil
	}
	switch r.field {
	case fieldLabel:
		last := len(b.c.labels) - 1
		s, ok := b.labels[string(v)]
		if !ok {
			s = normLabel(v, b.d)
			b.labels[string(v)] = s
		}
		b.c.labels[last] = s
		return nil
	case fieldTime:
		if len(bytes.TrimSpace(v)) == 0 {
			return nil
		}
		if !bytes.Equal(v, b.tRaw) {
			b.tRaw = append(b.tRaw[:0], v...)
			b.tVal, b.tErr = parseTime(v, b.d)
		}
		if b.tErr != nil {
			return cellError(r.name, v, b.tErr)
		}
		b.c.times[len(b.c.times)-1] = b.tVal
		return nil
	case fieldFlowID, fieldCommunityID:
		ids, last := b.c.ids, len(b.c.ids.FlowID)-1
		if r.field == fieldFlowID {
			ids.FlowID[last] = string(bytes.TrimSpace(v))
		} else {
			ids.CommunityID[last] = string(bytes.TrimSpace(v))
		}
		return nil
	case fieldSrcIP, fieldDstIP:
		v = bytes.TrimSpace(v)
		s, ok := b.ips[string(v)]
		if !ok {
			s = string(v)
			b.ips[s] = s
		}
		last := len(b.c.ids.SrcIP) - 1
		if r.field == fieldSrcIP {
			b.c.ids.SrcIP[last] = s
		} else {
			b.c.ids.DstIP[last] = s
		}
		return nil
	}
	f, err := parseFloat(v)
	if err != nil {
		return cellError(r.name, v, err)
	}
	return b.number(i, f)
}

// number sets column i from a typed numeric value (Parquet, or text
// already parsed).
func (b *builder) number(i int, f float64) error {
	r := &b.roles[i]
	if f == 0 {
		f = 0 // no signed zeros, see parseFloat
	}
	if r.slot >= 0 {
		b.c.x[b.base+r.slot] = f
	}
	switch r.field {
	case fieldNone:
		return nil
	case fieldSrcPort, fieldDstPort, fieldProtocol:
		v := int32(-1)
		if f >= 0 && f <= 1<<31-1 {
			v = int32(f)
		}
		ids, last := b.c.ids, len(b.c.ids.SrcPort)-1
		switch r.field {
		case fieldSrcPort:
			ids.SrcPort[last] = v
		case fieldDstPort:
			ids.DstPort[last] = v
		default:
			ids.Protocol[last] = v
		}
		return nil
	case fieldTime:
		return cellError(r.name, strconv.AppendFloat(nil, f, 'g', -1, 64), errors.New("numeric timestamps are not supported"))
	}
	return b.text(i, strconv.AppendFloat(nil, f, 'f', -1, 64))
}
