// Package cluster groups flow feature rows without labels: a KD-tree for
// Euclidean range and nearest-neighbour queries, DBSCAN with exactly
// scikit-learn's semantics (so a model clustered there clusters the same
// here), the k-distance curve and its knee for choosing eps, HDBSCAN, and
// the agreement measures (adjusted Rand index, purity) used to compare
// clusterings with each other and with known classes.
//
// Everything is Euclidean. Squared distances are summed dimension by
// dimension in index order and compared with eps*eps, the same arithmetic
// scikit-learn's KD-tree uses, so points at a distance within a rounding
// error of eps fall on the same side in both.
package cluster
