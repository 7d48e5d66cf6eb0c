# Shared by bench/run.sh and bench/scale.sh (sourced, not run): the settings
# both read from the environment, the server's lifecycle and wrk's figures.
# Expects ROOT and OUTDIR.

PORT=${PORT:-18090}
MANAGEMENT_PORT=${MANAGEMENT_PORT:-18091}
BASE="http://127.0.0.1:$PORT"
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
DURATION=${DURATION:-10}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
TOKEN_PATH=/realms/bench/protocol/openid-connect/token
export THREADS TOKEN_PATH

# Installs Debian package $2 when command $1 is missing.
need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }

# Sets BIN: TESSERA_BIN when given (a binary built elsewhere, such as another
# commit for a before/after table), else a release build of this tree.
server_binary() {
  if [ -n "${TESSERA_BIN:-}" ]; then
    BIN=$TESSERA_BIN
  else
    cargo build --release -q -p tessera-server --bin tessera
    BIN=$TARGET_DIR/release/tessera
  fi
}

# A fresh work directory (removed on exit) and $SUMMARY started with header row $1.
start_run() {
  mkdir -p "$OUTDIR"
  SUMMARY=$OUTDIR/summary.tsv
  printf '%s\n' "$1" >"$SUMMARY"
  WORK=$(mktemp -d)
  trap cleanup EXIT INT TERM
}

SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() { stop_server; rm -rf "$WORK"; }

# wrk's latency ("850.00us", "1.20ms", "2.01s") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); printf "%.2f", v/1000}
                        else if (v ~ /ms$/) {sub(/ms$/,"",v); printf "%.2f", v}
                        else if (v ~ /s$/) {sub(/s$/,"",v); printf "%.2f", v*1000}
                        else printf "NA" }'
}

# req/s, p50 ms, p99 ms and non-2xx answers of one wrk output file, tab-separated.
wrk_figures() {
  local out=$1 rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec:/{print $2}' "$out")
  p50=$(to_ms "$(awk '$1=="50%"{print $2}' "$out")")
  p99=$(to_ms "$(awk '$1=="99%"{print $2}' "$out")")
  non2xx=$(awk -F': *' '/Non-2xx or 3xx responses/{print $2}' "$out"); non2xx=${non2xx:-0}
  printf '%s\t%s\t%s\t%s\n' "$rps" "$p50" "$p99" "$non2xx"
}

# Starts `tessera serve` on database URL $1 with the realms in $WORK/realms and
# waits until it is ready; STARTUP_MS is how long that took.
STARTUP_MS=0
start_server() {
  local t0 t1
  t0=$(date +%s%N)
  RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" --management-listen "127.0.0.1:$MANAGEMENT_PORT" \
    --database "$1" --realms "$WORK/realms" --master-key-file "$WORK/master.key" \
    >>"$OUTDIR/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 1200); do
    if curl -fs -o /dev/null "http://127.0.0.1:$MANAGEMENT_PORT/health/ready"; then
      t1=$(date +%s%N); STARTUP_MS=$(( (t1 - t0) / 1000000 )); return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { tail "$OUTDIR/server.log" >&2; exit 1; }
    sleep 0.05
  done
  echo "server did not come up" >&2; exit 1
}

# The example API on $API_PORT, guarding the endpoint $1 with tessera-verify.
start_example_api() {
  cargo build --release -q -p tessera-example-resource-server
  API_PORT=${API_PORT:-18092}
  TESSERA_ISSUER="$BASE/realms/bench" AUDIENCE=bench CLIENT_ID=bench \
    CLIENT_SECRET=bench-secret-0123456789 ORDERS_ENDPOINT="$1" LISTEN="127.0.0.1:$API_PORT" \
    RUST_LOG=warn "$TARGET_DIR/release/example-resource-server" >>"$OUTDIR/api.log" 2>&1 &
  API_PID=$!
  for _ in $(seq 1 200); do
    curl -fs -o /dev/null "http://127.0.0.1:$API_PORT/health" && return 0
    sleep 0.05
  done
  echo "example API did not come up" >&2; exit 1
}

# The access token of a session with client $1 on stdout: bench-user's, or
# the user $2's.
bench_user_token() {
  curl -fs "$BASE/realms/bench/protocol/openid-connect/token" -d grant_type=password \
    -d client_id="$1" -d username="${2:-bench-user}" -d password=bench-password |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/'
}

# A token profile's token of bench-user (created through the management API) on
# stdout: three grants, the shape of a typical device integration's.
make_profile_token() {
  local access user
  access=$(bench_user_token admin-cli)
  user=$(python3 -c 'import base64,json,sys; p=sys.argv[1].split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4)))["sub"])' "$access")
  curl -fs "$BASE/admin/realms/bench/users/$user/token-profiles" -H "Authorization: Bearer $access" \
    -H 'content-type: application/json' \
    -d "{\"token_id\": \"bench-$RANDOM\", \"name\": \"bench\", \"permissions\": [
         {\"type\": \"device\", \"identifier\": \"d-1\", \"actions\": [\"AccessDeviceResources\"]},
         {\"type\": \"device\", \"identifier\": \"d-2\", \"actions\": [\"AccessDeviceResources\"]},
         {\"type\": \"device\", \"identifier\": \"*\", \"actions\": [\"ListDevices\"]}]}" |
    sed -E 's/.*"token":"([^"]+)".*/\1/'
}

# A company user token of bench-user on stdout: bench-admin creates a company
# and a subscription to the API `bench` with the profile scenario's three
# grants, makes bench-user a member, assigns and generates (bench/company.py).
make_company_token() {
  python3 "$HERE/company.py" "$BASE" "$(bench_user_token admin-cli bench-admin)" \
    "$(bench_user_token admin-cli)"
}

# An expose token of bench-user (created through the account API) on stdout.
make_expose_token() {
  local access
  access=$(bench_user_token account-console)
  curl -fs "$BASE/realms/bench/account/tokens" -H "Authorization: Bearer $access" \
    -H 'content-type: application/json' \
    -d "{\"type\": \"expose\", \"name\": \"bench $RANDOM\", \"password\": \"bench-password\"}" \
    | sed -E 's/.*"token":"([^"]+)".*/\1/'
}
