package events

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/flowguard/flowguard/internal/ml"
	"github.com/flowguard/flowguard/internal/ml/anomaly"
	"github.com/flowguard/flowguard/internal/ml/cluster"
)

// Algorithms Fit knows. params, knn and iforest only score; dbscan and
// hdbscan also cluster the fit set and keep a labeler for online cluster
// ids, scoring with ModelOptions.Scorer.
const (
	AlgoParams  = "params"
	AlgoIForest = "iforest"
	AlgoKNN     = "knn"
	AlgoDBSCAN  = "dbscan"
	AlgoHDBSCAN = "hdbscan"
)

// Labels Score gives an event besides cluster names.
const (
	NameGood    = "GOOD"
	NameAttack  = "ATTACK"
	NameNoise   = "noise"
	NameAnomaly = "anomaly"
	NameNormal  = "normal"
)

const modelVersion = 1

// ModelOptions configures Fit. Zero fields take the documented defaults.
type ModelOptions struct {
	Featurizer Featurizer
	Algo       string  // default params
	Scorer     string  // scorer of dbscan/hdbscan: params (default), knn or iforest
	FPR        float64 // target false-positive rate of the threshold; default 0.01
	// HoldOut is the share of the fit events kept aside (evenly spaced)
	// to set the threshold on scores the scorer never saw; default 0.2.
	HoldOut float64
	K       int // neighbours of the k-NN distance and the labeler; default 5
	MaxRef  int // reference rows the k-NN scorer keeps; default 8,000
	Trees   int // isolation forest trees; default 200

	Eps            float64 // DBSCAN radius; 0 takes the k-distance knee
	MinSamples     int     // DBSCAN/HDBSCAN min_samples; default 2×dimensions
	MinClusterSize int     // HDBSCAN; default 50
	MaxClusterRows int     // rows clustered (evenly spaced); default 20,000
	// GoodShare names a cluster GOOD when it holds at least this share of
	// the clustered rows, ATTACK otherwise; default 0.01. Names, when
	// set, overrides it per cluster (an analyst's file).
	GoodShare float64
	Names     map[int]string

	Seed     uint64
	Progress func(format string, args ...any) // nil means silent
}

