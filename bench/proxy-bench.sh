#!/usr/bin/env bash
# proxy-bench.sh — side-by-side benchmark on ONE machine, in ONE run:
#   direct   client -> upstream (nginx stand-in for Synapse, plain HTTP/1.1 on 127.0.0.1:28008,
#            and the same with +UPSTREAM_DELAY_MS on 127.0.0.1:28009)
#   nginx    client -> nginx (TLS 127.0.0.1:28443, h1+h2; plain 127.0.0.1:28080; 102 Synapse
#            worker-routing regex locations, upstream keepalive) -> upstream
#   gateway  (only if GATEWAY_CMD is set) client -> the gateway under test -> upstream, same
#            scenarios (bench/run.sh runs Gatehouse this way, as target "gatehouse")
# Prints a table, writes JSON to $RESULTS_DIR (default ./bench-results).
# Work files: $WORKDIR (default /tmp/proxy-bench/run). Runtime: ~11.3 s per scenario
# (direct + nginx: 15 scenarios, ~170 s; with a gateway: 24, ~270 s).
#
# Scenarios (the "direct" target runs only h1-small/-1mib/-post64k/-slow, against the upstream):
#   h1-small           GET /_matrix/client/v3/sync?... (1 KiB JSON), plain HTTP/1.1 keep-alive
#   h1-1mib h1-post64k GET 1 MiB authenticated-media download / POST 64 KiB media upload
#   h1-slow            /sync against the +50 ms upstream, SLOW_CONNS connections
#   h1s-*              the same over TLS (HTTP/1.1): h1s-small h1s-1mib h1s-post64k h1s-slow
#   h1s-fallthrough    a path that no worker regex matches (every one is tried, then catch-all)
#   h1s-local          /.well-known/matrix/client, answered by the proxy itself (the check expects
#                      the well-known JSON from nginx, GATEWAY_LOCAL_SIZE bytes from a gateway)
#   h2s-small h2s-1mib h2 over TLS (h2load, H2_CLIENTS x H2_STREAMS)
#   h1s-newconn        TLS + "Connection: close": a FULL handshake per request (an LD_PRELOAD
#                      shim stops wrk from resuming sessions)
#   h1s-small-docscfg  nginx only: Synapse docs' verbatim location block (no upstream keepalive)
# Columns: req/s, MB/s, p50/p99 ms (wrk --latency / h2load per-request log), err (socket errors
#   + non-2xx), proxy% (proxy CPU, % of one core), us/req (proxy CPU per request), peakRSS (VmHWM
#   summed over the proxy's processes, reset before each scenario), x direct / x nginx (req/s
#   ratios), cpu/ngx (us/req ratio), other% (CPU used by processes not ours), wait% (run-queue
#   wait of proxy/loadgen/upstream, % of the window), cores busy%.
#
# Knobs (environment):
#   DURATION=10 WARMUP=1        seconds measured / warm-up per scenario
#   CONNS=64 SLOW_CONNS=256 CLOSE_CONNS=64 H2_CLIENTS=8 H2_STREAMS=8
#   UPSTREAM_DELAY_MS=50        delay of the slow upstream (echo_sleep)
#   PIN=split|none              split (default on >=2 cores): proxy on CPU 0, load generator
#                               and upstream on the other CPUs; none: no taskset at all
#   PROXY_CPUS LOAD_CPUS UPSTREAM_CPUS   explicit taskset lists (override PIN)
#   NICE=-20 (default as root)  run every process we start (proxy, upstream, load generator)
#                               at that nice level: on a machine shared with other work
#                               (builds) this keeps their CPU out of the figures; watch the
#                               "wait%" column (run-queue wait of proxy/loadgen/upstream) and
#                               "other%" (CPU used by everything else); NICE=0 turns it off.
#                               Also sets this session's sched autogroup nice (restored at the
#                               end), since with autogroups plain nice does not rank sessions.
#   NGINX_WORKERS UPSTREAM_WORKERS LOAD_THREADS   default: number of CPUs in the set
#   TLS13_CIPHERS=TLS_AES_128_GCM_SHA256   TLS 1.3 suites the load generators offer (all targets)
#   CERT_TYPE=ecdsa|rsa         self-signed P-256 (default) or RSA-2048 certificate
#   ROUTES=<file>               routing regexes (default: synapse-routes.txt beside this script)
#   NGINX_EXTRA='...'           extra http{}-level directives for the nginx proxy (variant runs)
#   NGINX_LOG_LEVEL=error       proxy error_log level (warn = also count temp-file spills)
#   LOCATION_OP='~'             nginx regex location modifier ('~*' = case-insensitive, as
#                               Synapse's docker worker template uses)
#   SCENARIOS=a,b,...           only these scenario ids;  TARGETS=direct,nginx,<GATEWAY_NAME>
#   ROUNDS=1                    >1: interleaved mode: every target is started once and stays up, and
#                               each round runs every scenario on every target in turn (DURATION
#                               each; use short ones, e.g. 4); the table gets a row per round and a
#                               summary of the per-round ratios to nginx (median [min-max]), which
#                               drift far less than separate runs do on a shared machine
#   PORT_BASE=28000             all ports are PORT_BASE+{8,9,80,443,444,445,1443,1444} (plus
#                               GATEWAY_PLAIN_PORT when set); the script refuses to start if
#                               one is taken by someone else
#   LABEL=<text>                appended to the results file name; RESULTS=<file> to override
#
# Gateway under test (measured exactly like nginx, pinned to PROXY_CPUS):
#   GATEWAY_CMD='...'           shell command; run as `bash -c "exec $GATEWAY_CMD"` twice:
#                               instance "main" (upstream 28008) and "slow" (upstream 28009).
#                               It gets: BENCH_HOST=127.0.0.1 BENCH_TLS_PORT BENCH_PLAIN_PORT
#                               (empty = none) BENCH_UPSTREAM=http://127.0.0.1:2800x
#                               BENCH_CERT BENCH_KEY (PEM) BENCH_ROUTES (file above)
#                               BENCH_WELLKNOWN_CLIENT / BENCH_WELLKNOWN_SERVER (JSON bodies to
#                               serve itself at /.well-known/matrix/{client,server})
#                               BENCH_INSTANCE=main|slow BENCH_WORKDIR BENCH_PROXY_CPUS
#                               BENCH_PROXY_THREADS (=CPUs in PROXY_CPUS: size the event-loop
#                               group from it; nginx runs that many workers) and
#                               NIO_SINGLETON_GROUP_LOOP_COUNT (same value, unless already set)
#                               It must serve HTTP/1.1 and h2 (ALPN) on BENCH_TLS_PORT.
#   GATEWAY_NAME=gateway GATEWAY_PORT=29443 GATEWAY_SLOW_PORT=29444 (0 = skip slow scenario)
#   GATEWAY_PLAIN_PORT=0 (set to also run the plain-HTTP scenario)  GATEWAY_READY_TIMEOUT=60
#   GATEWAY_LOCAL_SIZE=<len of the well-known JSON>  body size the h1s-local check expects from the
#                               gateway (for a gateway that answers that path with another
#                               small local response)
#   e.g. GATEWAY_CMD='/path/to/gateway --listen $BENCH_HOST:$BENCH_TLS_PORT --cert $BENCH_CERT \
#          --key $BENCH_KEY --upstream $BENCH_UPSTREAM --routes $BENCH_ROUTES' ./proxy-bench.sh
#
# Everything binds/targets 127.0.0.1 only. Every process started is stopped by its PID at the
# end (and gets PR_SET_PDEATHSIG, so it dies with the driver even if that is killed).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

need_install=0
for t in nginx wrk h2load curl openssl taskset python3 gcc; do
  command -v "$t" >/dev/null 2>&1 || need_install=1
done
[ -e /usr/lib/nginx/modules/ngx_http_echo_module.so ] || need_install=1
if [ "$need_install" = 1 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing: nginx wrk nghttp2-client libnginx-mod-http-echo curl openssl" >&2
    apt-get update -qq
    # policy-rc.d-less hosts may start the packaged nginx on :80; we never touch it.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      nginx wrk nghttp2-client libnginx-mod-http-echo curl openssl util-linux python3 gcc libc6-dev >/dev/null
  else
    echo "missing tools; need: nginx wrk h2load(nghttp2-client) libnginx-mod-http-echo curl openssl" >&2
    exit 2
  fi
fi
exec python3 "$HERE/proxy_bench.py" "$@"
