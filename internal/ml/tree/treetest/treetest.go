// Package treetest holds what the tests and benchmarks of the tree models
// share: synthetic datasets, a labelled-flow CSV reader, duplicate removal,
// a stratified split and macro-F1. It is not for production code; the
// dataset package is the project's real loader.
package treetest

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/tree"
)

// Checkerboard returns n points uniform on the unit square with label
// (⌊cells·x⌋ + ⌊cells·y⌋) mod 2, plus noise features uniform noise columns:
// XOR for cells = 2.
func Checkerboard(n, cells, noise int, seed uint64) *ml.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	cols := 2 + noise
	d := &ml.Dataset{X: ml.NewMatrix(n, cols), Y: make([]int, n), Classes: 2}
	for i := range n {
		row := d.X.Row(i)
		for j := range row {
			row[j] = rng.Float64()
		}
		d.Y[i] = (int(row[0]*float64(cells)) + int(row[1]*float64(cells))) % 2
	}
	return d
}

// Blobs returns n points in classes Gaussian clusters of unit spread whose
// centres are drawn in a cube of side 10, over the given features.
func Blobs(n, classes, features int, seed uint64) *ml.Dataset {
	rng := rand.New(rand.NewPCG(seed, 2))
	centres := make([]float64, classes*features)
	for i := range centres {
		centres[i] = rng.Float64() * 10
	}
	d := &ml.Dataset{X: ml.NewMatrix(n, features), Y: make([]int, n), Classes: classes}
	for i := range n {
		c := i % classes
		d.Y[i] = c
		row := d.X.Row(i)
		for j := range row {
			row[j] = centres[c*features+j] + rng.NormFloat64()
		}
	}
	return d
}

// CSV is a labelled table read by ReadCSV.
type CSV struct {
	Columns []string // feature names
	Classes []string // label names, sorted; Y indexes them
	Data    *ml.Dataset
}

// ReadCSV reads labelled flow CSVs with one header (gzip when a name ends
// in .gz) into one table: the label is the last column, columns named in
// drop are skipped, and a cell that is not a number becomes NaN. Header
// names are trimmed.
func ReadCSV(drop []string, paths ...string) (*CSV, error) {
	out := &CSV{}
	var head []string
	var vals []float64
	var labels []string
	for _, path := range paths {
		h, err := readCSV(path, drop, &vals, &labels)
		if err != nil {
			return nil, err
		}
		if head == nil {
			head = h
		} else if !slices.Equal(head, h) {
			return nil, fmt.Errorf("%s: header differs from %s", path, paths[0])
		}
	}
	out.Columns = head
	out.Classes = slices.Compact(slices.Sorted(slices.Values(labels)))
	y := make([]int, len(labels))
	for i, l := range labels {
		y[i], _ = slices.BinarySearch(out.Classes, l)
	}
	out.Data = &ml.Dataset{
		X:       &ml.Matrix{Rows: len(labels), Cols: len(head), Data: vals},
		Y:       y,
		Classes: len(out.Classes),
	}
	return out, nil
}

// readCSV appends one file's rows and returns its kept column names.
func readCSV(path string, drop []string, vals *[]float64, labels *[]string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	var keep []int
	var names []string
	for i, h := range head[:len(head)-1] {
		h = strings.TrimSpace(h)
		if !slices.Contains(drop, h) {
			keep = append(keep, i)
			names = append(names, h)
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, i := range keep {
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[i]), 64)
			if err != nil {
				v = math.NaN()
			}
			*vals = append(*vals, v)
		}
		*labels = append(*labels, strings.TrimSpace(rec[len(rec)-1]))
	}
}

// Dedup drops rows whose features and label repeat an earlier row.
func Dedup(d *ml.Dataset) *ml.Dataset {
	seen := make(map[string]bool, d.X.Rows)
	var rows []int
	var key []byte
	for i := range d.X.Rows {
		key = key[:0]
		for _, v := range d.X.Row(i) {
			key = strconv.AppendUint(key, math.Float64bits(v), 36)
			key = append(key, ',')
		}
		key = strconv.AppendInt(key, int64(d.Y[i]), 10)
		if !seen[string(key)] {
			seen[string(key)] = true
			rows = append(rows, i)
		}
	}
	return Subset(d, rows)
}

// Subset returns the given rows of d.
func Subset(d *ml.Dataset, rows []int) *ml.Dataset {
	s := &ml.Dataset{X: d.X.Subset(rows), Y: make([]int, len(rows)), Classes: d.Classes}
	for k, i := range rows {
		s.Y[k] = d.Y[i]
	}
	if d.W != nil {
		s.W = make([]float64, len(rows))
		for k, i := range rows {
			s.W[k] = d.W[i]
		}
	}
	return s
}

