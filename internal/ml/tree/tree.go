package tree

import (
	"fmt"
	"math"
)

// Node is one node of a Tree. An internal node sends a row left when its
// feature value is <= Threshold (in bin space: when its bin code is <= Bin)
// and NaN to the side DefaultLeft names. A leaf has Feature -1 and its
// Outputs values start at Tree.Values[Leaf*Outputs].
type Node struct {
	Feature     int32   `json:"f"`
	Left        int32   `json:"l,omitempty"`
	Right       int32   `json:"r,omitempty"`
	Leaf        int32   `json:"v,omitempty"`
	Threshold   float64 `json:"t,omitempty"`
	Bin         uint8   `json:"b,omitempty"`
	DefaultLeft bool    `json:"d,omitempty"`
}

// Tree is a trained tree as plain data. Children always have larger
// indices than their parent, which Validate checks, so walking a valid tree
// always ends at a leaf.
type Tree struct {
	// Outputs is the number of values per leaf (K).
	Outputs int `json:"outputs"`
	// Nodes; node 0 is the root.
	Nodes []Node `json:"nodes"`
	// Values holds Outputs values per leaf, in leaf order.
	Values []float64 `json:"values"`
	// Gain is the loss reduction of each node's split (0 at leaves),
	// kept for feature importance.
	Gain []float64 `json:"gain"`
}

// Leaf returns the index of the leaf row x lands in; its values are
// t.Values[i*t.Outputs:(i+1)*t.Outputs]. x must have every feature the
// tree tests.
func (t *Tree) Leaf(x []float64) int32 {
	nodes := t.Nodes
	i := int32(0)
	for {
		n := &nodes[i]
		if n.Feature < 0 {
			return n.Leaf
		}
		v := x[n.Feature]
		switch {
		case v <= n.Threshold:
			i = n.Left
		case v != v && n.DefaultLeft:
			i = n.Left
		default:
			i = n.Right
		}
	}
}

// LeafBinned is Leaf for row r of a binned matrix made with the bins the
// tree was grown on.
func (t *Tree) LeafBinned(m *Binned, r int) int32 {
	nodes := t.Nodes
	i := int32(0)
	for {
		n := &nodes[i]
		if n.Feature < 0 {
			return n.Leaf
		}
		b := m.Data[int(n.Feature)*m.Rows+r]
		switch {
		case b <= n.Bin:
			i = n.Left
		case b == m.Missing[n.Feature] && n.DefaultLeft:
			i = n.Left
		default:
			i = n.Right
		}
	}
}

// Validate checks that t is a well-formed tree over numFeatures features
// with outputs values per leaf, so that Leaf can never index out of range
// or loop: children after their parent and in range, every node but the
// root with exactly one parent, leaf indices a permutation of
// 0..leaves-1, the right number of finite values and gains. When bins is
// not nil, each split's Bin must be a cut of its feature and Threshold
// that cut's value.
func (t *Tree) Validate(numFeatures, outputs int, bins *Bins) error {
	n := len(t.Nodes)
	switch {
	case t.Outputs != outputs:
		return fmt.Errorf("tree has %d outputs, want %d", t.Outputs, outputs)
	case n == 0:
		return fmt.Errorf("tree has no nodes")
	case n > math.MaxInt32:
		return fmt.Errorf("tree has %d nodes", n)
	case len(t.Gain) != n:
		return fmt.Errorf("tree has %d gains for %d nodes", len(t.Gain), n)
	}
	parents := make([]uint8, n)
	leaves := 0
	for i := range t.Nodes {
		if t.Nodes[i].Feature < 0 {
			leaves++
		}
	}
	if len(t.Values) != leaves*outputs {
		return fmt.Errorf("tree has %d values for %d leaves × %d outputs", len(t.Values), leaves, outputs)
	}
	seen := make([]bool, leaves)
	for i, nd := range t.Nodes {
		if nd.Feature < 0 {
			if nd.Feature != -1 {
				return fmt.Errorf("node %d: feature %d", i, nd.Feature)
			}
			if nd.Leaf < 0 || int(nd.Leaf) >= leaves || seen[nd.Leaf] {
				return fmt.Errorf("node %d: leaf index %d invalid or repeated (%d leaves)", i, nd.Leaf, leaves)
			}
			seen[nd.Leaf] = true
			continue
		}
		if int(nd.Feature) >= numFeatures {
			return fmt.Errorf("node %d: feature %d, model has %d", i, nd.Feature, numFeatures)
		}
		if nd.Left <= int32(i) || int(nd.Left) >= n || nd.Right <= int32(i) || int(nd.Right) >= n || nd.Left == nd.Right {
			return fmt.Errorf("node %d: children %d, %d invalid for %d nodes", i, nd.Left, nd.Right, n)
		}
		parents[nd.Left]++
		parents[nd.Right]++
		if math.IsNaN(nd.Threshold) || math.IsInf(nd.Threshold, 0) {
			return fmt.Errorf("node %d: threshold %v", i, nd.Threshold)
		}
		if bins != nil {
			cuts := bins.Cuts[nd.Feature]
			if int(nd.Bin) >= len(cuts) || cuts[nd.Bin] != nd.Threshold {
				return fmt.Errorf("node %d: bin %d with threshold %v is not a cut of feature %d", i, nd.Bin, nd.Threshold, nd.Feature)
			}
		}
	}
	for i := 1; i < n; i++ {
		if parents[i] != 1 {
			return fmt.Errorf("node %d has %d parents", i, parents[i])
		}
	}
	for i, v := range t.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("leaf value %d is %v", i, v)
		}
	}
	for i, g := range t.Gain {
		if math.IsNaN(g) || math.IsInf(g, 0) {
			return fmt.Errorf("node %d gain is %v", i, g)
		}
	}
	return nil
}

// Importance adds up, per feature, the split gain and the number of splits
// over the given trees.
func Importance(trees []Tree, numFeatures int) (gain, splits []float64) {
	gain = make([]float64, numFeatures)
	splits = make([]float64, numFeatures)
	for ti := range trees {
		t := &trees[ti]
		for i, nd := range t.Nodes {
			if nd.Feature >= 0 && int(nd.Feature) < numFeatures {
				gain[nd.Feature] += t.Gain[i]
				splits[nd.Feature]++
			}
		}
	}
	return gain, splits
}

// ValidateEnsemble checks what every tree ensemble model stores: at least
// one feature and two classes, bins for exactly the features, and trees of
// the given number of outputs that split only on those features at their
// cuts. Models add their own checks (version, rounds, base scores).
func ValidateEnsemble(features, classes, outputs int, bins *Bins, trees []Tree) error {
	switch {
	case features < 1:
		return fmt.Errorf("%d features", features)
	case classes < 2:
		return fmt.Errorf("%d classes", classes)
	case len(bins.Cuts) != features:
		return fmt.Errorf("bins for %d features, model has %d", len(bins.Cuts), features)
	}
	if err := bins.Validate(); err != nil {
		return err
	}
	for i := range trees {
		if err := trees[i].Validate(features, outputs, bins); err != nil {
			return fmt.Errorf("tree %d: %w", i, err)
		}
	}
	return nil
}
