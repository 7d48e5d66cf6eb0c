#!/usr/bin/env bash
# Load benchmark of the Tessera token endpoint with wrk, on SQLite and PostgreSQL.
#
#   bench/run.sh                      # both backends, each scenario once
#   BACKENDS=sqlite REPEAT=3 bench/run.sh
#   SCENARIOS="refresh_token" bench/run.sh
#   TESSERA_BIN=/tmp/tessera-before bench/run.sh   # a binary built from another commit
#
# Scenarios per backend (THREADS threads, CONNS connections, WARMUP then DURATION seconds):
#   client_credentials  ES256 JWT, client_secret_post (the peer's scenario a)
#   refresh_token       rotation followed: each chain presents its newest token
#   password            argon2id 19 MiB t=2 p=1 (OWASP minimum, the server's default)
#   mixed               password and refresh_token at once: password rate vs refresh p99
#   introspection       RFC 7662 introspection of one expose token, usage tracking on
#                       (the peer's scenario d introspects its in-memory opaque tokens)
#   profile_introspection the same for a token profile's token with three grants: the answer
#                       carries its authorization_details
#   company_introspection the same for a company user token whose subscription carries the
#                       same three grants: the answer names company, subscription and user
#   endpoint_check      the platform's check of an endpoint call with a secondary token
#                       (POST /realms/bench/endpoints/check), every check recorded
#   endpoint_guard      the example API's /ingest/orders behind tessera-verify's endpoint
#                       layer: the same check, answered from the verifier's cache
#   login_timing        one connection, request by request in rotation: wrong password of a
#                       known user, an unknown user, a locked account (bench/login_timing.py);
#                       TIMING_ROUNDS rounds (default 300), the median of each case
#   login_flood         64 connections of password guesses for random usernames, while a
#                       paced refresh load and a paced trickle of correct logins run beside
# plus: raw argon2id verifications/s with the same parameters, idle and peak RSS.
# Only 127.0.0.1 traffic; the server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
HERE=$ROOT/bench

BACKENDS=${BACKENDS:-"sqlite postgres"}
SCENARIOS=${SCENARIOS:-"client_credentials refresh_token password mixed introspection profile_introspection company_introspection endpoint_check endpoint_guard login_timing login_flood"}
WARMUP=${WARMUP:-3}
REPEAT=${REPEAT:-1}
OUTDIR=${OUTDIR:-$HERE/results}

# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
need wrk wrk
cargo build --release -q -p tessera-token --example argon2_rate
server_binary
start_run "$(printf 'backend\tscenario\trun\treq_per_s\tp50_ms\tp99_ms\tnon2xx\tserver_cpu%%\tserver_rss_kib')"