func (o ModelOptions) withDefaults() ModelOptions {
	if o.Algo == "" {
		o.Algo = AlgoParams
	}
	if o.Scorer == "" {
		o.Scorer = AlgoParams
	}
	if o.Algo == AlgoParams || o.Algo == AlgoKNN || o.Algo == AlgoIForest {
		o.Scorer = o.Algo
	}
	if o.FPR == 0 {
		o.FPR = 0.01
	}
	if o.HoldOut == 0 {
		o.HoldOut = 0.2
	}
	if o.K <= 0 {
		o.K = 5
	}
	if o.MaxRef <= 0 {
		o.MaxRef = 8000
	}
	if o.Trees <= 0 {
		o.Trees = 200
	}
	if o.MinClusterSize <= 0 {
		o.MinClusterSize = 50
	}
	if o.MaxClusterRows <= 0 {
		o.MaxClusterRows = 20000
	}
	if o.GoodShare == 0 {
		o.GoodShare = 0.01
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
	return o
}

// Cluster is one cluster of the fit set.
type Cluster struct {
	ID       int       `json:"id"`
	Size     int       `json:"size"`
	Name     string    `json:"name"` // GOOD, ATTACK or the analyst's name
	Centroid []float64 `json:"centroid"`
	Examples []string  `json:"examples,omitempty"` // a few raw requests, for the analyst
}

// Model is a fitted unsupervised event model, plain data for JSON: the
// featurizer, the anomaly scorer with its threshold, and for clustering
// algorithms the clusters and the labeler's reference rows.
type Model struct {
	Version  int       `json:"version"`
	Algo     string    `json:"algo"`
	Features *Features `json:"features"`

	// Scorer is params, knn or iforest: the parameter-value novelty
	// (Params), the mean distance to the K nearest Ref rows (normal fit
	// events), or the isolation forest's score. Higher is more anomalous
	// in every case.
	Scorer string              `json:"scorer"`
	Params map[string][]string `json:"params,omitempty"`
	// ResidualWeight adds the featurizer's residual off the SVD subspace
	// to the params novelty: one over its 99th percentile on the fit
	// rows, so an ordinary residual weighs less than one unseen bigram
	// and mostly orders events of equal novelty.
	ResidualWeight float64                  `json:"residual_weight,omitempty"`
	IForest        *anomaly.IsolationForest `json:"iforest,omitempty"`
	K              int                      `json:"k"`
	Ref            []float64                `json:"ref,omitempty"` // rows × Features.Dim(), row-major

	// Threshold flags score > Threshold; it is the (1−FPR) quantile of
	// the held-out normal scores.
	Threshold float64 `json:"threshold"`
	FPR       float64 `json:"fpr"`

	Eps      float64   `json:"eps,omitempty"`
	Clusters []Cluster `json:"clusters,omitempty"`
	// LabelRef and LabelY are the clustered rows and their cluster ids
	// (-1 noise): a k-NN vote over them gives an online event its
	// LABEL_PRED, as ML-PT's random forest does.
	LabelRef []float64 `json:"label_ref,omitempty"`
	LabelY   []int     `json:"label_y,omitempty"`

	refTree, labTree *cluster.KDTree
	names            map[int]string
	grams            map[string]map[string]struct{}
}

// Fit featurizes evs (normal traffic for anomaly scoring), fits the
// scorer on all but a held-out share, sets the threshold on that share,
// and clusters when the algorithm asks for it.
func Fit(evs []*Event, o ModelOptions) (*Model, error) {
	o = o.withDefaults()
	switch o.Algo {
	case AlgoParams, AlgoIForest, AlgoKNN, AlgoDBSCAN, AlgoHDBSCAN:
	default:
		return nil, fmt.Errorf("events model: unknown algorithm %q (want params, knn, iforest, dbscan or hdbscan)", o.Algo)
	}
	switch o.Scorer {
	case AlgoParams, AlgoIForest, AlgoKNN:
	default:
		return nil, fmt.Errorf("events model: unknown scorer %q (want params, knn or iforest)", o.Scorer)
	}
	if !(o.FPR > 0 && o.FPR < 1) || !(o.HoldOut > 0 && o.HoldOut < 1) {
		return nil, fmt.Errorf("events model: FPR %v and hold-out %v must be in (0, 1)", o.FPR, o.HoldOut)
	}
	// The held-out share is taken in contiguous blocks spread over the
	// input: contiguous, because neighbouring events of one session share
	// their values, and held-out events whose session mates were fitted
	// look more normal than new traffic does, which sets the threshold
	// too low (CSIC 2010: 5.6% test FPR for a 1% target with every fifth
	// event held out); spread, so a file sorted by time or kind gives both
	// parts the same mix.
	blocks := max(50, int(math.Ceil(1/o.HoldOut)))
	var fitEvs, holdEvs []*Event
	for b := range blocks {
		lo, hi := b*len(evs)/blocks, (b+1)*len(evs)/blocks
		if int(float64(b+1)*o.HoldOut) > int(float64(b)*o.HoldOut) {
			holdEvs = append(holdEvs, evs[lo:hi]...)
		} else {
			fitEvs = append(fitEvs, evs[lo:hi]...)
		}
	}
	if len(fitEvs) < 2*o.K || len(holdEvs) < 1 {
		return nil, fmt.Errorf("events model: %d events are too few to fit and hold out %.0f%%", len(evs), 100*o.HoldOut)
	}
	o.Progress("featurizing %d events (%d held out for the threshold)", len(fitEvs), len(holdEvs))
	feats, x, err := o.Featurizer.FitTransform(fitEvs)
	if err != nil {
		return nil, fmt.Errorf("events model: featurizer: %w", err)
	}
	m := &Model{Version: modelVersion, Algo: o.Algo, Scorer: o.Scorer, Features: feats, K: o.K, FPR: o.FPR}
	switch o.Scorer {
	case AlgoIForest:
		o.Progress("growing %d isolation trees", o.Trees)
		if m.IForest, err = anomaly.Fit(x, anomaly.Options{Trees: o.Trees, Seed: o.Seed}); err != nil {
			return nil, fmt.Errorf("events model: %w", err)
		}
	case AlgoKNN:
		m.Ref = evenRows(x, o.MaxRef).Data
	case AlgoParams:
		m.Params = fitParams(fitEvs)
		if !feats.Config.NoResidual && len(feats.Components) > 0 {
			r := make([]float64, x.Rows)
			for i := range r {
				r[i] = x.Row(i)[x.Cols-1]
			}
			if q, err := anomaly.Threshold(r, 0.01); err == nil && q > 0 {
				m.ResidualWeight = 1 / q
			}
		}
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("events model: fitted model: %w", err)
	}
	o.Progress("scoring %d held-out events", len(holdEvs))
	hs := m.ScoreMatrix(holdEvs, feats.TransformAll(holdEvs))
	if m.Threshold, err = anomaly.Threshold(hs, o.FPR); err != nil {
		return nil, fmt.Errorf("events model: %w", err)
	}
	if o.Algo == AlgoDBSCAN || o.Algo == AlgoHDBSCAN {
		if err := m.cluster(fitEvs, x, o); err != nil {
			return nil, fmt.Errorf("events model: %w", err)
		}
	}
	return m, m.Validate()
}

// evenRows keeps at most n evenly spaced rows of x.
func evenRows(x *ml.Matrix, n int) *ml.Matrix {
	return x.Subset(evenIndex(x.Rows, n))
}

func evenIndex(rows, n int) []int {
	n = min(n, rows)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = int(float64(i) * float64(rows) / float64(n))
	}
	return idx
}

