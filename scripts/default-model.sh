#!/usr/bin/env bash
# Rebuilds the model embedded in the flowguard binary (the default of
# `flowguard serve` and `flowguard detect`) from the CIC-IDS2017 extracts in
# ../shared, with flowguard's own pipeline and the flags in
# internal/detect/defaultmodel/train.args. Training is deterministic for a
# seed and thread count: TestDefaultModelReproducible checks that this gives
# the committed model, so rerun it after changing a learning algorithm.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
S=${SHARED:-../shared}/data/flows/cic-ids2017
D=internal/detect/defaultmodel
# shellcheck disable=SC2046 # one flag and value per line, split on purpose
go run ./cmd/flowguard train -q $(cat "$D/train.args") \
	--data "$S/lccde-sample,$S/machinelearningcve-heads,$S/rdube-machinelearningcve-heads,$S/trafficlabelling-attack-extracts,$S/trafficlabelling-heads" \
	--runs-dir "$(mktemp -d)" --report /dev/null --metrics "$D/metrics.json" -o "$D/flowguard-default.model"
