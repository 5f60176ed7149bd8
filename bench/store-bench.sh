#!/usr/bin/env bash
# store-bench.sh - the identity work per second on PostgreSQL beside SQLite, and how soon a revocation
# made by one instance is refused by another (issue 12).
#
#   bench/store-bench.sh          (ROUNDS=3, ROUND_SECONDS=6 by default)
#
# Part 1, throughput: ROUNDS rounds; each round runs bench/identity-bench.sh once with STORE=sqlite and
# once with STORE=postgres (which one goes first alternates between rounds), each with its scenarios
# `introspect` (a compat token, 64 connections: answered from the cache), `introspect-miss` (a new
# well-formed token each time: a store lookup), `introspect-oauth` (an OAuth access token), `login`
# (password logins, 8 connections) and `refresh` (refresh-token grants, each token used once, 8
# connections), ROUND_SECONDS each. Gatehouse runs with one event-loop thread on CPU 0; wrk, the
# Synapse stand-in and PostgreSQL on the other CPUs. The summary gives per scenario the median rate on
# each store and the median [min-max] of the per-round ratios postgres ÷ sqlite.
#
# Part 2, cross-instance revocation (bench/revocation-delay.sh): two instances on one PostgreSQL
# database; SAMPLES tokens logged in through A are logged out through B, and the time from B's answer
# until A's edge check and A's introspection refuse the token is reported as p50/p99/max.
#
# Knobs: ROUNDS, ROUND_SECONDS, SAMPLES (default 300), STORE_CONNECTIONS (pool size, default 10),
# PG_OPTIONS (extra PostgreSQL server options), GATEHOUSE_BIN, PORT_BASE (default 29600), PARTS
# (`throughput,revocation`). Results: stdout and bench/results/store-<time>.txt.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
ROUNDS=${ROUNDS:-3}
ROUND_SECONDS=${ROUND_SECONDS:-6}
PORT_BASE=${PORT_BASE:-29600}
PARTS=${PARTS:-throughput,revocation}
export GATEHOUSE_BIN=${GATEHOUSE_BIN:-$REPO/.build/release/gatehouse}
[ -x "$GATEHOUSE_BIN" ] || "$REPO/scripts/build-release.sh" --product gatehouse
SCENARIO_LIST=introspect,introspect-miss,introspect-oauth,login,refresh
RUNS=$(mktemp -d /tmp/gatehouse-store-bench.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
mkdir -p "$HERE/results"

{
echo "Gatehouse $("$GATEHOUSE_BIN" --version), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
if [[ ",$PARTS," == *",throughput,"* ]]; then
  for round in $(seq "$ROUNDS"); do
    stores="sqlite postgres"
    [ $((round % 2)) = 0 ] && stores="postgres sqlite"
    for store in $stores; do
      STORE=$store SCENARIOS=$SCENARIO_LIST DURATION=$ROUND_SECONDS CODES=64 PORT_BASE=$PORT_BASE \
        "$HERE/identity-bench.sh" >"$RUNS/$round-$store.txt" 2>"$RUNS/$round-$store.err" ||
        { echo "identity-bench.sh failed (STORE=$store, round $round):" >&2; cat "$RUNS/$round-$store.err" >&2; exit 1; }
      grep -E 'first failure|warning' "$RUNS/$round-$store.err" >&2 || true
    done
  done
  python3 - "$RUNS" "$ROUNDS" "$SCENARIO_LIST" <<'PY'
import statistics, sys
runs, rounds, names = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")

def rates(path):
    table = {}
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and cells[0] in names:
            table[cells[0]] = (float(cells[2]), cells[4], cells[5])
    return table

per_round = [(rates(f"{runs}/{r}-sqlite.txt"), rates(f"{runs}/{r}-postgres.txt")) for r in range(1, rounds + 1)]
print()
print(f"throughput, {rounds} rounds (req/s: median of the rounds; ratio: median [min-max] of the per-round ratios)")
print()
print("| scenario | SQLite req/s | PostgreSQL req/s | PostgreSQL ÷ SQLite | p99 SQLite / PostgreSQL (last round) |")
print("| --- | --- | --- | --- | --- |")
for name in names:
    s = [sq[name][0] for sq, pg in per_round]
    p = [pg[name][0] for sq, pg in per_round]
    ratios = [b / a for a, b in zip(s, p)]
    last_sq, last_pg = per_round[-1]
    print(f"| `{name}` | {statistics.median(s):,.0f} | {statistics.median(p):,.0f} | "
          f"{statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}] | {last_sq[name][1]} / {last_pg[name][1]} |")
    for label, table in (("sqlite", last_sq), ("postgres", last_pg)):
        if table[name][2] not in ("0", ""):
            print(f"  ({label} {name}: {table[name][2]} non-2xx answers in the last round)")
PY
fi
if [[ ",$PARTS," == *",revocation,"* ]]; then
  echo
  PORT_BASE=$((PORT_BASE + 50)) "$HERE/revocation-delay.sh"
fi
} | tee "$HERE/results/store-$(date -u +%Y%m%dT%H%M%SZ).txt"
