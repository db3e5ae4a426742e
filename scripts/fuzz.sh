#!/usr/bin/env bash
# Runs every fuzz target of the module in turn, FUZZTIME each (30s by
# default), and stops at the first failure (the failing input is kept
# under the package's testdata/fuzz/ by go test).
#
#   scripts/fuzz.sh                  # all targets, 30 s each
#   FUZZTIME=5m scripts/fuzz.sh internal/dataset internal/model
#
# Minimisation of new inputs is capped at 5 s: by default the engine
# spends up to a minute on each, which stalls fuzzing of compressed
# inputs such as model files for most of the run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
FUZZTIME=${FUZZTIME:-30s}
dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
	mapfile -t dirs < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' | xargs -n1 dirname | sort -u)
fi
for d in "${dirs[@]}"; do
	for name in $(grep -h '^func Fuzz' "$d"/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
		echo "== ./$d $name ($FUZZTIME)"
		if ! out=$(go test "./$d" -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 5s 2>&1); then
			grep -v '^fuzz: elapsed' <<<"$out" >&2
			exit 1
		fi
		tail -2 <<<"$out"
	done
done
