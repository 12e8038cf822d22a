#!/usr/bin/env bash
# make demo-ha: start a real 3-node Vault cluster (raft), provision a KV
# secret, and run examples/ha against all three nodes while the leader is
# killed with SIGKILL, restarted, and the next leader stepped down. The
# example must end with 0 failed reads. Everything stops at the end, also on
# failure or Ctrl-C. About a minute and a half on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VAULT_BIN=${VAULT_BIN:-$ROOT/bin/vault}
GDSVAULT=$ROOT/bin/gdsvault
export VAULT_BIN

[ -x "$VAULT_BIN" ] || { echo "demo-ha: no Vault binary at $VAULT_BIN: run 'make vault' (or set VAULT_BIN)" >&2; exit 1; }
[ -x "$GDSVAULT" ] || { echo "demo-ha: no $GDSVAULT: run 'make build'" >&2; exit 1; }

WORK=$(mktemp -d)
CLUSTER_PID= EXAMPLE_PID= TAIL_PID=
cleanup() {
  local code=$?
  trap - INT TERM
  if [ -n "$EXAMPLE_PID" ] && kill -0 "$EXAMPLE_PID" 2>/dev/null; then
    kill -TERM "$EXAMPLE_PID" 2>/dev/null || true
    wait "$EXAMPLE_PID" 2>/dev/null || true
  fi
  if [ -n "$CLUSTER_PID" ] && kill -0 "$CLUSTER_PID" 2>/dev/null; then
    kill -TERM "$CLUSTER_PID" 2>/dev/null || true
    wait "$CLUSTER_PID" 2>/dev/null || true
  fi
  if [ -n "$TAIL_PID" ]; then
    wait "$TAIL_PID" 2>/dev/null || true # ends within a second of the helper
  fi
  if [ $code -ne 0 ]; then
    echo "demo-ha FAILED (exit $code)" >&2
    [ -s "$WORK/cluster.log" ] && { echo "last lines of the cluster helper:" >&2; tail -n 20 "$WORK/cluster.log" >&2; }
  fi
  rm -rf "$WORK"
  exit $code
}
trap cleanup EXIT
trap 'exit 130' INT TERM
unset VAULT_ADDR VAULT_ADDRS VAULT_TOKEN VAULT_NAMESPACE VAULT_CACERT VAULT_CAPATH VAULT_CLIENT_CERT VAULT_CLIENT_KEY VAULT_SKIP_VERIFY || true

# wait_log PATTERN SECONDS WHAT: wait until the cluster helper logged a line
# matching PATTERN (a count: the helper logs the same event more than once).
wait_log() {
  local pattern=$1 seconds=$2 what=$3 want=${4:-1}
  for _ in $(seq 1 $((seconds * 10))); do
    if [ "$(grep -c -- "$pattern" "$WORK/cluster.log" || true)" -ge "$want" ]; then return 0; fi
    if grep -q 'FAILED\|error:' "$WORK/cluster.log"; then echo "demo-ha: the cluster helper failed to $what" >&2; return 1; fi
    kill -0 "$CLUSTER_PID" 2>/dev/null || { echo "demo-ha: the cluster helper exited" >&2; return 1; }
    sleep 0.1
  done
  echo "demo-ha: waited ${seconds}s to $what" >&2
  return 1
}

echo "== Building examples/ha and its cluster helper"
go build -o "$WORK/ha" ./examples/ha
go build -o "$WORK/cluster" ./examples/ha/cluster

echo "== Starting a 3-node Vault cluster ($("$VAULT_BIN" version | head -n1)); 10 to 60 s"
"$WORK/cluster" -env "$WORK/cluster.env" >"$WORK/cluster.log" 2>&1 &
CLUSTER_PID=$!
# The helper's lines, indented, until it exits.
( tail -n +1 --pid="$CLUSTER_PID" -f "$WORK/cluster.log" | sed -u 's/^/   /' ) &
TAIL_PID=$!
for i in $(seq 1 2400); do
  [ -s "$WORK/cluster.env" ] && break
  kill -0 "$CLUSTER_PID" 2>/dev/null || { echo "demo-ha: the cluster did not start" >&2; exit 1; }
  [ "$i" = 2400 ] && { echo "demo-ha: the cluster was not ready within 4 minutes" >&2; exit 1; }
  sleep 0.1
done
# shellcheck disable=SC1091
. "$WORK/cluster.env"
sleep 0.2

echo
echo "== Provisioning secret/myapp/config (KV v2) through the first node"
HOME="$WORK" "$VAULT_BIN" kv put secret/myapp/config db_host="postgres.example.com" db_user="myapp" db_pass="secret123" >/dev/null
echo "   \$ VAULT_ADDRS=$VAULT_ADDRS gdsvault get -field db_host secret/data/myapp/config"
echo "   $("$GDSVAULT" get -field db_host secret/data/myapp/config)"

echo
echo "== examples/ha reads on 8 goroutines through all three nodes (VAULT_ADDRS)"
"$WORK/ha" -path secret/data/myapp/config -readers 8 &
EXAMPLE_PID=$!
T0=$SECONDS
# at SECONDS: wait until that long after the example started, while both
# the example and the cluster run (a Ctrl-C that a child handled does not
# always reach this script's trap).
at() {
  while [ $((SECONDS - T0)) -lt "$1" ]; do
    kill -0 "$EXAMPLE_PID" 2>/dev/null || { echo "demo-ha: examples/ha stopped early" >&2; exit 1; }
    kill -0 "$CLUSTER_PID" 2>/dev/null || { echo "demo-ha: the cluster helper stopped early" >&2; exit 1; }
    sleep 0.2
  done
}

at 8
echo "== Killing the leader with SIGKILL"
kill -USR1 "$CLUSTER_PID"
wait_log 'new leader' 120 'see a new leader after the kill'
echo "   \$ gdsvault get -field db_host secret/data/myapp/config   # a fresh process, one node dead"
echo "   $("$GDSVAULT" get -field db_host secret/data/myapp/config)"

at 22
echo "== Restarting the killed node"
kill -USR2 "$CLUSTER_PID"
wait_log 'restarted node' 180 'restart the killed node'

at 32
echo "== Stepping the leader down"
kill -HUP "$CLUSTER_PID"
wait_log 'stepped down' 120 'step the leader down'

at 42
echo "== Stopping the reads"
kill -TERM "$EXAMPLE_PID"
set +e
wait "$EXAMPLE_PID"
code=$?
set -e
EXAMPLE_PID=
[ "$code" = 0 ] || { echo "demo-ha: examples/ha failed (exit $code; its summary is above)" >&2; exit 1; }

echo
echo "== Demo finished: the leader was killed, restarted and the next one stepped down while"
echo "   examples/ha read through gdsvault.WithAddresses (VAULT_ADDRS): 0 failed reads."
