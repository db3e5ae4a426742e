#!/usr/bin/env bash
# Events benchmark: `flowguard events fit` / `events score` on CSIC 2010
# (parse + featurize + fit / score, events/s and ROC-AUC) against a
# scikit-learn TF-IDF + SVD + IsolationForest pipeline (ref.py, Debian
# python3-sklearn) in the same run. See bench/events/README.md.
#
#   bench/events/run.sh
#   RUNS=5 ALGOS=params,iforest,knn bench/events/run.sh
#
# Environment: RUNS (3), ALGOS (params,iforest), WORKERS (2: flowguard's
# GOMAXPROCS, scikit-learn's n_jobs and BLAS threads), SHARED (../shared from
# the checkout), FLOWGUARD_BENCH_DIR (/tmp/flowguard-events-bench).
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-3}
ALGOS=${ALGOS:-params,iforest}
WORKERS=${WORKERS:-2}
SHARED=${SHARED:-../shared}
DIR=${FLOWGUARD_BENCH_DIR:-/tmp/flowguard-events-bench}
PY=/usr/bin/python3

if ! $PY -c 'import sklearn' 2>/dev/null; then
	if [ "$(id -u)" = 0 ]; then apt-get install -y python3-sklearn >/dev/null; else
		echo "install python3-sklearn (apt-get install python3-sklearn)" >&2; exit 1; fi
fi
mkdir -p "$DIR"
echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- internal cmd || echo ' (+ uncommitted changes)'), $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
CGO_ENABLED=0 go build -o "$DIR/flowguard" ./cmd/flowguard
CGO_ENABLED=0 go build -o "$DIR/events-bench" ./bench/events
"$DIR/events-bench" -flowguard "$DIR/flowguard" -data "$SHARED/data/http/csic2010" -dir "$DIR" \
	-runs "$RUNS" -algos "$ALGOS" -workers "$WORKERS" -python "$PY" -ref bench/events/ref.py
