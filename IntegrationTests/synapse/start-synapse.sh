#!/usr/bin/env bash
# start-synapse.sh - run a REAL Synapse (from PyPI) on loopback for Gatehouse's integration
# tests, delegating auth to a MAS-compatible service (matrix_authentication_service: enabled).
# Adapted from the synapse-peer reference scripts; test-only, never used by Gatehouse itself.
#
# Usage: start-synapse.sh [options]        (every option also has an env variable)
#   --workdir DIR        SYNAPSE_WORKDIR       state dir (config, sqlite db, keys, logs)   [/tmp/gatehouse-synapse]
#   --port N             SYNAPSE_PORT          http listener on 127.0.0.1:N (client+federation) [18008]
#   --server-name NAME   SYNAPSE_SERVER_NAME   Matrix server_name                            [example.test]
#   --mas-endpoint URL   MAS_ENDPOINT          where Synapse reaches "MAS"                   [http://127.0.0.1:18080/]
#   --secret S           MAS_SECRET            shared secret Synapse<->MAS (default: random, kept in WORKDIR/mas_secret)
#   --secret-file FILE   MAS_SECRET_FILE       read the shared secret from FILE instead (keeps it out of argv)
#   --public-baseurl URL SYNAPSE_PUBLIC_BASEURL public_baseurl (set it to the gateway URL)   [http://127.0.0.1:PORT/]
#   --extra-config FILE  SYNAPSE_EXTRA_CONFIG  extra YAML passed as a 2nd -c (top-level keys override)
#   --fresh              SYNAPSE_FRESH=1       wipe WORKDIR first (stops a Synapse running from it)
# Other env:
#   SYNAPSE_VERSION      [1.163.2]   pip version of matrix-synapse
#   SYNAPSE_CACHE_DIR    [$HOME/.cache/gatehouse-synapse]  venvs live in $SYNAPSE_CACHE_DIR/venv-$SYNAPSE_VERSION
#   SYNAPSE_PYTHON       [python3]   interpreter used to create the venv (needs >= 3.10; Debian 12's 3.11 is fine,
#                                    it needs the python3-venv package)
#   SYNAPSE_START_TIMEOUT [120]      seconds to wait for /health
#   SYNAPSE_LOG_LEVEL    [INFO]      root log level (DEBUG shows "Introspection result" lines)
#   SYNAPSE_FEDERATION_WHITELIST [""] comma list for federation_domain_whitelist; "" => [] (no
#                                    federation at all, nothing leaves loopback); "*" => key omitted
#   SYNAPSE_RELAX_RATELIMITS [1]     1 => rc_* limits set very high (for tests)
#   SYNAPSE_LOOPBACK_ONLY [1]        1 => ip_range_blacklist everything, ip_range_whitelist 127/8 + ::1
#                                    (federation, identity-server and push clients can only connect
#                                    to loopback; the MAS clients are not affected)
#
# Output: the Synapse PID on stdout (only that); progress/info on stderr.
# Exit:   0 = Synapse answers GET /health with "OK"; non-zero otherwise (log tail printed).
# Files:  WORKDIR/{homeserver.yaml,log.config,homeserver.db,homeserver.log,stdout.log,synapse.pid,
#          synapse.env (KEY=VALUE: SYNAPSE_PID, SYNAPSE_URL, MAS_SECRET_FILE, ...), mas_secret,
#          macaroon_secret, form_secret, <server_name>.signing.key, media_store/}
# Stop:   stop-synapse.sh --workdir WORKDIR
set -euo pipefail

log() { printf '[start-synapse] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

WORKDIR=${SYNAPSE_WORKDIR:-/tmp/gatehouse-synapse}
PORT=${SYNAPSE_PORT:-18008}
SERVER_NAME=${SYNAPSE_SERVER_NAME:-example.test}
MAS_ENDPOINT=${MAS_ENDPOINT:-http://127.0.0.1:18080/}
SECRET=${MAS_SECRET:-}
SECRET_FILE=${MAS_SECRET_FILE:-}
PUBLIC_BASEURL=${SYNAPSE_PUBLIC_BASEURL:-}
EXTRA_CONFIG=${SYNAPSE_EXTRA_CONFIG:-}
FRESH=${SYNAPSE_FRESH:-0}
VERSION=${SYNAPSE_VERSION:-1.163.2}
CACHE_DIR=${SYNAPSE_CACHE_DIR:-$HOME/.cache/gatehouse-synapse}
PYTHON=${SYNAPSE_PYTHON:-python3}
START_TIMEOUT=${SYNAPSE_START_TIMEOUT:-120}
LOG_LEVEL=${SYNAPSE_LOG_LEVEL:-INFO}
FED_WHITELIST=${SYNAPSE_FEDERATION_WHITELIST:-}
RELAX=${SYNAPSE_RELAX_RATELIMITS:-1}
LOOPBACK_ONLY=${SYNAPSE_LOOPBACK_ONLY:-1}

while [ $# -gt 0 ]; do
  case "$1" in
    --workdir) WORKDIR=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --server-name) SERVER_NAME=$2; shift 2 ;;
    --mas-endpoint) MAS_ENDPOINT=$2; shift 2 ;;
    --secret) SECRET=$2; shift 2 ;;
    --secret-file) SECRET_FILE=$2; shift 2 ;;
    --public-baseurl) PUBLIC_BASEURL=$2; shift 2 ;;
    --extra-config) EXTRA_CONFIG=$2; shift 2 ;;
    --fresh) FRESH=1; shift ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
