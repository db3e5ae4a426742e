package tree

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
)

// randomTree grows a one-output tree over features features whose leaves
// sit at depths from 0 to depth, splitting at values from a small set so
// that rows tie with thresholds.
func randomTree(rng *rand.Rand, features, depth int) Tree {
	t := Tree{Outputs: 1}
	var grow func(d int) int32
	grow = func(d int) int32 {
		i := int32(len(t.Nodes))
		t.Nodes = append(t.Nodes, Node{})
		t.Gain = append(t.Gain, 0)
		if d == depth || (d > 0 && rng.IntN(4) == 0) {
			t.Nodes[i] = Node{Feature: -1, Leaf: int32(len(t.Values))}
			t.Values = append(t.Values, rng.NormFloat64())
			return i
		}
		n := Node{Feature: int32(rng.IntN(features)), Threshold: float64(rng.IntN(7)) - 3, DefaultLeft: rng.IntN(2) == 0}
		n.Left = grow(d + 1)
		n.Right = grow(d + 1)
		t.Nodes[i] = n
		return i
	}
	grow(0)
	return t
}

// TestCompiledMatchesLeaf checks every compiled walk (fixed-depth for rows
// without NaN, the general one with them, one row and batches) against
// Tree.Leaf, bit for bit, summing in tree order per output.
func TestCompiledMatchesLeaf(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const features = 5
	special := []float64{math.Inf(1), math.Inf(-1), -3, 0, 3, 0.5}
	for _, c := range []struct {
		trees, width, depth int
		nan                 bool
	}{
		{1, 1, 0, false}, {7, 1, 3, false}, {40, 3, 6, false}, {40, 3, 6, true},
		{150, 8, 6, false}, {30, 2, 13, false}, {200, 5, 4, true},
	} {
		trees := make([]Tree, c.trees)
		for i := range trees {
			trees[i] = randomTree(rng, features, rng.IntN(c.depth+1))
			if err := trees[i].Validate(features, 1, nil); err != nil {
				t.Fatal(err)
			}
		}
		e := Compile(trees)
		X := ml.NewMatrix(203, features)
		for i := range X.Data {
			switch rng.IntN(8) {
			case 0:
				X.Data[i] = special[rng.IntN(len(special))]
			case 1:
				if c.nan {
					X.Data[i] = math.NaN()
				}
			default:
				X.Data[i] = rng.NormFloat64() * 3
			}
		}
		init := make([]float64, c.width)
		for k := range init {
			init[k] = float64(k) / 3
		}
		want := make([]float64, X.Rows*c.width)
		for r := range X.Rows {
			s := want[r*c.width : (r+1)*c.width]
			copy(s, init)
			for i := range trees {
				s[i%c.width] += trees[i].Values[trees[i].Leaf(X.Row(r))]
			}
		}
		got := make([]float64, c.width)
		for r := range X.Rows {
			copy(got, init)
			e.SumRow(X.Row(r), got)
			for k, v := range got {
				if math.Float64bits(v) != math.Float64bits(want[r*c.width+k]) {
					t.Fatalf("%+v: SumRow row %d output %d: %v, want %v", c, r, k, v, want[r*c.width+k])
				}
			}
		}
		for _, threads := range []int{1, 3} {
			e.SumBatch(X, init, threads, func(r int, sums []float64) {
				for k, v := range sums {
					if math.Float64bits(v) != math.Float64bits(want[r*c.width+k]) {
						t.Errorf("%+v: SumBatch row %d output %d: %v, want %v", c, r, k, v, want[r*c.width+k])
					}
				}
			})
		}
	}
}

// TestSumRowShortRow requires a row too short for the trees to fail the
// bounds check rather than read past it.
func TestSumRowShortRow(t *testing.T) {
	tr := Tree{Outputs: 1, Nodes: []Node{{Feature: 3, Left: 1, Right: 2}, {Feature: -1}, {Feature: -1, Leaf: 1}},
		Values: []float64{1, 2}, Gain: []float64{0, 0, 0}}
	e := Compile([]Tree{tr})
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a row of 2 values read at feature 3")
		}
	}()
	e.SumRow([]float64{1, 2}, make([]float64, 1))
}
