#!/usr/bin/env bash
# dev-run.sh - runs Gatehouse in front of a real local Synapse, for development.
#
#   https://localhost:8443/   Gatehouse, public TLS listener (self-signed certificate)
#   http://127.0.0.1:8081/    Gatehouse, internal listener: Synapse's matrix_authentication_service
#                             endpoint (token introspection, discovery)
#   http://127.0.0.1:8008/    Synapse (loopback only; reach it through Gatehouse)
#
# Installs the system packages, builds, generates a dev configuration in .dev/ (kept between runs),
# starts Synapse from PyPI (cached venv) with authentication delegated to Gatehouse, creates the
# user `dev` (password `dev`) with a token in .dev/dev-token on the first run, and runs Gatehouse in
# the foreground; Ctrl-C stops both. Try:
#   curl -k -H "Authorization: Bearer $(cat .dev/dev-token)" https://localhost:8443/_matrix/client/v3/account/whoami
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

cleanup() { IntegrationTests/synapse/stop-synapse.sh --workdir "$DEV/synapse" || true; }
trap cleanup EXIT
IntegrationTests/synapse/start-synapse.sh --workdir "$DEV/synapse" --port 8008 --server-name "$SERVER_NAME" \
  --mas-endpoint http://127.0.0.1:8081/ --secret-file "$DEV/synapse_secret" \
  --public-baseurl "https://$SERVER_NAME:8443/" >/dev/null

if [ ! -s "$DEV/dev-token" ]; then
  "$BIN" manage register-user dev --password dev -c "$DEV/gatehouse.yaml"
  # The token file is created 0600 (umask in a subshell), never created readable and narrowed afterwards.
  (umask 077 && "$BIN" manage issue-compatibility-token dev --device-id DEVDEVICE -c "$DEV/gatehouse.yaml" >"$DEV/dev-token")
fi

echo "Gatehouse on https://$SERVER_NAME:8443/ (Ctrl-C stops Gatehouse and Synapse); token for @dev: $DEV/dev-token" >&2
"$BIN" serve -c "$DEV/gatehouse.yaml"
