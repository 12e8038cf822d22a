#!/usr/bin/env bash
# make test needs, besides Go and the Vault build: PostgreSQL's server
# binaries (the database secrets engine tests run a throwaway server).
# Installs them when this machine can (root with apt-get), or stops at once
# with the one command to run.
set -euo pipefail
if [ -n "${VAULTTEST_PG_BINDIR:-}" ] || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "make test: installing Debian's postgresql package (server binaries for the database tests)..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  exit 0
fi
echo "make test needs PostgreSQL's server binaries. Run: sudo apt-get install postgresql" >&2
echo "(or set VAULTTEST_PG_BINDIR to a directory holding initdb, postgres and psql)" >&2
exit 1
