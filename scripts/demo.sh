#!/usr/bin/env bash
# make demo: start a real dev Vault on a free port, provision the seed's lab,
# run its exercises through the gdsvault CLI and the Go examples, stop Vault
# (also on failure or Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VAULT_BIN=${VAULT_BIN:-$ROOT/bin/vault}
GDSVAULT=$ROOT/bin/gdsvault

[ -x "$VAULT_BIN" ] || { echo "demo: no Vault binary at $VAULT_BIN: run 'make vault' (or set VAULT_BIN)" >&2; exit 1; }
[ -x "$GDSVAULT" ] || { echo "demo: no $GDSVAULT: run 'make build'" >&2; exit 1; }

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "demo: no free port found" >&2; return 1
}

WORK=$(mktemp -d)
VAULT_PID=
cleanup() {
  local code=$?
  if [ -n "$VAULT_PID" ] && kill -0 "$VAULT_PID" 2>/dev/null; then
    kill "$VAULT_PID" 2>/dev/null || true
    wait "$VAULT_PID" 2>/dev/null || true
    echo "== Vault stopped"
  fi
  if [ $code -ne 0 ]; then
    echo "demo FAILED (exit $code); last lines of the Vault log:" >&2
    tail -n 20 "$WORK/vault.log" >&2 || true
  fi
  rm -rf "$WORK"
  exit $code
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(free_port)
export VAULT_ADDR="http://127.0.0.1:$PORT"
export VAULT_TOKEN=root
unset VAULT_NAMESPACE VAULT_CACERT VAULT_CAPATH VAULT_CLIENT_CERT VAULT_CLIENT_KEY VAULT_SKIP_VERIFY || true

echo "== Starting a dev Vault at $VAULT_ADDR ($("$VAULT_BIN" version))"
HOME="$WORK" "$VAULT_BIN" server -dev -dev-root-token-id=root -dev-listen-address="127.0.0.1:$PORT" -dev-no-store-token \
  >"$WORK/vault.log" 2>&1 &
VAULT_PID=$!
for i in $(seq 1 200); do
  if "$VAULT_BIN" status >/dev/null 2>&1; then break; fi
  kill -0 "$VAULT_PID" 2>/dev/null || { echo "demo: Vault exited" >&2; exit 1; }
  [ "$i" = 200 ] && { echo "demo: Vault did not answer within 20 s" >&2; exit 1; }
  sleep 0.1
done

v() { HOME="$WORK" "$VAULT_BIN" "$@"; }

echo "== Building the example programs"
for ex in token_auth approle_auth vault_config wrapped_secret_id caching retry resilient; do
  go build -o "$WORK/bin/$ex" "./examples/$ex"
done
ex() { "$WORK/bin/$1"; }

echo "== Lab setup (the seed's commands)"
if ! out=$(v secrets enable -path=secret kv-v2 2>&1); then
  echo "   vault secrets enable -path=secret kv-v2: already mounted (dev mode mounts secret/ as KV v2)"
else
  echo "   $out"
fi
v kv put secret/myapp/config db_host="postgres.example.com" db_user="myapp" db_pass="secret123" >/dev/null
echo "   wrote secret/myapp/config (db_host, db_user, db_pass)"
v policy write myapp-policy - >/dev/null <<'POLICY'
path "secret/data/myapp/*" {
  capabilities = ["read"]
}
POLICY
echo "   wrote policy myapp-policy"
v auth enable approle >/dev/null
v write auth/approle/role/myapp token_policies="myapp-policy" token_ttl=1h token_max_ttl=4h >/dev/null
echo "   enabled approle, wrote role myapp (token_ttl=1h, token_max_ttl=4h)"

echo
echo "== Exercise 1: token authentication"
echo "\$ gdsvault get -field db_host secret/data/myapp/config"
"$GDSVAULT" get -field db_host secret/data/myapp/config
echo "\$ gdsvault get secret/myapp/config"
"$GDSVAULT" get secret/myapp/config | sed 's/secret123/[the db_pass value]/'
echo "\$ token_auth"
ex token_auth

echo
echo "== Exercise 2: AppRole authentication"
ROLE_ID=$(v read -field=role_id auth/approle/role/myapp/role-id)
SECRET_ID=$(v write -f -field=secret_id auth/approle/role/myapp/secret-id)
export ROLE_ID SECRET_ID
echo "Role ID: $ROLE_ID"
echo "Secret ID: [${#SECRET_ID} characters, not printed]"
echo "\$ approle_auth"
(unset VAULT_TOKEN; ex approle_auth)
echo "\$ VAULT_AUTH_METHOD=approle gdsvault login -format table   # shows policies and TTL, not the token"
(unset VAULT_TOKEN; VAULT_AUTH_METHOD=approle VAULT_ROLE_ID=$ROLE_ID VAULT_SECRET_ID=$SECRET_ID "$GDSVAULT" login | grep -E 'method|policies|ttl|renewable')

echo
echo "== Exercise 3: environment-based configuration (same program, two methods)"
echo "\$ VAULT_AUTH_METHOD=token VAULT_TOKEN=root vault_config"
VAULT_AUTH_METHOD=token VAULT_TOKEN=root ex vault_config
echo "\$ VAULT_AUTH_METHOD=approle vault_config"
(unset VAULT_TOKEN; VAULT_AUTH_METHOD=approle VAULT_ROLE_ID=$ROLE_ID VAULT_SECRET_ID=$SECRET_ID ex vault_config)

echo
echo "== Secure secret ID delivery: a response-wrapped secret ID"
WRAPPED=$(v write -wrap-ttl=60s -f -field=wrapping_token auth/approle/role/myapp/secret-id)
echo "\$ VAULT_WRAPPED_SECRET_ID=<wrapping token> wrapped_secret_id"
(unset VAULT_TOKEN; VAULT_ROLE_ID=$ROLE_ID VAULT_WRAPPED_SECRET_ID=$WRAPPED ex wrapped_secret_id)
echo "\$ # the same wrapping token again, as an attacker who intercepted it would find it:"
set +e
(unset VAULT_TOKEN; VAULT_ROLE_ID=$ROLE_ID VAULT_WRAPPED_SECRET_ID=$WRAPPED ex wrapped_secret_id)
code=$?
set -e
[ "$code" = 5 ] || { echo "demo: a used wrapping token was not refused (exit $code)" >&2; exit 1; }
echo "   -> refused with exit code 5, as it must be"

UNSEAL_KEY=$(grep -m1 'Unseal Key:' "$WORK/vault.log" | awk '{print $3}')

echo
echo "== Caching and retry, exercise 1: simple caching"
ex caching

echo
echo "== Caching and retry, exercise 2: retry with backoff (Vault sealed now, unsealed 1.5 s later)"
v operator seal >/dev/null
(sleep 1.5; v operator unseal "$UNSEAL_KEY" >/dev/null; echo "  [vault unsealed]") &
UNSEALER=$!
ex retry
wait "$UNSEALER"

echo
echo "== Caching and retry, exercise 3: cache + stale fallback + retries + circuit breaker (Vault sealed from 2 s to 5 s)"
(sleep 2.2; v operator seal >/dev/null; echo "        [vault sealed]"; sleep 3; v operator unseal "$UNSEAL_KEY" >/dev/null; echo "        [vault unsealed]") &
SEALER=$!
ex resilient
wait "$SEALER"

echo
echo "== gdsvault exec: a program that does not link the library gets its secret, and is restarted once when it rotates"
cat >"$WORK/app.sh" <<'APP'
#!/bin/sh
echo "   [app $$] started; DB_PASS has ${#DB_PASS} characters"
trap 'echo "   [app $$] stopping"; exit 0' TERM
while :; do sleep 0.1; done
APP
chmod +x "$WORK/app.sh"
echo "\$ gdsvault exec -refresh 500ms -debounce 300ms -secret DB_PASS=secret/myapp/config#db_pass -- app.sh"
"$GDSVAULT" exec -refresh 500ms -debounce 300ms -secret DB_PASS=secret/myapp/config#db_pass -- "$WORK/app.sh" >"$WORK/exec.out" 2>&1 &
EXEC_PID=$!
for i in $(seq 1 100); do grep -q started "$WORK/exec.out" && break; sleep 0.1; done
v kv patch secret/myapp/config db_user="myapp-renamed" >/dev/null
echo "   changed db_user (the app does not receive it): no restart expected"
sleep 1.5
v kv patch secret/myapp/config db_pass="rotated-$(date +%s)" >/dev/null
echo "   rotated db_pass: one restart expected"
for i in $(seq 1 100); do [ "$(grep -c started "$WORK/exec.out")" -ge 2 ] && break; sleep 0.1; done
sleep 1
kill -TERM "$EXEC_PID"
wait "$EXEC_PID" || true
cat "$WORK/exec.out" | grep -v '^time=' || true
starts=$(grep -c started "$WORK/exec.out")
[ "$starts" = 2 ] || { echo "demo: the app started $starts times, want 2 (once, then once after the rotation)" >&2; exit 1; }
if grep -q "rotated-" "$WORK/exec.out"; then echo "demo: a secret value reached the output" >&2; exit 1; fi
echo "   -> started twice: once, then once after the rotation; the unrelated change restarted nothing"

echo
echo "== Demo finished: token, AppRole, environment-based and wrapped-secret-ID logins, caching, retries,"
echo "   stale fallback, the circuit breaker and gdsvault exec, all against a real Vault."
