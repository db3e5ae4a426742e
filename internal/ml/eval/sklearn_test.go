package eval

import (
	"math"
	"testing"

	"github.com/flowguard/flowguard/internal/ml"
)

// recallAt is the best operating point at a target FPR, read off
// scikit-learn's roc_curve(drop_intermediate=False) as the last point whose
// fpr ≤ target.
type recallAt struct{ target, tpr, fpr, threshold float64 }

type sklearnCase struct {
	name                                    string
	classes                                 int
	yTrue, yPred                            []int
	scores                                  []float64
	precision, recall, f1                   []float64
	accuracy, balanced, macroF1, weightedF1 float64
	rocAUC, prAUC, attackROC, attackPR      float64
	classROC, classPR                       []float64
	cm                                      [][]int
	recallAt                                []recallAt
}

// sklearnCases were produced with numpy and scikit-learn 1.2.1: labels
// drawn with default_rng(seed), class probabilities from a Dirichlet made
// informative by adding up to 0.8 to the true class, renormalised and
// rounded to 1 or 2 decimals (so scores tie), predictions the argmax (in
// "seed 2" class 2 is never predicted). Expected values:
// precision_recall_fscore_support(zero_division=0), accuracy_score,
// balanced_accuracy_score, f1_score(average="macro"/"weighted"),
// roc_auc_score and average_precision_score per class column against
// y == c (macro = their mean; the rounded rows no longer sum to 1, which
// roc_auc_score's multi_class="ovr" insists on, so the mean is taken by
// hand), and the benign-vs-attack values on 1 − P[:, 0] against y != 0.
var sklearnCases = []sklearnCase{
	{
		name:       "seed 1",
		classes:    3,
		yTrue:      []int{1, 1, 2, 2, 0, 0, 2, 2, 0, 0, 2, 1, 0, 2, 0, 1, 1, 1, 0, 0, 2, 2, 2, 1, 2, 0, 1, 2, 0, 0, 0, 1, 2, 0, 1, 1, 2, 0, 1, 0},
		yPred:      []int{0, 1, 1, 0, 0, 1, 2, 2, 0, 0, 0, 2, 0, 2, 1, 2, 0, 0, 0, 0, 2, 1, 0, 1, 2, 0, 1, 2, 0, 0, 0, 1, 2, 1, 0, 1, 2, 0, 1, 1},
		scores:     []float64{0.5, 0.3, 0.2, 0.3, 0.5, 0.1, 0.1, 0.5, 0.4, 0.6, 0.0, 0.4, 0.7, 0.0, 0.3, 0.3, 0.4, 0.3, 0.0, 0.2, 0.8, 0.2, 0.2, 0.6, 0.7, 0.2, 0.1, 0.4, 0.4, 0.2, 0.5, 0.0, 0.5, 0.1, 0.1, 0.7, 0.5, 0.4, 0.1, 0.4, 0.0, 0.6, 0.4, 0.5, 0.1, 0.2, 0.2, 0.6, 0.5, 0.4, 0.1, 0.6, 0.3, 0.0, 0.6, 0.3, 0.1, 0.6, 0.2, 0.2, 0.4, 0.1, 0.6, 0.0, 0.6, 0.4, 0.6, 0.1, 0.2, 0.3, 0.7, 0.0, 0.1, 0.1, 0.8, 0.6, 0.1, 0.3, 0.4, 0.6, 0.0, 0.3, 0.2, 0.4, 0.5, 0.0, 0.4, 0.4, 0.1, 0.4, 0.9, 0.0, 0.1, 0.1, 0.6, 0.3, 0.1, 0.2, 0.8, 0.2, 0.6, 0.2, 0.4, 0.3, 0.3, 0.1, 0.6, 0.3, 0.1, 0.4, 0.5, 0.5, 0.4, 0.1, 0.3, 0.4, 0.3, 0.2, 0.8, 0.0},
		precision:  []float64{0.6111111111111112, 0.5, 0.8},
		recall:     []float64{0.7333333333333333, 0.5, 0.6153846153846154},
		f1:         []float64{0.6666666666666666, 0.5, 0.6956521739130435},
		accuracy:   0.625,
		balanced:   0.6162393162393163,
		macroF1:    0.6207729468599034,
		weightedF1: 0.6260869565217391,
		rocAUC:     0.8032416904083571,
		prAUC:      0.6428203788192193,
		attackROC:  0.7759999999999999,
		attackPR:   0.8488680124293027,
		classROC:   []float64{0.776, 0.7291666666666666, 0.9045584045584046},
		classPR:    []float64{0.6590391368885993, 0.47601540616246496, 0.7934065934065935},
		cm:         [][]int{{11, 4, 0}, {4, 6, 2}, {3, 2, 8}},
		recallAt:   []recallAt{{0.1, 0.36, 0.0, 0.9}, {0.25, 0.6, 0.2, 0.7}},
	},
	{
		name:       "seed 2",
		classes:    4,
		yTrue:      []int{3, 1, 0, 1, 1, 3, 1, 0, 1, 2, 3, 2, 3, 0, 3, 0, 2, 1, 0, 2, 1, 2, 1, 0, 2, 1, 2, 2, 3, 1, 0, 2, 3, 3, 3, 2, 1, 1, 0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 3, 1},
		yPred:      []int{3, 3, 1, 1, 3, 1, 1, 0, 0, 3, 3, 3, 3, 0, 3, 0, 1, 1, 0, 3, 0, 0, 3, 1, 1, 1, 1, 1, 1, 1, 0, 1, 3, 0, 3, 3, 3, 1, 0, 0, 3, 1, 3, 0, 3, 3, 3, 0, 3, 1},
		scores:     []float64{0.22, 0.19, 0.23, 0.37, 0.17, 0.23, 0.13, 0.47, 0.26, 0.47, 0.18, 0.09, 0.14, 0.59, 0.13, 0.14, 0.07, 0.36, 0.46, 0.11, 0.06, 0.61, 0.13, 0.2, 0.03, 0.39, 0.26, 0.32, 0.53, 0.07, 0.33, 0.06, 0.4, 0.4, 0.12, 0.08, 0.05, 0.37, 0.56, 0.02, 0.2, 0.06, 0.4, 0.34, 0.02, 0.06, 0.41, 0.51, 0.29, 0.07, 0.09, 0.54, 0.51, 0.45, 0.01, 0.02, 0.05, 0.17, 0.35, 0.43, 0.52, 0.01, 0.4, 0.07, 0.03, 0.46, 0.44, 0.06, 0.03, 0.59, 0.09, 0.28, 0.43, 0.18, 0.17, 0.21, 0.19, 0.36, 0.41, 0.04, 0.8, 0.12, 0.06, 0.03, 0.6, 0.03, 0.22, 0.16, 0.16, 0.26, 0.19, 0.39, 0.14, 0.62, 0.13, 0.11, 0.16, 0.47, 0.28, 0.09, 0.11, 0.58, 0.16, 0.14, 0.1, 0.42, 0.3, 0.18, 0.02, 0.37, 0.37, 0.25, 0.07, 0.46, 0.19, 0.28, 0.0, 0.59, 0.23, 0.18, 0.48, 0.12, 0.28, 0.11, 0.27, 0.37, 0.09, 0.27, 0.2, 0.22, 0.03, 0.55, 0.45, 0.06, 0.19, 0.3, 0.04, 0.02, 0.16, 0.78, 0.19, 0.04, 0.54, 0.24, 0.13, 0.27, 0.52, 0.08, 0.04, 0.6, 0.05, 0.31, 0.56, 0.2, 0.15, 0.09, 0.62, 0.26, 0.05, 0.07, 0.1, 0.44, 0.0, 0.46, 0.43, 0.44, 0.12, 0.02, 0.25, 0.05, 0.68, 0.02, 0.39, 0.13, 0.24, 0.23, 0.09, 0.3, 0.51, 0.1, 0.04, 0.05, 0.28, 0.64, 0.05, 0.15, 0.15, 0.65, 0.58, 0.02, 0.0, 0.4, 0.27, 0.13, 0.01, 0.59, 0.14, 0.74, 0.05, 0.07},
		precision:  []float64{0.5384615384615384, 0.47058823529411764, 0.0, 0.45},
		recall:     []float64{0.7777777777777778, 0.5333333333333333, 0.0, 0.6923076923076923},
		f1:         []float64{0.6363636363636364, 0.5, 0.0, 0.5454545454545455},
		accuracy:   0.48,
		balanced:   0.5008547008547009,
		macroF1:    0.4204545454545454,
		weightedF1: 0.4063636363636364,
		rocAUC:     0.8543494164225871,
		prAUC:      0.6584566987333439,
		attackROC:  0.8631436314363145,
		attackPR:   0.9671073553661913,
		classROC:   []float64{0.8631436314363143, 0.7819047619047619, 0.8523908523908523, 0.91995841995842},
		classPR:    []float64{0.5100970017636685, 0.5919313548624806, 0.7139135225561524, 0.8178849157510741},
		cm:         [][]int{{7, 2, 0, 0}, {2, 8, 0, 5}, {2, 5, 0, 6}, {2, 2, 0, 9}},
		recallAt:   []recallAt{{0.1, 0.4878048780487805, 0.0, 0.87}, {0.25, 0.8780487804878049, 0.2222222222222222, 0.6}},
	},
	{
		name:       "seed 3",
		classes:    2,
		yTrue:      []int{1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1},
		yPred:      []int{1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1},
		scores:     []float64{0.4, 0.6, 0.9, 0.1, 1.0, 0.0, 0.7, 0.3, 0.8, 0.2, 0.3, 0.7, 0.6, 0.4, 0.5, 0.5, 0.3, 0.7, 1.0, 0.0, 0.9, 0.1, 0.6, 0.4, 0.3, 0.7, 0.7, 0.3, 0.9, 0.1, 0.6, 0.4, 0.1, 0.9, 0.4, 0.6, 0.2, 0.8, 0.3, 0.7, 0.3, 0.7, 0.4, 0.6, 0.4, 0.6, 0.5, 0.5, 0.8, 0.2, 0.2, 0.8, 0.0, 1.0, 0.8, 0.2, 0.7, 0.3, 0.4, 0.6},
		precision:  []float64{0.75, 0.5714285714285714},
		recall:     []float64{0.6666666666666666, 0.6666666666666666},
		f1:         []float64{0.7058823529411765, 0.6153846153846153},
		accuracy:   0.6666666666666666,
		balanced:   0.6666666666666666,
		macroF1:    0.6606334841628959,
		weightedF1: 0.669683257918552,
		rocAUC:     0.7222222222222221,
		prAUC:      0.6236292119186857,
		attackROC:  0.7222222222222221,
		attackPR:   0.6236292119186857,
		cm:         [][]int{{12, 6}, {4, 8}},
		recallAt:   []recallAt{{0.1, 0.16666666666666666, 0.0, 0.9}, {0.25, 0.16666666666666666, 0.1111111111111111, 0.8}},
	},
}

