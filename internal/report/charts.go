package report

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
)

const (
	labelSize = 12.0 // px, axis and category labels
	maxLabel  = 30   // runes of a class or feature name before clipping
)

// confusionChart draws the confusion matrix: counts in the cells, shading
// by share of the true class's rows (blue on the diagonal for recall,
// orange off it on a square-root scale so that a 0.1% confusion still
// shows), class names on both axes and the row totals on the right.
func confusionChart(classes []string, conf [][]int) template.HTML {
	k := len(classes)
	cell := max(30, min(64, math.Floor(600/float64(k))))
	labelW := 0.0
	for _, c := range classes {
		labelW = max(labelW, textWidth(clip(c, maxLabel), labelSize))
	}
	rowSum := make([]int, k)
	maxSum := 0
	for i := range k {
		for j := range k {
			rowSum[i] += cellCount(conf, i, j)
		}
		maxSum = max(maxSum, rowSum[i])
	}
	left := 26 + labelW + 10
	top := 24.0
	side := cell * float64(k)
	sumW := max(textWidth(thousands(maxSum), labelSize), 30) + 14
	legendX := left + side + sumW + 24
	w := legendX + 230
	h := max(top+side+labelW*0.71+52, top+160)
	s := newSVG(w, h, "Confusion matrix")

	fs := 12.0
	if cell < 40 {
		fs = 11
	}
	for i := range k {
		for j := range k {
			c := cellCount(conf, i, j)
			x, y := left+float64(j)*cell, top+float64(i)*cell
			fill, frac := "#FFFFFF", 0.0
			switch {
			case rowSum[i] == 0:
				fill = "#F0F0F0"
			case i == j:
				frac = float64(c) / float64(rowSum[i])
				fill = blues.at(frac)
			case c > 0:
				frac = float64(c) / float64(rowSum[i])
				fill = oranges.at(math.Sqrt(frac))
			}
			s.open("g")
			if rowSum[i] > 0 {
				s.title(fmt.Sprintf("true %s → predicted %s: %s rows (%s of %s)",
					classes[i], classes[j], thousands(c), percent(frac), classes[i]))
			} else {
				s.title(fmt.Sprintf("no test rows of %s", classes[i]))
			}
			s.rect(x, y, cell, cell, "fill", fill, "class", "cell")
			if c > 0 {
				ink := inkOn(fill)
				label := thousands(c)
				if textWidth(label, fs) > cell-6 {
					label = compact(c)
				}
				cy := y + cell/2 + fs*0.35
				if cell >= 46 {
					cy -= 6
					s.text(x+cell/2, cy+14, percent(frac), "class", "cellsub", "fill", ink, "text-anchor", "middle")
				}
				s.text(x+cell/2, cy, label, "fill", ink, "text-anchor", "middle", "font-size", num(fs))
			}
			s.close("g")
		}
	}
	s.rect(left, top, side, side, "class", "outline")

	s.open("g", "class", "label")
	for i, c := range classes {
		y := top + (float64(i)+0.5)*cell + 4
		s.open("text", "x", num(left-8), "y", num(y), "text-anchor", "end")
		s.title(c)
		s.b.WriteString(template.HTMLEscapeString(clip(c, maxLabel)))
		s.close("text")
		x := left + (float64(i)+0.5)*cell + 4
		yb := top + side + 10
		s.open("text", "x", num(x), "y", num(yb), "text-anchor", "end",
			"transform", "rotate(-45 "+num(x)+" "+num(yb)+")")
		s.title(c)
		s.b.WriteString(template.HTMLEscapeString(clip(c, maxLabel)))
		s.close("text")
	}
	s.close("g")
	s.open("g", "class", "tick")
	sumX := left + side + sumW
	s.text(sumX, top-8, "rows", "text-anchor", "end")
	for i := range k {
		s.text(sumX, top+(float64(i)+0.5)*cell+4, thousands(rowSum[i]), "text-anchor", "end")
	}
	s.close("g")
	s.text(12, top+side/2, "True class", "class", "axis-title", "text-anchor", "middle",
		"transform", "rotate(-90 12 "+num(top+side/2)+")")
	s.text(left+side/2, h-8, "Predicted class", "class", "axis-title", "text-anchor", "middle")

	gradientLegend(s, legendX, top, "correct (recall)", blues, []tick{{0, "0%"}, {0.5, "50%"}, {1, "100%"}}, false)
	gradientLegend(s, legendX, top+64, "misclassified (√ scale)", oranges,
		[]tick{{math.Sqrt(0.01), "1%"}, {math.Sqrt(0.1), "10%"}, {math.Sqrt(0.5), "50%"}, {1, "100%"}}, false)
	s.text(legendX, top+128, "white: no rows", "class", "note")
	if slices.Contains(rowSum, 0) {
		s.text(legendX, top+144, "grey row: class absent from the test set", "class", "note")
	}
	return s.html()
}

