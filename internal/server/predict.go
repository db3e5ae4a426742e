package server

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/flowguard/flowguard/internal/ml"
)

// rows is a request's feature matrix in the model's feature order.
type rows struct {
	n, cols int
	x       []float64
}

func (r *rows) add() []float64 {
	r.n++
	if need := r.n * r.cols; need > cap(r.x) {
		r.x = append(r.x[:cap(r.x)], make([]float64, max(need, 2*cap(r.x))-cap(r.x))...)
	}
	r.x = r.x[:r.n*r.cols]
	row := r.x[(r.n-1)*r.cols:]
	for i := range row {
		row[i] = math.NaN() // a feature the row does not set is caught by the decoders
	}
	return row
}

// decodeOptions say what a decoder tolerates.
type decodeOptions struct {
	// allowNonFinite accepts NaN and infinities (the model's preprocessing
	// replaces them as in training); otherwise they are an error naming
	// the cell. null and empty CSV cells are missing values, always
	// accepted.
	allowNonFinite bool
	maxRows        int
}

// cellError describes a bad cell; loc names it for the problem.
func cellProblem(loc string, kind cellKind) *problemError {
	if kind == cellNonFinite {
		return problem(http.StatusBadRequest, "non-finite value (NaN or infinity) in "+loc,
			at(loc, "NaN and infinities are not allowed here; send null for a missing value, or ?allow_nonfinite=true"))
	}
	return problem(http.StatusBadRequest, "wrong type in "+loc, at(loc, "want a number or null"))
}

// missingProblem names the features a row lacks.
func missingProblem(loc string, features []string, set []bool) *problemError {
	var missing []string
	for i, ok := range set {
		if !ok {
			missing = append(missing, features[i])
		}
	}
	shown := missing
	if len(shown) > 10 {
		shown = shown[:10]
	}
	return problem(http.StatusBadRequest, fmt.Sprintf("%s lacks %d of the model's %d features", loc, len(missing), len(features)),
		at(loc, "missing features: %s%s", strings.Join(shown, ", "), map[bool]string{true: ", …", false: ""}[len(missing) > 10]))
}

// syntaxProblem turns a scanner error into a problem naming the byte
// offset, or the body-read problem when reading failed.
func syntaxProblem(s *scanner, err error) *problemError {
	var p *problemError
	if errors.As(err, &p) {
		return p
	}
	if rerr := s.readErr(); rerr != nil {
		return bodyReadError(rerr, s.off())
	}
	return problem(http.StatusBadRequest, err.Error(), at(fmt.Sprintf("body@%d", s.off()), "malformed JSON"))
}

// decodeRecords reads a JSON array of objects keyed by column names.
func decodeRecords(s *scanner, fi *featureIndex, out *rows, o decodeOptions) error {
	set := make([]bool, out.cols)
	if err := s.expect('['); err != nil {
		return err
	}
	for more := s.first(']'); more; {
		if out.n == o.maxRows {
			return tooManyRows(o.maxRows)
		}
		row := out.add()
		clear(set)
		if err := s.expect('{'); err != nil {
			return err
		}
		for field := s.first('}'); field; {
			key, err := s.str()
			if err != nil {
				return err
			}
			col := fi.lookup(key)
			if err := s.expect(':'); err != nil {
				return err
			}
			if col < 0 {
				if err := s.skip(); err != nil {
					return err
				}
			} else {
				v, kind, err := s.cell()
				if err != nil {
					return err
				}
				if kind == cellWrongType || (kind == cellNonFinite && !o.allowNonFinite) {
					// The key's bytes may have moved with the buffer:
					// name the feature by its canonical ID.
					return cellProblem(fmt.Sprintf("body[%d].%s", out.n-1, fi.features[col]), kind)
				}
				row[col], set[col] = v, true
			}
			if field, err = s.next('}'); err != nil {
				return err
			}
		}
		for _, ok := range set {
			if !ok {
				return missingProblem(fmt.Sprintf("body[%d]", out.n-1), fi.features, set)
			}
		}
		var err error
		if more, err = s.next(']'); err != nil {
			return err
		}
	}
	return s.end()
}

