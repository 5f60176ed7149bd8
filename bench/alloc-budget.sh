#!/usr/bin/env bash
# alloc-budget.sh — heap allocations per proxied request in a release build, held to a budget
# (issue 9: "no allocation per proxied request beyond the buffers themselves"). NIO's style: a fixed
# number of allocations per request, checked by a script; it is not part of the unit suite or CI
# (it needs a release build, nginx and h2load).
#
#   bench/alloc-budget.sh                          build if stale, measure, check bench/alloc-budget.txt
#   BUILD=0 bench/alloc-budget.sh                  use .build/release/gatehouse even when stale
#   SCENARIOS=h2s-small GATEHOUSE_BIN=/tmp/gh bench/alloc-budget.sh
#   MODE=dhat SCENARIOS=h1s-small bench/alloc-budget.sh   where the allocations come from (slow)
#
# Set-up as bench/profile-proxy.sh: the harness's nginx upstream (the 1 KiB /sync answer of
# proxy-bench.sh), the harness's Gatehouse configuration (bench/gatehouse-gateway.sh: the 102 Synapse
# regexes, one upstream, no access log, one event loop) and the harness's requests (`/sync?…` for
# h1s-small and h2s-small, `/_matrix/client/v3/thirdparty/protocols`, which no worker regex matches,
# for h1s-fallthrough; both with the Bearer header).
#
# How allocations are counted (MODE=count, the default): bench/alloc-counter.c, compiled here with
# cc into an LD_PRELOAD library, counts every malloc, calloc, realloc and aligned allocation per
# thread into a file mapped shared, which this script reads while Gatehouse runs. Chosen over
# valgrind because it is exact (a call counter, not a sample) and runs at native speed: a
# scenario takes seconds, not minutes (DHAT runs Gatehouse ~50x slower and cannot read counts in
# the middle of a run, so start-up would have to be subtracted by a second whole run). Unlike
# `memcheck`'s heap summary it needs no stripped copy of the binary and no signal-mask shim.
#
# How a request's share is isolated: after WARM requests, the counters are read (c0), N1 requests
# run (c1), then N2 requests (c2); each run opens the same CONNS connections, so connection set-up
# and everything else that does not grow with the number of requests cancels in
#   allocations per request = ((c2 - c1) - (c1 - c0)) / (N2 - N1).
# The load is h2load with a fixed request count (-n), CONNS=1 connection and STREAMS=1 stream by
# default: one request at a time, so reads and writes never batch several requests and the count
# is the same from run to run. Every request must succeed, or the script fails.
# The budget holds the event loop (the thread with the most allocations over the runs; Gatehouse
# runs one, `server.threads: 1`), whose count is exact and repeats to the allocation. The count over
# all threads is printed beside it: Swift concurrency's and NIO's other threads run timers and
# background jobs by the clock, which adds 0-2 allocations per request of noise from run to run.
#
# MODE=dhat: runs Gatehouse under `valgrind --tool=dhat` twice per scenario (WARM+N1 and WARM+N2
# requests) and subtracts the two profiles allocation site by allocation site: prints the total per
# request (a cross-check of MODE=count) and the TOP sites per request, each as its innermost frames
# outside the allocator (Swift names demangled). Valgrind 3.19 cannot read the toolchain's DWARF 5,
# so it runs a copy without debug information (the symbol table stays), with the sigsuspend shim of
# profile-proxy.sh. The profiles stay in $OUT (dhat.out.*, viewable with dh_view.html).
#
# Budgets: bench/alloc-budget.txt, one `<scenario> <max allocations per request>` line each. The
# script prints a table and exits 1 when a scenario exceeds its budget (2 on a set-up error). Lower
# a budget when a change removes allocations; raise one only with the reason in the commit.
#
# Knobs: MODE=count|dhat  SCENARIOS=h1s-small,h2s-small,h1s-fallthrough  WARM=500 N1=2000 N2=4000
#   (MODE=dhat: WARM=200 N1=300 N2=600)  CONNS=1 STREAMS=1  TOP=5  BUDGETS=bench/alloc-budget.txt
#   PORT_BASE=32000  WORKDIR=/tmp/alloc-budget (harness files; made by one short proxy-bench.sh run
#   when missing)  OUT=$WORKDIR/out  GATEHOUSE_BIN=<repo>/.build/release/gatehouse  BUILD=0|1
# Needs nginx, h2load, curl, cc (and valgrind, python3, swift-demangle for MODE=dhat).
# Every process it starts is stopped by its PID at the end.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
MODE=${MODE:-count}
SCENARIOS=${SCENARIOS:-h1s-small,h2s-small,h1s-fallthrough}
if [ "$MODE" = dhat ]; then
  WARM=${WARM:-200} N1=${N1:-300} N2=${N2:-600}
else
  WARM=${WARM:-500} N1=${N1:-2000} N2=${N2:-4000}
