#!/usr/bin/env bash
# identity-bench.sh - introspection and login throughput, and proxied latency during a login storm.
#
#   bench/identity-bench.sh            (DURATION=10 seconds per scenario by default)
#
# Gatehouse (release build) runs with one event-loop thread pinned to CPU 0; wrk, the upstream
# (nginx serving a static 1 KiB JSON) and a minimal Synapse MAS-API stand-in run on the other CPUs.
# Scenarios, all over plain HTTP/1.1 on loopback:
#   health       GET /health                                   (Gatehouse's cheapest local answer)
#   introspect   POST /oauth2/introspect as Synapse sends it, one token, cache warm
#   introspect-miss  the same with a well-formed token never seen before each time: a store lookup
#   login        POST /login with a password, 8 connections    (argon2id-bound by design)
#   proxy        GET /_matrix/client/versions through Gatehouse to the upstream, 16 connections
#   proxy+storm  the same while 200 connections keep posting password logins
# and, when the binary serves the OAuth 2.0 provider (issue 8), prepared by oauth_setup.py:
#   login-page        GET /login, an anonymous visitor (template render + a sealed session cookie)
#   introspect-oauth  introspect as above with an OAuth 2.0 access token (mat_) instead of a compat one
#   code-exchange     POST /oauth2/token, authorization_code + PKCE, each code once, 8 connections
#   refresh           POST /oauth2/token, refresh_token, each answer's token chained into the next
# For code-exchange and refresh the req/s column counts successful grants only (ok_per_sec).
# Targets: introspect ≥ 50% of health req/s; proxy p99 during the storm ≤ 2× without it;
# introspect-oauth within noise of introspect; login-page ≥ 50% of health req/s (≤ 2× its cost).
# Those two pairs are also measured interleaved (ROUNDS=5 rounds of ROUND_SECONDS=3 s, each pair in
# turn) and reported as the median and range of the per-round ratios: trust those on a busy machine.
# Results: a table on stdout and in bench/results/identity-<time>.txt. Everything binds 127.0.0.1
# and every process started is stopped at the end.
# STORE=postgres runs Gatehouse on a PostgreSQL database (a private cluster on the other CPUs,
# bench/lib/postgres-cluster.sh; default durability) instead of the SQLite file; STORE_CONNECTIONS
# is its pool size (database.max_connections, default 10). SCENARIOS=introspect,login,… runs only
# those (comma list of the names above; the OAuth set is prepared only when one of it is named).
# PROFILE=<scenario> records a CPU profile of Gatehouse during that scenario (perf, cpu-clock) into
# bench/results/<scenario>.perf.data; read it with `perf report -i FILE`.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
DURATION=${DURATION:-10}
PORT_BASE=${PORT_BASE:-29500}
BIN=${GATEHOUSE_BIN:-$REPO/.build/release/gatehouse}
STORE=${STORE:-sqlite}
SCENARIOS=${SCENARIOS:-all}
case $STORE in sqlite|postgres) ;; *) echo "STORE must be sqlite or postgres, not $STORE" >&2; exit 2 ;; esac
[ -x "$BIN" ] || "$REPO/scripts/build-release.sh" --product gatehouse
for tool in wrk nginx taskset; do
  command -v "$tool" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx util-linux >/dev/null; }
done
NCPU=$(nproc)
OTHER_CPUS=$([ "$NCPU" -ge 2 ] && seq -s, 1 $((NCPU - 1)) || echo 0)

WORK=$(mktemp -d /tmp/gatehouse-identity-bench.XXXXXX)
chmod 755 "$WORK"   # nginx workers (not root) read the upstream body from here
PIDS=()
source "$HERE/lib/postgres-cluster.sh"
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pg_cluster_stop "$WORK/postgres"
  rm -rf "$WORK"
}
trap cleanup EXIT

SYNAPSE_PORT=$((PORT_BASE + 1)); UPSTREAM_PORT=$((PORT_BASE + 2)); TLS_PORT=$((PORT_BASE + 3)); PLAIN_PORT=$((PORT_BASE + 4))
POSTGRES_PORT=$((PORT_BASE + 5))
PG_URI=""
[ "$STORE" = postgres ] && pg_cluster_start "$WORK/postgres" "$POSTGRES_PORT" "$OTHER_CPUS"

selected() {  # name: whether SCENARIOS includes it
  [ "$SCENARIOS" = all ] || [[ ",$SCENARIOS," == *",$1,"* ]]
}

# Upstream: nginx serving a static JSON body for every path.
mkdir -p "$WORK/nginx"
head -c 1000 /dev/zero | tr '\0' 'x' | sed 's/^/{"versions":["v1.11"],"pad":"/; s/$/"}/' >"$WORK/nginx/body.json"
cat >"$WORK/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log error;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$UPSTREAM_PORT;
    keepalive_requests 1000000;
    location / { default_type application/json; root $WORK/nginx; try_files /body.json =404; }
  }
}
NGINX
taskset -c "$OTHER_CPUS" nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
taskset -c "$OTHER_CPUS" python3 "$HERE/fake_synapse_mas.py" "$SYNAPSE_PORT" &
PIDS+=($!)