// decodeSplit reads pandas' orient="split" JSON: {"columns": [...],
// "index": [...], "data": [[...], ...]}. columns must come before data,
// as pandas writes them.
func decodeSplit(s *scanner, fi *featureIndex, out *rows, o decodeOptions) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	var colOf []int // request column → feature position or -1
	var names []string
	sawData := false
	for field := s.first('}'); field; {
		key, err := s.str()
		if err != nil {
			return err
		}
		k := string(key)
		if err := s.expect(':'); err != nil {
			return err
		}
		switch k {
		case "columns":
			if err := s.expect('['); err != nil {
				return err
			}
			for more := s.first(']'); more; {
				name, err := s.str()
				if err != nil {
					return err
				}
				colOf = append(colOf, fi.lookup(name))
				names = append(names, string(name))
				if more, err = s.next(']'); err != nil {
					return err
				}
			}
			have := make([]bool, out.cols)
			for _, c := range colOf {
				if c >= 0 {
					have[c] = true
				}
			}
			for _, ok := range have {
				if !ok {
					return missingProblem("body.columns", fi.features, have)
				}
			}
		case "data":
			if colOf == nil {
				return problem(http.StatusBadRequest, `"data" comes before "columns"`,
					at(fmt.Sprintf("body@%d", s.off()), `send "columns" first, as pandas' to_json(orient="split") does`))
			}
			sawData = true
			if err := s.expect('['); err != nil {
				return err
			}
			for more := s.first(']'); more; {
				if out.n == o.maxRows {
					return tooManyRows(o.maxRows)
				}
				row := out.add()
				if err := s.expect('['); err != nil {
					return err
				}
				j := 0
				for cell := s.first(']'); cell; j++ {
					if j >= len(colOf) {
						return problem(http.StatusBadRequest, fmt.Sprintf("body.data[%d] has more values than the %d columns", out.n-1, len(colOf)),
							at(fmt.Sprintf("body.data[%d][%d]", out.n-1, j), "extra value"))
					}
					if c := colOf[j]; c < 0 {
						if err := s.skip(); err != nil {
							return err
						}
					} else {
						v, kind, err := s.cell()
						if err != nil {
							return err
						}
						if kind == cellWrongType || (kind == cellNonFinite && !o.allowNonFinite) {
							return cellProblem(fmt.Sprintf("body.data[%d][%d] (%s)", out.n-1, j, names[j]), kind)
						}
						row[c] = v
					}
					if cell, err = s.next(']'); err != nil {
						return err
					}
				}
				if j != len(colOf) {
					return problem(http.StatusBadRequest, fmt.Sprintf("body.data[%d] has %d values for %d columns", out.n-1, j, len(colOf)),
						at(fmt.Sprintf("body.data[%d]", out.n-1), "want %d values", len(colOf)))
				}
				if more, err = s.next(']'); err != nil {
					return err
				}
			}
		default: // "index" and anything else pandas may add
			if err := s.skip(); err != nil {
				return err
			}
		}
		if field, err = s.next('}'); err != nil {
			return err
		}
	}
	if !sawData {
		return problem(http.StatusBadRequest, `no "data" in the pandas-split document`, at("body.data", "missing"))
	}
	return s.end()
}

