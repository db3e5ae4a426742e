#!/bin/sh
# Benchmarks flowguard serve on loopback: the server and the load generator
# share the machine (2 cores on the reference VM); GOMAXPROCS=2 for both.
# Prints batched flows/s (CSV and pandas-split) and p50/p99 of single-flow
# requests at a fixed 2,000 req/s with the error count.
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/flowguard" ./cmd/flowguard
CGO_ENABLED=0 go build -o "$tmp/serve-bench" ./bench/serve
addr=127.0.0.1:${PORT:-18080}
GOMAXPROCS=2 "$tmp/flowguard" serve --listen "$addr" --insecure-no-auth --rate-limit -1 \
	--store "sqlite:$tmp/bench.db" --spool "$tmp/spool" 2>"$tmp/server.log" &
pid=$!
for _ in $(seq 100); do
	curl -fsS "http://$addr/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
echo "flowguard serve bench, $(date -u +%Y-%m-%d), $(nproc) cores, $(go version | cut -d' ' -f3)"
GOMAXPROCS=2 "$tmp/serve-bench" -url "http://$addr" "$@"
