package report

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// svg builds one inline SVG chart. Every attribute value and every text
// node goes through template.HTMLEscapeString, so class and feature names
// from data files cannot inject markup; element and attribute names are
// literals in this package.
type svg struct {
	b strings.Builder
}

// newSVG starts a chart of w×h CSS pixels; label is its accessible name.
func newSVG(w, h float64, label string) *svg {
	s := &svg{}
	s.open("svg", "xmlns", "http://www.w3.org/2000/svg", "class", "chart",
		"viewBox", "0 0 "+num(w)+" "+num(h), "width", num(w), "height", num(h),
		"role", "img", "aria-label", label)
	return s
}

// html closes the chart and returns it for the page template. This is the
// one place a chart becomes trusted HTML; see the svg type for why that
// holds.
func (s *svg) html() template.HTML {
	s.close("svg")
	return template.HTML(s.b.String())
}

func (s *svg) attrs(kv []string) {
	for i := 0; i+1 < len(kv); i += 2 {
		s.b.WriteByte(' ')
		s.b.WriteString(kv[i])
		s.b.WriteString(`="`)
		s.b.WriteString(template.HTMLEscapeString(kv[i+1]))
		s.b.WriteByte('"')
	}
}

// open writes a start tag with attribute name/value pairs.
func (s *svg) open(tag string, kv ...string) {
	s.b.WriteByte('<')
	s.b.WriteString(tag)
	s.attrs(kv)
	s.b.WriteByte('>')
}

func (s *svg) close(tag string) {
	s.b.WriteString("</" + tag + ">")
}

// el writes an empty element.
func (s *svg) el(tag string, kv ...string) {
	s.b.WriteByte('<')
	s.b.WriteString(tag)
	s.attrs(kv)
	s.b.WriteString("/>")
}

// text writes a text element at (x, y).
func (s *svg) text(x, y float64, t string, kv ...string) {
	s.open("text", append([]string{"x", num(x), "y", num(y)}, kv...)...)
	s.b.WriteString(template.HTMLEscapeString(t))
	s.close("text")
}

// title writes a tooltip for the enclosing element.
func (s *svg) title(t string) {
	s.b.WriteString("<title>" + template.HTMLEscapeString(t) + "</title>")
}

func (s *svg) line(x1, y1, x2, y2 float64, kv ...string) {
	s.el("line", append([]string{"x1", num(x1), "y1", num(y1), "x2", num(x2), "y2", num(y2)}, kv...)...)
}

func (s *svg) rect(x, y, w, h float64, kv ...string) {
	s.el("rect", append([]string{"x", num(x), "y", num(y), "width", num(w), "height", num(h)}, kv...)...)
}

// num formats a coordinate with at most one decimal: a tenth of a pixel is
// below what a screen shows and keeps 2,000-point scatter plots small.
func num(v float64) string {
	if !finite(v) {
		return "0"
	}
	s := strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
	if s == "-0" {
		return "0"
	}
	return s
}

// textWidth estimates the rendered width of t at the given font size; SVG
// has no layout engine to ask, and sans-serif glyphs average about 0.58 em.
func textWidth(t string, size float64) float64 {
	return float64(utf8.RuneCountInString(t)) * size * 0.58
}

// clip shortens t to at most n runes, marking the cut with an ellipsis; the
// full name goes in a tooltip.
func clip(t string, n int) string {
	if utf8.RuneCountInString(t) <= n {
		return t
	}
	r := []rune(t)
	return string(r[:n-1]) + "…"
}

// scale maps a data value to a pixel coordinate.
type scale interface {
	at(v float64) float64
}

// linear maps [d0, d1] onto [r0, r1].
type linear struct{ d0, d1, r0, r1 float64 }

func (l linear) at(v float64) float64 {
	if l.d1 == l.d0 {
		return (l.r0 + l.r1) / 2
	}
	return l.r0 + (v-l.d0)/(l.d1-l.d0)*(l.r1-l.r0)
}

// logScale maps [d0, d1] (both > 0) onto [r0, r1] logarithmically; values
// at or below d0 are drawn at d0.
type logScale struct{ d0, d1, r0, r1 float64 }

func (l logScale) at(v float64) float64 {
	v = max(v, l.d0)
	return linear{math.Log10(l.d0), math.Log10(l.d1), l.r0, l.r1}.at(math.Log10(v))
}

type tick struct {
	v     float64
	label string
}

// niceTicks returns about n ticks at round steps (1, 2 or 5 × 10^k)
// within [lo, hi], labelled with just enough decimals for the step.
func niceTicks(lo, hi float64, n int) []tick {
	return ticksFrom(lo, hi, n, false)
}

// coverTicks is niceTicks extended by a step at either end where needed,
// so that the ticks enclose [lo, hi]: for axes that should end on a tick.
func coverTicks(lo, hi float64, n int) []tick {
	return ticksFrom(lo, hi, n, true)
}

