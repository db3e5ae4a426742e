#!/usr/bin/env bash
# Trains flowguard's default classifier (GBDT) on the labelled flow sets in
# ../shared under the honest protocol (the defaults: duplicates removed
# before the split, identifiers out, 20 % stratified test, 15 % of the rest
# for early stopping and the alert threshold) and prints each run's report:
# per-class precision, recall and F1, the benign false-positive rate,
# recall at fixed FPR. docs/evaluation.md records a run of it.
#
#   scripts/honest-results.sh              # seeds 1 2 3
#   SEEDS=1 scripts/honest-results.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
S=${SHARED:-../shared}
F=$S/data/flows
if [ ! -d "$F" ]; then
	echo "no labelled flows under $F (set SHARED)" >&2
	exit 1
fi
mkdir -p bin
go build -o bin/flowguard ./cmd/flowguard
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
declare -A data=(
	[cic2017]="$F/cic-ids2017/lccde-sample"
	[k8s]="$F/k8s-misuse/benign,$F/k8s-misuse/malicious"
	[cse2018]="$F/cse-cic-ids2018/cstub-ml-ids-validation.csv,$S/data/seeds/ml-ids/api_client_dataset.csv"
)
for name in cic2017 k8s cse2018; do
	for seed in ${SEEDS:-1 2 3}; do
		echo "== $name, seed $seed"
		bin/flowguard train -q --algo gbdt --seed "$seed" --threads 2 --data "${data[$name]}" \
			--runs-dir "$out/runs" --report "$out/$name-$seed.html" -o "$out/$name-$seed.model"
		echo
	done
done