// cellCount reads conf[i][j], tolerating a ragged or short matrix.
func cellCount(conf [][]int, i, j int) int {
	if i < len(conf) && j < len(conf[i]) {
		return conf[i][j]
	}
	return 0
}

// gradientLegend draws a 150-px colour bar at (x, y) with a title above
// and ticks (positions in [0, 1]) below. A gradient is drawn as thin rects
// rather than an SVG gradient definition, which would need a document-wide
// unique id.
func gradientLegend(s *svg, x, y float64, title string, r ramp, ticks []tick, diverging bool) {
	const w, h, steps = 150.0, 12.0, 30
	s.text(x, y+8, title, "class", "legend-title")
	by := y + 16
	for i := range steps {
		t := (float64(i) + 0.5) / steps
		s.rect(x+float64(i)*w/steps, by, w/steps+0.4, h, "fill", r.at(t))
	}
	s.rect(x, by, w, h, "class", "outline")
	s.open("g", "class", "tick")
	for _, t := range ticks {
		tx := x + t.v*w
		s.line(tx, by+h, tx, by+h+3, "stroke", "#555")
		s.text(tx, by+h+14, t.label, "text-anchor", "middle")
	}
	s.close("g")
	if diverging {
		s.line(x+w/2, by, x+w/2, by+h, "stroke", "#777", "stroke-width", "0.6")
	}
}

// curveKind selects one of the three curve charts.
type curveKind int

const (
	rocLog curveKind = iota // ROC with a log FPR axis: the low-FPR region an IDS runs in
	rocLinear
	precisionRecall
)

// curveStyle returns the style of a curve: its class's when the name is a
// class, else the aggregate style.
func curveStyle(name string, classes []string, st []style) (style, bool) {
	if i := slices.Index(classes, name); i >= 0 && i < len(st) {
		return st[i], true
	}
	return style{colour: aggregateColour, width: 2.4}, false
}

// curveChart draws ROC or PR curves. benignRows, when positive, shades the
// FPR range where the test set holds fewer than MinFalsePositives benign
// false positives on the log-FPR chart.
func curveChart(kind curveKind, curves []Curve, classes []string, st []style, benignRows int) template.HTML {
	const w, h = 560.0, 390.0
	titles := map[curveKind]string{
		rocLog:          "ROC curves, log FPR axis",
		rocLinear:       "ROC curves",
		precisionRecall: "Precision-recall curves",
	}
	s := newSVG(w, h, titles[kind])
	f := &frame{s: s, x: 62, y: 14, w: w - 62 - 18, h: h - 14 - 54}
	f.ys = linear{0, 1, f.y + f.h, f.y}
	yt := niceTicks(0, 1, 5)
	var xt []tick
	xlabel, ylabel := "False-positive rate", "True-positive rate (recall)"
	xmin := 0.0
	switch kind {
	case rocLog:
		xmin = logFloor(curves)
		f.xs = logScale{xmin, 1, f.x, f.x + f.w}
		xt = logTicks(xmin, 1)
		xlabel = "False-positive rate (log scale)"
	case rocLinear:
		f.xs = linear{0, 1, f.x, f.x + f.w}
		xt = niceTicks(0, 1, 5)
	default:
		f.xs = linear{0, 1, f.x, f.x + f.w}
		xt = niceTicks(0, 1, 5)
		xlabel, ylabel = "Recall", "Precision"
	}
	if kind == rocLog && benignRows > 0 {
		if limit := MinFalsePositives / float64(benignRows); limit > xmin {
			x1 := f.xs.at(min(limit, 1))
			s.rect(f.x, f.y, x1-f.x, f.h, "class", "unresolved")
			if x1-f.x > 70 {
				s.text(f.x+5, f.y+14, fmt.Sprintf("< %d benign FPs", MinFalsePositives), "class", "note")
			}
		}
	}
	f.axes(xt, yt, xlabel, ylabel)
	if kind != precisionRecall {
		// Chance: a random score has TPR = FPR.
		var diag [][2]float64
		for i := 0; i <= 60; i++ {
			v := xmin + (1-xmin)*float64(i)/60
			if kind == rocLog {
				v = xmin * math.Pow(1/xmin, float64(i)/60)
			}
			diag = append(diag, [2]float64{v, v})
		}
		f.polyline(diag, "class", "chance")
	}
	// Benign first, classes next, aggregates on top.
	order := make([]int, len(curves))
	rank := make([]int, len(curves))
	for i, c := range curves {
		order[i] = i
		st, isClass := curveStyle(c.Name, classes, st)
		switch {
		case !isClass:
			rank[i] = 2
		case st.colour != benignColour:
			rank[i] = 1
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return rank[a] - rank[b] })
	s.open("g", "fill", "none", "stroke-linejoin", "round")
	for _, i := range order {
		c := curves[i]
		cs, _ := curveStyle(c.Name, classes, st)
		s.open("g", "stroke", cs.colour, "stroke-width", num(cs.width), "stroke-dasharray", cs.dash)
		s.title(c.Name + ": AUC " + metric(c.AUC))
		pts := c.Points
		if kind == precisionRecall {
			pts = prInRange(pts)
		}
		f.polyline(pts)
		s.close("g")
	}
	s.close("g")
	return s.html()
}