fi
CONNS=${CONNS:-1}
STREAMS=${STREAMS:-1}
TOP=${TOP:-5}
BUDGETS=${BUDGETS:-$HERE/alloc-budget.txt}
PORT_BASE=${PORT_BASE:-32000}
WORKDIR=${WORKDIR:-/tmp/alloc-budget}
OUT=${OUT:-$WORKDIR/out}
[ "$N2" -gt "$N1" ] || { echo "N2 ($N2) must be larger than N1 ($N1)" >&2; exit 2; }
case "$MODE" in count|dhat) ;; *) echo "MODE must be count or dhat" >&2; exit 2 ;; esac

# The binary: built like bench/run.sh does (when missing or older than Sources/, unless BUILD=0).
if [ -n "${GATEHOUSE_BIN:-}" ]; then
  [ -x "$GATEHOUSE_BIN" ] || { echo "GATEHOUSE_BIN=$GATEHOUSE_BIN is not an executable" >&2; exit 2; }
else
  GATEHOUSE_BIN=$REPO/.build/release/gatehouse
  stale=""
  if [ ! -x "$GATEHOUSE_BIN" ]; then
    stale="missing"
  else
    inputs=("$REPO/Sources" "$REPO/Package.swift")
    [ -e "$REPO/Package.resolved" ] && inputs+=("$REPO/Package.resolved")
    newer=$(find "${inputs[@]}" -newer "$GATEHOUSE_BIN" -type f -print -quit)
    [ -n "$newer" ] && stale="older than $newer"
  fi
  if [ -n "$stale" ]; then
    if [ "${BUILD:-1}" = 0 ]; then
      echo "warning: $GATEHOUSE_BIN is $stale; BUILD=0, using it anyway" >&2
      [ -x "$GATEHOUSE_BIN" ] || exit 2
    else
      echo "== release build ($GATEHOUSE_BIN is $stale)" >&2
      "$REPO/scripts/build-release.sh" --product gatehouse
    fi
  fi
fi
export GATEHOUSE_BIN
echo "== $("$GATEHOUSE_BIN" --version 2>/dev/null || echo gatehouse) ($GATEHOUSE_BIN)" >&2
mkdir -p "$OUT"

UPSTREAM_PORT=$((PORT_BASE + 8))
TLS_PORT=$((PORT_BASE + 2443))
# A token Gatehouse does not own (appservice-style), forwarded untouched (see proxy_bench.py).
AUTH='Authorization: Bearer as_YWxpY2U_TGhbGTLXNnRmOYvkjodM_1mCNv7'
UA='User-Agent: proxy-bench (Element-like client)'
PATH_SMALL='/_matrix/client/v3/sync?since=s72594_4483_1934_1_12_7_3_1066_0_1&timeout=30000&filter=0'
PATH_FALLTHROUGH='/_matrix/client/v3/thirdparty/protocols'

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

# The harness's Gatehouse configuration (`--check` writes the files and only checks them).
export BENCH_HOST=127.0.0.1 BENCH_TLS_PORT=$TLS_PORT BENCH_PLAIN_PORT="" BENCH_UPSTREAM=http://127.0.0.1:$UPSTREAM_PORT
export BENCH_CERT=$WORKDIR/cert.pem BENCH_KEY=$WORKDIR/key.pem BENCH_ROUTES=$HERE/synapse-routes.txt
export BENCH_WORKDIR=$WORKDIR BENCH_INSTANCE=alloc BENCH_PROXY_THREADS=1 NIO_SINGLETON_GROUP_LOOP_COUNT=1
"$HERE/gatehouse-gateway.sh" --check >/dev/null
config=$WORKDIR/gatehouse-alloc/gatehouse.yaml

wait_port() {
  for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.2
  done
  echo "port $1 did not open" >&2
  exit 2
}
wait_port "$UPSTREAM_PORT"
wait_ready() {  # until Gatehouse proxies a request (its port may open before it serves, under valgrind)
  for _ in $(seq 1 600); do
    [ "$(curl -sk -o /dev/null -w '%{http_code}' -H "$AUTH" "https://127.0.0.1:$TLS_PORT$PATH_SMALL")" = 200 ] && return 0
    sleep 0.2
  done
  echo "Gatehouse did not answer on port $TLS_PORT" >&2
  exit 2
}

load() {  # load <scenario> <requests>: runs them, fails unless every one succeeded
  local scenario=$1 requests=$2 output succeeded
  case "$scenario" in
    h1s-small) output=$(h2load --h1 -c "$CONNS" -m 1 -n "$requests" -H "$AUTH" -H "$UA" "https://127.0.0.1:$TLS_PORT$PATH_SMALL") ;;
    h1s-fallthrough) output=$(h2load --h1 -c "$CONNS" -m 1 -n "$requests" -H "$AUTH" -H "$UA" "https://127.0.0.1:$TLS_PORT$PATH_FALLTHROUGH") ;;
    h2s-small) output=$(h2load -c "$CONNS" -m "$STREAMS" -n "$requests" -H "$AUTH" -H "$UA" "https://127.0.0.1:$TLS_PORT$PATH_SMALL") ;;
    *) echo "unknown scenario $scenario (h1s-small, h2s-small, h1s-fallthrough)" >&2; exit 2 ;;
  esac
  succeeded=$(grep -Eo '[0-9]+ 2xx' <<<"$output" | head -1 | cut -d' ' -f1)
  if [ "${succeeded:-0}" != "$requests" ]; then
    echo "$scenario: ${succeeded:-0} of $requests requests answered 2xx:" >&2
    echo "$output" >&2
    exit 2
  fi
}