func same(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

func TestMatchesSklearn(t *testing.T) {
	for _, c := range sklearnCases {
		t.Run(c.name, func(t *testing.T) {
			scores := &ml.Matrix{Rows: len(c.yTrue), Cols: c.classes, Data: c.scores}
			r, err := Evaluate(c.yTrue, c.yPred, scores, ClassNames(c.classes), Options{TargetFPRs: []float64{0.1, 0.25}})
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got Float, want float64) {
				t.Helper()
				if !same(float64(got), want) {
					t.Errorf("%s = %v, scikit-learn %v", what, got, want)
				}
			}
			for k := range c.classes {
				pc := r.PerClass[k]
				check("precision "+pc.Name, pc.Precision, c.precision[k])
				check("recall "+pc.Name, pc.Recall, c.recall[k])
				check("f1 "+pc.Name, pc.F1, c.f1[k])
				if c.classROC != nil {
					check("roc_auc "+pc.Name, pc.ROCAUC, c.classROC[k])
					check("pr_auc "+pc.Name, pc.PRAUC, c.classPR[k])
				}
				for p := range c.classes {
					if r.ConfusionMatrix[k][p] != c.cm[k][p] {
						t.Fatalf("confusion matrix %v, scikit-learn %v", r.ConfusionMatrix, c.cm)
					}
				}
			}
			check("accuracy", r.Accuracy, c.accuracy)
			check("balanced accuracy", r.BalancedAccuracy, c.balanced)
			check("macro F1", r.MacroF1, c.macroF1)
			check("weighted F1", r.WeightedF1, c.weightedF1)
			check("ROC-AUC", r.ROCAUC, c.rocAUC)
			check("PR-AUC", r.PRAUC, c.prAUC)
			check("attack ROC-AUC", r.Attack.ROCAUC, c.attackROC)
			check("attack PR-AUC", r.Attack.PRAUC, c.attackPR)
			for i, want := range c.recallAt {
				op := r.Attack.RecallAtFPR[i]
				check("recall at target", op.TargetFPR, want.target)
				check("recall", op.Recall, want.tpr)
				check("achieved FPR", op.FPR, want.fpr)
				check("threshold", op.Threshold, want.threshold)
			}
		})
	}
}
