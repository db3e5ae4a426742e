package events

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Labels a source file or column can give an event.
const (
	LabelNormal    = "norm"
	LabelAnomalous = "anom"
)

// Position locates an event in its input for error messages and for
// tracing a score back to the raw record.
type Position struct {
	Line   int   // 1-based line of the record's first line (0 when unknown)
	Offset int64 // byte offset of the record's first byte
}

// Event is one normalised HTTP request or WAF event. Strings are valid
// UTF-8: bytes from Latin-1/cp1252 sources are converted on parse. Fields
// a format does not carry stay zero.
type Event struct {
	Time     time.Time
	ClientIP string
	Method   string
	Host     string
	Path     string // raw (still percent-encoded) path, without scheme/host
	Query    string // raw query string without '?'
	Body     string // request body, or the payload of a payload-only source

	UserAgent   string
	ContentType string
	CookieLen   int // length of the Cookie header value; the value itself is noise

	ResponseCode int
	RequestSize  int64
	ResponseSize int64

	// ML-PT / WAF match: where the rule matched and what.
	MatchedSrc   string
	MatchedName  string
	MatchedValue string

	EventID string
	Source  Position

	Label      string // LabelNormal, LabelAnomalous or "" when unknown
	AttackType string // e.g. HttpParamsDataset's sqli, xss, cmdi, path-traversal
}

// Reader yields events one at a time. Next returns io.EOF at the end. A
// *ParseError concerns one record only: the caller may log it and call
// Next again, which resumes at the following record. Any other error is
// final.
type Reader interface {
	Next() (*Event, error)
}

// ParseError is a malformed record, with where it was found.
type ParseError struct {
	Format Format
	Pos    Position
	Err    error
}

func (e *ParseError) Error() string {
	if e.Pos.Line > 0 {
		return fmt.Sprintf("%s: line %d (byte %d): %v", e.Format, e.Pos.Line, e.Pos.Offset, e.Err)
	}
	return fmt.Sprintf("%s: byte %d: %v", e.Format, e.Pos.Offset, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ErrTooLong reports a line, record or field beyond the reader's limit;
// the record is skipped so memory stays bounded.
var ErrTooLong = errors.New("record exceeds size limit")

// Format names an input format.
type Format string

const (
	FormatAuto       Format = "auto"
	FormatMLPT       Format = "mlpt"
	FormatCSIC       Format = "csic"
	FormatAccess     Format = "access"
	FormatModSec     Format = "modsec"
	FormatCSV        Format = "csv"        // generic CSV; mapping from the header
	FormatHTTPParams Format = "httpparams" // CSV preset: payload,length,attack_type,label
	FormatLines      Format = "lines"      // one path?query per line (FWAF)
)

// Formats lists every concrete format, for help texts and flags.
var Formats = []Format{FormatMLPT, FormatCSIC, FormatAccess, FormatModSec, FormatCSV, FormatHTTPParams, FormatLines}

// ParseFormat accepts a format name (case-insensitive; "fwaf" is an
// alias of lines, "json" of mlpt, "combined"/"nginx"/"apache" of access).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return FormatAuto, nil
	case "mlpt", "ml-pt", "json":
		return FormatMLPT, nil
	case "csic", "http", "raw":
		return FormatCSIC, nil
	case "access", "combined", "nginx", "apache":
		return FormatAccess, nil
	case "modsec", "modsecurity":
		return FormatModSec, nil
	case "csv":
		return FormatCSV, nil
	case "httpparams", "httpparamsdataset":
		return FormatHTTPParams, nil
	case "lines", "fwaf":
		return FormatLines, nil
	}
	return "", fmt.Errorf("unknown event format %q (want one of auto, %v)", s, Formats)
}

// Options bound the memory a reader may use and set defaults for events.
type Options struct {
	MaxLine int    // longest line or record kept; default 1 MiB
	MaxBody int    // longest request body kept; default 1 MiB
	Label   string // label for every event lacking one (file-level label)
	CSV     *CSVMapping
}

func (o *Options) maxLine() int {
	if o == nil || o.MaxLine <= 0 {
		return 1 << 20
	}
	return o.MaxLine
}