// prInRange drops PR points whose precision is undefined (NaN at recall
// 0, as some implementations emit) so that the path starts where the curve
// does.
func prInRange(pts [][2]float64) [][2]float64 {
	out := pts[:0:0]
	for _, p := range pts {
		if finite(p[0]) && finite(p[1]) {
			out = append(out, p)
		}
	}
	return out
}

// logFloor picks the left end of the log FPR axis: the power of ten at or
// below the smallest positive FPR of any curve, kept within 10⁻⁶…10⁻²
// so that at least two decades show. Points at FPR 0 are drawn there.
func logFloor(curves []Curve) float64 {
	lo := math.Inf(1)
	for _, c := range curves {
		for _, p := range c.Points {
			if p[0] > 0 && finite(p[0]) {
				lo = min(lo, p[0])
			}
		}
	}
	if math.IsInf(lo, 1) {
		return 1e-4
	}
	return math.Pow(10, max(-6, min(-2, math.Floor(math.Log10(lo)+1e-9))))
}

// swatch is a small legend sample of a class's line and marker.
func swatch(cs style) template.HTML {
	s := newSVG(34, 12, "")
	s.line(1, 6, 33, 6, "stroke", cs.colour, "stroke-width", num(cs.width), "stroke-dasharray", cs.dash)
	s.open("g", "fill", cs.colour)
	marker(s, cs.shape, 17, 6, 3.6)
	s.close("g")
	return s.html()
}

// importanceChart draws the top features as horizontal bars, largest
// first, with the value at the end of each bar.
func importanceChart(imp []Importance, top int) template.HTML {
	rows := make([]Importance, 0, len(imp))
	for _, v := range imp {
		if finite(v.Value) {
			rows = append(rows, v)
		}
	}
	slices.SortStableFunc(rows, func(a, b Importance) int { return cmp.Compare(b.Value, a.Value) })
	rows = rows[:min(top, len(rows))]
	labelW := 0.0
	lo, hi := 0.0, 0.0
	for _, r := range rows {
		labelW = max(labelW, textWidth(clip(r.Name, 40), labelSize))
		lo, hi = min(lo, r.Value), max(hi, r.Value)
	}
	if hi == lo {
		hi = lo + 1
	}
	const rowH, barW = 22.0, 560.0
	left := labelW + 16
	top0 := 8.0
	h := top0 + rowH*float64(len(rows)) + 40
	s := newSVG(left+barW+80, h, "Feature importance")
	xt := coverTicks(lo, hi, 5)
	lo, hi = min(lo, xt[0].v), max(hi, xt[len(xt)-1].v)
	xs := linear{lo, hi, left, left + barW}
	base := top0 + rowH*float64(len(rows))
	s.open("g", "class", "grid")
	for _, t := range xt {
		s.line(xs.at(t.v), top0, xs.at(t.v), base)
	}
	s.close("g")
	s.open("g", "class", "tick")
	for _, t := range xt {
		s.text(xs.at(t.v), base+16, t.label, "text-anchor", "middle")
	}
	s.close("g")
	zero := xs.at(0)
	for i, r := range rows {
		y := top0 + rowH*float64(i)
		x0, x1 := min(zero, xs.at(r.Value)), max(zero, xs.at(r.Value))
		s.open("g")
		s.title(r.Name + ": " + sig(r.Value))
		s.rect(x0, y+4, max(x1-x0, 0.5), rowH-8, "class", "bar")
		s.text(left-8, y+rowH/2+4, clip(r.Name, 40), "class", "label", "text-anchor", "end")
		s.text(x1+5, y+rowH/2+4, sig(r.Value), "class", "tick")
		s.close("g")
	}
	s.line(zero, top0, zero, base, "stroke", "#444")
	return s.html()
}