// decodeCSV reads a header line of column names and comma-separated rows.
func decodeCSV(body io.Reader, fi *featureIndex, out *rows, o decodeOptions) error {
	cr := csv.NewReader(body)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = 0
	header, err := cr.Read()
	if err != nil {
		return csvProblem(err, cr)
	}
	names := append([]string(nil), header...)
	colOf := make([]int, len(names))
	have := make([]bool, out.cols)
	for j, n := range names {
		if colOf[j] = fi.lookup([]byte(n)); colOf[j] >= 0 {
			have[colOf[j]] = true
		}
	}
	for _, ok := range have {
		if !ok {
			return missingProblem("body.header", fi.features, have)
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvProblem(err, cr)
		}
		if out.n == o.maxRows {
			return tooManyRows(o.maxRows)
		}
		row := out.add()
		line, _ := cr.FieldPos(0)
		for j, f := range rec {
			c := colOf[j]
			if c < 0 {
				continue
			}
			f = strings.TrimSpace(f)
			if f == "" {
				continue // missing: stays NaN
			}
			if v, ok := parseDecimal(f); ok {
				row[c] = v
				continue
			}
			v, err := strconv.ParseFloat(f, 64)
			kind := cellNumber
			switch {
			case err == nil && (math.IsNaN(v) || math.IsInf(v, 0)):
				kind = cellNonFinite
			case err != nil && !errors.Is(err, strconv.ErrRange):
				if nf, ok := parseNonFinite([]byte(f)); ok {
					v, kind = nf, cellNonFinite
				} else {
					kind = cellWrongType
				}
			}
			if kind == cellWrongType || (kind == cellNonFinite && !o.allowNonFinite) {
				return cellProblem(fmt.Sprintf("body.line[%d].%s", line, names[j]), kind)
			}
			row[c] = v
		}
	}
}

func csvProblem(err error, cr *csv.Reader) *problemError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return problem(http.StatusBadRequest, fmt.Sprintf("CSV line %d has a different number of fields than the header", pe.Line),
				at(fmt.Sprintf("body.line[%d]", pe.Line), "wrong field count"))
		}
		return problem(http.StatusBadRequest, "malformed CSV: "+pe.Error(), at(fmt.Sprintf("body.line[%d]", pe.Line), "%s", pe.Err))
	}
	if err == io.EOF {
		return problem(http.StatusBadRequest, "empty body: want a CSV header line and rows", at("body", "empty"))
	}
	return bodyReadError(err, cr.InputOffset())
}

func tooManyRows(n int) *problemError {
	return problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("more than %d rows in one request", n),
		at(fmt.Sprintf("body[%d]", n), "split the batch"))
}

// bodyFormat is how a predict body is written.
type bodyFormat int

const (
	formatRecords bodyFormat = iota
	formatSplit
	formatCSV
)

// formatOf reads the Content-Type: application/json (records, or split
// with format=pandas-split as ml-ids clients send it), text/csv.
func formatOf(ct string) (bodyFormat, error) {
	if ct == "" {
		return 0, problem(http.StatusUnsupportedMediaType, "no Content-Type: send application/json, application/json; format=pandas-split, or text/csv",
			at("header.Content-Type", "missing"))
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, problem(http.StatusUnsupportedMediaType, "unparsable Content-Type", at("header.Content-Type", "%v", err))
	}
	switch mt {
	case "application/json":
		switch params["format"] {
		case "", "records":
			return formatRecords, nil
		case "pandas-split", "split":
			return formatSplit, nil
		}
		return 0, problem(http.StatusUnsupportedMediaType, "unknown JSON format "+params["format"],
			at("header.Content-Type", "format must be records or pandas-split"))
	case "text/csv", "application/csv":
		return formatCSV, nil
	}
	return 0, problem(http.StatusUnsupportedMediaType, "unsupported Content-Type "+mt,
		at("header.Content-Type", "want application/json, application/json; format=pandas-split, or text/csv"))
}

// decodeBody reads a predict body into rows for model l.
func decodeBody(body io.Reader, f bodyFormat, l *loaded, o decodeOptions) (*rows, error) {
	fi := newFeatureIndex(l.art.Schema.Features)
	out := &rows{cols: len(l.art.Schema.Features)}
	var err error
	if f == formatCSV {
		err = decodeCSV(body, fi, out, o)
	} else {
		s := newScanner(body)
		if s.peek() == 0 && s.readErr() == nil {
			return nil, problem(http.StatusBadRequest, "empty body", at("body", "empty"))
		}
		if f == formatSplit {
			err = decodeSplit(s, fi, out, o)
		} else {
			err = decodeRecords(s, fi, out, o)
		}
		if err != nil {
			err = syntaxProblem(s, err)
		}
	}
	return out, err
}

