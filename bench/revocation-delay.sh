#!/usr/bin/env bash
# revocation-delay.sh - how soon a token logged out through one Gatehouse instance is refused by
# another instance on the same PostgreSQL database (issue 12: within 100 ms).
#
#   bench/revocation-delay.sh      (SAMPLES=300)
#
# Two instances, A and B (release build, one event-loop thread each, both on CPU 0), on one database of
# a private PostgreSQL cluster (bench/lib/postgres-cluster.sh, on the other CPUs) with a Synapse
# stand-in (bench/fake_synapse_mas.py) as homeserver and upstream. bench/revocation_delay.py then, per
# sample: logs in through A, makes A cache the token as active (a proxied request and an
# introspection, twice each), logs it out through B, and polls A's edge check and A's introspection
# (each in its own thread) until they refuse it. The delay is when the first refused request was
# sent, counted from B's answer. Reported: p50/p99/max per check. Knobs: SAMPLES, PORT_BASE
# (default 29650), GATEHOUSE_BIN.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
PORT_BASE=${PORT_BASE:-29650}
BIN=${GATEHOUSE_BIN:-$REPO/.build/release/gatehouse}
[ -x "$BIN" ] || "$REPO/scripts/build-release.sh" --product gatehouse
NCPU=$(nproc)
OTHER_CPUS=$([ "$NCPU" -ge 2 ] && seq -s, 1 $((NCPU - 1)) || echo 0)
source "$HERE/lib/postgres-cluster.sh"

WORK=$(mktemp -d /tmp/gatehouse-revocation-bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pg_cluster_stop "$WORK/postgres"
  rm -rf "$WORK"
}
trap cleanup EXIT

SYNAPSE_PORT=$((PORT_BASE + 1)); POSTGRES_PORT=$((PORT_BASE + 2))
pg_cluster_start "$WORK/postgres" "$POSTGRES_PORT" "$OTHER_CPUS"
taskset -c "$OTHER_CPUS" python3 "$HERE/fake_synapse_mas.py" "$SYNAPSE_PORT" &
PIDS+=($!)

configure() {  # name tls-port plain-port
  local name=$1
  mkdir -p "$WORK/$name"
  "$BIN" config generate --output "$WORK/$name/gatehouse.yaml" --listen "127.0.0.1:$2" --internal-listen "127.0.0.1:$3" \
    --synapse-url "http://127.0.0.1:$SYNAPSE_PORT/" --database "$WORK/$name/unused.db" >/dev/null
}
configure a $((PORT_BASE + 3)) $((PORT_BASE + 4))
configure b $((PORT_BASE + 5)) $((PORT_BASE + 6))
# Both instances share the database, the shared secret and `secrets` (as examples/scale-out does).
python3 - "$WORK" "$SYNAPSE_PORT" "$PG_URI" <<'PY'
import sys, yaml
work, upstream, uri = sys.argv[1], sys.argv[2], sys.argv[3]
a = yaml.safe_load(open(f"{work}/a/gatehouse.yaml"))
for name in ("a", "b"):
    cfg = yaml.safe_load(open(f"{work}/{name}/gatehouse.yaml"))
    cfg["database"] = {"uri": uri, "max_connections": 10}
    cfg["secrets"] = a["secrets"]
    cfg["matrix"] = a["matrix"]
    cfg["upstreams"]["synapse"]["members"] = [f"http://127.0.0.1:{upstream}"]
    cfg["log"] = {"level": "warning", "access": False}
    cfg["server"] = {"threads": 1}
    big = {"burst": 1000000, "per_second": 1000000}
    cfg["rate_limiting"] = {"login": {"per_ip": big, "per_account": big}}
    yaml.safe_dump(cfg, open(f"{work}/{name}/gatehouse.yaml", "w"), sort_keys=False)
PY
"$BIN" database migrate -c "$WORK/a/gatehouse.yaml" >/dev/null
"$BIN" manage register-user bench --password bench-password -c "$WORK/a/gatehouse.yaml" >/dev/null
for name in a b; do
  taskset -c 0 "$BIN" serve -c "$WORK/$name/gatehouse.yaml" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
done
for port in $((PORT_BASE + 4)) $((PORT_BASE + 6)); do
  for _ in $(seq 100); do curl -s "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
done
SECRET_FILE=$(python3 -c "import os, sys, yaml; print(os.path.join(os.path.dirname(sys.argv[1]), yaml.safe_load(open(sys.argv[1]))['matrix']['secret_path']))" "$WORK/a/gatehouse.yaml")
echo "cross-instance revocation ($("$BIN" --version), PostgreSQL $(pg_cluster_bin | grep -o '[0-9]*' | head -1), $(date -u +%Y-%m-%dT%H:%MZ)):"
taskset -c "$OTHER_CPUS" python3 "$HERE/revocation_delay.py" "http://127.0.0.1:$((PORT_BASE + 4))" \
  "http://127.0.0.1:$((PORT_BASE + 6))" "$SECRET_FILE" bench bench-password "${SAMPLES:-300}"
