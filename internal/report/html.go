package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
)

// Display thresholds.
const (
	// FewRows is the class support below which per-class metrics are called
	// out as resting on too few flows.
	FewRows = 10
	// Recall below these is highlighted in the per-class table.
	recallWarn = 0.90
	recallPoor = 0.50
	// topFeatures is how many features the importance chart shows.
	topFeatures = 25
)

//go:embed report.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("report").Parse(pageSource))

// WriteHTML writes the report as one self-contained HTML page. Sections
// whose data is absent (no curves, no PCA, a single algorithm) are left
// out; degenerate data (two classes, one feature, NaN metrics) renders
// without error.
func WriteHTML(w io.Writer, d *Data) error {
	return pageTemplate.Execute(w, buildPage(d))
}

// page is the view model the template renders: every number already
// formatted, every chart already drawn.
type page struct {
	Title, Model, Generated string
	Anomaly                 bool
	Protocol                []KV
	TestRows                string
	Supports                []support
	Limits                  []string
	Cards                   []card
	Comparison              []comparisonRow
	ComparisonProtocol      string
	Confusion               template.HTML
	Classes                 []classRow
	MacroF1, WeightedF1     string
	ROCLog, ROCLinear, PR   template.HTML
	CurveLegend             []legendRow
	LowFPRNote              string
	Importance              template.HTML
	ImportanceNote          string
	Correlation             template.HTML
	CorrelationNote         string
	PCA                     template.HTML
	PCANote                 string
}

type support struct {
	Name, Rows string
	Few        bool
}

// card is one headline number. Warn marks a value that must not be read
// at face value; Sub says what it is measured on.
type card struct {
	Label, Value, Sub string
	Warn              bool
}

type classRow struct {
	Swatch                               template.HTML
	Name, Support, Precision, Recall, F1 string
	RecallBar                            string // CSS width of the recall bar
	Benign, Few                          bool
	RecallLevel                          string // "", "warn" or "poor"
}

type legendRow struct {
	Swatch              template.HTML
	Name, ROCAUC, PRAUC string
}

type comparisonRow struct {
	Rank, Algorithm, Params, MacroF1, WeightedF1, PRAUC, Train, Predict string
	Best, Shown                                                         bool
}

