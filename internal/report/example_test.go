package report

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

var exampleOut = flag.String("example", "", "write the realistic example report to this HTML path")

// cicFeatures are CICFlowMeter column names, so the example's labels have
// realistic lengths.
var cicFeatures = []string{
	"Flow Duration", "Total Fwd Packets", "Total Backward Packets", "Total Length of Fwd Packets",
	"Total Length of Bwd Packets", "Fwd Packet Length Max", "Fwd Packet Length Min", "Fwd Packet Length Mean",
	"Fwd Packet Length Std", "Bwd Packet Length Max", "Bwd Packet Length Min", "Bwd Packet Length Mean",
	"Bwd Packet Length Std", "Flow Bytes/s", "Flow Packets/s", "Flow IAT Mean", "Flow IAT Std", "Flow IAT Max",
	"Flow IAT Min", "Fwd IAT Total", "Fwd IAT Mean", "Fwd IAT Std", "Fwd IAT Max", "Fwd IAT Min", "Bwd IAT Total",
	"Bwd IAT Mean", "Bwd IAT Std", "Bwd IAT Max", "Bwd IAT Min", "Fwd PSH Flags", "Fwd Header Length",
	"Bwd Header Length", "Fwd Packets/s", "Bwd Packets/s", "Min Packet Length", "Max Packet Length",
	"Packet Length Mean", "Packet Length Std", "Packet Length Variance", "FIN Flag Count", "SYN Flag Count",
	"RST Flag Count", "PSH Flag Count", "ACK Flag Count", "URG Flag Count", "Down/Up Ratio", "Average Packet Size",
	"Avg Fwd Segment Size", "Avg Bwd Segment Size", "Subflow Fwd Packets", "Subflow Fwd Bytes",
	"Subflow Bwd Packets", "Subflow Bwd Bytes", "Init_Win_bytes_forward", "Init_Win_bytes_backward",
	"act_data_pkt_fwd", "min_seg_size_forward", "Active Mean", "Active Std", "Active Max", "Active Min",
	"Idle Mean", "Idle Std", "Idle Max", "Idle Min", "Destination Port", "CWE Flag Count", "ECE Flag Count",
	"Fwd Avg Bytes/Bulk", "Bwd Avg Packets/Bulk",
}

// scoreCurves builds one-vs-rest ROC and PR curves from synthetic scores:
// positives score N(sep, 1), negatives N(0, 1).
func scoreCurves(rng *rand.Rand, name string, pos, neg int, sep float64) (Curve, Curve) {
	type s struct {
		v float64
		p bool
	}
	all := make([]s, 0, pos+neg)
	for range pos {
		all = append(all, s{rng.NormFloat64() + sep, true})
	}
	for range neg {
		all = append(all, s{rng.NormFloat64(), false})
	}
	slices.SortFunc(all, func(a, b s) int {
		if a.v > b.v {
			return -1
		}
		return 1
	})
	roc := Curve{Name: name, Points: [][2]float64{{0, 0}}}
	pr := Curve{Name: name}
	tp, fp := 0, 0
	var auc, ap float64
	for _, x := range all {
		if x.p {
			tp++
			ap += float64(tp) / float64(tp+fp) / float64(pos)
		} else {
			fp++
			auc += float64(tp) / float64(pos) / float64(neg)
		}
		roc.Points = append(roc.Points, [2]float64{float64(fp) / float64(neg), float64(tp) / float64(pos)})
		pr.Points = append(pr.Points, [2]float64{float64(tp) / float64(pos), float64(tp) / float64(tp+fp)})
	}
	roc.AUC, pr.AUC = auc, ap
	return roc, pr
}

// cic2017 are the CIC-IDS2017 labels with test-set supports of a 20% split
// and plausible recalls.
var cic2017 = []struct {
	name    string
	support int
	recall  float64
	sep     float64 // score separation for the synthetic curves
}{
	{"BENIGN", 45210, 0.9991, 3.2},
	{"DoS Hulk", 4620, 0.9987, 5.5},
	{"DDoS", 2560, 0.9996, 6.5},
	{"PortScan", 3170, 0.9978, 4.8},
	{"FTP-Patator", 159, 0.9937, 4.2},
	{"Bot", 39, 0.7436, 2.6},
	{"Web Attack – XSS", 7, 0.2857, 1.4},
	{"DoS GoldenEye", 2059, 0.9961, 5.0},
	{"SSH-Patator", 118, 0.9831, 4.4},
	{"DoS slowloris", 1159, 0.9940, 4.6},
	{"DoS Slowhttptest", 1100, 0.9909, 4.5},
	{"Web Attack – Brute Force", 301, 0.7110, 2.2},
	{"Infiltration", 7, 0.4286, 1.8},
	{"Web Attack – Sql Injection", 4, 0.2500, 1.2},
	{"Heartbleed", 2, 1, 7},
}

