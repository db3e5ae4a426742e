#!/usr/bin/env bash
# Builds flowguard and runs its main job on built-in defaults: a synthetic
# capture made by flowguard's own traffic generator is metered into
# CICFlowMeter-compatible flows (engelen profile), written to ./out/flows.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

mkdir -p out
go build -o out/flowguard ./cmd/flowguard
go run ./bench/synthpcap -scale 1 -seed 7 -o out/sample.pcap
./out/flowguard flows --profile engelen -o out/flows.csv out/sample.pcap
echo "flows written to out/flows.csv ($(($(wc -l <out/flows.csv) - 1)) flows); try: ./out/flowguard flows --help"
