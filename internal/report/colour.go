package report

import (
	"fmt"
	"math"
)

// Class colours: Paul Tol's "muted" scheme, designed to stay distinct
// under the common colour-vision deficiencies. Benign traffic is neutral
// grey so that attacks stand out in every chart. Past nine attack classes
// the colours repeat with a different marker shape and line dash, so up to
// 45 classes get a unique look.
var (
	classColours = []string{"#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499"}
	benignColour = "#9A9A9A"
	// aggregateColour draws curves that are not one class, such as
	// "attack vs benign".
	aggregateColour = "#1A1A1A"
	dashes          = []string{"", "7 3", "2 2.5", "9 3 2 3", "4 4"}
)

const (
	shapeCircle = iota
	shapeSquare
	shapeTriangle
	shapeDiamond
	shapeTriangleDown
	numShapes
)

// style is how one class is drawn in every chart.
type style struct {
	colour string
	shape  int
	dash   string
	width  float64 // line width in curve charts
}

// classStyles assigns styles in class order, counting attack classes only
// so that the benign class, wherever it sits, does not use up a colour.
func classStyles(n, benign int) []style {
	st := make([]style, n)
	k := 0
	for i := range st {
		if i == benign {
			st[i] = style{colour: benignColour, width: 1.6}
			continue
		}
		g := k / len(classColours) % numShapes
		st[i] = style{colour: classColours[k%len(classColours)], shape: g, dash: dashes[g], width: 1.8}
		k++
	}
	return st
}

// marker draws a point marker of the given shape and radius at (x, y);
// fill and stroke come from the enclosing group.
func marker(s *svg, shape int, x, y, r float64) {
	switch shape {
	case shapeSquare:
		a := r * 0.9
		s.rect(x-a, y-a, 2*a, 2*a)
	case shapeTriangle:
		a := r * 1.2
		s.el("path", "d", fmt.Sprintf("M%s %sl%s %sh%sz", num(x), num(y-a), num(a), num(1.7*a), num(-2*a)))
	case shapeTriangleDown:
		a := r * 1.2
		s.el("path", "d", fmt.Sprintf("M%s %sl%s %sh%sz", num(x), num(y+a), num(a), num(-1.7*a), num(-2*a)))
	case shapeDiamond:
		a := r * 1.25
		s.el("path", "d", fmt.Sprintf("M%s %sl%s %sl%s %sl%s %sz", num(x), num(y-a), num(a), num(a), num(-a), num(a), num(-a), num(-a)))
	default:
		s.el("circle", "cx", num(x), "cy", num(y), "r", num(r))
	}
}

// Sequential and diverging ramps, as sRGB stops at even spacing.
var (
	// blues shades correct predictions (the confusion-matrix diagonal).
	blues = ramp{"#F4F8FC", "#C6DBEF", "#9ECAE1", "#6BAED6", "#3F8FC5", "#1F6EB0", "#0B4C8C", "#08306B"}
	// oranges shades misclassifications.
	oranges = ramp{"#FFF5EB", "#FDD8B0", "#FDB272", "#F98C3F", "#E8641A", "#C44A0B", "#8C3003"}
	// blueRed is Tol's BuRd diverging scheme for correlations −1…1.
	blueRed = ramp{"#2166AC", "#4393C3", "#92C5DE", "#D1E5F0", "#F7F7F7", "#FDDBC7", "#F4A582", "#D6604D", "#B2182B"}
)

type ramp []string

// at returns the colour at t in [0, 1] (clamped), interpolated in sRGB.
func (r ramp) at(t float64) string {
	if math.IsNaN(t) {
		t = 0
	}
	t = max(0, min(1, t)) * float64(len(r)-1)
	i := min(int(t), len(r)-2)
	f := t - float64(i)
	a, b := rgb(r[i]), rgb(r[i+1])
	var c [3]float64
	for k := range c {
		c[k] = a[k] + (b[k]-a[k])*f
	}
	return fmt.Sprintf("#%02X%02X%02X", int(math.Round(c[0])), int(math.Round(c[1])), int(math.Round(c[2])))
}

func rgb(hex string) [3]float64 {
	var r, g, b int
	fmt.Sscanf(hex, "#%02x%02x%02x", &r, &g, &b)
	return [3]float64{float64(r), float64(g), float64(b)}
}

// inkOn returns a text colour readable on background bg: white on dark
// fills, near-black on light ones (by relative luminance).
func inkOn(bg string) string {
	c := rgb(bg)
	var l float64
	for k, w := range []float64{0.2126, 0.7152, 0.0722} {
		v := c[k] / 255
		if v <= 0.04045 {
			v /= 12.92
		} else {
			v = math.Pow((v+0.055)/1.055, 2.4)
		}
		l += w * v
	}
	if l < 0.36 {
		return "#FFFFFF"
	}
	return "#1A1A1A"
}
