// Package tree is flowguard's histogram tree core: it quantises features
// into at most 255 bins plus a missing-value bin, grows decision trees on
// per-bin sums of gradient statistics, and predicts with compact node
// arrays. Gradient boosting (package gbdt), random forests and extra trees
// (package forest) are configurations of this one core; they differ only in
// the gradients they pass in and the Params they set.
//
// # Binning
//
// FitBins finds at most MaxBins−1 cut points per feature from an exact sort
// of a uniform sample of the training rows (BinOptions.SampleRows, 200,000
// by default, the same order LightGBM uses). When a feature has no more
// distinct values than bins, every distinct value gets its own bin and the
// cut sits half-way between neighbours; otherwise cuts are placed greedily at
// equal row-count quantiles without ever splitting a repeated value, so a
// value that fills a third of the rows gets a bin of its own. Value v falls
// in bin i when cut[i−1] < v <= cut[i]; NaN gets the code NumBins(f), which
// is at most 255, so a bin fits in a uint8. Row weights do not move cuts.
//
// # Growth
//
// A tree has K outputs: every row carries K gradients and either K hessians
// or one shared hessian (the forest's case, where h is the row weight). The
// split gain is Σ_k G_k²/(H_k+λ) summed over the two children minus the
// parent's, as in XGBoost, and a leaf's values are −G_k/(H_k+λ) times
// Params.Scale. With g = −one-hot(y) and h = 1 and λ = 0, that gain is the
// decrease of the Gini impurity n·(1−Σp_k²) and the leaf values are the class
// proportions, which is how the forest uses it.
//
// Nodes are grown depth-wise (breadth first, XGBoost's default) or leaf-wise
// (largest gain first, LightGBM's), bounded by MaxDepth and MaxLeaves. Each
// pending leaf keeps its histogram so that, after a split, only the smaller
// child is built from rows and the larger one is the parent minus it. Rows
// of a node are a contiguous range of one index array, partitioned stably
// after each split so that indices stay ascending and column reads stay
// sequential. Histograms are built per feature in blocks of rows so a block
// of gradients stays in cache while every feature walks over it; features
// are spread over goroutines, which also search the splits of the features
// they built, so nothing is reduced across workers and results do not depend
// on the number of threads.
//
// Work is cut where flow data makes it cheap. At the root of a tree grown
// on every row, a feature whose most frequent bin holds at least half of
// the rows (most flow features are mostly zero) is summed over its other
// rows only, and the common bin is the node total minus the rest, as in
// LightGBM. With subtraction on, a feature whose rows all share one bin in
// a node is dropped for the whole subtree. One-output trees (boosting)
// accumulate integer histograms: each row's gradient and hessian are
// rounded stochastically to multiples of power-of-two steps and packed in
// one int64, so one integer add per row and feature sums both, exactly,
// into a fixed 256-bin window indexed by the uint8 bin, four features per
// pass over a block of rows; split search sees the rounding, leaf values
// use the exact gradients (see quantise). Forest trees use one-hot
// gradients (Params.OneHot), one add per row instead of K+1, and deep
// nodes clear and scan only the bins their rows occupy.
//
// Missing values go to a learned default side: every candidate split is
// scored with the node's missing rows on the left and on the right.
//
// Extra trees draw one random cut per candidate feature between the lowest
// and highest non-empty bin of the node instead of scanning every bin.
//
// # Prediction
//
// Tree is the stored form. Compile turns a list of trees into an Ensemble
// of 16-byte nodes, children side by side and one-output leaf values in
// the node, which SumBatch walks tree by tree over blocks of rows on all
// threads. Validate must pass before either: it guarantees that every
// walk ends at a leaf inside the arrays. Boosters' trees (one output,
// depth ≤ 12) are also laid out for a fixed-depth walk without branches
// or bounds checks, leaves stepping onto themselves: a block of rows goes
// down one tree level by level (SumBatch), or one row down 64 trees at a
// time (SumRow), whenever the rows hold no NaN; sums are added in tree
// order either way, so every walk gives the same bits.
package tree
