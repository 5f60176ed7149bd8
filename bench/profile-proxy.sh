#!/usr/bin/env bash
# profile-proxy.sh — where Gatehouse's CPU goes on one proxied small request, measured in a way that
# a loaded machine does not disturb: instructions per request under valgrind's callgrind (the same
# binary and load give the same count whatever else runs), or a perf profile (cpu-clock) of a load run.
#
#   bench/profile-proxy.sh                         callgrind, h1s-small and h2s-small
#   SCENARIOS=h1s-fallthrough bench/profile-proxy.sh   a path no worker regex matches (routing cost)
#   SCENARIOS=h1-small bench/profile-proxy.sh          plain HTTP/1.1 (no TLS: Gatehouse and NIO alone)
#   MODE=perf bench/profile-proxy.sh               perf record -e cpu-clock -g during a wrk/h2load run
#   MODE=syscalls bench/profile-proxy.sh           system calls per request (strace -c over N requests)
#   SCENARIOS=h1s-small GATEHOUSE_BIN=/tmp/gh bench/profile-proxy.sh
#
# It starts the harness's nginx upstream (the 1 KiB /sync answer of proxy-bench.sh), writes the
# harness's Gatehouse configuration (bench/gatehouse-gateway.sh: the 102 Synapse regexes, one upstream,
# no access log, one event loop), and sends the harness's request (`/sync?…` with its Bearer header).
#   callgrind: gatehouse runs under `valgrind --tool=callgrind` with instrumentation off; WARM requests
#     go through first, then instrumentation is switched on for N requests (h2load -n), and the count
#     is dumped. Printed: instructions per request (Ir / N). The dump (callgrind.out.*) stays in
#     $OUT for callgrind_annotate.
#   perf: gatehouse runs natively, pinned to CPU 0; perf records it for DURATION seconds of load and
#     the report (symbols, demangled) goes to $OUT/perf-<scenario>.txt. Printed: CPU µs per request.
#   syscalls: gatehouse runs natively; `strace -c -f` counts every thread's system calls over N
#     requests after WARM ones. Printed: calls per request, in all and by call (the kernel's share of
#     the CPU per request follows them; the table goes to $OUT/strace-<label>-<scenario>.txt).
#
#   TOKEN=own: the requests carry an access token Gatehouse issued (a user registered and a
#     compatibility token issued by `gatehouse manage` against bench/fake_synapse_mas.py), so the
#     edge token check does its whole work (format check, hash, cache) as it does for real clients;
#     the default is the harness's appservice-style token, which the check forwards untouched.
# Knobs: MODE=callgrind|perf|syscalls  SCENARIOS=h1s-small,h2s-small  N=3000 WARM=300 (callgrind)  TOKEN=foreign|own
#   DURATION=8 (perf)  CONNS=16 (h1) H2_CLIENTS=8 H2_STREAMS=8  PORT_BASE=31000
#   WORKDIR=/tmp/profile-proxy (harness files; made by one short proxy-bench.sh run when missing)
#   OUT=$WORKDIR/out  GATEHOUSE_BIN=<repo>/.build/release/gatehouse  LABEL=<text> (file names)
# Needs nginx, h2load, valgrind (callgrind_control), perf and swift-demangle (for MODE=perf), strace
# (for MODE=syscalls).
# Every process it starts is stopped by its PID at the end.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
MODE=${MODE:-callgrind}
SCENARIOS=${SCENARIOS:-h1s-small,h2s-small}
N=${N:-3000}
WARM=${WARM:-300}
DURATION=${DURATION:-8}
CONNS=${CONNS:-16}
H2_CLIENTS=${H2_CLIENTS:-8}
H2_STREAMS=${H2_STREAMS:-8}
PORT_BASE=${PORT_BASE:-31000}
WORKDIR=${WORKDIR:-/tmp/profile-proxy}
OUT=${OUT:-$WORKDIR/out}
LABEL=${LABEL:-run}
TOKEN=${TOKEN:-foreign}
GATEHOUSE_BIN=${GATEHOUSE_BIN:-$REPO/.build/release/gatehouse}
[ -x "$GATEHOUSE_BIN" ] || { echo "no gatehouse binary at $GATEHOUSE_BIN" >&2; exit 2; }
mkdir -p "$OUT"

UPSTREAM_PORT=$((PORT_BASE + 8))
SYNAPSE_PORT=$((PORT_BASE + 19))
TLS_PORT=$((PORT_BASE + 2443))
PLAIN_PORT=$((PORT_BASE + 2080))
PATH_SMALL='/_matrix/client/v3/sync?since=s72594_4483_1934_1_12_7_3_1066_0_1&timeout=30000&filter=0'
PATH_FALLTHROUGH='/_matrix/client/v3/thirdparty/protocols'
# A token Gatehouse does not own (appservice-style), forwarded untouched (see proxy_bench.py).
AUTH='Authorization: Bearer as_YWxpY2U_TGhbGTLXNnRmOYvkjodM_1mCNv7'
UA='User-Agent: proxy-bench (Element-like client)'

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

