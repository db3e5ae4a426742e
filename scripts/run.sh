#!/usr/bin/env bash
# Builds flowguard and runs its main job on built-in defaults, with no
# external service: flowguard's own traffic generator writes a capture,
# `flowguard flows` meters it into CICFlowMeter-compatible flows, and
# `flowguard detect` scores it with the embedded default model, writing EVE
# JSON alerts. Everything lands in ./out.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

mkdir -p out
go build -o out/flowguard ./cmd/flowguard
go run ./bench/synthpcap -scale 1 -seed 7 -o out/sample.pcap
./out/flowguard flows --profile engelen -o out/flows.csv out/sample.pcap
./out/flowguard detect -o out/alerts.eve.json out/sample.pcap
echo "flows: out/flows.csv ($(($(wc -l <out/flows.csv) - 1)) flows); alerts: out/alerts.eve.json ($(wc -l <out/alerts.eve.json) alerts)"
echo "next: ./out/flowguard detect YOUR.pcap, ./out/flowguard train --help"
