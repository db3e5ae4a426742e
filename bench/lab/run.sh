#!/usr/bin/env bash
# Testbed detection table: every scenario of `flowguard lab list`, run live
# with --detect under three detectors, scored per scenario (flows, attack
# flows, recall, false-alert rate, time to the first alert):
#   (a) the embedded model, trained on the public CIC-IDS2017 extracts;
#   (b) a GBDT trained on testbed runs of another seed (TRAIN_SEED), each
#       distinct training row weighted by its duplicates as DUP_WEIGHT says
#       (none, the default, log or count: train --duplicate-weight);
#   (c) an isolation forest trained on the benign flows of those runs.
# Needs root (network namespaces); installs the tools with lab-deps.sh.
# Writes OUT/{train,a,b,c}/ and prints the table (also OUT/table.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/setup.sh
scripts/lab-deps.sh
OUT=${OUT:-bench/lab/out}
TRAIN_SEED=${TRAIN_SEED:-1}
TEST_SEED=${TEST_SEED:-2}
DUP_WEIGHT=${DUP_WEIGHT:-none}
mkdir -p "$OUT" bin
go build -o bin/flowguard ./cmd/flowguard
fg=bin/flowguard
read -r -a scenarios <<<"${SCENARIOS:-$($fg lab list | awk 'NR > 1 { print $1 }' | tr '\n' ' ')}"
echo "== scenarios: ${scenarios[*]}"

if [ ! -f "$OUT/train/summary.json" ]; then
	echo "== training runs (seed $TRAIN_SEED)"
	$fg lab run "${scenarios[@]}" --seed "$TRAIN_SEED" --out "$OUT/train"
fi
train_data=$(ls "$OUT"/train/*/flows.csv | paste -sd, -)
echo "== (b) GBDT on the training runs"
$fg train --data "$train_data" --algo gbdt --duplicate-weight "$DUP_WEIGHT" -o "$OUT/lab.model" --report "$OUT/lab-report.html" 2>"$OUT/lab-train.log" >/dev/null
echo "== (c) isolation forest on their benign flows"
$fg train --data "$train_data" --algo iforest -o "$OUT/anomaly.model" 2>"$OUT/anomaly-train.log" >/dev/null

for v in a b c; do
	case $v in
	a) model=() ;;
	b) model=(--model "$OUT/lab.model") ;;
	c) model=(--model "$OUT/anomaly.model") ;;
	esac
	echo "== ($v) live detection runs (seed $TEST_SEED)"
	$fg lab run "${scenarios[@]}" --seed "$TEST_SEED" --out "$OUT/$v" --detect "${model[@]}"
done
go run ./bench/lab/table "$OUT/a/summary.json" "$OUT/b/summary.json" "$OUT/c/summary.json" | tee "$OUT/table.md"