// cluster runs DBSCAN or HDBSCAN on (a sample of) the fit rows, names the
// clusters and keeps the rows as the labeler's reference.
func (m *Model) cluster(evs []*Event, x *ml.Matrix, o ModelOptions) error {
	idx := evenIndex(x.Rows, o.MaxClusterRows)
	xs := x.Subset(idx)
	// Exact duplicates stack at one point; a hair of jitter keeps
	// HDBSCAN's λ finite without moving anything measurably.
	rng := rand.New(rand.NewPCG(o.Seed, 7))
	for i := range xs.Data {
		xs.Data[i] += 1e-9 * rng.NormFloat64()
	}
	minSamples := o.MinSamples
	if minSamples <= 0 {
		minSamples = 2 * xs.Cols
	}
	var labels []int
	var err error
	if o.Algo == AlgoDBSCAN {
		m.Eps = o.Eps
		if m.Eps <= 0 {
			kd, err := cluster.KDistance(xs, minSamples, nil)
			if err != nil {
				return err
			}
			sort.Float64s(kd)
			knee, err := cluster.Knee(kd, 50)
			if err != nil {
				return err
			}
			m.Eps = knee.Eps
			o.Progress("eps %.4g from the k-distance knee (k = %d)", m.Eps, minSamples)
		}
		o.Progress("DBSCAN on %d rows", xs.Rows)
		labels, err = cluster.DBSCAN(xs, m.Eps, minSamples, nil)
	} else {
		o.Progress("HDBSCAN on %d rows", xs.Rows)
		var r *cluster.HDBSCANResult
		r, err = cluster.HDBSCAN(xs, o.MinClusterSize, minSamples, nil)
		if r != nil {
			labels = r.Labels
		}
	}
	if err != nil {
		return err
	}
	k := 0
	for _, l := range labels {
		k = max(k, l+1)
	}
	m.Clusters = make([]Cluster, k)
	for c := range m.Clusters {
		m.Clusters[c] = Cluster{ID: c, Centroid: make([]float64, xs.Cols)}
	}
	for i, l := range labels {
		if l < 0 {
			continue
		}
		c := &m.Clusters[l]
		c.Size++
		for j, v := range xs.Row(i) {
			c.Centroid[j] += v
		}
		if len(c.Examples) < 3 {
			e := evs[idx[i]]
			c.Examples = append(c.Examples, e.Method+" "+e.Path+query(e)+body(e))
		}
	}
	for c := range m.Clusters {
		cl := &m.Clusters[c]
		for j := range cl.Centroid {
			cl.Centroid[j] /= float64(max(cl.Size, 1))
		}
		cl.Name = NameAttack
		if float64(cl.Size) >= o.GoodShare*float64(len(labels)) {
			cl.Name = NameGood
		}
		if n, ok := o.Names[c]; ok {
			cl.Name = n
		}
	}
	m.LabelRef, m.LabelY = xs.Data, labels
	return nil
}

