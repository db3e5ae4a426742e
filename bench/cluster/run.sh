#!/usr/bin/env bash
# Clustering benchmark: flowguard's DBSCAN and isolation forest against
# scikit-learn's (Debian python3-sklearn) on the same 100k rows in the same
# run. See bench/cluster/README.md.
#
#   bench/cluster/run.sh
#   ROWS=200000 WORKERS=2 bench/cluster/run.sh
#
# Environment: ROWS (100000), JITTER (0.005), EPS (0.0678), MIN_SAMPLES (18),
# WORKERS (2, also scikit-learn's n_jobs), TREES (100), SHARED (../shared
# from the checkout), FLOWGUARD_BENCH_DIR (/tmp/flowguard-cluster-bench).
set -euo pipefail
cd "$(dirname "$0")/../.."

ROWS=${ROWS:-100000}
JITTER=${JITTER:-0.005}
EPS=${EPS:-0.0678}
MIN_SAMPLES=${MIN_SAMPLES:-18}
WORKERS=${WORKERS:-2}
TREES=${TREES:-100}
SHARED=${SHARED:-../shared}
DIR=${FLOWGUARD_BENCH_DIR:-/tmp/flowguard-cluster-bench}
PY=/usr/bin/python3

if ! $PY -c 'import sklearn' 2>/dev/null; then
	if [ "$(id -u)" = 0 ]; then apt-get install -y python3-sklearn >/dev/null; else
		echo "install python3-sklearn (apt-get install python3-sklearn)" >&2; exit 1; fi
fi
mkdir -p "$DIR"
CGO_ENABLED=0 go build -o "$DIR/cluster-bench" ./bench/cluster
"$DIR/cluster-bench" gen -src "$SHARED/data/seeds/ml-pt/X_y_pca9_dbscan_labels.csv.gz" -dir "$DIR" -rows "$ROWS" -jitter "$JITTER"
OMP_NUM_THREADS=$WORKERS $PY bench/cluster/ref.py "$DIR" "$EPS" "$MIN_SAMPLES" "$WORKERS" "$TREES"
"$DIR/cluster-bench" run -dir "$DIR" -eps "$EPS" -min-samples "$MIN_SAMPLES" -workers "$WORKERS" -trees "$TREES"
