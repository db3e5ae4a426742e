package dataset

import (
	"bytes"
	"fmt"
	"math"
)

var nan = math.NaN()

// splitCSV splits one line into its fields, appending them to cells.
// Quoted fields ("a,b", "say ""hi""") are unquoted into buf, which the
// returned cells may point into; a quoted field cannot span lines. Fields
// keep their spaces: callers trim what they read.
func splitCSV(line []byte, cells [][]byte, buf []byte) ([][]byte, []byte, error) {
	if bytes.IndexByte(line, '"') < 0 {
		for {
			i := bytes.IndexByte(line, ',')
			if i < 0 {
				return append(cells, line), buf, nil
			}
			cells = append(cells, line[:i])
			line = line[i+1:]
		}
	}
	for {
		start := 0
		for start < len(line) && line[start] == ' ' {
			start++
		}
		if start == len(line) || line[start] != '"' {
			i := bytes.IndexByte(line, ',')
			if i < 0 {
				return append(cells, line), buf, nil
			}
			if q := bytes.IndexByte(line[:i], '"'); q >= 0 {
				return nil, buf, fmt.Errorf("field %d: quote inside an unquoted field", len(cells)+1)
			}
			cells = append(cells, line[:i])
			line = line[i+1:]
			continue
		}
		// A quoted field: copy it into buf, turning "" into ".
		from := len(buf)
		i := start + 1
		for {
			j := bytes.IndexByte(line[i:], '"')
			if j < 0 {
				return nil, buf, fmt.Errorf("field %d: unterminated quote", len(cells)+1)
			}
			buf = append(buf, line[i:i+j]...)
			i += j + 1
			if i < len(line) && line[i] == '"' {
				buf = append(buf, '"')
				i++
				continue
			}
			break
		}
		cells = append(cells, buf[from:len(buf):len(buf)])
		for i < len(line) && line[i] == ' ' {
			i++
		}
		switch {
		case i == len(line):
			return cells, buf, nil
		case line[i] != ',':
			return nil, buf, fmt.Errorf("field %d: text after a closing quote", len(cells))
		}
		line = line[i+1:]
	}
}

// parser turns the lines of a chunk into rows; one per goroutine.
type parser struct {
	// xfree recycles row buffers the loader has copied into the table,
	// sparing the allocator and the collector 2× the matrix.
	xfree chan []float64
	s     *source
	b     builder
	keep  bool
	cells [][]byte
	buf   []byte
}

func newParser(s *source, nf int, keepIDs bool) *parser {
	return &parser{s: s, keep: keepIDs, b: builder{roles: s.roles, d: s.hdr.dialect, nf: nf,
		labels: map[string]string{}, ips: map[string]string{}}}
}

// parse fills c from its raw lines; the first error stops it.
func (p *parser) parse(c *chunk) {
	raw, line := c.raw, c.line
	c.raw = nil
	p.b.c = c
	rows := bytes.Count(raw, []byte{'\n'}) + 1
	select {
	case c.x = <-p.xfree:
	default:
	}
	if cap(c.x) < rows*p.b.nf {
		c.x = make([]float64, 0, rows*p.b.nf)
	}
	c.labels = make([]string, 0, rows)
	c.times = make([]int64, 0, rows)
	if p.keep {
		c.ids = &Identifiers{}
	}
	for ; len(raw) > 0; line++ {
		l := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			l, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if err := p.line(bytes.TrimSuffix(l, []byte{'\r'})); err != nil {
			c.err = fmt.Errorf("line %d: %w", line, err)
			return
		}
	}
}

func (p *parser) line(l []byte) error {
	c := p.b.c
	if len(bytes.TrimSpace(l)) == 0 {
		c.blank++
		return nil
	}
	if p.s.keys != nil {
		return p.jsonLine(l)
	}
	if bytes.Equal(l, p.s.line) {
		// CSE-CIC-IDS2018 day files repeat their header inside the data.
		c.headers++
		return nil
	}
	if len(bytes.Trim(l, ", ")) == 0 {
		// CIC-IDS2017's Thursday morning file ends in lines of commas.
		c.blank++
		return nil
	}
	n := len(p.s.roles)
	if bytes.IndexByte(l, '"') < 0 {
		// The common case, without quotes: cells go straight to the
		// builder as the commas are found.
		if k := bytes.Count(l, []byte{','}) + 1; k != n {
			return fieldCount(k, n)
		}
		p.b.begin()
		x := p.b.c.x[p.b.base:]
		for i := range n {
			if r := &p.s.roles[i]; r.field == fieldNone && r.slot >= 0 {
				if f, k, ok := scanNumber(l); ok {
					x[r.slot] = f
					l = l[min(k+1, len(l)):]
					continue
				}
			}
			j := bytes.IndexByte(l, ',')
			if j < 0 {
				j = len(l)
			}
			if err := p.b.text(i, l[:j]); err != nil {
				return err
			}
			l = l[min(j+1, len(l)):]
		}
		p.b.end()
		return nil
	}
	var err error
	p.cells, p.buf, err = splitCSV(l, p.cells[:0], p.buf[:0])
	if err != nil {
		return err
	}
	if len(p.cells) != n {
		return fieldCount(len(p.cells), n)
	}
	p.b.begin()
	for i, v := range p.cells {
		if err := p.b.text(i, v); err != nil {
			return err
		}
	}
	p.b.end()
	return nil
}

func fieldCount(got, want int) error {
	return fmt.Errorf("%d fields, the header has %d", got, want)
}

func (p *parser) jsonLine(l []byte) error {
	n := len(p.s.roles)
	if cap(p.cells) < n {
		p.cells = make([][]byte, n)
	}
	p.cells = p.cells[:n]
	clear(p.cells) // a key an object lacks stays nil: NaN, no label, no time
	var err error
	p.buf, err = scanObject(l, p.buf[:0], func(key, val []byte) error {
		i, ok := p.s.keys[string(key)]
		if !ok {
			if p.b.c.extra == nil {
				p.b.c.extra = map[string]bool{}
			}
			p.b.c.extra[string(key)] = true
			return nil
		}
		p.cells[i] = val
		return nil
	})
	if err != nil {
		return err
	}
	p.b.begin()
	for i, v := range p.cells {
		if v != nil {
			if err := p.b.text(i, v); err != nil {
				return err
			}
		}
	}
	p.b.end()
	return nil
}
