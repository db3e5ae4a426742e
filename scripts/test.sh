#!/usr/bin/env bash
# Sets up what the tests need and runs them all: formatting, vet, and every
# Go test (fuzz targets run their seed corpora), the store and server tests
# against a real PostgreSQL that scripts/postgres.sh installs and starts, the
# live-capture and testbed tests (as root) with the tools scripts/lab-deps.sh
# installs.
# Tests that read ../shared skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== go build (static, CGO_ENABLED=0)"
CGO_ENABLED=0 go build -o /dev/null ./cmd/flowguard
echo "== PostgreSQL for the store and server tests"
# A private cluster on 127.0.0.1, installed from Debian when missing.
pg_env=$(scripts/postgres.sh) # a failure here stops the script (set -e)
eval "$pg_env"
echo "== testbed tools (live capture and lab tests)"
# The lab and live-capture tests build network namespaces: they need root
# and Debian's attack tools and servers, which lab-deps.sh installs.
if [ "$(id -u)" -eq 0 ]; then
	scripts/lab-deps.sh
else
	echo "not root: the live-capture and lab tests will skip"
fi
echo "== go test"
go test -count=1 -timeout 15m ./... 2>&1 | tee /tmp/flowguard-test.log
