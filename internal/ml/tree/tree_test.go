package tree

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
)

func matrix(rows [][]float64) *ml.Matrix {
	m := ml.NewMatrix(len(rows), len(rows[0]))
	for i, r := range rows {
		copy(m.Row(i), r)
	}
	return m
}

func TestCutPoints(t *testing.T) {
	// Few distinct values: one bin each, cuts half-way.
	got := cutPoints([]float64{1, 1, 2, 4, 4, 4}, 255)
	if len(got) != 2 || got[0] != 1.5 || got[1] != 3 {
		t.Fatalf("cuts %v, want [1.5 3]", got)
	}
	// A minimum holding half the rows: the ranks start after it, so the
	// cuts split the other values evenly, as XGBoost's would.
	vals := make([]float64, 0, 2000)
	for range 1000 {
		vals = append(vals, 0)
	}
	for i := range 1000 {
		vals = append(vals, float64(i+1))
	}
	cuts := cutPoints(vals, 8)
	if len(cuts) != 7 || cuts[0] < 130 || cuts[0] > 150 || cuts[5] < 840 || cuts[5] > 870 || cuts[6] != 999.5 {
		t.Fatalf("cuts %v: want 7, about every 143rd value and the last before the maximum", cuts)
	}
	// A heavy value inside the range takes every rank that falls on it,
	// leaving fewer cuts rather than cutting the tail finer.
	vals = vals[:0]
	for i := range 1000 {
		vals = append(vals, float64(i))
	}
	for range 1000 {
		vals = append(vals, 1000)
	}
	vals = append(vals, 1001)
	cuts = cutPoints(vals, 11)
	if len(cuts) != 7 || cuts[0] != 199.5 || cuts[5] != 999.5 || cuts[6] != 1000.5 {
		t.Fatalf("cuts %v: want 7 of the 10, every 200th value below the heavy 1000, then around it", cuts)
	}
	// Infinities stay representable and finite.
	cuts = cutPoints([]float64{math.Inf(-1), 0, math.Inf(1)}, 255)
	if len(cuts) != 2 || math.IsInf(cuts[0], 0) || math.IsInf(cuts[1], 0) {
		t.Fatalf("cuts around infinities %v", cuts)
	}
	b := &Bins{Cuts: [][]float64{cuts}}
	if b.Bin(0, math.Inf(-1)) != 0 || b.Bin(0, 0) != 1 || b.Bin(0, math.Inf(1)) != 2 || b.Bin(0, math.NaN()) != 3 {
		t.Fatalf("bins of -Inf, 0, +Inf, NaN: %d %d %d %d", b.Bin(0, math.Inf(-1)), b.Bin(0, 0), b.Bin(0, math.Inf(1)), b.Bin(0, math.NaN()))
	}
}