// correlationChart draws the lower triangle of a correlation matrix on a
// diverging blue-white-red scale; the upper triangle would repeat it.
func correlationChart(m *CorrelationMatrix) template.HTML {
	n := len(m.Names)
	cell := max(14, min(34, math.Floor(560/float64(n))))
	labelW := 0.0
	for _, name := range m.Names {
		labelW = max(labelW, textWidth(clip(name, maxLabel), 11))
	}
	left, top := labelW+14, 8.0
	side := cell * float64(n)
	legendX := left + side + 30
	if n >= 12 {
		// The empty upper-right triangle has room for the legend.
		legendX = left + side - 190
	}
	w := max(legendX+200, left+side+10)
	h := top + side + labelW*0.71 + 24
	s := newSVG(w, h, "Feature correlation")
	for i := range n {
		for j := 0; j <= i; j++ {
			r := math.NaN()
			if i < len(m.Values) && j < len(m.Values[i]) {
				r = m.Values[i][j]
			}
			x, y := left+float64(j)*cell, top+float64(i)*cell
			fill := "#D9D9D9"
			switch {
			case i == j && finite(r):
				// Self-correlation is 1 by definition: keep the strongest
				// red for pairs that tell something.
				fill = "#EDEDED"
			case finite(r):
				fill = blueRed.at((r + 1) / 2)
			}
			s.open("g")
			s.title(m.Names[i] + " × " + m.Names[j] + ": r = " + signed(r))
			s.rect(x, y, cell, cell, "fill", fill, "class", "cell")
			if cell >= 28 {
				s.text(x+cell/2, y+cell/2+3.5, signed(r), "class", "cellsub", "fill", inkOn(fill), "text-anchor", "middle")
			}
			s.close("g")
		}
	}
	s.open("g", "class", "label small")
	for i, name := range m.Names {
		s.open("text", "x", num(left-6), "y", num(top+(float64(i)+0.5)*cell+4), "text-anchor", "end")
		s.title(name)
		s.b.WriteString(template.HTMLEscapeString(clip(name, maxLabel)))
		s.close("text")
		x := left + (float64(i)+0.5)*cell + 4
		yb := top + side + 8
		s.open("text", "x", num(x), "y", num(yb), "text-anchor", "end",
			"transform", "rotate(-45 "+num(x)+" "+num(yb)+")")
		s.title(name)
		s.b.WriteString(template.HTMLEscapeString(clip(name, maxLabel)))
		s.close("text")
	}
	s.close("g")
	gradientLegend(s, legendX, top+4, "Pearson correlation r", blueRed,
		[]tick{{0, "−1"}, {0.25, "−0.5"}, {0.5, "0"}, {0.75, "0.5"}, {1, "1"}}, true)
	s.rect(legendX, top+60, 12, 12, "fill", "#D9D9D9", "stroke", "#8b94a1", "stroke-width", "0.8")
	s.text(legendX+18, top+70, "undefined (constant feature)", "class", "note")
	s.rect(legendX, top+78, 12, 12, "fill", "#EDEDED", "stroke", "#8b94a1", "stroke-width", "0.8")
	s.text(legendX+18, top+88, "diagonal: 1 by definition", "class", "note")
	return s.html()
}

