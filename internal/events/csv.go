package events

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// CSVMapping says which CSV column holds which event field. Columns are
// named by header (case-insensitive) or, with a "#N" name, by 0-based
// index. Empty means "not present".
type CSVMapping struct {
	URL        string // path?query, or a full URL
	Path       string
	Query      string
	Payload    string // body or parameter value
	Method     string
	IP         string
	UserAgent  string
	Label      string
	AttackType string
	// LabelValues maps raw label cells to LabelNormal/LabelAnomalous
	// (e.g. "0" → norm). Cells not in the map are kept as they are.
	LabelValues map[string]string
	// NoHeader: the first row is data, so columns must be "#N".
	NoHeader bool
	Comma    rune // default ','
}

// HTTPParamsMapping reads Morzeux's HttpParamsDataset:
// "payload","length","attack_type","label" with label norm/anom.
var HTTPParamsMapping = CSVMapping{Payload: "payload", AttackType: "attack_type", Label: "label"}

// CCFMapping reads the CCF BDCI 2022 web-attack CSVs
// (id,method,user_agent,url,refer,body,lable — sic): label 0 is benign.
var CCFMapping = CSVMapping{
	URL: "url", Payload: "body", Method: "method", UserAgent: "user_agent", Label: "lable",
	LabelValues: map[string]string{"0": LabelNormal, "1": LabelAnomalous, "2": LabelAnomalous,
		"3": LabelAnomalous, "4": LabelAnomalous, "5": LabelAnomalous},
}

// guessMapping maps a header row by common column names.
func guessMapping(header []string) *CSVMapping {
	m := &CSVMapping{}
	for _, h := range header {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "url", "uri", "request_uri", "request":
			m.URL = h
		case "path":
			m.Path = h
		case "query", "query_string", "querystring":
			m.Query = h
		case "payload", "body", "data", "value", "matched_variable_value":
			m.Payload = h
		case "method":
			m.Method = h
		case "ip", "client_ip", "src_ip", "remote_addr", "clientip":
			m.IP = h
		case "user_agent", "useragent", "user-agent", "ua", "client_useragent":
			m.UserAgent = h
		case "label", "lable", "class", "is_attack":
			m.Label = h
		case "attack_type", "type", "category":
			m.AttackType = h
		}
	}
	return m
}

type csvReader struct {
	cr  *csv.Reader
	opt *Options
	m   *CSVMapping
	// column indexes, -1 when absent
	url, path, query, payload, method, ip, ua, label, attack int
	done                                                     bool
}

func newCSVReader(br *bufio.Reader, m *CSVMapping, opt *Options) (*csvReader, error) {
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	if m != nil && m.Comma != 0 {
		cr.Comma = m.Comma
	}
	r := &csvReader{cr: cr, opt: opt}
	var header []string
	if m == nil || !m.NoHeader {
		h, err := cr.Read()
		if err == io.EOF {
			r.done = true
			r.m = &CSVMapping{}
			return r, nil
		}
		if err != nil {
			return nil, fmt.Errorf("csv: reading header: %w", err)
		}
		header = append([]string(nil), h...)
		if len(header) > 0 {
			header[0] = strings.TrimPrefix(header[0], "\ufeff")
		}
	}
	if m == nil {
		m = guessMapping(header)
		if m.URL == "" && m.Path == "" && m.Query == "" && m.Payload == "" {
			return nil, fmt.Errorf("csv: no URL or payload column among %q; give a column mapping", header)
		}
	}
	r.m = m
	var err error
	col := func(name string) int {
		if name == "" || err != nil {
			return -1
		}
		if strings.HasPrefix(name, "#") {
			n, e := strconv.Atoi(name[1:])
			if e != nil || n < 0 {
				err = fmt.Errorf("csv: bad column index %q", name)
			}
			return n
		}
		for i, h := range header {
			if strings.EqualFold(strings.TrimSpace(h), name) {
				return i
			}
		}
		err = fmt.Errorf("csv: no column %q in header %q", name, header)
		return -1
	}
	r.url, r.path, r.query, r.payload = col(m.URL), col(m.Path), col(m.Query), col(m.Payload)
	r.method, r.ip, r.ua = col(m.Method), col(m.IP), col(m.UserAgent)
	r.label, r.attack = col(m.Label), col(m.AttackType)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (r *csvReader) Next() (*Event, error) {
	if r.done {
		return nil, io.EOF
	}
	off := r.cr.InputOffset()
	rec, err := r.cr.Read()
	if err == io.EOF {
		r.done = true
		return nil, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// encoding/csv resumes at the next record after a parse error.
			return nil, &ParseError{FormatCSV, Position{pe.StartLine, off}, pe.Err}
		}
		r.done = true
		return nil, fmt.Errorf("csv: %w", err)
	}
	line, _ := r.cr.FieldPos(0)
	cell := func(i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return toUTF8([]byte(rec[i]))
	}
	e := &Event{Source: Position{line, off}}
	if u := cell(r.url); u != "" {
		e.Host, e.Path, e.Query = splitTarget(u)
	}
	if p := cell(r.path); p != "" {
		e.Path = p
	}
	if q := cell(r.query); q != "" {
		e.Query = q
	}
	e.Body = cell(r.payload)
	e.Method = strings.ToUpper(cell(r.method))
	e.ClientIP = cell(r.ip)
	e.UserAgent = cell(r.ua)
	e.AttackType = cell(r.attack)
	if l := strings.TrimSpace(cell(r.label)); l != "" {
		if v, ok := r.m.LabelValues[l]; ok {
			l = v
		}
		e.Label = l
	}
	for _, f := range rec {
		e.RequestSize += int64(len(f))
	}
	if len(e.Body)+len(e.Path)+len(e.Query) > r.opt.maxLine() {
		return nil, &ParseError{FormatCSV, e.Source, ErrTooLong}
	}
	return e, nil
}
