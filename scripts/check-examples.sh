#!/usr/bin/env bash
# check-examples.sh [GATEHOUSE_BIN] - loads every example configuration (examples/*/gatehouse*.yaml)
# with `gatehouse config check`, so none goes stale (run by scripts/test.sh after the build).
# Each example is copied into a temporary installation: /etc/gatehouse/ and /var/lib/gatehouse/ in
# it are replaced by temporary directories holding what an admin would have made there, namely
# the files `gatehouse config generate` writes (shared secret, OAuth 2.0 keys, matrix.routes, a
# TLS pair, also under certbot's names), plus the example's own files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=${1:-.build/debug/gatehouse}
[ -x "$BIN" ] || { echo "check-examples: $BIN not found; build first" >&2; exit 1; }

scripts/generate-worker-routes.py --check

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
count=0
for config in examples/*/gatehouse*.yaml; do
  example=$(dirname "$config")
  # One installation per file: examples/scale-out has one configuration per instance.
  root="$tmp/$(basename "$example")-$(basename "$config" .yaml)"
  mkdir -p "$root/etc" "$root/var"
  "$BIN" config generate --output "$root/etc/generated.yaml" --server-name example.org >/dev/null
  cp "$root/etc/tls/cert.pem" "$root/etc/tls/fullchain.pem"
  install -m 600 "$root/etc/tls/key.pem" "$root/etc/tls/privkey.pem"
  # The PostgreSQL examples' role password (config check reads it; nothing connects).
  (umask 077 && echo example-database-password >"$root/etc/database_password")
  cp -R "$example"/. "$root/etc/"
  sed -e "s#/etc/gatehouse/#$root/etc/#g" -e "s#/var/lib/gatehouse/#$root/var/#g" "$config" >"$root/etc/gatehouse.yaml"
  if out=$("$BIN" config check -c "$root/etc/gatehouse.yaml" 2>&1); then
    count=$((count + 1))
  else
    echo "check-examples: $config does not load:" >&2
    echo "$out" >&2
    status=1
  fi
done
# HAProxy's configuration of examples/scale-out parses (when HAProxy is installed; nothing is bound).
for cfg in examples/*/haproxy.cfg; do
  if ! command -v haproxy >/dev/null; then
    echo "check-examples: haproxy not installed, $cfg not checked" >&2
  elif ! out=$(haproxy -c -q -f "$cfg" 2>&1); then
    echo "check-examples: $cfg: $out" >&2
    status=1
  fi
done
# The Grafana dashboard parses as JSON and charts only metrics that Gatehouse exports (the
# `metrics` table of docs/configuration.md, whose names must appear in Sources/), so a renamed metric
# cannot leave the dashboard or the table stale.
if ! out=$(python3 - examples/monitoring/grafana-dashboard.json docs/configuration.md <<'PY' 2>&1
import json, re, sys
dashboard = json.load(open(sys.argv[1]))
documented = set(re.findall(r"^\| `(gatehouse_[a-z0-9_]+)`", open(sys.argv[2]).read(), re.M))
used = set()
for panel in dashboard["panels"]:
    for target in panel.get("targets", []):
        used |= {re.sub(r"_(bucket|sum|count)$", "", name) for name in re.findall(r"gatehouse_[a-z0-9_]+", target["expr"])}
unknown = sorted(used - documented)
if unknown or not used:
    sys.exit(f"metrics not exported (not in docs/configuration.md): {unknown or 'none used'}")
import pathlib
in_code = set()
for source in pathlib.Path("Sources").rglob("*.swift"):
    in_code |= set(re.findall(r"gatehouse_[a-z0-9_]+", source.read_text()))
stale = sorted(documented - in_code)
if stale:
    sys.exit(f"docs/configuration.md documents metrics no source file names: {stale}")
PY
); then
  echo "check-examples: examples/monitoring/grafana-dashboard.json: $out" >&2
  status=1
fi
[ "$status" = 0 ] && echo "check-examples: $count example configurations load" >&2
exit "$status"