// scatterChart draws the PCA sample coloured (and past nine attack classes
// shaped) by class, benign and large classes underneath. Axes cover the
// central 99% of points when a few outliers would otherwise squash the
// rest into a corner; clipped points are drawn on the frame's edge and
// counted in the returned note.
func scatterChart(p *PCA, classes []string, st []style) (template.HTML, string) {
	const w, h = 1060.0, 600.0
	s := newSVG(w, h, "PCA projection of the feature space")
	f := &frame{s: s, x: 62, y: 14, w: 760, h: h - 14 - 54}
	xs := make([]float64, 0, len(p.Points))
	ys := make([]float64, 0, len(p.Points))
	for _, pt := range p.Points {
		xs = append(xs, float64(pt[0]))
		ys = append(ys, float64(pt[1]))
	}
	x0, x1 := viewRange(xs)
	y0, y1 := viewRange(ys)
	xt, yt := niceTicks(x0, x1, 8), niceTicks(y0, y1, 6)
	f.xs = linear{x0, x1, f.x, f.x + f.w}
	f.ys = linear{y0, y1, f.y + f.h, f.y}
	f.axes(xt, yt, "PC1 ("+percent(p.ExplainedVariance[0])+" of variance)",
		"PC2 ("+percent(p.ExplainedVariance[1])+" of variance)")

	// Group points by class; labels outside Classes get a grey group each,
	// and without one label per point all points are one grey group.
	plabels := p.Labels
	if len(plabels) != len(p.Points) {
		plabels = nil
	}
	count := map[int]int{}
	for _, l := range plabels {
		count[l]++
	}
	labels := make([]int, 0, len(count))
	for l := range count {
		labels = append(labels, l)
	}
	known := func(l int) bool { return l >= 0 && l < len(classes) && l < len(st) }
	slices.SortFunc(labels, func(a, b int) int {
		ba, bb := known(a) && st[a].colour == benignColour, known(b) && st[b].colour == benignColour
		switch {
		case ba != bb && ba:
			return -1
		case ba != bb:
			return 1
		case count[a] != count[b]:
			return count[b] - count[a]
		}
		return a - b
	})
	if plabels == nil {
		labels = []int{-1}
	}
	clipped := 0
	for _, l := range labels {
		cs, name := style{colour: benignColour}, "unlabelled"
		if known(l) {
			cs, name = st[l], classes[l]
		} else if plabels != nil {
			name = "class " + strconv.Itoa(l)
		}
		opacity := "0.8"
		if cs.colour == benignColour {
			opacity = "0.45"
		}
		s.open("g", "fill", cs.colour, "fill-opacity", opacity, "stroke", "#000", "stroke-opacity", "0.35", "stroke-width", "0.4")
		s.title(name)
		for i, pt := range p.Points {
			if plabels != nil && plabels[i] != l {
				continue
			}
			x, y := float64(pt[0]), float64(pt[1])
			if x < x0 || x > x1 || y < y0 || y > y1 {
				clipped++
				x, y = max(x0, min(x1, x)), max(y0, min(y1, y))
			}
			marker(s, cs.shape, f.xs.at(x), f.ys.at(y), 2.6)
		}
		s.close("g")
	}

	// Legend in class order, with the points each class has in the sample.
	lx, ly := f.x+f.w+28, f.y+6.0
	if plabels != nil {
		s.text(lx, ly+4, "Class (points shown)", "class", "legend-title")
	}
	for i, name := range classes {
		if count[i] == 0 || i >= len(st) {
			continue
		}
		ly += 19
		s.open("g", "fill", st[i].colour, "stroke", "#000", "stroke-opacity", "0.35", "stroke-width", "0.4")
		marker(s, st[i].shape, lx+6, ly, 4.2)
		s.close("g")
		s.open("text", "x", num(lx+18), "y", num(ly+4), "class", "label")
		s.title(name)
		s.b.WriteString(template.HTMLEscapeString(clip(name, 26) + " (" + thousands(count[i]) + ")"))
		s.close("text")
	}
	note := ""
	if clipped > 0 {
		note = fmt.Sprintf("%s outlying point(s) lie beyond the axes and are drawn on the frame's edge.", thousands(clipped))
	}
	return s.html(), note
}

// viewRange returns the axis range for one scatter coordinate: the full
// range, or the 0.5th to 99.5th percentile when the full range is more
// than twice as wide (a handful of outliers would hide the structure),
// padded by 4% each side.
func viewRange(v []float64) (float64, float64) {
	if len(v) == 0 {
		return -1, 1
	}
	sorted := slices.Clone(v)
	slices.Sort(sorted)
	lo, hi := sorted[0], sorted[len(sorted)-1]
	q := func(p float64) float64 { return sorted[int(math.Round(p*float64(len(sorted)-1)))] }
	if qlo, qhi := q(0.005), q(0.995); qhi > qlo && hi-lo > 2*(qhi-qlo) {
		lo, hi = qlo, qhi
	}
	if hi == lo {
		lo, hi = lo-1, hi+1
	}
	pad := (hi - lo) * 0.04
	return lo - pad, hi + pad
}
