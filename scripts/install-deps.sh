#!/usr/bin/env bash
# install-deps.sh - installs the system packages Gatehouse builds and tests with (Debian/Ubuntu).
# Idempotent: packages already present are not reinstalled, and apt is only updated when needed.
#   libpcre2-dev    route rules (PCRE2 with JIT)
#   libsqlite3-dev  the store
#   libargon2-dev   password hashing
#   pkg-config      how SwiftPM finds them
#   python3-venv    the Synapse and test-tool venvs of the integration tests
#   chromium, chromium-driver
#                   the headless browser (and its WebDriver) the integration tests drive the HTML
#                   login/consent pages with (selenium, from IntegrationTests/requirements.txt)
#   postgresql      the server of the store tests, of Synapse in the import-synapse integration test
#                   and of the scale-out one (each starts its own cluster in a private directory with
#                   initdb/pg_ctl; no system service)
#   haproxy         `haproxy -c` checks examples/scale-out/haproxy.cfg (scripts/check-examples.sh)
# TLS needs no system package: swift-nio-ssl and swift-crypto vendor BoringSSL.
set -euo pipefail
packages=(libpcre2-dev libsqlite3-dev libargon2-dev pkg-config python3-venv chromium chromium-driver postgresql haproxy)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "[install-deps] installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq "${missing[@]}" >&2
