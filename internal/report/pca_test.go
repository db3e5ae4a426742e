package report

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestPCALine: points on a line in 3-D have all their variance on PC1.
func TestPCALine(t *testing.T) {
	var x []float64
	for i := range 50 {
		v := float64(i) - 20
		x = append(x, v, 2*v+3, -0.5*v)
	}
	p, err := PCA2(x, 50, 3, nil, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !near(p.ExplainedVariance[0], 1, 1e-9) || !near(p.ExplainedVariance[1], 0, 1e-9) {
		t.Errorf("explained = %v, want [1 0]", p.ExplainedVariance)
	}
	if len(p.Points) != 50 || p.Labels != nil || p.Balanced {
		t.Fatalf("got %d points, labels %v, balanced %v", len(p.Points), p.Labels, p.Balanced)
	}
	// Standardised, every column is ±(v-mean)/sd; PC1 = (z1+z2-z3)/√3 = √3·z1.
	sd := math.Sqrt(50 * 51 / 12.0) // sample sd of 0..49
	for i, pt := range p.Points {
		z := (float64(i) - 24.5) / sd
		if !near(float64(pt[0]), math.Sqrt(3)*z, 1e-5) || !near(float64(pt[1]), 0, 1e-5) {
			t.Fatalf("point %d = %v, want (%g, 0)", i, pt, math.Sqrt(3)*z)
		}
	}
}

// TestPCARotation: the points (±3, 0) and (0, ±1) turned by 45°. After
// standardising, the axes come back as the diagonals, with the original
// 9:1 variance split, and each point projects to its unrotated
// coordinates over the common column sd.
func TestPCARotation(t *testing.T) {
	orig := [][2]float64{{-3, 0}, {3, 0}, {0, -1}, {0, 1}}
	c := math.Sqrt(0.5)
	var x []float64
	for _, p := range orig {
		x = append(x, c*p[0]-c*p[1], c*p[0]+c*p[1])
	}
	p, err := PCA2(x, 4, 2, nil, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !near(p.ExplainedVariance[0], 0.9, 1e-12) || !near(p.ExplainedVariance[1], 0.1, 1e-12) {
		t.Errorf("explained = %v, want [0.9 0.1]", p.ExplainedVariance)
	}
	sd := math.Sqrt(10.0 / 3) // both columns: sum of squares 10 over n-1 = 3
	for i, o := range orig {
		// PC1 = (1, 1)/√2 and PC2 = (1, −1)/√2 (signs fixed by orient).
		want := [2]float64{o[0] / sd, -o[1] / sd}
		got := p.Points[i]
		if !near(float64(got[0]), want[0], 1e-6) || !near(float64(got[1]), want[1], 1e-6) {
			t.Errorf("point %d = %v, want %v", i, got, want)
		}
	}
}

// TestPCABalanced: a rare class keeps all its rows in the sample, the
// others share the rest; constant and non-finite columns do no harm.
func TestPCABalanced(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const rows, cols = 5000, 4
	x := make([]float64, rows*cols)
	labels := make([]int, rows)
	for r := range rows {
		labels[r] = 0
		if r%1000 == 0 {
			labels[r] = 2 // 5 rows
		} else if r%3 == 0 {
			labels[r] = 1
		}
		x[r*cols] = rng.NormFloat64() + 4*float64(labels[r])
		x[r*cols+1] = rng.NormFloat64()
		x[r*cols+2] = 7 // constant
		x[r*cols+3] = rng.NormFloat64()
		if r%97 == 0 {
			x[r*cols+3] = math.Inf(1)
		}
	}
	p, err := PCA2(x, rows, cols, labels, 301, 9)
	if err != nil {
		t.Fatal(err)
	}
	count := map[int]int{}
	for _, l := range p.Labels {
		count[l]++
	}
	if count[2] != 5 || count[0] != 148 || count[1] != 148 || !p.Balanced {
		t.Errorf("sample per class = %v (balanced %v), want 2:5 and 148 each for the others", count, p.Balanced)
	}
	for _, pt := range p.Points {
		if !finite(float64(pt[0])) || !finite(float64(pt[1])) {
			t.Fatal("non-finite projection")
		}
	}
	if s := p.ExplainedVariance[0] + p.ExplainedVariance[1]; s <= 0 || s > 1+1e-9 {
		t.Errorf("explained = %v", p.ExplainedVariance)
	}
	again, _ := PCA2(x, rows, cols, labels, 301, 9)
	for i := range p.Points {
		if p.Points[i] != again.Points[i] || p.Labels[i] != again.Labels[i] {
			t.Fatal("same seed, different result")
		}
	}
}

func TestPCADegenerate(t *testing.T) {
	p, err := PCA2([]float64{5}, 1, 1, []int{0}, 10, 1)
	if err != nil || len(p.Points) != 1 || p.Points[0] != [2]float32{} || p.ExplainedVariance != [2]float64{} {
		t.Errorf("one value: %+v, %v", p, err)
	}
	p, err = PCA2([]float64{1, 2, 3}, 3, 1, nil, 10, 1)
	if err != nil || p.ExplainedVariance != [2]float64{1, 0} {
		t.Errorf("one feature: %+v, %v", p, err)
	}
	for _, c := range []struct {
		x          []float64
		rows, cols int
		labels     []int
		max        int
	}{
		{nil, 0, 3, nil, 10}, {[]float64{1, 2}, 1, 3, nil, 10}, {[]float64{1, 2}, 2, 1, []int{0}, 10}, {[]float64{1}, 1, 1, nil, 0},
	} {
		if _, err := PCA2(c.x, c.rows, c.cols, c.labels, c.max, 1); err == nil {
			t.Errorf("PCA2(%v, %d, %d, %v, %d): no error", c.x, c.rows, c.cols, c.labels, c.max)
		}
	}
}

// TestJacobi checks A·v = λ·v on a random symmetric matrix.
func TestJacobi(t *testing.T) {
	const n = 12
	rng := rand.New(rand.NewPCG(1, 2))
	a := make([]float64, n*n)
	for i := range n {
		for j := i; j < n; j++ {
			a[i*n+j] = rng.NormFloat64()
			a[j*n+i] = a[i*n+j]
		}
	}
	orig := append([]float64(nil), a...)
	values, vectors := jacobiEigen(a, n)
	for e := range n {
		for i := range n {
			var av float64
			for j := range n {
				av += orig[i*n+j] * vectors[j*n+e]
			}
			if !near(av, values[e]*vectors[i*n+e], 1e-9) {
				t.Fatalf("eigenpair %d fails at row %d: %g vs %g", e, i, av, values[e]*vectors[i*n+e])
			}
		}
	}
}

func TestCorrelation(t *testing.T) {
	// Columns: x, 2x+1, −x, alternating, constant, x with a NaN.
	xs := []float64{1, 2, 3, 4, 5}
	alt := []float64{1, 0, 1, 0, 1}
	var m []float64
	for i, v := range xs {
		withNaN := v
		if i == 2 {
			withNaN = math.NaN() // the mean, 3, so nothing changes
		}
		m = append(m, v, 2*v+1, -v, alt[i], 7, withNaN)
	}
	names := []string{"x", "2x+1", "-x", "alt", "const", "x nan"}
	c, err := Correlation(m, 5, 6, names, nil, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{
		{1, 1, -1, 0, math.NaN(), 1},
		{1, 1, -1, 0, math.NaN(), 1},
		{-1, -1, 1, 0, math.NaN(), -1},
		{0, 0, 0, 1, math.NaN(), 0},
	}
	for i, row := range want {
		for j, w := range row {
			got := c.Values[i][j]
			if math.IsNaN(w) != math.IsNaN(got) || !math.IsNaN(w) && !near(got, w, 1e-12) {
				t.Errorf("r(%s, %s) = %g, want %g", names[i], names[j], got, w)
			}
			if got != c.Values[j][i] && !math.IsNaN(got) {
				t.Errorf("matrix not symmetric at %d,%d", i, j)
			}
		}
	}
	if !math.IsNaN(c.Values[4][4]) {
		t.Error("constant column correlates with itself")
	}
	if c.Rows != 5 {
		t.Errorf("rows = %d", c.Rows)
	}

	// Top 2 by importance, listed in column order.
	c, err = Correlation(m, 5, 6, names, []float64{0.1, math.NaN(), 0.9, 0.5, 0, 0}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Names) != 2 || c.Names[0] != "-x" || c.Names[1] != "alt" {
		t.Errorf("kept %v, want [-x alt]", c.Names)
	}
	if _, err := Correlation(m, 5, 6, names[:2], nil, 2, 1); err == nil {
		t.Error("name count mismatch not reported")
	}
}