taskset -c 1 nginx -e "$WORKDIR/upstream-error.log" -c "$WORKDIR/upstream.conf" &
pids+=($!)

if [ "$TOKEN" = own ]; then
  taskset -c 1 python3 "$HERE/fake_synapse_mas.py" "$SYNAPSE_PORT" >/dev/null 2>&1 &
  pids+=($!)
  export BENCH_MATRIX_ENDPOINT=http://127.0.0.1:$SYNAPSE_PORT/
fi

# The harness's Gatehouse configuration (`--check` writes the files and only checks them).
export BENCH_HOST=127.0.0.1 BENCH_TLS_PORT=$TLS_PORT BENCH_PLAIN_PORT=$PLAIN_PORT BENCH_UPSTREAM=http://127.0.0.1:$UPSTREAM_PORT
export BENCH_CERT=$WORKDIR/cert.pem BENCH_KEY=$WORKDIR/key.pem BENCH_ROUTES=$HERE/synapse-routes.txt
export BENCH_WORKDIR=$WORKDIR BENCH_INSTANCE=profile BENCH_PROXY_THREADS=1 NIO_SINGLETON_GROUP_LOOP_COUNT=1 GATEHOUSE_BIN
"$HERE/gatehouse-gateway.sh" --check >/dev/null
config=$WORKDIR/gatehouse-profile/gatehouse.yaml

wait_port() {
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.2
  done
  echo "port $1 did not open" >&2
  exit 1
}
wait_port "$UPSTREAM_PORT"

load() {  # load <scenario> <requests or 0> <seconds>
  local scenario=$1 requests=$2 seconds=$3 size=()
  if [ "$requests" -gt 0 ]; then size=(-n "$requests"); else size=(-D "$seconds"); fi
  case "$scenario" in
    h1-small) taskset -c 1 h2load --h1 -c "$CONNS" -m 1 "${size[@]}" -H "$AUTH" -H "$UA" "http://127.0.0.1:$PLAIN_PORT$PATH_SMALL" ;;
    h1s-small) taskset -c 1 h2load --h1 -c "$CONNS" -m 1 "${size[@]}" -H "$AUTH" -H "$UA" "https://127.0.0.1:$TLS_PORT$PATH_SMALL" ;;
    h2s-small) taskset -c 1 h2load -c "$H2_CLIENTS" -m "$H2_STREAMS" "${size[@]}" -H "$AUTH" -H "$UA" "https://127.0.0.1:$TLS_PORT$PATH_SMALL" ;;
    h1s-fallthrough) taskset -c 1 h2load --h1 -c "$CONNS" -m 1 "${size[@]}" -H "$AUTH" -H "$UA" "https://127.0.0.1:$TLS_PORT$PATH_FALLTHROUGH" ;;
    *) echo "unknown scenario $scenario" >&2; exit 2 ;;
  esac
}

if [ "$MODE" = callgrind ]; then
  # Valgrind 3.19 cannot read the DWARF 5 the Swift toolchain writes: profile a copy without debug
  # information (the symbol table stays, so functions keep their names).
  stripped=$OUT/gatehouse-nodebug
  strip --strip-debug -o "$stripped" "$GATEHOUSE_BIN"
  # libdispatch parks the main thread in sigsuspend() with a mask in read-only memory, and Valgrind's
  # wrapper edits the mask in place, which kills it: hand the kernel a writable copy instead.
  shim=$WORKDIR/sigsuspend-copy.so
  if [ ! -f "$shim" ]; then
    cat >"$WORKDIR/sigsuspend-copy.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, _NSIG / 8);
}
C
    gcc -O2 -shared -fPIC -o "$shim" "$WORKDIR/sigsuspend-copy.c"
  fi
fi

succeeded() { grep -Eo '[0-9]+ succeeded' | head -1 | cut -d' ' -f1; }

