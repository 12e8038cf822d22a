#!/usr/bin/env bash
# make soak: the lifecycle soak (AppRole token_ttl 2s, token_max_ttl 6s, 64
# readers for 30 s, the token revoked from outside at 15 s, a CPU hog on
# every core started by the test) RUNS times in a row, then RUNS times more
# with GOMAXPROCS=1. Stops at the first failure; prints each run's figures.
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-10}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for procs in "" 1; do
  for i in $(seq 1 "$RUNS"); do
    if [ -n "$procs" ]; then export GOMAXPROCS=$procs; else unset GOMAXPROCS; fi
    if ! go test -race -count=1 -run '^TestLifecycleRealVault$' -v . >"$log" 2>&1; then
      grep -E 'FIGURE|lifecycle_real_test|FAIL' "$log"
      echo "soak run $i (GOMAXPROCS=${procs:-default}) FAILED"
      exit 1
    fi
    echo "run $i: $(grep -o 'FIGURE.*' "$log" | sed 's/^FIGURE //')"
  done
done
echo "soak: $((2 * RUNS)) runs, all passed"
