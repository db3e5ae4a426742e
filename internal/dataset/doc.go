// Package dataset reads labelled flow files into the feature matrix
// flowguard trains and evaluates on, and splits them honestly. It knows
// every CICFlowMeter CSV dialect in public use and flowguard's own flow
// output, maps them onto one canonical feature schema, cleans the rows,
// and provides the splits, resampling and leak checks an evaluation needs.
// It knows nothing about models (see internal/ml) or packets.
//
// # Canonical schema
//
// schema.csv, embedded, is the whole mapping: one row per canonical column
// (snake_case ID, kind) and one column per naming scheme, each cell the
// name(s) that scheme writes. There are 86 features: the 76 of
// CICFlowMeter-V3 (CIC-IDS2017, CSE-CIC-IDS2018, flowguard's cic2017
// profile) and the 10 the Engelen fork adds (RST flag directions, backward
// active-data packets and minimum segment size, ICMP code and type,
// retransmission counters, connection time). Beside the features the table
// names the identifier columns (Flow ID, addresses, ports, protocol,
// Community ID), the Timestamp and the Label. A feature's canonical ID is
// the CSE-CIC-IDS2018 short name in ml-ids snake_case (flow_byts_s), with
// the header's CWE misspelling corrected to cwr_flag_cnt. The Kubernetes
// files' "Total TCP Flow Time" is the Engelen fork's earlier name of "Total
// Connection Flow Time".
//
// # Dialects
//
// A dialect (Dialects) is a naming scheme plus what it implies: the
// flow-meter profile whose semantics its features have (cic2017 or
// engelen, as internal/flowmeter computes them; a model must be fed by the
// same profile at detection time), integer label codes, and its clock. The
// dialect is detected from the header alone: the one naming most columns
// wins; flowguard's output is told from the references' by its Community
// ID column (JSON lines and Parquet always carry it, CSV with
// --community-id). Names match whatever their case and spacing, so the
// leading spaces of CIC-IDS2017 headers do not matter.
//
//	cic-ids2017        MachineLearningCVE / TrafficLabelling long names
//	rdube              r-dube's anonymised X1..X78 + YY (codes 0..12)
//	cse-cic-ids2018    short names (also flowguard cic2017 CSV)
//	ml-ids             the short names in snake_case, with a pandas index column
//	kubernetes         Sever & Dogan's 87 columns, labels 0..10 (11: Nuclei scan)
//	engelen            GintsEngelen HEAD's 94 columns (also flowguard engelen CSV)
//	flowguard-cic2017, flowguard-engelen   the same with Community ID
//
// A column a dialect repeats (CIC-IDS2017's second Fwd Header Length,
// pandas' "Fwd Header Length.1", r-dube's X56) is ignored, an unnamed
// pandas index column too; unknown columns are reported and ignored; a
// header without any feature column is an error (NSL-KDD is named as
// such). Files of several dialects load together: the features are those
// every file has, and mixing profiles is reported.
//
// # Reading
//
// Files, directories (walked for .csv, .jsonl, .parquet, optionally .gz)
// and gzip (by its magic, whatever the name) are read as streams: CSV and
// JSON lines are cut into chunks of lines parsed in parallel straight from
// bytes into float64 rows, so memory follows the float matrix, not the
// text. Infinity, inf, NaN and empty cells are non-finite values for the
// cleaning step; CSE-CIC-IDS2018's repeated header lines and CIC-IDS2017's
// lines of bare commas are skipped and counted. Malformed input is an
// error naming the file, line and column.
//
// Labels are normalised: integer codes named by the dialect's table, the
// web-attack separator in its byte forms (cp1252 0x96, C2 96, U+FFFD)
// turned into "-" ("Web Attack - Brute Force"), spaces collapsed, every
// benign spelling BENIGN, flow-meter placeholders ("No Label") unlabelled.
//
// Timestamps are µs since the epoch in UTC where the dataset's zone is
// known, otherwise the wall clock as written: CIC-IDS2017 wrote local time
// (ADT, UTC-3), which is converted; CSE-CIC-IDS2018's zone is not
// documented, so its times are as written; Engelen and flowguard write UTC.
// CIC-IDS2017 and CSE-CIC-IDS2018 use a 12-hour clock without AM/PM; both
// captured during office hours (08:00 to about 18:00), so hours 1 to 7 are
// read as afternoon (the CIC-IDS2017 DDoS written 3:56 ran 15:56-16:16).
// flowguard's cic2017 output keeps the reference's 12-hour clock, which
// cannot be repaired for arbitrary captures; the report says so. (Written
// as CSV without --community-id its header is CSE-CIC-IDS2018's, and it is
// read as that dialect, repair included: use JSON lines, Parquet or the
// engelen profile when time order matters.)
//
// # Cleaning, and why the defaults are what they are
//
// The defaults aim at an honest evaluation, and every step is counted in
// the Report:
//
//   - Identifiers are not features. Ports, protocol, addresses, Flow ID and
//     Timestamp identify the testbed's machines and schedule: a model that
//     uses them learns where and when the attacks ran, which no other
//     network repeats. IncludeIdentifiers turns ports and protocol into
//     features for those who want them; the rest never are.
//   - Rows stamped before 1990 (CSE-CIC-IDS2018's broken 1970 flows, with
//     negative durations) are dropped.
//   - Rows with ±Inf or NaN features are dropped. They are few (the rates of
//     zero-duration cic2017 flows, empty cells), no learner takes them, and
//     an imputed value is a choice detection would have to repeat exactly.
//     Replacing by the column's extreme or by 0 is available.
//   - Negative values are counted and kept, except where negatives are data
//     (DefaultNegativeOK); clipping and dropping are available.
//   - Labels are mapped (binary, families, or a mapping file) before
//     duplicates are judged, so duplicates are judged on what is learnt.
//   - Exact duplicates (features and label) are removed before any split:
//     CIC-IDS2017 repeats many short flows thousands of times, and a copy on
//     each side of a split lets a model score by memory. A feature vector
//     left with several labels keeps one row with its majority label
//     (or none, ConflictDrop). After cleaning every feature vector is
//     therefore unique, and Verify can prove that no split leaks one.
//
// Constant, near-constant and highly correlated columns are not removed at
// load: that choice learns from data, so ColumnFilter is fitted on the
// training rows of a split only and applied to the rest. By default it
// drops constant columns and the later of two with |r| >= 0.99;
// near-constant columns only on request, since a rare class can live in
// the few rows where such a column differs.
//
// # Splits
//
// Stratified, StratifiedKFold, HoldOut (by file or by day), GroupKFold
// (any group type) and Temporal partition row indices deterministically.
// ClassWeights, Undersample and Oversample address class imbalance on the
// training side. Verify checks a split for overlapping rows, duplicate
// feature vectors across the sides and identifier features; tests use it
// to fail when a leak slips through.
package dataset
