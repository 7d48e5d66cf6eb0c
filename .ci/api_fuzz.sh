#!/usr/bin/env bash
# Bounded property-based fuzzing of the management and account APIs from the
# server's own /openapi.json (schemathesis): no answer may be a 5xx, and every
# answer must match the schema the document gives it. Runs the server on its
# SQLite default with the example realm, as the README's quick start does.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR=${CARGO_TARGET_DIR:-target}
VENV=${TESSERA_CI_VENV:-/var/tmp/tessera-ci-venv}
SCHEMATHESIS_VERSION=4.32.5
PORT=${API_FUZZ_PORT:-18480}
MANAGEMENT_PORT=$((PORT + 1))

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    python3 -m venv "$VENV" 2>/dev/null || {
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$VENV"
    }
    "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build -q --locked -p tessera-server --bin tessera
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
mkdir "$WORK/realms"
cp realms/dc-realm.toml "$WORK/realms/"
RUST_LOG=warn "$TARGET_DIR/debug/tessera" serve --listen "127.0.0.1:$PORT" \
    --management-listen "127.0.0.1:$MANAGEMENT_PORT" --database "sqlite:$WORK/tessera.db" \
    --realms "$WORK/realms" --master-key-file "$WORK/master.key" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 600); do
    curl -fs -o /dev/null "http://127.0.0.1:$MANAGEMENT_PORT/health/ready" && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.1
done

BASE="http://127.0.0.1:$PORT"
# The demo user signs in through the management client; the fuzzer acts as them.
TOKEN=$(curl -fs "$BASE/realms/dc-realm/protocol/openid-connect/token" -d grant_type=password \
    -d client_id=admin-cli -d username=demo -d password=demo-password |
    "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
USER_ID=$("$VENV/bin/python" -c '
import base64, json, sys
payload = sys.argv[1].split(".")[1]
print(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])' "$TOKEN")

cat >"$WORK/schemathesis.toml" <<TOML
[parameters]
realm = "dc-realm"
user = "$USER_ID"
TOML
# One worker: with two threads, hypothesis's lambda descriptions race in CPython
# 3.11's ast module ("AST constructor recursion depth mismatch"), a crash of the
# tool itself, not a finding about the API.
"$VENV/bin/schemathesis" --config-file "$WORK/schemathesis.toml" run "$BASE/openapi.json" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --header "Authorization: Bearer $TOKEN" \
    --phases examples,coverage,fuzzing --max-examples 40 --max-time 120 --workers 1 \
    --suppress-health-check all --warnings off
if grep -q "panicked" "$WORK/server.log"; then
    echo "the server panicked:" >&2; grep -A5 panicked "$WORK/server.log" >&2; exit 1
fi