func buildPage(d *Data) *page {
	p := &page{
		Title:              d.Title,
		Model:              d.Model,
		Anomaly:            d.Anomaly,
		Protocol:           d.Protocol,
		ComparisonProtocol: d.ComparisonProtocol,
		MacroF1:            metric(d.MacroF1),
		WeightedF1:         metric(d.WeightedF1),
	}
	if p.Title == "" {
		p.Title = "flowguard evaluation report"
	}
	if !d.Generated.IsZero() {
		p.Generated = d.Generated.UTC().Format("2006-01-02 15:04 UTC")
	}
	st := classStyles(len(d.Classes), d.Benign)
	rows := classSupports(d)
	total := 0
	for i, n := range rows {
		total += n
		p.Supports = append(p.Supports, support{Name: d.Classes[i], Rows: thousands(n), Few: n < FewRows})
	}
	p.TestRows = thousands(total)
	benignRows := -1
	if d.Benign >= 0 && d.Benign < len(rows) {
		benignRows = rows[d.Benign]
	}

	p.Limits = limits(d, rows, benignRows)
	p.Cards = cards(d, benignRows)
	p.Comparison = comparison(d)

	if len(d.Classes) > 0 && !d.Anomaly {
		p.Confusion = confusionChart(d.Classes, d.Confusion)
	}
	for i, c := range d.PerClass {
		r := classRow{
			Name: c.Name, Support: thousands(c.Support),
			Precision: metric(c.Precision), Recall: metric(c.Recall), F1: metric(c.F1),
			Few: c.Support < FewRows, RecallBar: "0%",
		}
		if j := slices.Index(d.Classes, c.Name); j >= 0 {
			r.Swatch = swatch(st[j])
			r.Benign = j == d.Benign
		} else if i < len(st) {
			r.Swatch = swatch(st[i])
		}
		if finite(c.Recall) {
			r.RecallBar = fmt.Sprintf("%.1f%%", 100*max(0, min(1, c.Recall)))
			switch {
			case c.Recall < recallPoor:
				r.RecallLevel = "poor"
			case c.Recall < recallWarn:
				r.RecallLevel = "warn"
			}
		}
		p.Classes = append(p.Classes, r)
	}

	if hasPoints(d.ROC) {
		p.ROCLog = curveChart(rocLog, d.ROC, d.Classes, st, benignRows)
		p.ROCLinear = curveChart(rocLinear, d.ROC, d.Classes, st, 0)
		if benignRows > 0 {
			p.LowFPRNote = fmt.Sprintf("Shaded: FPRs below %s, where the %s benign test rows allow fewer than %d false positives, so the curve there moves in steps of single flows.",
				rate(MinFalsePositives/float64(benignRows)), thousands(benignRows), MinFalsePositives)
		}
	}
	if hasPoints(d.PR) {
		p.PR = curveChart(precisionRecall, d.PR, d.Classes, st, 0)
	}
	p.CurveLegend = curveLegend(d, st)

	if n := countFinite(d.FeatureImportance); n > 0 {
		p.Importance = importanceChart(d.FeatureImportance, topFeatures)
		p.ImportanceNote = fmt.Sprintf("Top %d of %d features", min(topFeatures, n), len(d.FeatureImportance))
		if d.ImportanceMethod != "" {
			p.ImportanceNote += "; importance = " + d.ImportanceMethod
		}
		p.ImportanceNote += "."
	}
	if m := d.Correlation; m != nil && len(m.Names) > 0 {
		p.Correlation = correlationChart(m)
		p.CorrelationNote = fmt.Sprintf("Pearson correlation of %d features over %s rows%s. Strongly correlated features carry the same information; importance is shared out among them.",
			len(m.Names), thousands(m.Rows), of(m.Source))
	}
	if pc := d.PCA; pc != nil && len(pc.Points) > 0 {
		var clipped string
		p.PCA, clipped = scatterChart(pc, d.Classes, st)
		p.PCANote = pcaNote(pc, clipped)
	}
	return p
}

// classSupports returns the test rows of each class: the confusion
// matrix's row sums, or the per-class supports when there is no matrix.
func classSupports(d *Data) []int {
	rows := make([]int, len(d.Classes))
	if len(d.Confusion) > 0 {
		for i := range rows {
			for j := range d.Classes {
				rows[i] += cellCount(d.Confusion, i, j)
			}
		}
		return rows
	}
	for _, c := range d.PerClass {
		if i := slices.Index(d.Classes, c.Name); i >= 0 {
			rows[i] = c.Support
		}
	}
	return rows
}