// A parameter is one key=value of the query or a form body, or a
// pseudo-key for the path (@path), a body that is not a form (@body) and
// a WAF match (@match:name).
type param struct{ key, value string }

func params(e *Event, dst []param) []param {
	dst = append(dst[:0], param{"@path", Decode(e.Path, false, false)})
	for _, raw := range []string{e.Query, e.Body} {
		if raw == "" {
			continue
		}
		if !strings.Contains(raw, "=") {
			dst = append(dst, param{"@body", Decode(raw, true, false)})
			continue
		}
		for _, kv := range strings.Split(raw, "&") {
			k, v, _ := strings.Cut(kv, "=")
			dst = append(dst, param{strings.ToLower(Decode(k, true, false)), Decode(v, true, false)})
		}
	}
	if e.MatchedValue != "" {
		dst = append(dst, param{"@match:" + strings.ToLower(e.MatchedName), e.MatchedValue})
	}
	return dst
}

// bigrams calls fn with each character bigram of the lower-cased value,
// digits folded to 0 and the ends marked, so "id=12" and "id=97" share
// every bigram but "id=1'" does not.
func bigrams(v string, fn func(g string)) {
	var prev rune = '^'
	var b [8]byte
	emit := func(r rune) {
		n := utf8.EncodeRune(b[:], prev)
		n += utf8.EncodeRune(b[n:], r)
		fn(string(b[:n]))
		prev = r
	}
	for _, r := range strings.ToLower(v) {
		if r >= '0' && r <= '9' {
			r = '0'
		}
		emit(r)
	}
	emit('$')
}

// fitParams collects, per parameter key, every bigram its values show in
// the fit events.
func fitParams(evs []*Event) map[string][]string {
	sets := map[string]map[string]struct{}{}
	var ps []param
	for _, e := range evs {
		ps = params(e, ps)
		for _, p := range ps {
			set := sets[p.key]
			if set == nil {
				set = map[string]struct{}{}
				sets[p.key] = set
			}
			bigrams(p.value, func(g string) { set[g] = struct{}{} })
		}
	}
	out := make(map[string][]string, len(sets))
	for k, set := range sets {
		gs := make([]string, 0, len(set))
		for g := range set {
			gs = append(gs, g)
		}
		sort.Strings(gs) // stable files for the same fit
		out[k] = gs
	}
	return out
}

// unseenKey is what a parameter name never seen in fitting adds to the
// novelty: as much as a short value of unseen bigrams.
const unseenKey = 5

// novelty counts the bigrams of e's parameter values that the fit events
// never showed for the same key (Kruegel & Vigna's per-parameter
// character model, reduced to set membership). Normal traffic re-uses
// its parameters' alphabets; injections bring quotes, brackets and
// keywords where a field held only names or digits.
func (m *Model) novelty(e *Event) float64 {
	var n float64
	var ps [16]param
	for _, p := range params(e, ps[:0]) {
		set, ok := m.grams[p.key]
		if !ok {
			n += unseenKey
			continue
		}
		bigrams(p.value, func(g string) {
			if _, ok := set[g]; !ok {
				n++
			}
		})
	}
	return n
}

func query(e *Event) string {
	if e.Query == "" {
		return ""
	}
	return "?" + e.Query
}

func body(e *Event) string {
	if e.Body == "" {
		return ""
	}
	b := e.Body
	if len(b) > 120 {
		b = b[:120] + "…"
	}
	return " " + b
}