// exampleData is a realistic report with the first n of cic2017's classes
// (7 has one class with 7 test rows), 70 features, a 2,000-point PCA and a
// 4-algorithm comparison.
func exampleData(t testing.TB, n int) *Data {
	rng := rand.New(rand.NewPCG(7, 7))
	var classes []string
	var support []int
	var recall, seps []float64
	for _, c := range cic2017[:n] {
		classes = append(classes, c.name)
		support = append(support, c.support)
		recall = append(recall, c.recall)
		seps = append(seps, c.sep)
	}
	k := len(classes)
	conf := make([][]int, k)
	for i := range conf {
		conf[i] = make([]int, k)
		right := int(math.Round(recall[i] * float64(support[i])))
		conf[i][i] = right
		wrong := support[i] - right
		for wrong > 0 {
			j := rng.IntN(k)
			if i != 0 && rng.Float64() < 0.6 {
				j = 0
			}
			if j == i {
				continue
			}
			conf[i][j]++
			wrong--
		}
	}
	d := &Data{
		Title:     "CIC-IDS2017 — gradient boosting, held-out test",
		Generated: time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC),
		Model:     "gbdt",
		Protocol: []KV{
			{"Data sources", "CIC-IDS2017 MachineLearningCVE, 8 CSV files (Monday–Friday)"},
			{"Rows", "2,830,743 read; 2,827,876 after cleaning; 2,522,362 after deduplication"},
			{"Split", "stratified random 80/20 by class, seed 42 (validation: 10% of train)"},
			{"Cleaning", "2,867 rows with NaN/Inf dropped; 8 constant columns dropped"},
			{"Duplicates removed", "305,514 exact duplicates (feature vector + label) before splitting"},
			{"Excluded columns", "Flow ID, Source IP, Destination IP, Source Port, Timestamp (identifiers)"},
			{"Flow-meter profile", "cic2017"},
		},
		Notes:     []string{"Web Attack – XSS and – Brute Force are hard to tell apart in CIC-IDS2017 flows; labels may be noisy."},
		Classes:   classes,
		Benign:    0,
		Confusion: conf,
	}
	var f1s, ws []float64
	for i, c := range classes {
		tp := conf[i][i]
		col := 0
		for r := range k {
			col += conf[r][i]
		}
		p := float64(tp) / float64(col)
		r := float64(tp) / float64(support[i])
		f1 := 2 * p * r / (p + r)
		f1s = append(f1s, f1)
		ws = append(ws, float64(support[i]))
		d.PerClass = append(d.PerClass, ClassMetrics{Name: c, Precision: p, Recall: r, F1: f1, Support: support[i]})
	}
	var sum, wsum, wtot float64
	for i := range f1s {
		sum += f1s[i]
		wsum += f1s[i] * ws[i]
		wtot += ws[i]
	}
	d.MacroF1, d.WeightedF1 = sum/float64(k), wsum/wtot
	d.Accuracy = 0.9985
	total := 0
	for _, s := range support {
		total += s
	}
	var rocAUC, prAUC float64
	for i, c := range classes {
		roc, pr := scoreCurves(rng, c, support[i], total-support[i], seps[i])
		d.ROC = append(d.ROC, roc)
		d.PR = append(d.PR, pr)
		rocAUC += roc.AUC
		prAUC += pr.AUC
	}
	d.ROCAUC, d.PRAUC = rocAUC/float64(k), prAUC/float64(k)
	roc, pr := scoreCurves(rng, "attack vs benign", total-support[0], support[0], 4.1)
	d.ROC = append(d.ROC, roc)
	d.PR = append(d.PR, pr)
	d.AttackFPR = 0.00084
	d.RecallAtFPR = []RecallAtFPR{
		{FPR: 1e-3, Recall: 0.9912, Resolvable: Resolvable(1e-3, support[0])},
		{FPR: 1e-4, Recall: 0.9421, Resolvable: Resolvable(1e-4, support[0])},
	}
	d.FlowRate = 2000
	d.ExpectedFalseAlertsPerDay = FalseAlertsPerDay(d.AttackFPR, d.FlowRate)
	d.Threshold = &Threshold{Value: 0.9312, TargetFPR: 1e-3}

	// Features: a 4-D latent class signature mixed into 70 heavy-tailed
	// columns, so PCA and correlations have structure to find.
	const rows = 20000
	nf := len(cicFeatures)
	mix := make([]float64, 4*nf)
	for i := range mix {
		mix[i] = rng.NormFloat64()
	}
	centre := make([][4]float64, k)
	for i := range centre {
		for j := range 4 {
			centre[i][j] = rng.NormFloat64() * 2.5
		}
	}
	x := make([]float64, rows*nf)
	labels := make([]int, rows)
	for r := range rows {
		// Class frequencies roughly as in the test set, rare ones boosted.
		c := 0
		if u := rng.Float64(); u > 0.80 {
			c = 1 + rng.IntN(k-1)
		}
		labels[r] = c
		var z [4]float64
		for j := range z {
			z[j] = centre[c][j] + rng.NormFloat64()
		}
		for f := range nf {
			v := rng.NormFloat64() * 0.8
			for j := range z {
				v += mix[j*nf+f] * z[j]
			}
			if f%7 == 3 {
				v = math.Exp(v / 3) // heavy tail, like byte rates
			}
			if f == 29 {
				v = 0 // constant column
			}
			x[r*nf+f] = v
		}
	}
	imp := make([]float64, nf)
	var impSum float64
	for f := range imp {
		imp[f] = math.Exp(-float64(f%31)/6) * (0.5 + rng.Float64())
		impSum += imp[f]
	}
	for f := range imp {
		imp[f] /= impSum
		d.FeatureImportance = append(d.FeatureImportance, Importance{Name: cicFeatures[f], Value: imp[f]})
	}
	d.ImportanceMethod = "total split gain, normalised to sum 1"
	var err error
	if d.Correlation, err = Correlation(x, rows, nf, cicFeatures, imp, 30, 1); err != nil {
		t.Fatal(err)
	}
	if d.PCA, err = PCA2(x, rows, nf, labels, 2000, 1); err != nil {
		t.Fatal(err)
	}
	d.Correlation.Source, d.PCA.Source = "training split", "training split"
	d.Comparison = []Comparison{
		{"random forest", "trees=300 max_depth=none min_leaf=1 max_features=sqrt", 0.9021, 0.0113, 0.9981, 0.9312, 412.5, 1.9e6, 2},
		{"gbdt", "rounds=500 lr=0.1 leaves=63 bins=255 early_stop=20", 0.9187, 0.0094, 0.9986, 0.9448, 238.1, 4.2e6, 1},
		{"logistic regression", "C=1 penalty=l2 standardise=true", 0.7214, 0.0201, 0.9712, 0.7833, 41.9, 2.1e7, 4},
		{"k-NN", "k=5 metric=euclidean weights=distance", 0.8833, 0.0150, 0.9960, 0.8761, 3.2, 8100, 3},
	}
	d.ComparisonProtocol = "5-fold stratified cross-validation on the training split; prediction throughput on one core."
	return d
}

// TestExample renders the realistic examples (7 and 15 classes), keeps them within a few hundred
// kilobytes, and writes it out with -example for a look in a browser.
func TestExample(t *testing.T) {
	for _, n := range []int{7, 15} {
		var b bytes.Buffer
		if err := WriteHTML(&b, exampleData(t, n)); err != nil {
			t.Fatal(err)
		}
		if b.Len() > 400<<10 {
			t.Errorf("%d-class example report is %d KiB, want at most 400", n, b.Len()>>10)
		}
		if *exampleOut == "" {
			continue
		}
		path := *exampleOut
		if n != 7 {
			path = strings.TrimSuffix(path, ".html") + fmt.Sprintf("-%d.html", n)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d KiB)", path, b.Len()>>10)
	}
}
