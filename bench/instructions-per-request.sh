#!/usr/bin/env bash
# instructions-per-request.sh — user-space instructions Gatehouse executes per proxied request, counted
# by valgrind's cachegrind. Unlike req/s and CPU time, an instruction count does not move when other
# work shares the machine, so it shows a small per-request cost (e.g. recording metrics) that the
# throughput runs of run.sh cannot separate from their noise.
#
#   bench/instructions-per-request.sh                          metrics off and on, h1s-small and h2s-small
#   VARIANTS=0 SCENARIOS=h2s-small GATEHOUSE_BIN=/tmp/gh bench/instructions-per-request.sh
#
# Set-up as bench/alloc-budget.sh (and its harness files in WORKDIR): the harness's nginx upstream,
# the harness's Gatehouse configuration (bench/gatehouse-gateway.sh, one event loop; GATEHOUSE_METRICS
# from each variant), the harness's requests with h2load on one connection, one at a time. Each
# variant runs Gatehouse under cachegrind twice, for WARM+N1 and WARM+N2 requests, and prints
#   instructions per request = (Ir(N2) - Ir(N1)) / (N2 - N1)
# so start-up, connection set-up and shutdown cancel. Timers that fire by the clock add a little
# noise (about 0.1%); repeat a variant to see it. Valgrind 3.19 cannot read the toolchain's DWARF 5,
# so a copy without debug information runs (with the sigsuspend shim of profile-proxy.sh).
#
# Knobs: VARIANTS="0 1" (GATEHOUSE_METRICS values)  SCENARIOS=h1s-small,h2s-small  WARM=200 N1=300
#   N2=900  PORT_BASE=32000  WORKDIR=/tmp/alloc-budget  OUT=$WORKDIR/instructions
#   GATEHOUSE_BIN=<repo>/.build/release/gatehouse (built by `scripts/build-release.sh` first if missing)
# Needs nginx, h2load, curl, cc, valgrind. Every process it starts is stopped by its PID at the end.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
VARIANTS=${VARIANTS:-0 1}
SCENARIOS=${SCENARIOS:-h1s-small,h2s-small}
WARM=${WARM:-200} N1=${N1:-300} N2=${N2:-900}
PORT_BASE=${PORT_BASE:-32000}
WORKDIR=${WORKDIR:-/tmp/alloc-budget}
OUT=${OUT:-$WORKDIR/instructions}
GATEHOUSE_BIN=${GATEHOUSE_BIN:-$REPO/.build/release/gatehouse}
[ "$N2" -gt "$N1" ] || { echo "N2 ($N2) must be larger than N1 ($N1)" >&2; exit 2; }
if [ ! -x "$GATEHOUSE_BIN" ]; then
  "$REPO/scripts/build-release.sh" --product gatehouse
fi
mkdir -p "$OUT"

UPSTREAM_PORT=$((PORT_BASE + 8))
TLS_PORT=$((PORT_BASE + 2443))
AUTH='Authorization: Bearer syt_YWxpY2U_TGhbGTLXNnRmOYvkjodM_1mCNv7'
PATH_SMALL='/_matrix/client/v3/sync?since=s72594_4483_1934_1_12_7_3_1066_0_1&timeout=30000&filter=0'

if [ ! -f "$WORKDIR/upstream.conf" ]; then
  echo "== writing the harness files into $WORKDIR (one short proxy-bench.sh run)" >&2
  TARGETS=nginx SCENARIOS=h1s-local DURATION=1 WARMUP=0 WORKDIR=$WORKDIR PORT_BASE=$PORT_BASE \
    RESULTS_DIR=$WORKDIR/results "$HERE/proxy-bench.sh" >/dev/null
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
nginx -e "$WORKDIR/upstream-error.log" -c "$WORKDIR/upstream.conf" &
pids+=($!)

stripped=$OUT/gatehouse-nodebug
strip --strip-debug -o "$stripped" "$GATEHOUSE_BIN"
shim=$OUT/sigsuspend-copy.so
cat >"$OUT/sigsuspend-copy.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, _NSIG / 8);
}
C
cc -O2 -shared -fPIC -o "$shim" "$OUT/sigsuspend-copy.c"

export BENCH_HOST=127.0.0.1 BENCH_TLS_PORT=$TLS_PORT BENCH_PLAIN_PORT="" BENCH_UPSTREAM=http://127.0.0.1:$UPSTREAM_PORT
export BENCH_CERT=$WORKDIR/cert.pem BENCH_KEY=$WORKDIR/key.pem BENCH_ROUTES=$HERE/synapse-routes.txt
export BENCH_WORKDIR=$WORKDIR BENCH_INSTANCE=instructions BENCH_PROXY_THREADS=1 NIO_SINGLETON_GROUP_LOOP_COUNT=1 GATEHOUSE_BIN
config_dir=$WORKDIR/gatehouse-instructions

load() {  # load <scenario> <requests>: fails unless every request succeeded
  local flags="" output
  case "$1" in
    h1s-small) flags=--h1 ;;
    h2s-small) ;;
    *) echo "unknown scenario $1 (h1s-small, h2s-small)" >&2; exit 2 ;;
  esac
  output=$(h2load $flags -c 1 -m 1 -n "$2" -H "$AUTH" "https://127.0.0.1:$TLS_PORT$PATH_SMALL")
  grep -q "$2 2xx" <<<"$output" || { echo "$1: not every one of $2 requests answered 2xx:" >&2; echo "$output" >&2; exit 2; }
}

instructions() {  # instructions <metrics 0|1> <scenario> <requests after WARM>: total Ir of the run
  local profile=$OUT/cachegrind.out gh
  GATEHOUSE_METRICS=$1 "$HERE/gatehouse-gateway.sh" --check >/dev/null 2>&1
  rm -f "$config_dir/gatehouse.db"* "$profile"
  (cd "$config_dir" && LD_PRELOAD=$shim exec valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$profile" \
    "$stripped" serve -c gatehouse.yaml) >"$OUT/valgrind.log" 2>&1 &
  gh=$!
  pids+=("$gh")
  for _ in $(seq 1 600); do
    [ "$(curl -sk -o /dev/null -w '%{http_code}' -H "$AUTH" "https://127.0.0.1:$TLS_PORT$PATH_SMALL")" = 200 ] && break
    sleep 0.2
  done
  load "$2" "$WARM"
  load "$2" "$3"
  kill -INT "$gh"
  wait "$gh" 2>/dev/null || true
  [ -s "$profile" ] || { echo "no cachegrind profile (see $OUT/valgrind.log)" >&2; exit 2; }
  awk '/^summary:/ { print $2 }' "$profile"
}

printf '%-12s %-8s %s\n' scenario metrics "instructions/request"
for scenario in ${SCENARIOS//,/ }; do
  for variant in $VARIANTS; do
    first=$(instructions "$variant" "$scenario" "$N1")
    second=$(instructions "$variant" "$scenario" "$N2")
    printf '%-12s %-8s %d\n' "$scenario" "$([ "$variant" = 1 ] && echo on || echo off)" $(((second - first) / (N2 - N1)))
  done
done