// limits lists what the numbers cannot be trusted for, derived from the
// data, followed by the caller's notes.
func limits(d *Data, rows []int, benignRows int) []string {
	var out []string
	if benignRows < 0 {
		out = append(out, "No benign class: false-positive rate, recall at fixed FPR and false alerts per day are undefined and not reported.")
	}
	var few, none []string
	for i, n := range rows {
		switch {
		case n == 0:
			none = append(none, d.Classes[i])
		case n < FewRows:
			few = append(few, fmt.Sprintf("%s (%d)", d.Classes[i], n))
		}
	}
	if len(none) > 0 {
		out = append(out, fmt.Sprintf("No test rows for %s: their recall and F1 are undefined, and the model was never tested on them.", strings.Join(none, ", ")))
	}
	if len(few) > 0 {
		out = append(out, fmt.Sprintf("Fewer than %d test rows for %s: their per-class metrics move by %.0f%% or more with every single flow.",
			FewRows, strings.Join(few, ", "), 100.0/FewRows))
	}
	for _, r := range d.RecallAtFPR {
		if r.Resolvable {
			continue
		}
		need := thousands(int(math.Ceil(MinFalsePositives / r.FPR)))
		if benignRows >= 0 {
			out = append(out, fmt.Sprintf("Recall at FPR %s is not resolvable: the test set has %s benign rows and measuring that rate needs at least %s (%d false positives).",
				rate(r.FPR), thousands(benignRows), need, MinFalsePositives))
		} else {
			out = append(out, fmt.Sprintf("Recall at FPR %s is not resolvable on this test set (measuring it needs at least %s benign rows).", rate(r.FPR), need))
		}
	}
	if benignRows > 0 && d.AttackFPR == 0 {
		out = append(out, fmt.Sprintf("No benign test row was flagged. That does not mean no false alerts: with %s benign rows the false-positive rate can still be up to %s (95%% upper bound, rule of three).",
			thousands(benignRows), rate(3/float64(benignRows))))
	}
	type named struct {
		name string
		v    float64
	}
	ms := []named{{"ROC AUC", d.ROCAUC}, {"PR AUC", d.PRAUC}}
	if !d.Anomaly { // an anomaly detector has no predicted class to score
		ms = append([]named{{"accuracy", d.Accuracy}, {"macro F1", d.MacroF1}, {"weighted F1", d.WeightedF1}}, ms...)
	}
	var nan []string
	for _, m := range ms {
		if !finite(m.v) {
			nan = append(nan, m.name)
		}
	}
	if len(nan) > 0 {
		out = append(out, "Not computable on this test set: "+strings.Join(nan, ", ")+" (shown as n/a).")
	}
	if benignRows >= 0 && d.FlowRate > 0 {
		out = append(out, "False alerts per day assume the test set's benign false-positive rate carries over to the monitored network; traffic mix there differs, so treat it as an order of magnitude.")
	}
	return append(out, d.Notes...)
}

func cards(d *Data, benignRows int) []card {
	// An anomaly detector predicts no class: no F1 or accuracy, and its
	// curves are attack rows against benign ones.
	var cs []card
	flagged, cut, auc := "benign rows flagged as attack, of ", "P(attack) cut chosen for FPR ", "macro one-vs-rest"
	if d.Anomaly {
		flagged, cut, auc = "benign rows flagged as anomalous, of ", "anomaly-score cut chosen for FPR ", "all attack rows against the benign rows"
	} else {
		cs = []card{
			{Label: "Macro F1", Value: metric(d.MacroF1), Sub: "mean over classes: small classes count fully"},
			{Label: "Weighted F1", Value: metric(d.WeightedF1), Sub: "weighted by class support"},
			{Label: "Accuracy", Value: metric(d.Accuracy), Sub: "dominated by the largest class"},
		}
	}
	cs = append(cs, card{Label: "ROC AUC", Value: metric(d.ROCAUC), Sub: auc}, card{Label: "PR AUC", Value: metric(d.PRAUC), Sub: auc})
	if benignRows < 0 {
		return cs
	}
	sub := flagged + thousands(benignRows)
	if d.Threshold != nil {
		sub += " at the threshold"
	}
	cs = append(cs, card{Label: "False-positive rate", Value: percent(d.AttackFPR), Sub: sub})
	for _, r := range d.RecallAtFPR {
		c := card{Label: "Recall at FPR " + rate(r.FPR), Value: metric(r.Recall), Sub: "attack rows detected at that benign false-positive rate"}
		if !r.Resolvable {
			c.Value, c.Warn = "not resolvable", true
			c.Sub = "too few benign test rows; see limits"
			if finite(r.Recall) {
				c.Sub = "measured " + metric(r.Recall) + " on too few benign rows; see limits"
			}
		}
		cs = append(cs, c)
	}
	if d.FlowRate > 0 {
		c := card{Label: "False alerts per day", Value: sig(d.ExpectedFalseAlertsPerDay),
			Sub: "at " + sig(d.FlowRate) + " benign flows/s"}
		if d.AttackFPR == 0 && benignRows > 0 {
			// Zero observed is not zero expected; give the rule-of-three bound.
			c.Sub += "; up to " + sig(FalseAlertsPerDay(3/float64(benignRows), d.FlowRate)) + " at the 95% bound"
		}
		cs = append(cs, c)
	}
	if t := d.Threshold; t != nil {
		cs = append(cs, card{Label: "Alert threshold", Value: metric(t.Value), Sub: cut + rate(t.TargetFPR)})
	}
	return cs
}