// Validate checks shapes and rebuilds the search trees; call it after
// decoding (ReadModel does).
func (m *Model) Validate() error {
	if m.Version != modelVersion {
		return fmt.Errorf("events model: version %d, want %d", m.Version, modelVersion)
	}
	if m.Features == nil {
		return errors.New("events model: no featurizer")
	}
	if err := m.Features.Validate(); err != nil {
		return fmt.Errorf("events model: %w", err)
	}
	d := m.Features.Dim()
	switch m.Algo {
	case AlgoParams, AlgoIForest, AlgoKNN, AlgoDBSCAN, AlgoHDBSCAN:
	default:
		return fmt.Errorf("events model: unknown algorithm %q", m.Algo)
	}
	m.grams, m.refTree = nil, nil
	switch m.Scorer {
	case AlgoParams:
		if len(m.Params) == 0 {
			return errors.New("events model: params scorer without parameter profiles")
		}
		if !finite(m.ResidualWeight) || m.ResidualWeight < 0 || (m.ResidualWeight > 0 && m.Features.Config.NoResidual) {
			return fmt.Errorf("events model: residual weight %v", m.ResidualWeight)
		}
		m.grams = make(map[string]map[string]struct{}, len(m.Params))
		for k, gs := range m.Params {
			set := make(map[string]struct{}, len(gs))
			for _, g := range gs {
				set[g] = struct{}{}
			}
			m.grams[k] = set
		}
	case AlgoIForest:
		if m.IForest == nil {
			return errors.New("events model: iforest without a forest")
		}
		if err := m.IForest.Validate(); err != nil {
			return fmt.Errorf("events model: %w", err)
		}
		if m.IForest.Features != d {
			return fmt.Errorf("events model: forest takes %d features, featurizer gives %d", m.IForest.Features, d)
		}
	case AlgoKNN:
		if m.K < 1 || len(m.Ref) == 0 || len(m.Ref)%d != 0 {
			return fmt.Errorf("events model: k %d with %d reference values of dimension %d", m.K, len(m.Ref), d)
		}
		t, err := cluster.NewKDTree(&ml.Matrix{Rows: len(m.Ref) / d, Cols: d, Data: m.Ref}, 0)
		if err != nil {
			return fmt.Errorf("events model: reference rows: %w", err)
		}
		m.refTree = t
	default:
		return fmt.Errorf("events model: unknown scorer %q", m.Scorer)
	}
	if !finite(m.Threshold) || !(m.FPR > 0 && m.FPR < 1) {
		return fmt.Errorf("events model: threshold %v at FPR %v", m.Threshold, m.FPR)
	}
	m.labTree, m.names = nil, nil
	if len(m.LabelRef) == 0 {
		if len(m.Clusters) > 0 || len(m.LabelY) > 0 {
			return errors.New("events model: clusters without labeler rows")
		}
		return nil
	}
	if m.K < 1 || len(m.LabelRef)%d != 0 || len(m.LabelRef)/d != len(m.LabelY) {
		return fmt.Errorf("events model: %d labeler values for %d labels of dimension %d", len(m.LabelRef), len(m.LabelY), d)
	}
	m.names = make(map[int]string, len(m.Clusters))
	for i, c := range m.Clusters {
		if c.ID != i || len(c.Centroid) != d {
			return fmt.Errorf("events model: cluster %d malformed", i)
		}
		m.names[c.ID] = c.Name
	}
	for _, l := range m.LabelY {
		if l < cluster.Noise || l >= len(m.Clusters) {
			return fmt.Errorf("events model: labeler row in unknown cluster %d", l)
		}
	}
	t, err := cluster.NewKDTree(&ml.Matrix{Rows: len(m.LabelY), Cols: d, Data: m.LabelRef}, 0)
	if err != nil {
		return fmt.Errorf("events model: labeler rows: %w", err)
	}
	m.labTree = t
	return nil
}

// Clustering reports whether the model assigns clusters.
func (m *Model) Clustering() bool { return m.labTree != nil }