done

case "$PORT" in ''|*[!0-9]*) die "--port must be a number, got '$PORT'" ;; esac
[ -n "$SERVER_NAME" ] || die "--server-name is empty"
case "$MAS_ENDPOINT" in http://*|https://*) ;; *) die "--mas-endpoint must be an http(s) URL" ;; esac
PUBLIC_BASEURL=${PUBLIC_BASEURL:-http://127.0.0.1:$PORT/}
case "$WORKDIR" in /*) ;; *) WORKDIR="$PWD/$WORKDIR" ;; esac
if [ -n "$SECRET_FILE" ]; then
  [ -z "$SECRET" ] || die "--secret and --secret-file are mutually exclusive"
  [ -r "$SECRET_FILE" ] || die "secret file $SECRET_FILE is not readable"
  SECRET=$(head -n 1 "$SECRET_FILE" | tr -d '\r\n')
  [ -n "$SECRET" ] || die "secret file $SECRET_FILE is empty"
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Keep every outbound request of Synapse (MAS metadata via Twisted, introspection via
# reqwest) off any proxy: both honour *_proxy env variables.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy="127.0.0.1,localhost,::1" NO_PROXY="127.0.0.1,localhost,::1"

# ---------------------------------------------------------------- 1. venv (cached)
VENV="$CACHE_DIR/venv-$VERSION"
# psycopg2 (the binary wheel from PyPI: no compiler or libpq headers needed) lets Synapse run on
# PostgreSQL, as the import-synapse test does.
POSTGRES_DRIVER="psycopg2-binary==2.9.11"
synapse_ok() { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - "$VERSION" <<'EOF' 2>/dev/null
import sys, importlib.metadata as m
sys.exit(0 if m.version("matrix-synapse") == sys.argv[1] else 1)
EOF
}
driver_ok() { "$VENV/bin/python" -c 'import psycopg2' 2>/dev/null; }
venv_ok() { synapse_ok && driver_ok; }
if ! venv_ok; then
  mkdir -p "$CACHE_DIR"
  exec 9>"$CACHE_DIR/.install-$VERSION.lock"
  command -v flock >/dev/null && flock 9          # serialise concurrent installs
  if synapse_ok && ! driver_ok; then               # a venv cached before the driver was added
    log "adding $POSTGRES_DRIVER to $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$POSTGRES_DRIVER" >&2 \
      || die "pip install $POSTGRES_DRIVER failed"
  fi
  if ! venv_ok; then
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found (Debian: apt-get install python3 python3-venv)"
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
      || die "$PYTHON is older than 3.10 (Synapse $VERSION needs >= 3.10)"
    log "installing matrix-synapse==$VERSION into $VENV (one-off)"
    t0=$(date +%s)
    tmp="$VENV.tmp.$$"
    rm -rf "$tmp"
    "$PYTHON" -m venv "$tmp" >&2 || { rm -rf "$tmp"; die "'$PYTHON -m venv' failed (Debian/Ubuntu: apt-get install python3-venv)"; }
    # Only 'python -m ...' is ever used, so the venv may be renamed after the install.
    "$tmp/bin/python" -m pip install -q --disable-pip-version-check "matrix-synapse==$VERSION" "$POSTGRES_DRIVER" >&2 \
      || { rm -rf "$tmp"; die "pip install matrix-synapse==$VERSION $POSTGRES_DRIVER failed"; }
    rm -rf "$VENV"; mv "$tmp" "$VENV"
    log "installed in $(( $(date +%s) - t0 ))s"
  fi
  exec 9>&-
fi
PY="$VENV/bin/python"

# ---------------------------------------------------------------- 2. workdir state
if [ "$FRESH" = 1 ] && [ -d "$WORKDIR" ]; then
  [ -x "$HERE/stop-synapse.sh" ] && "$HERE/stop-synapse.sh" --workdir "$WORKDIR" >&2 || true
  log "wiping $WORKDIR"
  rm -rf "$WORKDIR"
fi
mkdir -p "$WORKDIR/media_store"

if [ -f "$WORKDIR/synapse.pid" ]; then
  oldpid=$(cat "$WORKDIR/synapse.pid")
  if [ -n "$oldpid" ] && kill -0 "$oldpid" 2>/dev/null && \
     tr '\0' ' ' <"/proc/$oldpid/cmdline" 2>/dev/null | grep -q "$WORKDIR/homeserver.yaml"; then
    die "Synapse already running from $WORKDIR (pid $oldpid); run stop-synapse.sh first"
  fi
  rm -f "$WORKDIR/synapse.pid"
fi

"$PY" - "$PORT" 2>/dev/null <<'EOF' || die "127.0.0.1:$PORT is already in use"
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.close()
EOF

umask_saved=$(umask); umask 077                  # secrets are created 0600
if [ -z "$SECRET" ]; then
  [ -s "$WORKDIR/mas_secret" ] || "$PY" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$WORKDIR/mas_secret"
  SECRET=$(cat "$WORKDIR/mas_secret")
else
  printf '%s\n' "$SECRET" >"$WORKDIR/mas_secret"
fi
chmod 600 "$WORKDIR/mas_secret"
for f in macaroon_secret form_secret; do
  [ -s "$WORKDIR/$f" ] || "$PY" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$WORKDIR/$f"
  chmod 600 "$WORKDIR/$f"
done
umask "$umask_saved"

# ---------------------------------------------------------------- 3. config
CFG="$WORKDIR/homeserver.yaml"
export C_WORKDIR="$WORKDIR" C_PORT="$PORT" C_SERVER_NAME="$SERVER_NAME" C_PUBLIC_BASEURL="$PUBLIC_BASEURL" \
       C_MAS_ENDPOINT="$MAS_ENDPOINT" C_SECRET="$SECRET" C_FED="$FED_WHITELIST" C_RELAX="$RELAX" \
       C_LOOPBACK_ONLY="$LOOPBACK_ONLY"
"$PY" - "$CFG" <<'EOF'
import json, os, sys
e = os.environ
q = json.dumps  # JSON scalars are valid YAML flow scalars: safe quoting of any value
wd = e["C_WORKDIR"]
lines = [
    "# generated by start-synapse.sh - overwritten on every start",
    f"server_name: {q(e['C_SERVER_NAME'])}",
    f"public_baseurl: {q(e['C_PUBLIC_BASEURL'])}",
    f"pid_file: {q(wd + '/homeserver.pid')}",
    "listeners:",
    f"  - port: {int(e['C_PORT'])}",
    "    bind_addresses: ['127.0.0.1']",
    "    type: http",
    "    tls: false",
    "    x_forwarded: true",
    "    resources:",
    "      - names: [client, federation]",
    "        compress: false",
    "database:",
    "  name: sqlite3",
    "  args:",
    f"    database: {q(wd + '/homeserver.db')}",
    f"log_config: {q(wd + '/log.config')}",
    f"media_store_path: {q(wd + '/media_store')}",
    f"signing_key_path: {q(wd + '/' + e['C_SERVER_NAME'].replace(':', '_') + '.signing.key')}",
    f"macaroon_secret_key_path: {q(wd + '/macaroon_secret')}",
    f"form_secret_path: {q(wd + '/form_secret')}",
    "report_stats: false",
    "enable_metrics: false",
    "trusted_key_servers: []",
    "suppress_key_server_warning: true",
    # Required when MAS is enabled (synapse/config/mas.py check_config_conflicts):
    "enable_registration: false",
    "password_config:",
    "  enabled: false",
    "matrix_authentication_service:",
    "  enabled: true",
    f"  endpoint: {q(e['C_MAS_ENDPOINT'])}",
    # The secret stays in the 0600 file; homeserver.yaml is written with the default umask.
    f"  secret_path: {q(wd + '/mas_secret')}",
]
if e["C_FED"].strip() != "*":
    doms = [d.strip() for d in e["C_FED"].split(",") if d.strip()]
    lines.append(f"federation_domain_whitelist: {q(doms)}")
if e["C_LOOPBACK_ONLY"] == "1":
    lines += [
        "ip_range_blacklist: ['0.0.0.0/0', '::/0']",
        "ip_range_whitelist: ['127.0.0.0/8', '::1/128']",
    ]
if e["C_RELAX"] == "1":
    big = "{per_second: 9999, burst_count: 9999}"
    for k in ["rc_message", "rc_registration", "rc_admin_redaction", "rc_joins_per_room",
              "rc_3pid_validation", "rc_delayed_event_mgmt", "rc_room_creation",
              "rc_user_directory", "rc_reports", "rc_media_create"]:
        lines.append(f"{k}: {big}")
    lines += [
        f"rc_login: {{address: {big}, account: {big}, failed_attempts: {big}}}",
        f"rc_joins: {{local: {big}, remote: {big}}}",
        f"rc_invites: {{per_room: {big}, per_user: {big}, per_issuer: {big}}}",
        f"rc_presence: {{per_user: {big}}}",
        "rc_federation: {window_size: 1000, sleep_limit: 10, sleep_delay: 500, reject_limit: 99999, concurrent: 3}",
    ]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
EOF

cat >"$WORKDIR/log.config" <<EOF
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: $WORKDIR/homeserver.log
    encoding: utf8
loggers:
  synapse.storage.SQL:
    level: INFO
  twisted:
    level: WARNING
root:
  level: $LOG_LEVEL
  handlers: [file]
disable_existing_loggers: false
EOF

CFG_ARGS=(-c "$CFG")
if [ -n "$EXTRA_CONFIG" ]; then
  [ -f "$EXTRA_CONFIG" ] || die "extra config $EXTRA_CONFIG not found"
  CFG_ARGS+=(-c "$EXTRA_CONFIG")
fi

# Signing key (only generated when missing; --generate-keys does not validate the config), created
# private: umask 077 for this command only.
(umask 077 && "$PY" -m synapse.app.homeserver "${CFG_ARGS[@]}" --generate-keys) >>"$WORKDIR/stdout.log" 2>&1 \
  || { tail -n 30 "$WORKDIR/stdout.log" >&2; die "signing key generation failed"; }
# Full config validation (same parser as the server) so a bad option fails fast and clearly.
"$PY" - "${CFG_ARGS[@]}" <<'EOF' >&2 || die "Synapse rejected the configuration (see above)"
import sys
from synapse.config._base import ConfigError
from synapse.config.homeserver import HomeServerConfig
try:
    HomeServerConfig.load_config("synapse", sys.argv[1:])
except ConfigError as e:
    print(f"ConfigError: {e.msg} (at {'.'.join(e.path or [])})", file=sys.stderr)
    if e.__cause__ is not None:
        print(f"  caused by: {e.__cause__}", file=sys.stderr)
    sys.exit(1)
EOF

# Synapse fetches MAS metadata lazily, so MAS may start later; only warn.
"$PY" - "$MAS_ENDPOINT" 2>/dev/null <<'EOF' || log "WARNING: MAS not reachable yet at ${MAS_ENDPOINT%/}/.well-known/openid-configuration (Synapse starts anyway; until it is, authenticated requests get 503 and auth_metadata/.well-known get 500)"
import sys, urllib.request
urllib.request.urlopen(sys.argv[1].rstrip("/") + "/.well-known/openid-configuration", timeout=3).read()
EOF

# ---------------------------------------------------------------- 4. start + wait
log "starting Synapse $VERSION: server_name=$SERVER_NAME listen=127.0.0.1:$PORT mas=$MAS_ENDPOINT workdir=$WORKDIR"
t0=$(date +%s.%N)
nohup setsid "$PY" -m synapse.app.homeserver "${CFG_ARGS[@]}" \
  >>"$WORKDIR/stdout.log" 2>&1 </dev/null &
PID=$!
echo "$PID" >"$WORKDIR/synapse.pid"

deadline=$(( $(date +%s) + START_TIMEOUT ))
while :; do
  if ! kill -0 "$PID" 2>/dev/null; then
    log "Synapse (pid $PID) exited during startup; last log lines:"
    tail -n 40 "$WORKDIR/stdout.log" >&2; tail -n 20 "$WORKDIR/homeserver.log" >&2 2>/dev/null || true
    rm -f "$WORKDIR/synapse.pid"; exit 1
  fi
  if [ "$("$PY" - "$PORT" <<'EOF' 2>/dev/null
import sys, urllib.request
try:
    print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=2).read().decode())
except Exception:
    print("")
EOF
)" = "OK" ]; then break; fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "no healthy answer after ${START_TIMEOUT}s; stopping pid $PID"
    kill "$PID" 2>/dev/null || true
    tail -n 40 "$WORKDIR/homeserver.log" >&2 2>/dev/null || true
    rm -f "$WORKDIR/synapse.pid"; exit 1
  fi
  sleep 0.2
done
t1=$(date +%s.%N)
cat >"$WORKDIR/synapse.env" <<EOF
SYNAPSE_PID=$PID
SYNAPSE_URL=http://127.0.0.1:$PORT
SYNAPSE_SERVER_NAME=$SERVER_NAME
SYNAPSE_WORKDIR=$WORKDIR
SYNAPSE_LOG=$WORKDIR/homeserver.log
MAS_ENDPOINT=$MAS_ENDPOINT
MAS_SECRET_FILE=$WORKDIR/mas_secret
EOF
log "healthy after $(awk "BEGIN{printf \"%.1f\", $t1-$t0}")s: http://127.0.0.1:$PORT  pid=$PID  log=$WORKDIR/homeserver.log"
echo "$PID"