func comparison(d *Data) []comparisonRow {
	rows := slices.Clone(d.Comparison)
	// Unranked (0) rows go last.
	slices.SortStableFunc(rows, func(a, b Comparison) int {
		ra, rb := a.Rank, b.Rank
		if ra <= 0 {
			ra = math.MaxInt
		}
		if rb <= 0 {
			rb = math.MaxInt
		}
		return ra - rb
	})
	out := make([]comparisonRow, len(rows))
	for i, c := range rows {
		rank := "–"
		if c.Rank > 0 {
			rank = fmt.Sprint(c.Rank)
		}
		f1 := metric(c.MacroF1Mean)
		if finite(c.MacroF1Std) {
			f1 += " ± " + metric(c.MacroF1Std)
		}
		out[i] = comparisonRow{
			Rank: rank, Algorithm: c.Algorithm, Params: c.Params,
			MacroF1: f1, WeightedF1: metric(c.WeightedF1Mean), PRAUC: metric(c.PRAUCMean),
			Train: duration(c.TrainSeconds), Predict: perSecond(c.PredictRowsPerSec),
			Best: c.Rank == 1, Shown: d.Model != "" && c.Algorithm == d.Model,
		}
	}
	return out
}

// curveLegend lists every curve name once, ROC and PR AUCs side by side.
func curveLegend(d *Data, st []style) []legendRow {
	var out []legendRow
	index := map[string]int{}
	add := func(c Curve, roc bool) {
		i, ok := index[c.Name]
		if !ok {
			cs, _ := curveStyle(c.Name, d.Classes, st)
			i = len(out)
			index[c.Name] = i
			out = append(out, legendRow{Swatch: swatch(cs), Name: c.Name, ROCAUC: "–", PRAUC: "–"})
		}
		if roc {
			out[i].ROCAUC = metric(c.AUC)
		} else {
			out[i].PRAUC = metric(c.AUC)
		}
	}
	for _, c := range d.ROC {
		add(c, true)
	}
	for _, c := range d.PR {
		add(c, false)
	}
	return out
}

func hasPoints(cs []Curve) bool {
	for _, c := range cs {
		if len(c.Points) > 0 {
			return true
		}
	}
	return false
}

func countFinite(imp []Importance) int {
	n := 0
	for _, v := range imp {
		if finite(v.Value) {
			n++
		}
	}
	return n
}

func pcaNote(pc *PCA, clipped string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s points from %s rows%s. Features standardised; axes fitted on %s rows.",
		thousands(len(pc.Points)), thousands(pc.Rows), of(pc.Source), thousands(pc.FitRows))
	if pc.Balanced {
		b.WriteString(" The sample is class-balanced, so point counts do not show class proportions (see the protocol for those).")
	}
	fmt.Fprintf(&b, " The two axes hold %s of the variance: classes that overlap here may still separate in the other dimensions.",
		percent(pc.ExplainedVariance[0]+pc.ExplainedVariance[1]))
	if clipped != "" {
		b.WriteString(" " + clipped)
	}
	return b.String()
}

// of renders an optional row source as " of the <source>".
func of(source string) string {
	if source == "" {
		return ""
	}
	return " of the " + source
}