// scoreVec is the anomaly score of one event and its transform.
func (m *Model) scoreVec(e *Event, x []float64, buf []cluster.Neighbor) (float64, []cluster.Neighbor) {
	switch {
	case m.grams != nil:
		s := m.novelty(e)
		if m.ResidualWeight > 0 {
			s += m.ResidualWeight * x[len(x)-1]
		}
		return s, buf
	case m.IForest != nil:
		return m.IForest.Score(x), buf
	}
	buf = m.refTree.KNearest(buf, x, m.K)
	var s float64
	for _, n := range buf {
		s += math.Sqrt(n.Dist2)
	}
	return s / float64(len(buf)), buf
}

// clusterVec is the majority cluster among the K nearest labeler rows,
// the nearer winning a tie.
func (m *Model) clusterVec(x []float64, buf []cluster.Neighbor) (int, []cluster.Neighbor) {
	buf = m.labTree.KNearest(buf, x, m.K)
	best, bestN := cluster.Noise, 0
	for _, a := range buf {
		n := 0
		for _, b := range buf {
			if m.LabelY[b.Index] == m.LabelY[a.Index] {
				n++
			}
		}
		if n > bestN {
			best, bestN = m.LabelY[a.Index], n
		}
	}
	return best, buf
}

// label names a score and cluster: the cluster's name for clustering
// models, anomaly/normal by the threshold otherwise.
func (m *Model) label(score float64, c int) string {
	if m.labTree != nil {
		if c == cluster.Noise {
			return NameNoise
		}
		return m.names[c]
	}
	if score > m.Threshold {
		return NameAnomaly
	}
	return NameNormal
}

// Score returns e's anomaly score (higher = more anomalous), its label and
// its cluster id (-1 for noise or a model that does not cluster).
func (m *Model) Score(e *Event) (score float64, label string, clusterID int) {
	x := m.Features.Transform(e, nil)
	s, buf := m.scoreVec(e, x, nil)
	c := cluster.Noise
	if m.labTree != nil {
		c, _ = m.clusterVec(x, buf)
	}
	return s, m.label(s, c), c
}

// Result is one scored event.
type Result struct {
	Score   float64
	Label   string
	Cluster int
}

// ScoreAll scores events in parallel, results in input order.
func (m *Model) ScoreAll(evs []*Event) []Result {
	x := m.Features.TransformAll(evs)
	out := make([]Result, len(evs))
	parallel(len(evs), m.Features.Config.withDefaults().Workers, func(lo, hi int) {
		var buf []cluster.Neighbor
		for i := lo; i < hi; i++ {
			s, b := m.scoreVec(evs[i], x.Row(i), buf)
			c := cluster.Noise
			if m.labTree != nil {
				c, b = m.clusterVec(x.Row(i), b)
			}
			buf = b
			out[i] = Result{s, m.label(s, c), c}
		}
	})
	return out
}

// ScoreMatrix is the anomaly score of every event, given x, their
// transforms (Features.TransformAll).
func (m *Model) ScoreMatrix(evs []*Event, x *ml.Matrix) []float64 {
	out := make([]float64, x.Rows)
	parallel(x.Rows, m.Features.Config.withDefaults().Workers, func(lo, hi int) {
		var buf []cluster.Neighbor
		for i := lo; i < hi; i++ {
			out[i], buf = m.scoreVec(evs[i], x.Row(i), buf)
		}
	})
	return out
}

// WriteTo writes the model as gzip-compressed JSON.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	gz := gzip.NewWriter(cw)
	if err := json.NewEncoder(gz).Encode(m); err != nil {
		return cw.n, fmt.Errorf("writing events model: %w", err)
	}
	if err := gz.Close(); err != nil {
		return cw.n, fmt.Errorf("writing events model: %w", err)
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadModel decodes a gzip JSON model written by WriteTo and validates it.
func ReadModel(r io.Reader) (*Model, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("reading events model: %w", err)
	}
	defer gz.Close()
	var m Model
	if err := json.NewDecoder(gz).Decode(&m); err != nil {
		return nil, fmt.Errorf("reading events model: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// SaveModel writes m to path.
func SaveModel(m *Model, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("saving events model: %w", err)
	}
	if _, err := m.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("saving events model: %w", err)
	}
	return nil
}

// LoadModel reads a model from path.
func LoadModel(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loading events model: %w", err)
	}
	defer f.Close()
	m, err := ReadModel(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