wanted() { [[ " $SCENARIOS " == *" $1 "* ]]; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

fresh_realms() {
  rm -rf "$WORK/data" "$WORK/realms" "$WORK/master.key"; mkdir -p "$WORK/realms" "$WORK/data"
  cp "$HERE/realm.toml" "$WORK/realms/bench.toml"
  cp "$HERE/locked-realm.toml" "$WORK/realms/bench-locked.toml"
}

# Starting refresh tokens: one chain per connection, twice over.
make_refresh_tokens() {
  : >"$WORK/tokens"
  for _ in $(seq 1 $((CONNS * 2))); do
    curl -fs "$BASE$TOKEN_PATH" -d grant_type=password -d client_id=app -d username=bench-user \
      -d password=bench-password | sed -E 's/.*"refresh_token":"([^"]+)".*/\1\n/' >>"$WORK/tokens"
  done
}

# run_wrk BACKEND NAME CONNS LUA  -> appends a summary row
run_wrk() {
  local backend=$1 name=$2 conns=$3 lua=$4
  [ "$name" = refresh_token ] && make_refresh_tokens && export TOKENS_FILE=$WORK/tokens
  wrk -t"$THREADS" -c"$conns" -d"${WARMUP}s" -s "$lua" "$BASE" >/dev/null
  for r in $(seq 1 "$REPEAT"); do
    [ "$name" = refresh_token ] && make_refresh_tokens
    local out=$OUTDIR/$backend.$name.run$r.txt c0 c1 w0 w1
    c0=$(cpu_ticks "$SERVER_PID"); w0=$(date +%s.%N)
    wrk -t"$THREADS" -c"$conns" -d"${DURATION}s" --latency -s "$lua" "$BASE" >"$out"
    c1=$(cpu_ticks "$SERVER_PID"); w1=$(date +%s.%N)
    row "$backend" "$name" "$r" "$out" "$c0" "$c1" "$w0" "$w1"
    # The ceiling for password grants, measured right after each run (the machine is noisy).
    [ "$name" = password ] && raw_argon2 "$backend" "$r"
  done
  return 0
}

raw_argon2() {
  local rate
  rate=$(ARGON2_RATE_SECONDS=$DURATION "$TARGET_DIR/release/examples/argon2_rate" | awk '{print $NF}')
  printf '%s\t%s\t%s\t%s\t\t\t\t\t\n' "$1" argon2id_raw "$2" "$rate" >>"$SUMMARY"
  echo "[$1 argon2id_raw $2] $rate verifications/s (no server load)"
}

row() {
  local backend=$1 name=$2 r=$3 out=$4 c0=$5 c1=$6 w0=$7 w1=$8
  local rps p50 p99 non2xx cpu rss
  IFS=$'\t' read -r rps p50 p99 non2xx < <(wrk_figures "$out")
  cpu=$(awk -v d=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v a="$w0" -v b="$w1" 'BEGIN{printf "%.0f", 100*d/hz/(b-a)}')
  rss=$(awk '/VmRSS/{print $2}' "/proc/$SERVER_PID/status")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$name" "$r" "$rps" "$p50" "$p99" "$non2xx" "$cpu" "$rss" >>"$SUMMARY"
  echo "[$backend $name $r] $rps req/s, p50 $p50 ms, p99 $p99 ms, non-2xx $non2xx, server CPU $cpu%, RSS $rss KiB"
}

{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
  echo "tessera: ${TESSERA_BIN:-$(git -C "$ROOT" rev-parse --short HEAD), release build}"
  echo "wrk: $(wrk --version 2>&1 | head -1 | cut -c1-40)"
  echo "params: threads=$THREADS conns=$CONNS warmup=${WARMUP}s duration=${DURATION}s repeat=$REPEAT"
  echo "loadavg at start: $(cat /proc/loadavg)"
  "$TARGET_DIR/release/examples/argon2_rate"
} | tee "$OUTDIR/env.txt"

for backend in $BACKENDS; do
  case $backend in
    sqlite) url="sqlite:$WORK/data/tessera.db" ;;
    postgres)
      psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS tessera_bench WITH (FORCE)"
      psql "$PG_ADMIN_URL" -qc "CREATE DATABASE tessera_bench"
      echo "postgres: synchronous_commit=$(psql "$PG_ADMIN_URL" -Atc 'SHOW synchronous_commit') fsync=$(psql "$PG_ADMIN_URL" -Atc 'SHOW fsync')" | tee -a "$OUTDIR/env.txt"
      url="${PG_ADMIN_URL%/*}/tessera_bench" ;;
    *) echo "unknown backend $backend" >&2; exit 1 ;;
  esac
  fresh_realms
  start_server "$url"
  sleep 1
  echo "[$backend] idle RSS $(awk '/VmRSS/{print $2}' "/proc/$SERVER_PID/status") KiB" | tee -a "$OUTDIR/env.txt"

  if wanted client_credentials; then
    FORM_BODY='grant_type=client_credentials&client_id=bench&client_secret=bench-secret-0123456789&scope=api:read' \
      run_wrk "$backend" client_credentials "$CONNS" "$HERE/form.lua"
  fi
  wanted refresh_token && run_wrk "$backend" refresh_token "$CONNS" "$HERE/refresh.lua"
  if wanted password; then
    FORM_BODY='grant_type=password&client_id=app&username=bench-user&password=bench-password' \
      run_wrk "$backend" password 8 "$HERE/form.lua"
  fi
  if wanted introspection; then
    # An expose token of bench-user, created through the account API, introspected by
    # the confidential client `bench`: every answer also records a use of the token.
    expose=$(make_expose_token)
    TOKEN_PATH=/realms/bench/protocol/openid-connect/token/introspect \
      FORM_BODY="token=$expose&client_id=bench&client_secret=bench-secret-0123456789" \
      run_wrk "$backend" introspection "$CONNS" "$HERE/form.lua"
  fi
  if wanted profile_introspection; then
    profile=$(make_profile_token)
    TOKEN_PATH=/realms/bench/protocol/openid-connect/token/introspect \
      FORM_BODY="token=$profile&client_id=bench&client_secret=bench-secret-0123456789" \
      run_wrk "$backend" profile_introspection "$CONNS" "$HERE/form.lua"
  fi
  if wanted company_introspection; then
    company=$(make_company_token)
    TOKEN_PATH=/realms/bench/protocol/openid-connect/token/introspect \
      FORM_BODY="token=$company&client_id=bench&client_secret=bench-secret-0123456789" \
      run_wrk "$backend" company_introspection "$CONNS" "$HERE/form.lua"
  fi
  if wanted endpoint_check || wanted endpoint_guard; then
    read -r endpoint secondary < <(python3 "$HERE/endpoint.py" "$BASE" "$(bench_user_token admin-cli bench-admin)")
  fi
  if wanted endpoint_check; then
    TOKEN_PATH=/realms/bench/endpoints/check \
      FORM_BODY="endpoint=$endpoint&method=GET&token=$secondary&client_id=bench&client_secret=bench-secret-0123456789" \
      run_wrk "$backend" endpoint_check "$CONNS" "$HERE/form.lua"
  fi
  if wanted endpoint_guard; then
    start_example_api "$endpoint"
    BASE_SAVED=$BASE; BASE="http://127.0.0.1:$API_PORT"
    TOKEN_PATH=/ingest/orders BEARER=$secondary run_wrk "$backend" endpoint_guard "$CONNS" "$HERE/bearer.lua"
    BASE=$BASE_SAVED
    kill "$API_PID" 2>/dev/null || true
  fi
  if wanted login_timing; then
    # Known, unknown and locked usernames must cost the same (no username oracle):
    # one connection, the three cases interleaved request by request.
    curl -s -o /dev/null "$BASE/realms/bench-locked/protocol/openid-connect/token" \
      -d grant_type=password -d client_id=app -d username=locked-user -d password=wrong
    python3 "$HERE/login_timing.py" "$BASE" "${TIMING_ROUNDS:-300}" | tee "$OUTDIR/$backend.login_timing.txt"
    while IFS=$'\t' read -r name requests median p10 p90 _; do
      case $name in login_*) ;; *) continue ;; esac
      [ "$name" = login_timing_spread ] && continue
      printf '%s\t%s\t1\t\t%s\t\t\t\t\n' "$backend" "$name" "${median#median_ms=}" >>"$SUMMARY"
    done <"$OUTDIR/$backend.login_timing.txt"
  fi
  if wanted login_flood; then
    # A guessing flood fills the hashing queue; what do others see meanwhile?
    make_refresh_tokens
    export TOKENS_FILE=$WORK/tokens
    c0=$(cpu_ticks "$SERVER_PID"); w0=$(date +%s.%N)
    wrk -t1 -c64 -d"${DURATION}s" --latency -s "$HERE/flood.lua" "$BASE" >"$OUTDIR/$backend.flood.txt" &
    flood_wrk=$!
    THREADS=1 REFRESH_DELAY_MS=10 wrk -t1 -c4 -d"${DURATION}s" --latency -s "$HERE/refresh.lua" "$BASE" \
      >"$OUTDIR/$backend.flood_refresh.txt" &
    refresh_wrk=$!
    # Five correct logins a second, one attempt each (no retry).
    : >"$OUTDIR/$backend.flood_logins.txt"
    end=$(( $(date +%s) + DURATION - 1 ))
    logins=()
    while [ "$(date +%s)" -lt "$end" ]; do
      curl -s -o /dev/null -w '%{http_code}\n' "$BASE$TOKEN_PATH" -d grant_type=password -d client_id=app \
        -d username=bench-user -d password=bench-password >>"$OUTDIR/$backend.flood_logins.txt" &
      logins+=($!)
      sleep 0.2
    done
    # Only the load generators: a bare `wait` would also wait for the server.
    wait "$flood_wrk" "$refresh_wrk" "${logins[@]}"
    c1=$(cpu_ticks "$SERVER_PID"); w1=$(date +%s.%N)
    row "$backend" flood_guesses 1 "$OUTDIR/$backend.flood.txt" "$c0" "$c1" "$w0" "$w1"
    row "$backend" flood_refresh 1 "$OUTDIR/$backend.flood_refresh.txt" "$c0" "$c1" "$w0" "$w1"
    total=$(wc -l <"$OUTDIR/$backend.flood_logins.txt")
    ok=$(grep -c '^200$' "$OUTDIR/$backend.flood_logins.txt" || true)
    shed=$(grep -c '^503$' "$OUTDIR/$backend.flood_logins.txt" || true)
    printf '%s\t%s\t%s\t%s\t\t\t%s\t\t\n' "$backend" flood_correct_logins 1 "$ok/$total" "$shed" >>"$SUMMARY"
    echo "[$backend flood_correct_logins] $ok of $total succeeded, $shed told to retry (503)"
  fi
  if ! wanted mixed; then
    stop_server
    continue
  fi

  # Mixed: password logins saturate the hashing threads while a steady refresh load
  # (4 connections, one request each per 10 ms: at most 400/s) runs beside them.
  make_refresh_tokens
  export TOKENS_FILE=$WORK/tokens
  c0=$(cpu_ticks "$SERVER_PID"); w0=$(date +%s.%N)
  FORM_BODY='grant_type=password&client_id=app&username=bench-user&password=bench-password' \
    wrk -t1 -c8 -d"${DURATION}s" --latency -s "$HERE/form.lua" "$BASE" >"$OUTDIR/$backend.mixed_password.txt" &
  password_wrk=$!
  THREADS=1 REFRESH_DELAY_MS=10 wrk -t1 -c4 -d"${DURATION}s" --latency -s "$HERE/refresh.lua" "$BASE" >"$OUTDIR/$backend.mixed_refresh.txt"
  wait "$password_wrk"
  c1=$(cpu_ticks "$SERVER_PID"); w1=$(date +%s.%N)
  row "$backend" mixed_password 1 "$OUTDIR/$backend.mixed_password.txt" "$c0" "$c1" "$w0" "$w1"
  row "$backend" mixed_refresh 1 "$OUTDIR/$backend.mixed_refresh.txt" "$c0" "$c1" "$w0" "$w1"

  echo "[$backend] peak RSS $(awk '/VmHWM/{print $2}' "/proc/$SERVER_PID/status") KiB" | tee -a "$OUTDIR/env.txt"
  stop_server
done
[ -n "${PG_ADMIN_URL:-}" ] && psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS tessera_bench WITH (FORCE)" 2>/dev/null || true

echo "== summary ($SUMMARY) =="
column -t -s $'\t' "$SUMMARY" 2>/dev/null || cat "$SUMMARY"
