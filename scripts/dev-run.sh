#!/usr/bin/env bash
# dev-run.sh - runs Gatehouse in front of a real local Synapse, for development.
#
#   https://localhost:8443/   Gatehouse, public TLS listener (self-signed certificate)
#   http://127.0.0.1:8081/    Gatehouse, internal listener (Synapse's matrix_authentication_service endpoint)
#   http://127.0.0.1:8008/    Synapse (loopback only; reach it through Gatehouse)
#
# Installs the system packages, builds, generates a dev configuration in .dev/ (kept between runs),
# starts Synapse from PyPI (cached venv) and runs Gatehouse in the foreground; Ctrl-C stops both.
#
# Until Gatehouse answers token introspection itself, Synapse's auth endpoint is the introspection
# stand-in from IntegrationTests/ on 127.0.0.1:8090, which knows one user: @dev:localhost with the
# access token `devtoken`, e.g.
#   curl -k -H 'Authorization: Bearer devtoken' https://localhost:8443/_matrix/client/v3/account/whoami
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DEV=$ROOT/.dev
SERVER_NAME=${SERVER_NAME:-localhost}

scripts/install-deps.sh
swift build
BIN=$ROOT/.build/debug/gatehouse

mkdir -p "$DEV"
if [ ! -f "$DEV/gatehouse.yaml" ]; then
  "$BIN" config generate --output "$DEV/gatehouse.yaml" --server-name "$SERVER_NAME" \
    --public-base "https://$SERVER_NAME:8443/" --listen 127.0.0.1:8443 --internal-listen 127.0.0.1:8081 \
    --synapse-url http://127.0.0.1:8008/ --database "$DEV/gatehouse.db"
fi
"$BIN" config check -c "$DEV/gatehouse.yaml"

PY=$(python3 -c 'import sys; print(sys.executable)')
"$PY" IntegrationTests/introspection_standin.py serve --port 8090 --secret-file "$DEV/synapse_secret" \
  --token "devtoken=dev:DEVDEVICE" --log "$DEV/standin.jsonl" >"$DEV/standin.log" 2>&1 &
STANDIN=$!
cleanup() {
  kill "$STANDIN" 2>/dev/null || true
  IntegrationTests/synapse/stop-synapse.sh --workdir "$DEV/synapse" || true
}
trap cleanup EXIT

IntegrationTests/synapse/start-synapse.sh --workdir "$DEV/synapse" --port 8008 --server-name "$SERVER_NAME" \
  --mas-endpoint http://127.0.0.1:8090/ --secret "$(cat "$DEV/synapse_secret")" \
  --public-baseurl "https://$SERVER_NAME:8443/" >/dev/null
"$PY" IntegrationTests/introspection_standin.py provision --synapse http://127.0.0.1:8008 \
  --secret-file "$DEV/synapse_secret" --localpart dev --device DEVDEVICE >/dev/null

echo "Gatehouse on https://$SERVER_NAME:8443/ (Ctrl-C stops Gatehouse and Synapse)" >&2
"$BIN" serve -c "$DEV/gatehouse.yaml"
