#!/usr/bin/env bash
# run.sh - Gatehouse's black-box integration tests: a real Synapse (from PyPI, cached venv),
# an introspection stand-in, a streaming test upstream and the Gatehouse binary, all on
# 127.0.0.1. Tests are pytest, under IntegrationTests/tests/.
#
# Usage: IntegrationTests/run.sh [pytest args...]      e.g. run.sh -k denied -x
# Env:
#   GATEHOUSE_BIN         Gatehouse binary                     [<repo>/.build/debug/gatehouse]
#   GATEHOUSE_TEST_VENV   venv for the test dependencies        [$HOME/.cache/gatehouse-test-venv]
#   GATEHOUSE_TEST_PYTHON interpreter that creates that venv    [python3]
#   SYNAPSE_CACHE_DIR     where Synapse's venv is cached        [$HOME/.cache/gatehouse-synapse]
#   GATEHOUSE_IT_KEEP=1   keep the temp dir (logs, configs) even when every test passed
#   GATEHOUSE_CHROMIUM, GATEHOUSE_CHROMEDRIVER  the browser tests' Chromium and its driver
#                         [/usr/bin/chromium, /usr/bin/chromedriver]
# Needs: python3 >= 3.10 with venv (Debian: apt-get install python3-venv), Debian's chromium and
# chromium-driver (scripts/install-deps.sh installs all three) and PyPI access the first time
# (test deps and matrix-synapse are then cached). Screenshots go to IntegrationTests/artifacts/.
# Exit: pytest's exit code; "no tests collected" (pytest's 5) counts as a failure (1).
set -euo pipefail

log() { printf '[run.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
VENV=${GATEHOUSE_TEST_VENV:-$HOME/.cache/gatehouse-test-venv}
PYTHON=${GATEHOUSE_TEST_PYTHON:-python3}

# Everything under test is on loopback: never go through a proxy.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy="127.0.0.1,localhost,::1" NO_PROXY="127.0.0.1,localhost,::1"

# ------------------------------------------------------------ test venv (reused)
REQ="$HERE/requirements.txt"
want=$(sha256sum "$REQ" | cut -d' ' -f1)
stamp="$VENV/.requirements.sha256"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  mkdir -p "$(dirname "$VENV")"
  exec 9>"$VENV.lock"
  command -v flock >/dev/null && flock 9            # serialise concurrent set-ups
  if [ ! -x "$VENV/bin/python" ]; then
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found (Debian: apt-get install python3 python3-venv)"
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
      || die "$PYTHON is older than 3.10"
    log "creating the test venv in $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" >&2 \
      || { rm -rf "$VENV"; die "'$PYTHON -m venv' failed (Debian/Ubuntu: apt-get install python3-venv)"; }
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing test dependencies from $REQ"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" >&2 \
      || die "pip install -r $REQ failed"
    echo "$want" >"$stamp"
  fi
  exec 9>&-
fi

# ------------------------------------------------------------ the binary under test
BIN=${GATEHOUSE_BIN:-$REPO/.build/debug/gatehouse}
case "$BIN" in /*) ;; *) BIN="$REPO/$BIN" ;; esac
[ -x "$BIN" ] || die "Gatehouse binary $BIN not found: build it first (swift build) or set GATEHOUSE_BIN"
export GATEHOUSE_BIN="$BIN"
log "testing $BIN ($("$BIN" --version 2>/dev/null || echo 'version unknown'))"

# ------------------------------------------------------------ pytest
cd "$HERE"
set +e
"$VENV/bin/python" -m pytest -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  log "pytest collected no tests: treated as a failure"
  exit 1
fi
exit "$rc"
