#!/usr/bin/env bash
# run.sh — benchmark Gatehouse against nginx (and the upstream directly) with proxy-bench.sh.
#
#   bench/run.sh                                   full run (~24 scenarios, ~5 minutes)
#   SCENARIOS=h1s-small,h2s-small bench/run.sh     only some scenarios
#   TARGETS=gatehouse DURATION=2 WARMUP=0 bench/run.sh   quick wiring check
#
# Builds .build/release/gatehouse first when it is missing or older than Sources/ or Package.swift
# (`scripts/build-release.sh --product gatehouse`), unless GATEHOUSE_BIN names another binary or
# BUILD=0. Then runs proxy-bench.sh with GATEWAY_CMD=bench/gatehouse-gateway.sh and
# GATEWAY_NAME=gatehouse. Every harness knob (DURATION, WARMUP, CONNS, SCENARIOS, TARGETS, PIN,
# NICE, PORT_BASE, LABEL, ...; see the top of proxy-bench.sh) passes through from the environment.
# Defaults set here:
#   RESULTS_DIR=bench/results       JSON results (gitignored); the console log goes next to it
#   GATEWAY_PLAIN_PORT=PORT_BASE+1080   Gatehouse also gets a plain listener, so h1-small runs
#                                   against it too (GATEWAY_PLAIN_PORT=0: no plain listener)
#   GATEWAY_LOCAL_SIZE=2            h1s-local is answered by `local health` ("OK")
# Needs root (or nginx, wrk, h2load and libnginx-mod-http-echo already installed).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
cd "$REPO"

if [ -n "${GATEHOUSE_BIN:-}" ]; then
  [ -x "$GATEHOUSE_BIN" ] || { echo "GATEHOUSE_BIN=$GATEHOUSE_BIN is not an executable" >&2; exit 2; }
else
  GATEHOUSE_BIN=$REPO/.build/release/gatehouse
  stale=""
  if [ ! -x "$GATEHOUSE_BIN" ]; then
    stale="missing"
  else
    inputs=(Sources Package.swift)
    [ -e Package.resolved ] && inputs+=(Package.resolved)
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

export GATEWAY_CMD
GATEWAY_CMD=$(printf '%q' "$HERE/gatehouse-gateway.sh")
export GATEWAY_NAME=gatehouse
export RESULTS_DIR=${RESULTS_DIR:-$HERE/results}
export GATEWAY_PLAIN_PORT=${GATEWAY_PLAIN_PORT:-$(( ${PORT_BASE:-28000} + 1080 ))}
export GATEWAY_LOCAL_SIZE=${GATEWAY_LOCAL_SIZE:-2}

mkdir -p "$RESULTS_DIR"
console=$RESULTS_DIR/run-$(date -u +%Y%m%dT%H%M%SZ)${LABEL:+-$LABEL}.log
echo "== proxy-bench.sh (console log: $console)" >&2
"$HERE/proxy-bench.sh" "$@" 2>&1 | tee "$console"