"$BIN" config generate --output "$WORK/gatehouse.yaml" --listen "127.0.0.1:$TLS_PORT" --internal-listen "127.0.0.1:$PLAIN_PORT" \
  --synapse-url "http://127.0.0.1:$SYNAPSE_PORT/" --database "$WORK/gatehouse.db" >/dev/null
python3 - "$WORK/gatehouse.yaml" "$UPSTREAM_PORT" "$PG_URI" "${STORE_CONNECTIONS:-10}" <<'PY'
import sys, yaml
path, upstream, pg_uri, pool = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cfg = yaml.safe_load(open(path))
if pg_uri:
    cfg["database"] = {"uri": pg_uri, "max_connections": pool}
cfg["upstreams"]["synapse"]["members"] = [f"http://127.0.0.1:{upstream}"]
cfg["log"] = {"level": "warning", "access": False}
cfg["server"] = {"threads": 1}
big = {"burst": 1000000, "per_second": 1000000}
cfg["rate_limiting"] = {"login": {"per_ip": big, "per_account": big}}
yaml.safe_dump(cfg, open(path, "w"), sort_keys=False)
PY
for _ in $(seq 50); do curl -s "http://127.0.0.1:$SYNAPSE_PORT/" >/dev/null && break; sleep 0.1; done
"$BIN" database migrate -c "$WORK/gatehouse.yaml" >/dev/null
"$BIN" manage register-user bench --password bench-password -c "$WORK/gatehouse.yaml" >/dev/null
TOKEN=$("$BIN" manage issue-compatibility-token bench --device-id BENCHDEV -c "$WORK/gatehouse.yaml" 2>/dev/null)
SECRET=$(cat "$WORK/synapse_secret")

taskset -c 0 "$BIN" serve -c "$WORK/gatehouse.yaml" >"$WORK/gatehouse.out" 2>"$WORK/gatehouse.err" &
GH_PID=$!
PIDS+=($GH_PID)
for _ in $(seq 100); do curl -s "http://127.0.0.1:$PLAIN_PORT/health" >/dev/null && break; sleep 0.1; done

BASE=http://127.0.0.1:$PLAIN_PORT
run_wrk() {  # name connections url [script]
  local name=$1 conns=$2 url=$3 script=${4:-}
  selected "$name" || return 0
  local args=(-t 1 -c "$conns" -d "${DURATION}s" --latency)
  local profiler=""
  if [ "${PROFILE:-}" = "$name" ]; then
    perf record -e cpu-clock -F 999 -g -p "$GH_PID" -o "$HERE/results/$name.perf.data" -- sleep "$DURATION" >/dev/null 2>&1 &
    profiler=$!
  fi
  [ -n "$script" ] && args+=(-s "$script")
  GH_TOKEN=${SCENARIO_TOKEN:-$TOKEN} GH_SECRET=$SECRET GH_USER=bench GH_PASSWORD=bench-password GH_OAUTH_DIR=$WORK/oauth \
    taskset -c "$OTHER_CPUS" wrk "${args[@]}" "$url" >"$WORK/$name.wrk" 2>&1
  [ -n "$profiler" ] && wait "$profiler"
  local rps p50 p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$name.wrk")
  # Scenarios whose requests can fail by design count successes only (see bench/lua/*.lua).
  grep -q '^ok_per_sec' "$WORK/$name.wrk" && rps=$(awk '/^ok_per_sec/ {print $2}' "$WORK/$name.wrk")
  grep -E '^warning|first failure' "$WORK/$name.wrk" >&2 || true
  p50=$(awk '$1=="50%" {print $2}' "$WORK/$name.wrk")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/$name.wrk")
  non2xx=$(awk '/Non-2xx/ {print $5}' "$WORK/$name.wrk")
  printf '| %-12s | %6s | %10s | %9s | %9s | %s |\n' "$name" "$conns" "$rps" "$p50" "$p99" "${non2xx:-0}"
  eval "RPS_${name//[-+]/_}=$rps; P99_${name//[-+]/_}=$p99"
}

rate_of() {  # name connections url [script]: req/s of a short run, nothing printed but the rate
  local name=$1 conns=$2 url=$3 script=${4:-}
  local args=(-t 1 -c "$conns" -d "${ROUND_SECONDS:-3}s")
  [ -n "$script" ] && args+=(-s "$script")
  GH_TOKEN=${SCENARIO_TOKEN:-$TOKEN} GH_SECRET=$SECRET taskset -c "$OTHER_CPUS" wrk "${args[@]}" "$url" 2>&1 |
    awk '/Requests\/sec/ {print $2}'
}