// batchClassifier is a classifier with its own batch evaluator (the tree
// ensembles), which walks each tree for a block of rows at a time on all
// cores and gives the probabilities PredictProba gives, bit for bit.
type batchClassifier interface {
	PredictProbaBatch(x *ml.Matrix, out []float64, threads int) error
}

// scoreRows scores every row on all cores: a batch of 100k flows is
// split into blocks, and each goroutine keeps its own class buffer.
// Models with a batch evaluator score the cleaned rows through it.
func scoreRows(l *loaded, in *rows) []verdict {
	out := make([]verdict, in.n)
	const block = 512
	workers := min(runtime.GOMAXPROCS(0), (in.n+block-1)/block)
	if bc, ok := l.art.Classifier().(batchClassifier); ok && in.n > 1 {
		k := len(l.art.Schema.Classes)
		proba := make([]float64, in.n*k)
		x := &ml.Matrix{Rows: in.n, Cols: in.cols, Data: in.x[:in.n*in.cols]}
		for i := range in.n {
			l.art.Clean(x.Row(i))
		}
		if bc.PredictProbaBatch(x, proba, workers) == nil {
			for i := range out {
				out[i] = l.decide(proba[i*k : (i+1)*k])
			}
			return out
		}
	}
	if workers <= 1 {
		proba := make([]float64, len(l.art.Schema.Classes))
		for i := range in.n {
			out[i] = l.score(in.x[i*in.cols:(i+1)*in.cols], proba)
		}
		return out
	}
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			proba := make([]float64, len(l.art.Schema.Classes))
			for {
				mu.Lock()
				lo := next
				next += block
				mu.Unlock()
				if lo >= in.n {
					return
				}
				for i := lo; i < min(lo+block, in.n); i++ {
					out[i] = l.score(in.x[i*in.cols:(i+1)*in.cols], proba)
				}
			}
		})
	}
	wg.Wait()
	return out
}

// predictFlows is POST /v1/predict/flows.
func (s *Server) predictFlows(w http.ResponseWriter, r *http.Request) {
	f, err := formatOf(r.Header.Get("Content-Type"))
	if err != nil {
		writeProblem(w, err)
		return
	}
	l := s.models.current()
	q := r.URL.Query()
	o := decodeOptions{allowNonFinite: q.Get("allow_nonfinite") == "true", maxRows: 1 << 20}
	in, err := decodeBody(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), f, l, o)
	if err != nil {
		writeProblem(w, err)
		return
	}
	vs := scoreRows(l, in)
	s.metrics.flowsScored.WithLabelValues("predict").Add(float64(in.n))
	classes := l.art.Schema.Classes
	alerts := 0
	for _, v := range vs {
		if v.alert {
			alerts++
		}
	}
	b := make([]byte, 0, 128+len(vs)*80)
	b = append(b, `{"model":`...)
	b = strconv.AppendQuote(b, l.id)
	b = append(b, `,"model_version":`...)
	b = strconv.AppendQuote(b, l.version)
	b = append(b, `,"rows":`...)
	b = strconv.AppendInt(b, int64(in.n), 10)
	b = append(b, `,"alerts":`...)
	b = strconv.AppendInt(b, int64(alerts), 10)
	b = append(b, `,"predictions":[`...)
	quoted := make([]string, len(classes))
	for i, c := range classes {
		quoted[i] = strconv.Quote(c)
	}
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"class":`...)
		b = append(b, quoted[v.class]...)
		b = append(b, `,"probability":`...)
		b = strconv.AppendFloat(b, v.prob, 'g', 6, 64)
		b = append(b, `,"score":`...)
		b = strconv.AppendFloat(b, v.score, 'g', 6, 64)
		b = append(b, `,"alert":`...)
		b = strconv.AppendBool(b, v.alert)
		b = append(b, '}')
	}
	b = append(b, "]}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