// StratifiedSplit puts a testFrac share of every class (rounded, at least
// one row when the class has two or more) into test and the rest into
// train, shuffled by seed; both keep the original row order.
func StratifiedSplit(d *ml.Dataset, testFrac float64, seed uint64) (train, test *ml.Dataset) {
	rng := rand.New(rand.NewPCG(seed, 3))
	byClass := make([][]int, d.Classes)
	for i, y := range d.Y {
		byClass[y] = append(byClass[y], i)
	}
	var tr, te []int
	for _, rows := range byClass {
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		n := int(math.Round(testFrac * float64(len(rows))))
		if n == 0 && len(rows) >= 2 {
			n = 1
		}
		te = append(te, rows[:n]...)
		tr = append(tr, rows[n:]...)
	}
	slices.Sort(tr)
	slices.Sort(te)
	return Subset(d, tr), Subset(d, te)
}

// Argmax returns the index of the largest value of each row of p
// (rows × classes).
func Argmax(p []float64, classes int) []int {
	out := make([]int, len(p)/classes)
	for i := range out {
		row := p[i*classes : (i+1)*classes]
		best := 0
		for c, v := range row {
			if v > row[best] {
				best = c
			}
		}
		out[i] = best
	}
	return out
}

// MacroF1 is the unweighted mean F1 over the classes that occur in truth
// or pred (scikit-learn's default label set).
func MacroF1(truth, pred []int, classes int) float64 {
	tp := make([]float64, classes)
	fp := make([]float64, classes)
	fn := make([]float64, classes)
	for i, t := range truth {
		if p := pred[i]; p == t {
			tp[t]++
		} else {
			fp[p]++
			fn[t]++
		}
	}
	sum, n := 0.0, 0
	for c := range classes {
		if tp[c]+fp[c]+fn[c] == 0 {
			continue
		}
		n++
		sum += 2 * tp[c] / (2*tp[c] + fp[c] + fn[c])
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// Accuracy is the share of equal labels.
func Accuracy(truth, pred []int) float64 {
	ok := 0
	for i, t := range truth {
		if pred[i] == t {
			ok++
		}
	}
	return float64(ok) / float64(len(truth))
}

// Recall is the share of rows of class c predicted as c.
func Recall(truth, pred []int, c int) float64 {
	n, ok := 0, 0
	for i, t := range truth {
		if t == c {
			n++
			if pred[i] == c {
				ok++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return float64(ok) / float64(n)
}

// Corrupt damages an ensemble's trees as fuzz input says, four bytes an
// edit (tree, node, field, value): a node's feature, child, leaf or bin
// index set to a small signed value, or a tree's leaf values halved. It is
// what the model fuzz targets feed Validate and prediction with.
func Corrupt(trees []tree.Tree, data []byte) {
	for ; len(data) >= 4; data = data[4:] {
		tr := &trees[int(data[0])%len(trees)]
		n := &tr.Nodes[int(data[1])%len(tr.Nodes)]
		v := int32(int8(data[3]))
		switch data[2] % 6 {
		case 0:
			n.Feature = v
		case 1:
			n.Left = v
		case 2:
			n.Right = v
		case 3:
			n.Leaf = v
		case 4:
			n.Bin = uint8(v)
		case 5:
			tr.Values = tr.Values[:len(tr.Values)/2]
		}
	}
}

// Ensemble is what FuzzDecoded needs of a tree model.
type Ensemble interface {
	Validate() error
	PredictProba(x, out []float64)
	PredictProbaBatch(X *ml.Matrix, out []float64, threads int) error
}

// FuzzDecoded is the model fuzz targets' body: it decodes raw (a model's
// JSON) afresh for every input, corrupts its trees as the input says
// (Corrupt), and a model that still passes Validate must predict without
// panicking on rows with NaN. M is the model type; trees returns its trees.
func FuzzDecoded[M any, PM interface {
	*M
	Ensemble
}](f *testing.F, raw []byte, trees func(PM) []tree.Tree) {
	f.Add([]byte{0, 0, 0, 9})
	f.Add([]byte{1, 3, 1, 200, 2, 5, 2, 1})
	f.Add([]byte{2, 1, 3, 0, 4, 2, 4, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := PM(new(M))
		if err := json.Unmarshal(raw, c); err != nil {
			t.Fatal(err)
		}
		Corrupt(trees(c), data)
		if c.Validate() != nil {
			return
		}
		X := ml.NewMatrix(4, 3)
		copy(X.Data, []float64{0, 1, 2, math.NaN(), 5, -3, 9, math.NaN(), 1, 4, 4, 4})
		out := make([]float64, 4*3)
		if err := c.PredictProbaBatch(X, out, 2); err != nil {
			t.Fatal(err)
		}
		c.PredictProba(X.Row(1), out[:3])
	})
}