{
echo "Gatehouse $("$BIN" --version), $(nproc) CPUs, $DURATION s per scenario, store $STORE, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| scenario     | conns  | req/s      | p50       | p99       | non-2xx |"
echo "|--------------|--------|------------|-----------|-----------|---------|"
run_wrk health 64 "$BASE/health"
run_wrk introspect 64 "$BASE/oauth2/introspect" "$HERE/lua/introspect.lua"
run_wrk introspect-miss 64 "$BASE/oauth2/introspect" "$HERE/lua/introspect-miss.lua"
run_wrk login 8 "$BASE/_matrix/client/v3/login" "$HERE/lua/login.lua"
run_wrk proxy 16 "$BASE/_matrix/client/versions"
if selected proxy+storm; then
  # The storm: 200 connections posting logins for the whole proxy measurement.
  GH_USER=bench GH_PASSWORD=bench-password taskset -c "$OTHER_CPUS" \
    wrk -t 1 -c 200 -d "$((DURATION + 2))s" -s "$HERE/lua/login.lua" "$BASE/_matrix/client/v3/login" >"$WORK/storm.wrk" 2>&1 &
  STORM=$!
  sleep 1
  run_wrk proxy+storm 16 "$BASE/_matrix/client/versions"
  wait "$STORM" || true
fi
if { selected login-page || selected introspect-oauth || selected code-exchange || selected refresh; } &&
  curl -s "$BASE/.well-known/openid-configuration" | grep -q '"token_endpoint"'; then
  mkdir -p "$WORK/oauth"
  python3 "$HERE/oauth_setup.py" "$BASE" bench bench-password "${CODES:-$((DURATION * 1500))}" 16 "$WORK/oauth" >&2
  run_wrk login-page 64 "$BASE/login"
  SCENARIO_TOKEN=$(cat "$WORK/oauth/access_token") run_wrk introspect-oauth 64 "$BASE/oauth2/introspect" "$HERE/lua/introspect.lua"
  run_wrk code-exchange 8 "$BASE/oauth2/token" "$HERE/lua/code-exchange.lua"
  run_wrk refresh 8 "$BASE/oauth2/token" "$HERE/lua/refresh.lua"
  OAUTH=1
fi
if [ -n "${OAUTH:-}" ] && [ "$SCENARIOS" = all ]; then
  # The two targets compare pairs of scenarios; a loaded machine moves every rate between scenarios,
  # so the pairs are also measured interleaved: ROUNDS rounds of ROUND_SECONDS each, in turn.
  OAUTH_TOKEN=$(cat "$WORK/oauth/access_token")
  : >"$WORK/rounds.txt"
  for round in $(seq "${ROUNDS:-5}"); do
    h=$(rate_of health 64 "$BASE/health")
    l=$(rate_of login-page 64 "$BASE/login")
    c=$(rate_of introspect 64 "$BASE/oauth2/introspect" "$HERE/lua/introspect.lua")
    o=$(SCENARIO_TOKEN=$OAUTH_TOKEN rate_of introspect-oauth 64 "$BASE/oauth2/introspect" "$HERE/lua/introspect.lua")
    echo "$round $h $l $c $o" >>"$WORK/rounds.txt"
  done
fi
echo
if [ "$SCENARIOS" = all ]; then
echo "storm: $(awk '/Requests\/sec/ {print $2}' "$WORK/storm.wrk") logins/s with 200 connections (non-2xx: $(awk '/Non-2xx/ {print $5}' "$WORK/storm.wrk"))"
echo "introspect / health = $(python3 -c "print(f'{$RPS_introspect / $RPS_health:.2f}')")"
fi
if [ -n "${OAUTH:-}" ] && [ "$SCENARIOS" = all ]; then
  echo "introspect-oauth / introspect = $(python3 -c "print(f'{$RPS_introspect_oauth / $RPS_introspect:.2f}')")"
  echo "login-page / health = $(python3 -c "print(f'{$RPS_login_page / $RPS_health:.2f}')")"
  python3 - "$WORK/rounds.txt" <<'PY2'
import statistics, sys
rows = [list(map(float, line.split()[1:])) for line in open(sys.argv[1]) if line.strip()]
def summary(values):
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"
print(f"interleaved, {len(rows)} rounds (median [min-max] of the per-round ratios):")
print(f"  login-page / health = {summary([l / h for h, l, c, o in rows])}")
print(f"  introspect-oauth / introspect = {summary([o / c for h, l, c, o in rows])}")
PY2
fi
echo "peak RSS of Gatehouse: $(awk '/VmHWM/ {print $2, $3}' /proc/$GH_PID/status)"
} | tee "$HERE/results/identity-$(date -u +%Y%m%dT%H%M%SZ).txt"