func TestFitBinsAndTransform(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	X := ml.NewMatrix(5000, 3)
	for i := range X.Rows {
		r := X.Row(i)
		r[0] = rng.NormFloat64()
		r[1] = float64(rng.IntN(4))
		r[2] = math.NaN()
		if i%3 == 0 {
			r[0] = math.NaN()
		}
	}
	b, err := FitBins(X, nil, BinOptions{SampleRows: 1000, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	if b.NumBins(0) != MaxBins || b.NumBins(1) != 4 || b.NumBins(2) != 1 {
		t.Fatalf("bins per feature %d %d %d, want 255 4 1", b.NumBins(0), b.NumBins(1), b.NumBins(2))
	}
	m, err := b.Transform(X, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range X.Rows {
		for f := range 3 {
			v := X.At(i, f)
			got := m.Col(f)[i]
			if got != b.Bin(f, v) {
				t.Fatalf("row %d feature %d: transform %d, Bin %d", i, f, got, b.Bin(f, v))
			}
			// The bin's interval holds the value.
			cuts := b.Cuts[f]
			if math.IsNaN(v) {
				if got != m.Missing[f] {
					t.Fatalf("NaN in bin %d", got)
				}
				continue
			}
			if (int(got) < len(cuts) && v > cuts[got]) || (got > 0 && v <= cuts[got-1]) {
				t.Fatalf("value %v outside bin %d", v, got)
			}
		}
	}
	if _, err := FitBins(X, nil, BinOptions{MaxBins: 256}); err == nil {
		t.Fatal("256 bins accepted")
	}
}

// grown returns a tree grown on random data with missing values, its
// binned data and its bins.
func grown(t testing.TB, p Params) (*Tree, *ml.Matrix, *Binned, *Bins) {
	rng := rand.New(rand.NewPCG(2, 2))
	X := ml.NewMatrix(3000, 4)
	k := p.Outputs
	s := 2 * k
	if p.SharedHessian {
		s = k + 1
	}
	gh := make([]float64, X.Rows*s)
	for i := range X.Rows {
		r := X.Row(i)
		for f := range r {
			r[f] = rng.Float64()
		}
		for c := range k {
			gh[i*s+c] = math.Sin(7*r[0]+float64(c)) + r[1] - rng.Float64()
			gh[i*s+k+c%(s-k)] = 1
		}
		if p.OneHot {
			clear(gh[i*s : i*s+k])
			gh[i*s+int(3*r[0]+r[1])%k] = -1
		}
		for f := range r {
			if rng.IntN(10) == 0 {
				r[f] = math.NaN()
			}
		}
	}
	b, err := FitBins(X, nil, BinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := b.Transform(X, 0)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGrower(m, b, p)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]int32, X.Rows)
	for i := range rows {
		rows[i] = int32(i)
	}
	tr, err := g.Grow(gh, rows, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Validate(X.Cols, k, b); err != nil {
		t.Fatal(err)
	}
	// Every training row's leaf range agrees with both walks.
	for l := range int32(len(tr.Values) / k) {
		for _, r := range g.LeafRows(l) {
			if got := tr.Leaf(X.Row(int(r))); got != l {
				t.Fatalf("row %d grown into leaf %d, raw walk reaches %d", r, l, got)
			}
			if got := tr.LeafBinned(m, int(r)); got != l {
				t.Fatalf("row %d grown into leaf %d, binned walk reaches %d", r, l, got)
			}
		}
	}
	return tr, X, m, b
}

func TestGrowModes(t *testing.T) {
	for name, p := range map[string]Params{
		"depth-wise":     {Outputs: 1, MaxDepth: 5, Lambda: 1, MinChildWeight: 1},
		"leaf-wise":      {Outputs: 1, MaxLeaves: 20, LeafWise: true, Lambda: 1},
		"3 outputs":      {Outputs: 3, MaxDepth: 4, Lambda: 1},
		"shared hessian": {Outputs: 3, SharedHessian: true, MaxDepth: 6},
		"node sampling":  {Outputs: 1, MaxDepth: 6, NodeFeatures: 2, Threads: 2},
		"level sampling": {Outputs: 1, MaxDepth: 6, ColsampleByLevel: 0.5, ColsampleByTree: 0.8},
		"random splits":  {Outputs: 2, SharedHessian: true, MaxDepth: 8, RandomSplits: true},
		"one-hot":        {Outputs: 3, SharedHessian: true, OneHot: true, NodeFeatures: 2},
		"one-hot random": {Outputs: 3, SharedHessian: true, OneHot: true, NodeFeatures: 3, RandomSplits: true, MaxLeaves: 30},
	} {
		t.Run(name, func(t *testing.T) {
			tr, _, _, _ := grown(t, p)
			leaves := len(tr.Values) / p.Outputs
			if leaves < 2 {
				t.Fatalf("%d leaves", leaves)
			}
			if p.MaxLeaves > 0 && leaves > p.MaxLeaves {
				t.Fatalf("%d leaves, limit %d", leaves, p.MaxLeaves)
			}
		})
	}
}

// TestGrowAllocations checks that growing a tree allocates a fixed amount
// (the returned tree and a goroutine per wide node), not per row.
func TestGrowAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	X := ml.NewMatrix(20000, 8)
	for i := range X.Data {
		X.Data[i] = rng.Float64()
	}
	gh := make([]float64, 2*X.Rows)
	for i := range X.Rows {
		gh[2*i] = X.At(i, 0) - X.At(i, 1)*X.At(i, 2)
		gh[2*i+1] = 1
	}
	b, _ := FitBins(X, nil, BinOptions{})
	m, _ := b.Transform(X, 0)
	g, err := NewGrower(m, b, Params{Outputs: 1, MaxDepth: 6, Lambda: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]int32, X.Rows)
	for i := range rows {
		rows[i] = int32(i)
	}
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := g.Grow(gh, rows, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 10 {
		t.Fatalf("%v allocations per tree after warm-up", allocs)
	}
}

func TestTreeValidate(t *testing.T) {
	tr, _, _, b := grown(t, Params{Outputs: 1, MaxDepth: 3, Lambda: 1})
	if err := tr.Validate(4, 2, b); err == nil {
		t.Fatal("wrong output count accepted")
	}
	if err := tr.Validate(1, 1, nil); err == nil {
		t.Fatal("features beyond the model accepted")
	}
	bad := *tr
	bad.Nodes = append([]Node(nil), tr.Nodes...)
	bad.Nodes[0].Left = 0
	if err := bad.Validate(4, 1, b); err == nil {
		t.Fatal("self loop accepted")
	}
}

// FuzzTreeValidate corrupts a grown tree's nodes from fuzz input: whatever
// passes Validate must walk to a leaf without panicking, raw or binned.
func FuzzTreeValidate(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 0, 0, 0})
	f.Add([]byte{3, 2, 5, 0, 0, 0, 9, 1, 1, 2, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{7, 4, 0, 0, 0, 0, 0, 2, 3, 0x80, 0, 0, 0, 0})
	tr, X, m, b := grown(f, Params{Outputs: 2, MaxDepth: 4, Lambda: 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Tree{Outputs: tr.Outputs, Nodes: append([]Node(nil), tr.Nodes...), Values: append([]float64(nil), tr.Values...), Gain: append([]float64(nil), tr.Gain...)}
		for len(data) >= 7 {
			n := &c.Nodes[int(data[0])%len(c.Nodes)]
			v := int32(binary.LittleEndian.Uint32(data[2:6]))
			switch data[1] % 6 {
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
				n.DefaultLeft = v&1 == 1
			}
			if data[6]&1 == 1 && len(c.Values) > 0 {
				c.Values = c.Values[:len(c.Values)-1]
			}
			data = data[7:]
		}
		bins := b
		if len(data) > 0 {
			bins = nil // also fuzz without the bin consistency check
		}
		if c.Validate(X.Cols, 2, bins) != nil {
			return
		}
		e := Compile([]Tree{c})
		sums := make([]float64, 2)
		for i := range 50 {
			l := c.Leaf(X.Row(i))
			_ = c.Values[int(l)*2+1]
			// The prediction layout walks to the same leaf.
			sums[0], sums[1] = 0, 0
			e.SumRow(X.Row(i), sums)
			if sums[0] != c.Values[int(l)*2] || sums[1] != c.Values[int(l)*2+1] {
				t.Fatalf("row %d: compiled sums %v, leaf %d values %v", i, sums, l, c.Values[int(l)*2:int(l)*2+2])
			}
			l = c.LeafBinned(m, i)
			_ = c.Values[int(l)*2+1]
		}
	})
}

func BenchmarkGrow(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	// Like flow features: half of the columns are zero for 70 % of rows.
	X := ml.NewMatrix(200_000, 32)
	for i := range X.Data {
		X.Data[i] = rng.Float64()
		if i%2 == 0 && rng.IntN(10) < 7 {
			X.Data[i] = 0
		}
	}
	gh := make([]float64, 2*X.Rows)
	for i := range X.Rows {
		gh[2*i] = X.At(i, 0) - X.At(i, 1)*X.At(i, 2) + rng.NormFloat64()
		gh[2*i+1] = 1
	}
	bins, _ := FitBins(X, nil, BinOptions{})
	m, _ := bins.Transform(X, 0)
	g, err := NewGrower(m, bins, Params{Outputs: 1, MaxDepth: 6, Lambda: 1})
	if err != nil {
		b.Fatal(err)
	}
	rows := make([]int32, X.Rows)
	for i := range rows {
		rows[i] = int32(i)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Grow(gh, rows, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBinning(b *testing.B) {
	rng := rand.New(rand.NewPCG(6, 6))
	X := ml.NewMatrix(200_000, 32)
	for i := range X.Data {
		X.Data[i] = math.Round(rng.ExpFloat64()*1000) / 10
	}
	b.ReportAllocs()
	for b.Loop() {
		bins, err := FitBins(X, nil, BinOptions{Threads: 1})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bins.Transform(X, 1); err != nil {
			b.Fatal(err)
		}
	}
}