budget_of() { awk -v s="$1" '$1 == s { print $2; found = 1 } END { if (!found) print "" }' "$BUDGETS"; }

# MODE=count: the counter library and its readers.
counter=$OUT/alloc-counter.so
table=$OUT/alloc-counts.bin
snapshot() {  # snapshot <file>: allocations so far per thread slot (malloc+calloc+realloc+aligned)
  od -An -v -t u8 -w48 -j 48 "$table" | awk '{ print $2 + $3 + $4 + $5 }' >"$1"
}
per_request() {  # per_request <snapshot 0> <1> <2>: ((c2 - c1) - (c1 - c0)) / (N2 - N1) over all
  # threads, then for the thread with the most (the event loop); one decimal each
  paste "$@" | awk -v n1="$N1" -v n2="$N2" '
    { d = ($3 - $2) - ($2 - $1); all += d; if (d > top) top = d }
    END { printf "%.1f %.1f\n", all / (n2 - n1), top / (n2 - n1) }'
}

# MODE=dhat: a copy without debug information, and the sigsuspend shim (see profile-proxy.sh).
prepare_dhat() {
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
}
dhat_run() {  # dhat_run <scenario> <requests after WARM> <profile file>
  local scenario=$1 requests=$2 profile=$3 gh
  rm -f "$WORKDIR/gatehouse-alloc/gatehouse.db"* "$profile"
  (cd "$WORKDIR/gatehouse-alloc" && LD_PRELOAD=$shim exec valgrind --tool=dhat --num-callers=24 --dhat-out-file="$profile" \
    "$stripped" serve -c "$config") >"$OUT/valgrind-$scenario-$requests.log" 2>&1 &
  gh=$!
  pids+=("$gh")
  wait_ready
  load "$scenario" "$WARM"
  load "$scenario" "$requests"
  kill -INT "$gh"
  wait "$gh" 2>/dev/null || true
  [ -s "$profile" ] || { echo "no DHAT profile from $scenario (see $OUT/valgrind-$scenario-$requests.log)" >&2; exit 2; }
}

if [ "$MODE" = count ]; then
  cc -O2 -shared -fPIC -o "$counter" "$HERE/alloc-counter.c"
  printf '%-18s %12s %12s %8s  %s\n' scenario "event loop" "all threads" budget result
else
  prepare_dhat
fi

failed=0
for scenario in ${SCENARIOS//,/ }; do
  # A fresh store each time: the binary may be older than the last one that ran here.
  rm -f "$WORKDIR/gatehouse-alloc/gatehouse.db"*
  if [ "$MODE" = dhat ]; then
    dhat_run "$scenario" "$N1" "$OUT/dhat.out.$scenario.$N1"
    dhat_run "$scenario" "$N2" "$OUT/dhat.out.$scenario.$N2"
    echo "== $scenario: allocations per request, DHAT profile after $WARM+$N2 minus after $WARM+$N1 requests"
    python3 "$HERE/alloc-sites.py" --top "$TOP" --requests $((N2 - N1)) \
      "$OUT/dhat.out.$scenario.$N1" "$OUT/dhat.out.$scenario.$N2"
    continue
  fi
  (cd "$WORKDIR/gatehouse-alloc" && ALLOC_COUNTER_FILE=$table LD_PRELOAD=$counter exec "$GATEHOUSE_BIN" serve -c "$config") \
    >"$OUT/gatehouse-$scenario.log" 2>&1 &
  gh=$!
  pids+=("$gh")
  wait_ready
  load "$scenario" "$WARM"
  snapshot "$OUT/counts.0"
  load "$scenario" "$N1"
  snapshot "$OUT/counts.1"
  load "$scenario" "$N2"
  snapshot "$OUT/counts.2"
  kill "$gh"
  wait "$gh" 2>/dev/null || true
  read -r all loop < <(per_request "$OUT/counts.0" "$OUT/counts.1" "$OUT/counts.2")
  budget=$(budget_of "$scenario")
  if [ -z "$budget" ]; then
    result="no budget in $BUDGETS"
    failed=1
  elif awk -v a="$loop" -v b="$budget" 'BEGIN { exit !(a > b) }'; then
    result="OVER BUDGET"
    failed=1
  else
    result=ok
  fi
  printf '%-18s %12s %12s %8s  %s\n' "$scenario" "$loop" "$all" "${budget:--}" "$result"
done
exit "$failed"