func ticksFrom(lo, hi float64, n int, cover bool) []tick {
	if !(hi > lo) || n < 1 {
		return []tick{{lo, trimFloat(lo, 2)}}
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	// The round step nearest the raw one, so the count stays near n.
	var step float64
	switch r := raw / mag; {
	case r < 1.5:
		step = mag
	case r < 3:
		step = 2 * mag
	case r < 7:
		step = 5 * mag
	default:
		step = 10 * mag
	}
	dec := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	first, last := math.Ceil(lo/step-1e-9), math.Floor(hi/step+1e-9)
	if cover {
		first, last = math.Floor(lo/step+1e-9), math.Ceil(hi/step-1e-9)
	}
	var ts []tick
	for k := first; k <= last; k++ {
		v := k * step
		ts = append(ts, tick{v, trimFloat(v, dec)})
	}
	return ts
}

// trimFloat formats a tick value with a typographic minus sign.
func trimFloat(v float64, dec int) string {
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if strings.Trim(s, "-0.") == "" {
		return "0"
	}
	return strings.Replace(s, "-", "−", 1)
}

// logTicks returns a tick per power of ten in [lo, hi], labelled 10⁻ⁿ.
func logTicks(lo, hi float64) []tick {
	var ts []tick
	for e := math.Ceil(math.Log10(lo) - 1e-9); e <= math.Log10(hi)+1e-9; e++ {
		ts = append(ts, tick{math.Pow(10, e), pow10Label(int(e))})
	}
	return ts
}

// pow10Label writes 10^e with Unicode superscripts, e.g. 10⁻⁴.
func pow10Label(e int) string {
	switch e {
	case 0:
		return "1"
	case 1:
		return "10"
	}
	const sup = "⁰¹²³⁴⁵⁶⁷⁸⁹"
	digits := []rune(sup)
	var b strings.Builder
	b.WriteString("10")
	if e < 0 {
		b.WriteRune('⁻')
		e = -e
	}
	for _, c := range strconv.Itoa(e) {
		b.WriteRune(digits[c-'0'])
	}
	return b.String()
}

// frame is a plot area inside a chart, with its two scales.
type frame struct {
	s          *svg
	x, y, w, h float64 // plot area in chart pixels
	xs, ys     scale
}

// axes draws the grid, the tick labels and the axis titles.
func (f *frame) axes(xt, yt []tick, xlabel, ylabel string) {
	s := f.s
	s.open("g", "class", "grid")
	for _, t := range xt {
		x := f.xs.at(t.v)
		s.line(x, f.y, x, f.y+f.h)
	}
	for _, t := range yt {
		y := f.ys.at(t.v)
		s.line(f.x, y, f.x+f.w, y)
	}
	s.close("g")
	s.rect(f.x, f.y, f.w, f.h, "class", "plotbox")
	s.open("g", "class", "tick")
	for _, t := range xt {
		s.text(f.xs.at(t.v), f.y+f.h+16, t.label, "text-anchor", "middle")
	}
	for _, t := range yt {
		s.text(f.x-7, f.ys.at(t.v)+4, t.label, "text-anchor", "end")
	}
	s.close("g")
	s.text(f.x+f.w/2, f.y+f.h+38, xlabel, "class", "axis-title", "text-anchor", "middle")
	s.text(0, 0, ylabel, "class", "axis-title", "text-anchor", "middle",
		"transform", fmt.Sprintf("translate(%s %s) rotate(-90)", num(f.x-44), num(f.y+f.h/2)))
}

// polyline writes a path through pts (in data units), simplified to
// within a third of a pixel: curves from large test sets have far more
// points than a chart has pixels.
func (f *frame) polyline(pts [][2]float64, kv ...string) {
	px := make([][2]float64, 0, len(pts))
	for _, p := range pts {
		if finite(p[0]) && finite(p[1]) {
			px = append(px, [2]float64{f.xs.at(p[0]), f.ys.at(p[1])})
		}
	}
	if len(px) == 0 {
		return
	}
	var d strings.Builder
	for i, keep := range simplify(px, 0.33) {
		if !keep {
			continue
		}
		if d.Len() == 0 {
			d.WriteString("M")
		} else {
			d.WriteString("L")
		}
		d.WriteString(num(px[i][0]) + " " + num(px[i][1]))
	}
	f.s.el("path", append([]string{"d", d.String()}, kv...)...)
}

// simplify marks the points of a polyline to keep so that no dropped point
// lies farther than tol from the kept line (Ramer–Douglas–Peucker). The
// first and last points are always kept.
func simplify(pts [][2]float64, tol float64) []bool {
	keep := make([]bool, len(pts))
	keep[0], keep[len(pts)-1] = true, true
	stack := [][2]int{{0, len(pts) - 1}}
	for len(stack) > 0 {
		a, b := stack[len(stack)-1][0], stack[len(stack)-1][1]
		stack = stack[:len(stack)-1]
		far, worst := -1, tol
		for i := a + 1; i < b; i++ {
			if dist := segmentDistance(pts[i], pts[a], pts[b]); dist > worst {
				far, worst = i, dist
			}
		}
		if far >= 0 {
			keep[far] = true
			stack = append(stack, [2]int{a, far}, [2]int{far, b})
		}
	}
	return keep
}

// segmentDistance is the distance from p to the segment a–b.
func segmentDistance(p, a, b [2]float64) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	t := 0.0
	if l := dx*dx + dy*dy; l > 0 {
		t = max(0, min(1, ((p[0]-a[0])*dx+(p[1]-a[1])*dy)/l))
	}
	return math.Hypot(p[0]-a[0]-t*dx, p[1]-a[1]-t*dy)
}
