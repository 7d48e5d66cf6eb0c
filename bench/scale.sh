#!/usr/bin/env bash
# Latency with a database that has run for years: 1,000,000 live offline sessions.
#
#   bench/scale.sh                    # both backends
#   BACKENDS=sqlite SESSIONS=100000 bench/scale.sh
#
# Per backend: start the server on an empty database (start-up time), measure
# refresh_token (rotation followed) and introspection of an expose token (p50,
# p99); stop it; seed SESSIONS offline sessions with one live refresh token each
# by bulk SQL; start it again (start-up time) and measure the same again.
# Only 127.0.0.1 traffic; the server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
HERE=$ROOT/bench

BACKENDS=${BACKENDS:-"sqlite postgres"}
SESSIONS=${SESSIONS:-1000000}
OUTDIR=${OUTDIR:-$HERE/results/scale}

# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
need wrk wrk
need sqlite3 sqlite3
server_binary
start_run "$(printf 'backend\tsessions\tstartup_ms\tscenario\treq_per_s\tp50_ms\tp99_ms\tnon2xx')"

measure() { # $1 backend, $2 sessions
  local backend=$1 sessions=$2 out expose
  : >"$WORK/tokens"
  for _ in $(seq 1 $((CONNS * 2))); do
    curl -fs "$BASE$TOKEN_PATH" -d grant_type=password -d client_id=app -d username=bench-user \
      -d password=bench-password -d scope=offline_access \
      | sed -E 's/.*"refresh_token":"([^"]+)".*/\1\n/' >>"$WORK/tokens"
  done
  out=$OUTDIR/$backend.$sessions.refresh.txt
  TOKENS_FILE=$WORK/tokens wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/refresh.lua" "$BASE" >"$out"
  row "$backend" "$sessions" refresh_token "$out"
  expose=$(make_expose_token)
  out=$OUTDIR/$backend.$sessions.introspection.txt
  TOKEN_PATH=/realms/bench/protocol/openid-connect/token/introspect \
    FORM_BODY="token=$expose&client_id=bench&client_secret=bench-secret-0123456789" \
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/form.lua" "$BASE" >"$out"
  row "$backend" "$sessions" introspection "$out"
}

row() {
  local backend=$1 sessions=$2 name=$3 out=$4 rps p50 p99 non2xx
  IFS=$'\t' read -r rps p50 p99 non2xx < <(wrk_figures "$out")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$sessions" "$STARTUP_MS" "$name" "$rps" "$p50" "$p99" "$non2xx" >>"$SUMMARY"
  echo "[$backend $sessions sessions] start-up ${STARTUP_MS} ms; $name: $rps req/s, p50 $p50 ms, p99 $p99 ms, non-2xx $non2xx"
}

# Bulk SQL: SESSIONS offline families of bench-user, one live refresh token each.
SEED_SQLITE="
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $SESSIONS)
INSERT INTO refresh_families (id, realm, client_id, user_id, scope, offline, created_at)
SELECT 'seed-' || i, 'bench', 'app', (SELECT id FROM users WHERE username = 'bench-user'),
       'offline_access', 1, 1700000000000 + i FROM n;
INSERT INTO refresh_tokens (digest, family_id, issued_at)
SELECT randomblob(32), id, created_at FROM refresh_families WHERE id LIKE 'seed-%';"
SEED_POSTGRES="
INSERT INTO refresh_families (id, realm, client_id, user_id, scope, offline, created_at)
SELECT 'seed-' || i, 'bench', 'app', (SELECT id FROM users WHERE username = 'bench-user'),
       'offline_access', 1, 1700000000000 + i FROM generate_series(1, $SESSIONS) AS i;
INSERT INTO refresh_tokens (digest, family_id, issued_at)
SELECT decode(md5(id) || md5(id || 'x'), 'hex'), id, created_at FROM refresh_families
 WHERE id LIKE 'seed-%';
ANALYZE;"

{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
  echo "tessera: $(git -C "$ROOT" rev-parse --short HEAD), release build; sessions=$SESSIONS conns=$CONNS duration=${DURATION}s"
} | tee "$OUTDIR/env.txt"

for backend in $BACKENDS; do
  rm -rf "$WORK/realms" "$WORK/master.key" "$WORK"/db*; mkdir -p "$WORK/realms"
  cp "$HERE/realm.toml" "$WORK/realms/bench.toml"
  case $backend in
    sqlite) url="sqlite:$WORK/db.sqlite" ;;
    postgres)
      psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS tessera_scale WITH (FORCE)"
      psql "$PG_ADMIN_URL" -qc "CREATE DATABASE tessera_scale"
      url="${PG_ADMIN_URL%/*}/tessera_scale" ;;
    *) echo "unknown backend $backend" >&2; exit 1 ;;
  esac
  start_server "$url"
  measure "$backend" 0
  stop_server
  t0=$(date +%s)
  case $backend in
    sqlite) sqlite3 "$WORK/db.sqlite" "$SEED_SQLITE" ;;
    postgres) psql "$url" -q -c "$SEED_POSTGRES" ;;
  esac
  echo "[$backend] seeded $SESSIONS offline sessions in $(( $(date +%s) - t0 )) s"
  start_server "$url"
  measure "$backend" "$SESSIONS"
  stop_server
done
[ -n "${PG_ADMIN_URL:-}" ] && psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS tessera_scale WITH (FORCE)" 2>/dev/null || true

echo "== summary ($SUMMARY) =="
column -t -s $'\t' "$SUMMARY" 2>/dev/null || cat "$SUMMARY"
