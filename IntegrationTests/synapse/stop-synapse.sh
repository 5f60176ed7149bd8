#!/usr/bin/env bash
# stop-synapse.sh - stop a Synapse started by start-synapse.sh (by its recorded PID only).
# Adapted from the synapse-peer reference scripts; test-only.
#
# Usage: stop-synapse.sh [--workdir DIR] [--wipe]
#   --workdir DIR   SYNAPSE_WORKDIR   [/tmp/gatehouse-synapse]
#   --wipe          also delete DIR afterwards
# Env: SYNAPSE_STOP_TIMEOUT [30] seconds to wait after SIGTERM before SIGKILL.
# Exit 0 when no Synapse from DIR is running any more (including "was not running").
set -euo pipefail
log() { printf '[stop-synapse] %s\n' "$*" >&2; }

WORKDIR=${SYNAPSE_WORKDIR:-/tmp/gatehouse-synapse}
WIPE=0
TIMEOUT=${SYNAPSE_STOP_TIMEOUT:-30}
while [ $# -gt 0 ]; do
  case "$1" in
    --workdir) WORKDIR=$2; shift 2 ;;
    --wipe) WIPE=1; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) log "unknown argument: $1"; exit 2 ;;
  esac
done
case "$WORKDIR" in /*) ;; *) WORKDIR="$PWD/$WORKDIR" ;; esac
PIDFILE="$WORKDIR/synapse.pid"

# Only ever signal the PID we recorded, and only if it still is *our* Synapse
# (guards against PID reuse): its command line must name this workdir's config.
ours() {
  kill -0 "$1" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q "synapse.app.homeserver.*$WORKDIR/homeserver.yaml"
}
# Alive = exists and is not a zombie (a zombie has released its sockets and files).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  state=${state:-X}
  [ "$state" != Z ] && [ "$state" != X ]
}

if [ -f "$PIDFILE" ]; then
  PID=$(cat "$PIDFILE")
  if [ -n "$PID" ] && ours "$PID"; then
    log "stopping Synapse pid $PID (SIGTERM)"
    t0=$(date +%s.%N)
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 1 $(( TIMEOUT * 10 ))); do alive "$PID" || break; sleep 0.1; done
    if alive "$PID"; then
      log "still alive after ${TIMEOUT}s: SIGKILL $PID"
      kill -KILL "$PID" 2>/dev/null || true
      for _ in $(seq 1 50); do alive "$PID" || break; sleep 0.1; done
    fi
    alive "$PID" && { log "could not stop pid $PID"; exit 1; }
    log "stopped in $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$t0}")s"
  else
    log "pid ${PID:-?} from $PIDFILE is not running (stale pid file)"
  fi
  rm -f "$PIDFILE"
else
  log "no pid file at $PIDFILE: nothing to stop"
fi

if [ "$WIPE" = 1 ]; then
  log "wiping $WORKDIR"
  rm -rf "$WORKDIR"
fi
