#!/usr/bin/env bash
# test.sh - everything the tests need, then every test: system packages, a debug build with the
# test targets, the unit and in-process tests (swift test), then the black-box integration tests
# against a real Synapse (IntegrationTests/run.sh, which installs Synapse into a cached venv).
# Benchmarks are not run here (see bench/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
scripts/validate.sh

echo "== build (debug, with tests)" >&2
swift build --build-tests

echo "== example configurations (config check)" >&2
scripts/check-examples.sh .build/debug/gatehouse

echo "== unit and in-process tests" >&2
swift test --skip-build

echo "== integration tests (real Synapse, the built binary over TLS)" >&2
GATEHOUSE_BIN="$PWD/.build/debug/gatehouse" IntegrationTests/run.sh
