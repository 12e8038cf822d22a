#!/usr/bin/env bash
# make fuzz: run every fuzz target of the root module for FUZZTIME each
# (default 30s) and print the executions per target.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-30s}"
summary=()
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "==> $pkg $target ($FUZZTIME)"
    out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1) || { echo "$out" | tail -30; echo "FAIL: $target"; exit 1; }
    execs=$(echo "$out" | grep -o 'execs: [0-9]*' | tail -1 | cut -d' ' -f2)
    summary+=("$(printf '%-28s %-45s %12s execs' "$target" "${pkg#github.com/gdsvault/gdsvault}" "${execs:-?}")")
  done
done
echo
echo "fuzz targets, $FUZZTIME each:"
printf '  %s\n' "${summary[@]}"
