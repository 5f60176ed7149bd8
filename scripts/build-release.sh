#!/usr/bin/env bash
# The release build of Gatehouse, as it is run in production and measured by bench/:
#
#   scripts/build-release.sh            -> .build/release/gatehouse
#
# It is `swift build -c release` with Swift's run-time exclusivity checks left out of every module
# (Gatehouse's and its dependencies'): they cost about 15% of the CPU of a proxied request (11,500 of
# 87,000 instructions on h1s-small, docs/benchmarks.md "Session 22"). Every test runs a debug build, where
# the checks stay on, so an overlapping access in Gatehouse or SwiftNIO still fails the suites; the
# release binary does not pay for checking it again on every request. Swift's server projects build the
# same way for their benchmarks (Hummingbird and Vapor in the-benchmarker/web-frameworks).
#
# Extra arguments go to `swift build` (e.g. --product gatehouse, -Xlinker ...). A plain
# `swift build -c release` also works and keeps the checks; switching between the two rebuilds everything.
set -euo pipefail
cd "$(dirname "$0")/.."
exec swift build -c release -Xswiftc -enforce-exclusivity=unchecked "$@"
