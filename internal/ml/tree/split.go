package tree

// drawCuts draws, before the workers start, one random number per
// candidate feature of node i, so that extra trees do not depend on which
// goroutine searches which feature.
func (g *Grower) drawCuts(i int32) {
	p := &g.pend[i]
	p.rnd = len(g.rnd)
	for range p.feats {
		g.rnd = append(g.rnd, g.rng.Uint64())
	}
}

// score is Σ_k G_k²/(H_k+λ) of a stride of sums.
func (g *Grower) score(s []float64) float64 {
	lam := g.p.Lambda
	if g.shared {
		d := s[g.k] + lam
		if d <= 0 {
			return 0
		}
		num := 0.0
		for _, v := range s[:g.k] {
			num += v * v
		}
		return num / d
	}
	sc := 0.0
	for k, v := range s[:g.k] {
		if d := s[g.k+k] + lam; d > 0 {
			sc += v * v / d
		}
	}
	return sc
}

// searchNode searches features p.feats[lo:hi] of node i (sibling c of the
// current evaluation) and keeps the best split in w.best[c].
func (g *Grower) searchNode(w *worker, c int, i int32, lo, hi int) {
	p := &g.pend[i]
	sum := g.arena[p.sum : p.sum+g.stride]
	parent := g.score(sum)
	for fi := lo; fi < hi; fi++ {
		f := p.feats[fi]
		h := g.histOf(p.hist, f)
		nb := g.nbins[f]
		sp := g.span[c][f]
		g.alive[c][f] = g.splits(h, nb, sp)
		switch {
		case g.p.RandomSplits:
			g.searchRandom(w, c, f, h, nb, sp, sum, parent, g.rnd[p.rnd+fi])
		case g.stride == 2:
			g.search2(w, c, f, h, nb, sum, parent)
		default:
			g.searchAll(w, c, f, h, nb, sp, sum, parent)
		}
	}
}

// splits reports whether a histogram has rows in two value bins, or in
// one value bin and the missing bin: otherwise no cut can separate them,
// here or in any descendant.
func (g *Grower) splits(h []float64, nb int, sp span) bool {
	s := g.stride
	n := 0
	for b := sp.lo; b <= sp.hi && n < 2; b++ {
		if g.weight(h[b*s:(b+1)*s]) > 0 {
			n++
		}
	}
	return n >= 2 || (n == 1 && g.weight(h[nb*s:(nb+1)*s]) > 0)
}

// better reports whether a split of the given gain, with children scores
// sl and sr, beats the worker's best so far and clears γ. The relative
// floor keeps rounding noise from splitting a node that cannot improve,
// such as a pure forest node.
func (g *Grower) better(w *worker, c int, gain, sl, sr float64) bool {
	return gain > g.p.Gamma && gain > 1e-11*(sl+sr) && (!w.best[c].ok || gain > w.best[c].gain)
}

// search2 scans every cut of feature f for one output with its own hessian,
// scoring the missing rows on either side.
func (g *Grower) search2(w *worker, c int, f int32, h []float64, nb int, sum []float64, parent float64) {
	G, H := sum[0], sum[1]
	mg, mh := h[2*nb], h[2*nb+1]
	lam, mcw := g.p.Lambda, g.p.MinChildWeight
	gl, hl := 0.0, 0.0
	for b := 0; b < nb-1; b++ {
		bg, bh := h[2*b], h[2*b+1]
		if bh == 0 && bg == 0 {
			continue // same partition as the previous cut
		}
		gl += bg
		hl += bh
		// Missing rows on the right.
		if gr, hr := G-gl, H-hl; hl >= mcw && hr >= mcw && hl > 0 && hr > 0 {
			sl, sr := gl*gl/(hl+lam), gr*gr/(hr+lam)
			if gain := sl + sr - parent; g.better(w, c, gain, sl, sr) {
				w.best[c] = split{ok: true, gain: gain, feature: f, bin: uint8(b), defaultLeft: mh == 0 && hl >= hr}
				w.left[c][0], w.left[c][1] = gl, hl
			}
		}
		if mh == 0 {
			continue
		}
		// Missing rows on the left.
		gl2, hl2 := gl+mg, hl+mh
		if gr, hr := G-gl2, H-hl2; hl2 >= mcw && hr >= mcw && hl2 > 0 && hr > 0 {
			sl, sr := gl2*gl2/(hl2+lam), gr*gr/(hr+lam)
			if gain := sl + sr - parent; g.better(w, c, gain, sl, sr) {
				w.best[c] = split{ok: true, gain: gain, feature: f, bin: uint8(b), defaultLeft: true}
				w.left[c][0], w.left[c][1] = gl2, hl2
			}
		}
	}
}

// searchAll scans every cut of feature f for any number of outputs.
func (g *Grower) searchAll(w *worker, c int, f int32, h []float64, nb int, sp span, sum []float64, parent float64) {
	s := g.stride
	clear(w.acc)
	miss := h[nb*s : (nb+1)*s]
	for b := sp.lo; b <= min(sp.hi, nb-2); b++ {
		bin := h[b*s : (b+1)*s]
		if g.weight(bin) == 0 {
			continue
		}
		for k, v := range bin {
			w.acc[k] += v
		}
		g.try(w, c, f, uint8(b), w.acc, miss, sum, parent)
	}
}

// searchRandom scores one cut of feature f drawn uniformly between the
// node's lowest and highest non-empty value bins.
func (g *Grower) searchRandom(w *worker, c int, f int32, h []float64, nb int, sp span, sum []float64, parent float64, rnd uint64) {
	s := g.stride
	lo, hi := -1, -1
	for b := sp.lo; b <= sp.hi; b++ {
		if g.weight(h[b*s:(b+1)*s]) > 0 {
			if lo < 0 {
				lo = b
			}
			hi = b
		}
	}
	if lo < 0 || lo == hi {
		return
	}
	cut := lo + int(rnd%uint64(hi-lo))
	clear(w.acc)
	for b := lo; b <= cut; b++ {
		for k, v := range h[b*s : (b+1)*s] {
			w.acc[k] += v
		}
	}
	g.try(w, c, f, uint8(cut), w.acc, h[nb*s:(nb+1)*s], sum, parent)
}

// try scores the cut with left sums l, the missing rows miss on the right
// and, if there are any, on the left.
func (g *Grower) try(w *worker, c int, f int32, bin uint8, l, miss, sum []float64, parent float64) {
	mw := g.weight(miss)
	for k := range l {
		w.r[k] = sum[k] - l[k]
	}
	g.tryOne(w, c, f, bin, l, w.r, parent, mw == 0 && g.weight(l) >= g.weight(w.r))
	if mw == 0 {
		return
	}
	for k := range l {
		w.l2[k] = l[k] + miss[k]
		w.r[k] = sum[k] - w.l2[k]
	}
	g.tryOne(w, c, f, bin, w.l2, w.r, parent, true)
}

func (g *Grower) tryOne(w *worker, c int, f int32, bin uint8, l, r []float64, parent float64, defaultLeft bool) {
	wl, wr := g.weight(l), g.weight(r)
	mcw := g.p.MinChildWeight
	if wl < mcw || wr < mcw || wl <= 0 || wr <= 0 {
		return
	}
	sl, sr := g.score(l), g.score(r)
	if gain := sl + sr - parent; g.better(w, c, gain, sl, sr) {
		w.best[c] = split{ok: true, gain: gain, feature: f, bin: bin, defaultLeft: defaultLeft}
		copy(w.left[c], l)
	}
}