for scenario in ${SCENARIOS//,/ }; do
  # A fresh store each time: the binary being profiled may be older than the last one that ran here.
  rm -f "$WORKDIR/gatehouse-profile/gatehouse.db"*
  if [ "$TOKEN" = own ]; then
    wait_port "$SYNAPSE_PORT"
    (cd "$WORKDIR/gatehouse-profile" && "$GATEHOUSE_BIN" database migrate -c "$config" >/dev/null &&
      "$GATEHOUSE_BIN" manage register-user bench --password bench-password-of-the-profile -c "$config" >/dev/null)
    issued=$(cd "$WORKDIR/gatehouse-profile" && "$GATEHOUSE_BIN" manage issue-compatibility-token bench --device-id PROFILE -c "$config" 2>/dev/null)
    AUTH="Authorization: Bearer $issued"
  fi
  case "$MODE" in
    callgrind)
      dump=$OUT/callgrind.out.$LABEL.$scenario
      rm -f "$dump"*
      (cd "$WORKDIR/gatehouse-profile" && LD_PRELOAD=$shim exec taskset -c 0 valgrind --tool=callgrind --instr-atstart=no \
        --separate-threads=yes --callgrind-out-file="$dump" "$stripped" serve -c "$config") >"$OUT/valgrind-$scenario.log" 2>&1 &
      gh=$!
      pids+=("$gh")
      wait_port "$TLS_PORT"; wait_port "$PLAIN_PORT"
      load "$scenario" "$WARM" 0 >/dev/null
      callgrind_control -i on "$gh" >/dev/null
      done_requests=$(load "$scenario" "$N" 0 | succeeded)
      callgrind_control -d "$gh" >/dev/null
      sleep 1
      kill "$gh"
      wait "$gh" 2>/dev/null || true
      # Part 1 is the dump asked for (part 2 is written at exit), one file per thread. The event loop
      # (one thread, `server.threads: 1`) is the thread with the most instructions; the other threads
      # run timers and background jobs whose count depends on wall-clock time, which valgrind stretches.
      loop=0 all=0 loopfile=""
      for file in "$dump".1-*; do
        count=$(grep -m1 -E '^(summary|totals):' "$file" | awk '{print $2}')
        all=$((all + count))
        if [ "$count" -gt "$loop" ]; then loop=$count loopfile=$file; fi
      done
      echo "$scenario $LABEL: $done_requests requests; event loop $loop instructions, $((loop / done_requests)) per request" \
        "(all threads $((all / done_requests)) per request); $loopfile"
      ;;
    perf)
      (cd "$WORKDIR/gatehouse-profile" && exec taskset -c 0 "$GATEHOUSE_BIN" serve -c "$config") >"$OUT/gatehouse-$scenario.log" 2>&1 &
      gh=$!
      pids+=("$gh")
      wait_port "$TLS_PORT"; wait_port "$PLAIN_PORT"
      load "$scenario" 0 2 >/dev/null
      ticks0=$(awk '{print $14 + $15}' "/proc/$gh/stat")
      perf record -q -e cpu-clock -g -p "$gh" -o "$OUT/perf-$LABEL-$scenario.data" -- sleep "$DURATION" &
      perfpid=$!
      done_requests=$(load "$scenario" 0 "$DURATION" | succeeded)
      wait "$perfpid" || true
      ticks1=$(awk '{print $14 + $15}' "/proc/$gh/stat")
      kill "$gh"
      wait "$gh" 2>/dev/null || true
      hz=$(getconf CLK_TCK)
      us=$(awk -v t=$((ticks1 - ticks0)) -v hz="$hz" -v n="$done_requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
      perf report -i "$OUT/perf-$LABEL-$scenario.data" --no-children --sort dso,symbol --stdio 2>/dev/null \
        | swift demangle --simplified >"$OUT/perf-$LABEL-$scenario.txt"
      echo "$scenario $LABEL: $done_requests requests in ${DURATION}s, ${us} µs CPU per request (report: $OUT/perf-$LABEL-$scenario.txt)"
      ;;
    syscalls)
      (cd "$WORKDIR/gatehouse-profile" && exec taskset -c 0 "$GATEHOUSE_BIN" serve -c "$config") >"$OUT/gatehouse-$scenario.log" 2>&1 &
      gh=$!
      pids+=("$gh")
      wait_port "$TLS_PORT"; wait_port "$PLAIN_PORT"
      load "$scenario" "$WARM" 0 >/dev/null
      table=$OUT/strace-$LABEL-$scenario.txt
      strace -c -f -p "$gh" -o "$table" 2>/dev/null &
      tracer=$!
      sleep 1  # attached to every thread before the first measured request
      done_requests=$(load "$scenario" "$N" 0 | succeeded)
      kill -INT "$tracer"
      wait "$tracer" 2>/dev/null || true
      kill "$gh"
      wait "$gh" 2>/dev/null || true
      # strace -c: "% time, seconds, usecs/call, calls, [errors,] syscall"; calls is the 4th field.
      awk -v n="$done_requests" -v s="$scenario" -v l="$LABEL" '
        $NF == "total" { total = $4 }
        $1 ~ /^[0-9.]+$/ && $NF != "total" && $4 / n >= 0.01 { by = by sprintf(" %s %.2f", $NF, $4 / n) }
        END { printf "%s %s: %d requests; %.2f system calls per request:%s\n", s, l, n, total / n, by }' "$table"
      ;;
    *) echo "MODE must be callgrind, perf or syscalls" >&2; exit 2 ;;
  esac
done