func (o *Options) maxBody() int {
	if o == nil || o.MaxBody <= 0 {
		return 1 << 20
	}
	return o.MaxBody
}

func (o *Options) label() string {
	if o == nil {
		return ""
	}
	return o.Label
}

// NewReader returns a reader of format f over r. FormatAuto sniffs the
// first kilobyte with Detect.
func NewReader(r io.Reader, f Format, opt *Options) (Reader, error) {
	if opt == nil {
		opt = &Options{}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if f == FormatAuto || f == "" {
		head, err := br.Peek(4096)
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("sniffing event format: %w", err)
		}
		if f, err = Detect(head); err != nil {
			return nil, err
		}
	}
	var rd Reader
	switch f {
	case FormatMLPT:
		rd = newMLPTReader(br, opt)
	case FormatCSIC:
		rd = newCSICReader(br, opt)
	case FormatAccess:
		rd = newAccessReader(br, opt)
	case FormatModSec:
		rd = newModSecReader(br, opt)
	case FormatCSV, FormatHTTPParams:
		m := opt.CSV
		if f == FormatHTTPParams {
			p := HTTPParamsMapping
			m = &p
		}
		var err error
		if rd, err = newCSVReader(br, m, opt); err != nil {
			return nil, err
		}
	case FormatLines:
		rd = newLinesReader(br, opt)
	default:
		return nil, fmt.Errorf("unknown event format %q", f)
	}
	if l := opt.label(); l != "" {
		rd = labelReader{rd, l}
	}
	return rd, nil
}

type labelReader struct {
	r     Reader
	label string
}

func (l labelReader) Next() (*Event, error) {
	e, err := l.r.Next()
	if e != nil && e.Label == "" {
		e.Label = l.label
	}
	return e, err
}

// File is a Reader over an opened file; Close releases it.
type File struct {
	Reader
	Format  Format
	closers []io.Closer
}

// Close closes the decompressor and the file.
func (f *File) Close() error {
	var first error
	for i := len(f.closers) - 1; i >= 0; i-- {
		if err := f.closers[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Open opens path (gzip-compressed when it starts with the gzip magic,
// whatever its name) as format f. When opt.Label is empty, a file-level
// label is inferred from well-known names: CSIC's normal*/anomalous* and
// FWAF's good*/bad* files.
func Open(path string, f Format, opt *Options) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening events: %w", err)
	}
	file := &File{closers: []io.Closer{fh}}
	br := bufio.NewReaderSize(fh, 64<<10)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			fh.Close()
			return nil, fmt.Errorf("opening events %s: gzip: %w", path, err)
		}
		file.closers = append(file.closers, gz)
		r = gz
	}
	o := Options{}
	if opt != nil {
		o = *opt
	}
	if o.Label == "" {
		o.Label = labelFromName(path)
	}
	if f == FormatAuto || f == "" {
		b := bufio.NewReaderSize(r, 64<<10)
		head, err := b.Peek(4096)
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			file.Close()
			return nil, fmt.Errorf("opening events %s: %w", path, err)
		}
		if f, err = Detect(head); err != nil {
			file.Close()
			return nil, fmt.Errorf("opening events %s: %w", path, err)
		}
		r = b
	}
	rd, err := NewReader(r, f, &o)
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("opening events %s: %w", path, err)
	}
	file.Reader, file.Format = rd, f
	return file, nil
}

func labelFromName(path string) string {
	b := strings.ToLower(filepath.Base(path))
	switch {
	case strings.HasPrefix(b, "anomalous"), strings.HasPrefix(b, "badqueries"):
		return LabelAnomalous
	case strings.HasPrefix(b, "normal"), strings.HasPrefix(b, "goodqueries"):
		return LabelNormal
	}
	return ""
}

// ReadAll drains r, stopping at the first error that is not a
// *ParseError; parse errors are counted, the first one kept.
func ReadAll(r Reader) (evs []*Event, bad int, firstBad error, err error) {
	for {
		e, err := r.Next()
		if err == io.EOF {
			return evs, bad, firstBad, nil
		}
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				if firstBad == nil {
					firstBad = err
				}
				bad++
				continue
			}
			return evs, bad, firstBad, err
		}
		evs = append(evs, e)
	}
}
