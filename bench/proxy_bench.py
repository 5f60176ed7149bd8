#!/usr/bin/env python3
"""Proxy benchmark driver: direct upstream vs nginx vs (optional) a gateway under test.

Started by proxy-bench.sh; see that file for the knobs. Stdlib only.

Everything listens on / targets 127.0.0.1 only. Every process this driver starts is
recorded by PID and stopped by PID (SIGTERM, then SIGKILL) on exit; children also get
PR_SET_PDEATHSIG so they die with the driver even if it is SIGKILLed.
"""
import ctypes
import datetime as _dt
import json
import os
import re
import resource
import shlex
import signal
import statistics
import socket
import subprocess
import sys
import time

HOST = "127.0.0.1"  # the only address anything is started on or measured against
HERE = os.path.dirname(os.path.abspath(__file__))


def env(name, default):
    v = os.environ.get(name)
    return default if v in (None, "") else v


# ---------------------------------------------------------------- configuration
WORK = env("WORKDIR", "/tmp/proxy-bench/run")
RESULTS_DIR = env("RESULTS_DIR", os.path.join(os.getcwd(), "bench-results"))
LABEL = env("LABEL", "")
DURATION = int(env("DURATION", "10"))       # measured seconds per scenario
WARMUP = int(env("WARMUP", "1"))            # warm-up seconds per scenario (not measured)
CONNS = int(env("CONNS", "64"))             # HTTP/1.1 keep-alive connections
SLOW_CONNS = int(env("SLOW_CONNS", "256"))  # connections for the 50 ms-upstream scenarios
CLOSE_CONNS = int(env("CLOSE_CONNS", "64"))  # concurrent clients for the new-connection scenario
H2_CLIENTS = int(env("H2_CLIENTS", "8"))    # HTTP/2 connections ...
H2_STREAMS = int(env("H2_STREAMS", "8"))    # ... x concurrent streams each (8x8 = 64 in flight)
DELAY_MS = int(env("UPSTREAM_DELAY_MS", "50"))
CERT_TYPE = env("CERT_TYPE", "ecdsa")       # ecdsa (P-256) | rsa (2048)
# TLS 1.3 suites the load generators offer (same for every target, so the server's own
# preference -- OpenSSL/nginx picks AES-256, BoringSSL AES-128 -- cannot skew bulk results)
TLS13_CIPHERS = env("TLS13_CIPHERS", "TLS_AES_128_GCM_SHA256")
ROUTES = env("ROUTES", os.path.join(HERE, "synapse-routes.txt"))
LOCATION_OP = env("LOCATION_OP", "~")       # nginx regex location modifier (~ or ~*)
NGINX_EXTRA = env("NGINX_EXTRA", "")  # extra http{}-level directives for the nginx proxy (variants)
PROXY_LOG_LEVEL = env("NGINX_LOG_LEVEL", "error")  # Debian default; 'warn' also logs every temp-file spill
SCEN_FILTER = env("SCENARIOS", "")          # comma list of scenario ids (default: all)
ROUNDS = int(env("ROUNDS", "1"))            # >1: interleaved (every target started once, rounds rotate)
PIN = env("PIN", "split")                   # split | none
NICE = env("NICE", "-20" if os.geteuid() == 0 else "")  # "0"/"" = off; see proxy-bench.sh
NCPU = os.cpu_count() or 1
if PIN == "split" and NCPU >= 2:
    _proxy_default, _load_default = "0", ",".join(str(i) for i in range(1, NCPU))
else:
    _proxy_default = _load_default = ""
PROXY_CPUS = env("PROXY_CPUS", _proxy_default)          # nginx proxy / gateway
LOAD_CPUS = env("LOAD_CPUS", _load_default)             # wrk / h2load
UPSTREAM_CPUS = env("UPSTREAM_CPUS", LOAD_CPUS)         # upstream nginx


def ncpus(spec):
    if not spec:
        return NCPU
    n = 0
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-")
            n += int(b) - int(a) + 1
        else:
            n += 1
    return n


PROXY_WORKERS = int(env("NGINX_WORKERS", str(ncpus(PROXY_CPUS))))
UPSTREAM_WORKERS = int(env("UPSTREAM_WORKERS", str(ncpus(UPSTREAM_CPUS))))
LOAD_THREADS = int(env("LOAD_THREADS", str(ncpus(LOAD_CPUS))))

GATEWAY_CMD = env("GATEWAY_CMD", "")
GATEWAY_NAME = env("GATEWAY_NAME", "gateway")
PORT_BASE = int(env("PORT_BASE", "28000"))
GATEWAY_PORT = int(env("GATEWAY_PORT", str(PORT_BASE + 1443)))
GATEWAY_SLOW_PORT = int(env("GATEWAY_SLOW_PORT", str(PORT_BASE + 1444)))   # 0: skip the slow scenario
GATEWAY_PLAIN_PORT = int(env("GATEWAY_PLAIN_PORT", "0"))    # 0: gateway has no plain listener
GATEWAY_READY_TIMEOUT = float(env("GATEWAY_READY_TIMEOUT", "60"))
_targets_default = "direct,nginx" + ("," + GATEWAY_NAME if GATEWAY_CMD else "")
TARGETS = [t for t in env("TARGETS", _targets_default).split(",") if t]

# ports (all on 127.0.0.1)
UP_FAST, UP_SLOW = PORT_BASE + 8, PORT_BASE + 9
NGX_PLAIN, NGX_TLS, NGX_SLOW, NGX_DOCS = PORT_BASE + 80, PORT_BASE + 443, PORT_BASE + 444, PORT_BASE + 445

# request shapes
# A token Gatehouse does not own (an appservice-style one), forwarded untouched: the edge token check
# reads it and lets it go. (`syt_` tokens are Gatehouse's since import-synapse: an unknown one is refused.)
AUTH = "Authorization: Bearer as_YWxpY2U_TGhbGTLXNnRmOYvkjodM_1mCNv7"
UA = "User-Agent: proxy-bench (Element-like client)"
PATHS = {
    "small": "/_matrix/client/v3/sync?since=s72594_4483_1934_1_12_7_3_1066_0_1&timeout=30000&filter=0",
    "fallthrough": "/_matrix/client/v3/thirdparty/protocols",  # matches none of the worker regexes
    "local": "/.well-known/matrix/client",                     # answered by the proxy itself
    "1mib": "/_matrix/client/v1/media/download/example.org/AbCdEfGhIjKlMnOpQrStUvWx",
    "post64k": "/_matrix/media/v3/upload?filename=bench.bin",
    "slow": "/_matrix/client/v3/sync?since=s72594_4483_1934_1_12_7_3_1066_0_1&timeout=30000&filter=0",
}
EXPECT_SIZE = {"small": 1024, "fallthrough": 1024, "1mib": 1 << 20, "slow": 1025}
WELLKNOWN_CLIENT = '{"m.homeserver":{"base_url":"https://matrix.example.com"}}'
WELLKNOWN_SERVER = '{"m.server":"matrix.example.com:443"}'
# body size the h1s-local sanity check expects from a gateway target (nginx always serves
# WELLKNOWN_CLIENT); a gateway may answer that path with another small local response
GATEWAY_LOCAL_SIZE = int(env("GATEWAY_LOCAL_SIZE", str(len(WELLKNOWN_CLIENT))))

# scenario id -> (protocol, workload). protocol: h1 (plain http/1.1 keep-alive),
# h1s (https http/1.1 keep-alive), h2s (https h2), h1s-close (new TLS connection per request)
SCENARIOS = [
    ("h1-small", "h1", "small"),
    ("h1-1mib", "h1", "1mib"),
    ("h1-post64k", "h1", "post64k"),
    ("h1-slow", "h1", "slow"),
    ("h1s-small", "h1s", "small"),
    ("h1s-fallthrough", "h1s", "fallthrough"),
    ("h1s-local", "h1s", "local"),
    ("h1s-1mib", "h1s", "1mib"),
    ("h1s-post64k", "h1s", "post64k"),
    ("h1s-slow", "h1s", "slow"),
    ("h2s-small", "h2s", "small"),
    ("h2s-1mib", "h2s", "1mib"),
    ("h1s-newconn", "h1s-close", "small"),
    ("h1s-small-docscfg", "h1s-docs", "small"),
]
# which scenarios each kind of target runs
DIRECT_SCEN = {"h1-small", "h1-1mib", "h1-post64k", "h1-slow"}
PROXY_SCEN = {"h1-small", "h1s-small", "h1s-fallthrough", "h1s-local", "h1s-1mib", "h1s-post64k",
              "h1s-slow", "h2s-small", "h2s-1mib", "h1s-newconn"}
NGINX_ONLY = {"h1s-small-docscfg"}
# baseline (direct) scenario for the "x direct" ratio
BASELINE = {"small": "h1-small", "fallthrough": "h1-small", "local": "h1-small",
            "1mib": "h1-1mib", "post64k": "h1-post64k", "slow": "h1-slow"}

RUN = WORK
RAW = os.path.join(WORK, "raw")
NOFILE = min(65536, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
NORESUME_SO = os.path.join(RUN, "noresume.so")
NORESUME_C = r"""/* LD_PRELOAD shim for the load generator: never offer a cached TLS session, so every new
   connection is a full handshake (wrk keeps the session across SSL_clear() on reconnect and
   would otherwise resume whenever the server issues tickets). */
#define _GNU_SOURCE
#include <dlfcn.h>
typedef struct ssl_st SSL;
typedef struct ssl_session_st SSL_SESSION;
int SSL_set_session(SSL *s, SSL_SESSION *session);
int SSL_in_before(const SSL *s);
int SSL_connect(SSL *s) {
    static int (*real)(SSL *);
    if (!real) real = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_connect");
    if (SSL_in_before(s)) SSL_set_session(s, 0);
    return real(s);
}
"""


def client_env(no_resume=False):
    e = dict(os.environ, OPENSSL_CONF=os.path.join(RUN, "client-openssl.cnf"))
    if no_resume and os.path.exists(NORESUME_SO):
        e["LD_PRELOAD"] = NORESUME_SO
    return e
CLK = os.sysconf("SC_CLK_TCK")

_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def _child_setup():
    _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: die with the driver


def log(*a):
    print(*a, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, text=True, errors="replace", **kw)


def pin(cpus, argv):
    return (["nice", "-n", NICE] if NICE and NICE != "0" else []) + (["taskset", "-c", cpus] if cpus else []) + argv


# ---------------------------------------------------------------- process handling
STARTED = []  # (name, Popen)


def start(name, argv, cpus, extra_env=None):
    logf = open(os.path.join(RUN, f"{name}.out"), "w")
    e = dict(os.environ)
    if extra_env:
        e.update(extra_env)
    p = subprocess.Popen(pin(cpus, argv), stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         preexec_fn=_child_setup, env=e)
    STARTED.append((name, p))
    log(f"  started {name}: pid {p.pid} cpus={cpus or 'any'}")
    return p


def descendants(pid):
    """pid and all its descendants (scan of /proc)."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
            ppid = int(s[s.rindex(")") + 2:].split()[1])
            kids.setdefault(ppid, []).append(int(d))
        except (OSError, ValueError):
            pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _starttime(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        return int(s[s.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def stop_proc(name, p):
    """SIGTERM the process we started (by pid), SIGKILL after 10 s; then end, by pid, any
    descendant of it that outlived it (those were started by us too)."""
    tree = [(q, _starttime(q)) for q in descendants(p.pid)] if p.poll() is None else []
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
        except ProcessLookupError:
            pass
    time.sleep(0.2)
    for q, st in tree[1:]:
        if st is not None and _starttime(q) == st:  # same process, not a recycled pid
            try:
                os.kill(q, signal.SIGKILL)
            except OSError:
                pass
    log(f"  stopped {name} (pid {p.pid}, rc={p.returncode})")


def stop_all():
    for name, p in reversed(STARTED):
        stop_proc(name, p)
    STARTED.clear()


def ensure_free(ports):
    for port in ports:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError as e:
            raise RuntimeError(f"{HOST}:{port} is already in use by a process we did not start ({e}); "
                               f"pick other ports with PORT_BASE=") from None
        finally:
            s.close()


def wait_port(port, timeout, proc=None):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited (rc={proc.returncode}) before port {port} opened")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} not open after {timeout}s")


def cpu_ticks_split(pids):
    """User and kernel CPU ticks of the processes (utime, stime of /proc/<pid>/stat)."""
    user = kernel = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                s = f.read()
            fl = s[s.rindex(")") + 2:].split()
            user += int(fl[11])
            kernel += int(fl[12])
        except (OSError, ValueError):
            pass
    return user, kernel


def cpu_ticks(pids):
    return sum(cpu_ticks_split(pids))


def rq_wait_ns(pids):
    """Sum over all threads of time spent runnable but waiting for a CPU (/proc/.../schedstat)."""
    tot = 0
    for p in pids:
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            try:
                with open(f"/proc/{p}/task/{t}/schedstat") as f:
                    tot += int(f.read().split()[1])
            except (OSError, ValueError, IndexError):
                pass
    return tot


def reset_hwm(pids):
    for p in pids:
        try:
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


def mem_kib(pids, key):
    tot = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        tot += int(line.split()[1])
        except OSError:
            pass
    return tot


def proc_stat():
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                fl = line.split()
                v = [int(x) for x in fl[1:]]
                out[fl[0]] = {"total": sum(v[:8]), "idle": v[3] + v[4], "steal": v[7]}
    return out


# ---------------------------------------------------------------- files and configs
def sync_body():
    """A ~1 KiB /sync-like JSON body (no '$' or quotes that nginx would interpret)."""
    ev = ('{"type":"m.room.message","sender":"@alice:example.org","origin_server_ts":1732844400000,'
          '"event_id":"ev_143273582443PhrSn","content":{"msgtype":"m.text","body":"%s"},'
          '"unsigned":{"age":1234}}')
    base = ('{"next_batch":"s72595_4483_1934_1_12_7_3_1066_0_1","account_data":{"events":[]},'
            '"presence":{"events":[{"type":"m.presence","sender":"@bob:example.org","content":'
            '{"presence":"online","last_active_ago":2478593,"currently_active":true}}]},'
            '"rooms":{"join":{"!726s6s6q:example.org":{"timeline":{"events":[%s],"limited":false,'
            '"prev_batch":"t34-23535_0_0"},"state":{"events":[]},"ephemeral":{"events":[]},'
            '"unread_notifications":{"highlight_count":0,"notification_count":1}}}},'
            '"device_one_time_keys_count":{"signed_curve25519":50}}')
    s = base % (ev % "")
    pad = 1024 - len(s)
    body = base % (ev % ("hello " * 200)[:pad])
    assert len(body) == 1024, len(body)
    return body


def load_routes():
    routes = []
    with open(ROUTES) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            g, r = line.split("\t", 1) if "\t" in line else line.split(None, 1)
            routes.append((g.strip(), r.strip()))
    return routes


def write_files():
    for d in (RUN, RAW, os.path.join(RUN, "www")):
        os.makedirs(d, exist_ok=True)
    for lf in ("proxy-error.log", "upstream-error.log"):
        open(os.path.join(RUN, lf), "w").close()
    body = sync_body()
    with open(os.path.join(RUN, "www", "media-1mib.bin"), "wb") as f:
        f.write(os.urandom(1 << 20))
    with open(os.path.join(RUN, "post64k.bin"), "wb") as f:
        f.write(os.urandom(64 << 10))
    with open(os.path.join(RUN, "post64k.lua"), "w") as f:
        f.write('wrk.method = "POST"\n'
                'wrk.body = string.rep("x", 65536)\n'
                'wrk.headers["Content-Type"] = "application/octet-stream"\n')
    # client-side OpenSSL config (wrk, curl) and the no-resumption shim (new-connection scenario)
    with open(os.path.join(RUN, "client-openssl.cnf"), "w") as f:
        f.write("openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n[ssl_sect]\n"
                "system_default = system_default_sect\n[system_default_sect]\n" +
                (f"Ciphersuites = {TLS13_CIPHERS}\n" if TLS13_CIPHERS else ""))
    with open(os.path.join(RUN, "noresume.c"), "w") as f:
        f.write(NORESUME_C)
    r = sh(["gcc", "-shared", "-fPIC", "-O2", "-o", NORESUME_SO, os.path.join(RUN, "noresume.c"), "-ldl"])
    if r.returncode:
        log("  WARNING: could not build the no-resumption shim (gcc?); h1s-newconn may resume sessions")
    # certificate (self-signed, 127.0.0.1 / localhost)
    crt, key = os.path.join(RUN, "cert.pem"), os.path.join(RUN, "key.pem")
    if CERT_TYPE == "rsa":
        keyopt = "-newkey rsa:2048"
    else:
        keyopt = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
    r = sh(f"openssl req -x509 {keyopt} -nodes -days 30 -subj /CN=localhost "
           f"-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout {key} -out {crt}")
    if r.returncode:
        raise RuntimeError("openssl: " + r.stderr)

    temp = "\n".join(f"  {k}_temp_path {RUN}/tmp_{k};" for k in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    www = os.path.join(RUN, "www")
    upstream = f"""# upstream stand-in for Synapse (fast: {UP_FAST}, +{DELAY_MS} ms: {UP_SLOW})
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
worker_processes {UPSTREAM_WORKERS};
daemon off;
pid {RUN}/upstream.pid;
error_log {RUN}/upstream-error.log warn;
worker_rlimit_nofile {NOFILE};
events {{ worker_connections 16384; }}
http {{
  access_log off;
{temp}
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_timeout 300s; keepalive_requests 10000000;
  default_type application/json;
  server {{
    listen {HOST}:{UP_FAST} backlog=4096;
    location /_matrix/client/v1/media/download/ {{ root {www}; default_type application/octet-stream; try_files /media-1mib.bin =404; }}
    location /_matrix/media/v3/download/ {{ root {www}; default_type application/octet-stream; try_files /media-1mib.bin =404; }}
    location = /_matrix/media/v3/upload {{ client_max_body_size 100m; return 200 '{{"content_uri":"mxc://example.org/AbCdEfGh","len":"$content_length"}}'; }}
    location / {{ return 200 '{body}'; }}
  }}
  server {{
    listen {HOST}:{UP_SLOW} backlog=4096;
    location / {{ echo_sleep {DELAY_MS / 1000:.3f}; echo '{body}'; }}
  }}
}}
"""
    with open(os.path.join(RUN, "upstream.conf"), "w") as f:
        f.write(upstream)

    routes = load_routes()
    groups = sorted({g for g, _ in routes} | {"main"})

    def locs(prefix):
        out = []
        for g, r in routes + [("main", r"^(/_matrix|/_synapse/client)")]:
            rr = r.replace("\\", "\\\\").replace('"', '\\"')
            out.append(f"""    location {LOCATION_OP} "{rr}" {{
        proxy_pass http://{prefix}{g};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Host $host:$server_port;
    }}""")
        return "\n".join(out)

    ups = []
    for g in groups:
        ups.append(f"  upstream synapse_{g} {{ server {HOST}:{UP_FAST}; keepalive 128; keepalive_requests 100000; }}")
        ups.append(f"  upstream slow_{g} {{ server {HOST}:{UP_SLOW}; keepalive {max(SLOW_CONNS, 128)}; keepalive_requests 100000; }}")
    with open(os.path.join(RUN, "routes-fast.conf"), "w") as f:
        f.write(locs("synapse_") + "\n")
    with open(os.path.join(RUN, "routes-slow.conf"), "w") as f:
        f.write(locs("slow_") + "\n")
    wk = f"""    location = /.well-known/matrix/server {{ default_type application/json; return 200 '{WELLKNOWN_SERVER}'; }}
    location = /.well-known/matrix/client {{ default_type application/json; add_header Access-Control-Allow-Origin *; return 200 '{WELLKNOWN_CLIENT}'; }}"""
    tls = f"""    ssl_certificate {crt};
    ssl_certificate_key {key};"""
    proxy = f"""# nginx as the Synapse reverse proxy (Synapse docs/reverse_proxy.md + docker worker template
# + upstream keepalive). {len(routes)} worker regex locations + catch-all, first match wins.
worker_processes {PROXY_WORKERS};
daemon off;
pid {RUN}/proxy.pid;
error_log {RUN}/proxy-error.log {PROXY_LOG_LEVEL};
pcre_jit on;
worker_rlimit_nofile {NOFILE};
events {{ worker_connections 16384; }}
http {{
  access_log off;
{temp}
  # Debian /etc/nginx/nginx.conf defaults
  sendfile on; tcp_nopush on; types_hash_max_size 2048; default_type application/octet-stream;
  ssl_protocols TLSv1.2 TLSv1.3; ssl_prefer_server_ciphers on;
  ssl_session_cache shared:SSL:10m;
  keepalive_requests 100000;   # bench: keep client connections for the whole run (nginx default 1000)
  {NGINX_EXTRA}
{chr(10).join(ups)}

  server {{   # main: HTTP/1.1 plain + TLS (HTTP/1.1 and h2 via ALPN)
    listen {HOST}:{NGX_PLAIN} backlog=4096;
    listen {HOST}:{NGX_TLS} ssl http2 backlog=4096;
    server_name localhost;
{tls}
    client_max_body_size 50M;
{wk}
    include {RUN}/routes-fast.conf;
  }}
  server {{   # same, but upstream = the +{DELAY_MS} ms upstream
    listen {HOST}:{NGX_SLOW} ssl http2 backlog=4096;
    server_name localhost;
{tls}
    client_max_body_size 50M;
{wk}
    include {RUN}/routes-slow.conf;
  }}
  server {{   # docs/reverse_proxy.md verbatim (no upstream keepalive); proxy_pass host -> 127.0.0.1
    listen {HOST}:{NGX_DOCS} ssl http2 backlog=4096;
    server_name localhost;
{tls}
    location ~ ^(/_matrix|/_synapse/client) {{
        proxy_pass http://{HOST}:{UP_FAST};
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Host $host:$server_port;
        client_max_body_size 50M;
        proxy_http_version 1.1;
    }}
  }}
}}
"""
    with open(os.path.join(RUN, "proxy.conf"), "w") as f:
        f.write(proxy)
    return crt, key


# ---------------------------------------------------------------- targets
class Target:
    def __init__(self, name, kind, scen, urls, trees):
        self.name, self.kind, self.scen, self.urls, self.trees = name, kind, scen, urls, trees

    def url(self, proto, workload):
        if workload == "slow":
            return self.urls.get(proto + "-slow")
        return self.urls.get(proto)

    def pids(self, workload):
        root = self.trees.get("slow" if workload == "slow" else "main") if self.trees else None
        return descendants(root.pid) if root is not None else []


def start_upstream():
    ensure_free([UP_FAST, UP_SLOW])
    p = start("upstream", ["nginx", "-e", f"{RUN}/upstream-error.log", "-c", f"{RUN}/upstream.conf"], UPSTREAM_CPUS)
    wait_port(UP_FAST, 10, p)
    wait_port(UP_SLOW, 10, p)
    return p


def start_nginx_proxy():
    r = sh(["nginx", "-t", "-e", f"{RUN}/proxy-error.log", "-c", f"{RUN}/proxy.conf"])
    if r.returncode:
        raise RuntimeError("nginx -t failed: " + r.stderr)
    ensure_free([NGX_PLAIN, NGX_TLS, NGX_SLOW, NGX_DOCS])
    p = start("nginx-proxy", ["nginx", "-e", f"{RUN}/proxy-error.log", "-c", f"{RUN}/proxy.conf"], PROXY_CPUS)
    for port in (NGX_PLAIN, NGX_TLS, NGX_SLOW, NGX_DOCS):
        wait_port(port, 10, p)
    return p


def start_gateway(crt, key):
    trees = {}
    routes_env = {"BENCH_ROUTES": ROUTES, "BENCH_CERT": crt, "BENCH_KEY": key, "BENCH_HOST": HOST,
                  "BENCH_WELLKNOWN_CLIENT": WELLKNOWN_CLIENT, "BENCH_WELLKNOWN_SERVER": WELLKNOWN_SERVER,
                  "BENCH_WORKDIR": RUN, "BENCH_PROXY_CPUS": PROXY_CPUS,
                  # threads the gateway should run: taskset does not change what SwiftNIO's
                  # System.coreCount reports (it reads cgroup quota/cpuset or sysconf), so a
                  # NIO gateway pinned to 1 CPU would otherwise start 2 event loops on it
                  "BENCH_PROXY_THREADS": str(ncpus(PROXY_CPUS)),
                  "NIO_SINGLETON_GROUP_LOOP_COUNT": os.environ.get("NIO_SINGLETON_GROUP_LOOP_COUNT",
                                                                   str(ncpus(PROXY_CPUS)))}
    inst = [("main", GATEWAY_PORT, GATEWAY_PLAIN_PORT, UP_FAST)]
    if GATEWAY_SLOW_PORT:
        inst.append(("slow", GATEWAY_SLOW_PORT, 0, UP_SLOW))
    for which, port, plain, up in inst:
        ensure_free([port] + ([plain] if plain else []))
        e = dict(routes_env, BENCH_TLS_PORT=str(port), BENCH_PLAIN_PORT=str(plain or ""),
                 BENCH_UPSTREAM=f"http://{HOST}:{up}", BENCH_INSTANCE=which)
        p = start(f"{GATEWAY_NAME}-{which}", ["bash", "-c", "exec " + GATEWAY_CMD], PROXY_CPUS, e)
        wait_port(port, GATEWAY_READY_TIMEOUT, p)
        if plain:
            wait_port(plain, GATEWAY_READY_TIMEOUT, p)
        trees[which] = p
    return trees


# ---------------------------------------------------------------- load generators
UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _dur_ms(s):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", s)
    return float(m.group(1)) * UNIT[m.group(2)] if m else None


def _size_mb(s):
    m = re.match(r"([\d.]+)([KMGT]?B)", s)
    if not m:
        return None
    return float(m.group(1)) * {"B": 1 / 2**20, "KB": 1 / 1024, "MB": 1, "GB": 1024, "TB": 2**20}[m.group(2)]


def wrk_cmd(url, workload, conns, dur, close=False):
    c = ["wrk", "-t", str(min(LOAD_THREADS, conns)), "-c", str(conns), "-d", f"{dur}s", "--latency",
         "--timeout", "5s", "-H", AUTH, "-H", UA]
    if close:
        c += ["-H", "Connection: close"]
    if workload == "post64k":
        c += ["-s", os.path.join(RUN, "post64k.lua")]
    return pin(LOAD_CPUS, c + [url])


def parse_wrk(out):
    r = {"tool": "wrk"}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"Transfer/sec:\s+(\S+)", out)
    r["mb_per_s"] = _size_mb(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+\w+), (\S+) read", out)
    if m:
        r["requests"] = int(m.group(1))
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        r[f"p{pct}_ms"] = _dur_ms(m.group(1)) if m else None
    m = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out)
    r["max_ms"] = _dur_ms(m.group(1)) if m else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    r["errors"] = r["socket_errors"] + r["non2xx"]
    return r


def h2load_cmd(url, dur, logfile=None):
    c = ["h2load", "-t", str(min(LOAD_THREADS, H2_CLIENTS)), "-c", str(H2_CLIENTS), "-m", str(H2_STREAMS),
         "-D", str(dur), "-H", AUTH, "-H", UA]
    if TLS13_CIPHERS:
        c.append("--tls13-ciphers=" + TLS13_CIPHERS)
    if logfile:
        c += ["--log-file", logfile]
    return pin(LOAD_CPUS, c + [url])


def parse_h2load(out, logfile):
    r = {"tool": "h2load"}
    m = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s, (\S+)/s", out)
    if m:
        r["rps"] = float(m.group(2))
        r["mb_per_s"] = _size_mb(m.group(3))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", out)
    if m:
        r["requests"] = int(m.group(4))
        r["errors"] = int(m.group(5)) + int(m.group(6)) + int(m.group(7))
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if m:
        r["non2xx"] = int(m.group(3)) + int(m.group(4))
        r["errors"] = r.get("errors", 0) + r["non2xx"]
    m = re.search(r"TLS Protocol: (\S+)\s+Cipher: (\S+)", out)
    if m:
        r["tls"] = f"{m.group(1)} {m.group(2)}"
    m = re.search(r"Application protocol: (\S+)", out)
    if m:
        r["alpn"] = m.group(1)
    lat = []
    try:
        with open(logfile) as f:
            for line in f:
                fl = line.split("\t")
                if len(fl) >= 3 and fl[1] != "-1":
                    lat.append(int(fl[2]) / 1000.0)
    except OSError:
        pass
    lat.sort()
    if lat:
        for p in (50, 75, 90, 99):
            r[f"p{p}_ms"] = lat[min(len(lat) - 1, int(len(lat) * p / 100))]
        r["max_ms"] = lat[-1]
    try:
        os.unlink(logfile)
    except OSError:
        pass
    return r


def run_load(tag, proto, workload, url):
    conns = SLOW_CONNS if workload == "slow" else (CLOSE_CONNS if proto == "h1s-close" else CONNS)
    close = proto == "h1s-close"
    if proto == "h2s":
        warm = h2load_cmd(url, WARMUP)
        logfile = os.path.join(RAW, f"{tag}.h2log")
        meas = h2load_cmd(url, DURATION, logfile)
    else:
        warm = wrk_cmd(url, workload, conns, WARMUP, close)
        meas = wrk_cmd(url, workload, conns, DURATION, close)
    if WARMUP > 0:
        subprocess.run(warm, capture_output=True, text=True, errors="replace", timeout=WARMUP + 30, env=client_env(close))
    return conns, meas, (logfile if proto == "h2s" else None)


# ---------------------------------------------------------------- checks
def check(url, proto, workload, kind="nginx"):
    """One request with curl; returns (ok, description)."""
    c = ["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{http_version}",
         "--max-time", "10", "-H", AUTH]
    if proto == "h2s":
        c.append("--http2")
    elif proto.startswith("h1s"):
        c.append("--http1.1")
    if workload == "post64k":
        c += ["--data-binary", "@" + os.path.join(RUN, "post64k.bin"), "-H", "Content-Type: application/octet-stream"]
    r = sh(c + [url], env=client_env())
    code, size, ver = (r.stdout.split() + ["?", "?", "?"])[:3]
    ok = code == "200"
    exp = EXPECT_SIZE.get(workload)
    if workload == "local":
        exp = GATEWAY_LOCAL_SIZE if kind == "gateway" else len(WELLKNOWN_CLIENT)
    if exp is not None and size != str(exp):
        ok = False
    if proto == "h2s" and ver != "2":
        ok = False
    return ok, f"{code} {size}B http/{ver}"


# ---------------------------------------------------------------- main loop
def measure(target, sid, proto, workload, upstream_proc):
    url = target.url(proto, workload) + PATHS[workload]
    tag = f"{target.name}-{sid}"
    ok, desc = check(url, proto, workload, target.kind)
    if not ok:
        log(f"  !! {tag}: sanity check failed: {url} -> {desc}")
        return {"target": target.name, "scenario": sid, "url": url, "skipped": "sanity check failed: " + desc}
    conns, cmd, logfile = run_load(tag, proto, workload, url)
    ppids = target.pids(workload)
    upids = descendants(upstream_proc.pid)
    reset_hwm(ppids)
    errlog = os.path.join(RUN, "proxy-error.log")
    err0 = os.path.getsize(errlog) if os.path.exists(errlog) else 0
    user0, kernel0 = cpu_ticks_split(ppids)
    c0, u0, s0 = user0 + kernel0, cpu_ticks(upids), proc_stat()
    w0p, w0u = rq_wait_ns(ppids), rq_wait_ns(upids)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    outf = open(os.path.join(RAW, f"{tag}.out"), "w+")
    lg = subprocess.Popen(cmd, stdout=outf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          env=client_env(proto == "h1s-close"), preexec_fn=_child_setup)
    lg_wait = 0
    while True:  # sample the load generator's run-queue wait until it exits
        try:
            lg.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            lg_wait = rq_wait_ns([lg.pid]) or lg_wait
            if time.time() - t0 > DURATION + 60:
                lg.kill()
    wall = time.time() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    user1, kernel1 = cpu_ticks_split(ppids)
    c1, u1, s1 = user1 + kernel1, cpu_ticks(upids), proc_stat()
    w1p, w1u = rq_wait_ns(ppids), rq_wait_ns(upids)
    outf.seek(0)
    out = outf.read()
    outf.close()
    os.unlink(outf.name)

    class _R:
        returncode = lg.returncode
    res = _R()
    with open(os.path.join(RAW, f"{tag}.txt"), "w") as f:
        f.write(" ".join(shlex.quote(x) for x in cmd) + "\n" + out)
    r = parse_h2load(out, logfile) if proto == "h2s" else parse_wrk(out)
    r.update({"target": target.name, "scenario": sid, "protocol": proto, "workload": workload, "url": url,
              "connections": conns if proto != "h2s" else f"{H2_CLIENTS}x{H2_STREAMS}",
              "duration_s": DURATION, "wall_s": round(wall, 2), "check": desc})
    if proto == "h1s-close":
        r["full_handshakes"] = os.path.exists(NORESUME_SO)
    r["loadgen_cpu_s"] = round((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime), 3)
    r["upstream_cpu_s"] = round((u1 - u0) / CLK, 3)
    # run-queue wait (runnable, no CPU free) as % of the window: contention indicator.
    # proxy alone on its CPU (PIN=split): anything > a few % is someone else's load.
    r["loadgen_rq_wait_pct"] = round(100 * lg_wait / 1e9 / wall, 1)
    r["upstream_rq_wait_pct"] = round(100 * (w1u - w0u) / 1e9 / wall, 1)
    if ppids:
        r["proxy_rq_wait_pct"] = round(100 * (w1p - w0p) / 1e9 / wall, 1)
    if ppids:
        pc = (c1 - c0) / CLK
        r["proxy_cpu_s"] = round(pc, 3)
        r["proxy_cpu_pct"] = round(100 * pc / wall, 1)
        if r.get("requests"):
            r["proxy_cpu_us_per_req"] = round(1e6 * pc / r["requests"], 1)
            # The user-space part (the rest is the kernel's: syscalls, loopback TCP, copies).
            r["proxy_user_us_per_req"] = round(1e6 * (user1 - user0) / CLK / r["requests"], 1)
        r["proxy_peak_rss_kib"] = mem_kib(ppids, "VmHWM")
        r["proxy_rss_kib"] = mem_kib(ppids, "VmRSS")
        r["proxy_procs"] = len(ppids)
    busy_s = sum((s1[k]["total"] - s0[k]["total"]) - (s1[k]["idle"] - s0[k]["idle"]) for k in s1) / CLK
    ours = r["loadgen_cpu_s"] + r["upstream_cpu_s"] + r.get("proxy_cpu_s", 0)
    # CPU used by everything else on the machine during the window (other sessions' builds,
    # plus kernel/softirq time not charged to our processes); >10% of a core = suspect figure
    r["other_cpu_pct"] = round(100 * max(0.0, busy_s - ours) / wall, 1)
    # what each side could sustain alone at the CPU cost measured here (cores it is pinned to /
    # CPU-us per request): req/s ~ min(proxy, load side) when CPU-bound; neither when latency-bound
    n = r.get("requests")
    if n:
        side = ncpus(",".join(sorted(set(filter(None, (LOAD_CPUS + "," + UPSTREAM_CPUS).split(","))))))
        lu = (r["loadgen_cpu_s"] + r["upstream_cpu_s"]) / n
        if lu > 0:
            r["loadside_ceiling_rps"] = round(side / lu) if (LOAD_CPUS or UPSTREAM_CPUS) else round(NCPU / lu)
        if r.get("proxy_cpu_s"):
            r["proxy_ceiling_rps"] = round(ncpus(PROXY_CPUS) * n / r["proxy_cpu_s"])
    cores = {}
    for k in sorted(s1):
        dt = s1[k]["total"] - s0[k]["total"]
        if dt > 0:
            cores[k] = {"busy_pct": round(100 * (dt - (s1[k]["idle"] - s0[k]["idle"])) / dt, 1),
                        "steal_pct": round(100 * (s1[k]["steal"] - s0[k]["steal"]) / dt, 1)}
    r["cores"] = cores
    if target.kind == "nginx" and os.path.exists(errlog):
        with open(errlog, errors="replace") as f:
            f.seek(err0)
            txt = f.read()
        r["proxy_temp_file_warnings"] = txt.count("temporary file")
        r["proxy_error_log_lines"] = txt.count("\n")
    if res.returncode:
        r["tool_rc"] = res.returncode
    return r


def fmt(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return str(v)


def tls_probe(port):
    """Protocol / suite / key exchange / ALPN the target negotiates with our client config."""
    r = sh(f"openssl s_client -connect {HOST}:{port} -servername localhost -alpn h2,http/1.1 "
           f"</dev/null 2>&1", env=client_env(), timeout=10)
    out = {}
    for key, pat in (("protocol", r"New, (\S+), Cipher is"), ("cipher", r"New, \S+, Cipher is (\S+)"),
                     ("kx", r"Server Temp Key: ([^\n]+)"),
                     ("sig", r"Peer signature type: (\S+)"), ("alpn", r"ALPN protocol: (\S+)")):
        m = re.search(pat, r.stdout)
        out[key] = m.group(1).strip() if m else None
    return out


def print_table(results):
    base = {(r["scenario"], r.get("round")): r for r in results if r.get("target") == "direct" and "rps" in r}
    ngx = {(r["scenario"], r.get("round")): r for r in results if r.get("target") == "nginx" and "rps" in r}
    hdr = (f"{'scenario':19} {'target':9} {'req/s':>10} {'MB/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'err':>5} "
           f"{'proxy%':>7} {'us/req':>7} {'peakRSS':>8} {'x direct':>8} {'x nginx':>8} {'cpu/ngx':>7} {'other%':>6} {'wait%':>10}  cores busy%")
    lines = [hdr, "-" * len(hdr)]
    for r in results:
        if "rps" not in r:
            lines.append(f"{r['scenario']:19} {r['target']:9} SKIPPED: {r.get('skipped')}")
            continue
        b = base.get((BASELINE.get(r["workload"], ""), r.get("round")))
        xd = (r["rps"] / b["rps"]) if (b and r["target"] != "direct" and b.get("rps") and r["protocol"] != "h1s-close") else None
        n = ngx.get((r["scenario"], r.get("round")))
        xn = (r["rps"] / n["rps"]) if (n and r["target"] not in ("nginx", "direct") and n.get("rps")) else None
        r["ratio_vs_direct"] = round(xd, 3) if xd else None
        r["ratio_vs_nginx"] = round(xn, 3) if xn else None
        cn = (r["proxy_cpu_us_per_req"] / n["proxy_cpu_us_per_req"]) if (
            n and r["target"] not in ("nginx", "direct") and n.get("proxy_cpu_us_per_req")
            and r.get("proxy_cpu_us_per_req")) else None
        r["cpu_per_req_vs_nginx"] = round(cn, 3) if cn else None
        rss = r.get("proxy_peak_rss_kib")
        cores = " ".join(f"{v['busy_pct']:.0f}" for v in r.get("cores", {}).values())
        target = r["target"] + (f"#{r['round']}" if r.get("round") else "")
        lines.append(f"{r['scenario']:19} {target:9} {fmt(r.get('rps'), 0):>10} {fmt(r.get('mb_per_s')):>8} "
                     f"{fmt(r.get('p50_ms'), 2):>8} {fmt(r.get('p99_ms'), 2):>8} {fmt(r.get('errors', 0)):>5} "
                     f"{fmt(r.get('proxy_cpu_pct')):>7} {fmt(r.get('proxy_cpu_us_per_req')):>7} "
                     f"{(fmt(rss / 1024) + 'M') if rss else '-':>8} {fmt(xd, 2) if xd else '-':>8} "
                     f"{fmt(xn, 2) if xn else '-':>8} {fmt(cn, 2) if cn else '-':>7} {fmt(r.get('other_cpu_pct')):>6} "
                     f"{fmt(r.get('proxy_rq_wait_pct'), 0) + '/' + fmt(r.get('loadgen_rq_wait_pct'), 0) + '/' + fmt(r.get('upstream_rq_wait_pct'), 0):>10}  {cores}")
    if any(r.get("round") for r in results):
        lines += ["", "interleaved rounds, per-round ratios to nginx: median [min-max]",
                  f"{'scenario':19} {'target':9} {'rounds':>6} {'x nginx (req/s)':>24} {'cpu/ngx (us/req)':>24} {'us/req':>20} {'user us/req':>20}"]
        seen = []
        for r in results:
            key = (r["scenario"], r["target"])
            if r["target"] in ("nginx", "direct") or key in seen:
                continue
            seen.append(key)
            same = [x for x in results if (x["scenario"], x["target"]) == key and "rps" in x]

            def spread(values, nd=2):
                values = sorted(v for v in values if v)
                if not values:
                    return "-"
                return f"{fmt(statistics.median(values), nd)} [{fmt(values[0], nd)}-{fmt(values[-1], nd)}]"
            lines.append(f"{key[0]:19} {key[1]:9} {len(same):>6} {spread(x.get('ratio_vs_nginx') for x in same):>24} "
                         f"{spread(x.get('cpu_per_req_vs_nginx') for x in same):>24} "
                         f"{spread((x.get('proxy_cpu_us_per_req') for x in same), 1):>20} "
                         f"{spread((x.get('proxy_user_us_per_req') for x in same), 1):>20}")
            ngx = [x for x in results if (x["scenario"], x["target"]) == (key[0], "nginx") and "rps" in x]
            lines.append(f"{key[0]:19} {'nginx':9} {len(ngx):>6} {'':>24} {'':>24} "
                         f"{spread((x.get('proxy_cpu_us_per_req') for x in ngx), 1):>20} "
                         f"{spread((x.get('proxy_user_us_per_req') for x in ngx), 1):>20}")
    return "\n".join(lines)


def versions():
    v = {}
    v["nginx"] = sh("nginx -v").stderr.strip()
    v["wrk"] = sh("wrk -v").stdout.splitlines()[0].strip() if sh("wrk -v").stdout else sh("wrk -v").stderr.strip()
    v["h2load"] = sh("h2load --version").stdout.strip()
    v["openssl"] = sh("openssl version").stdout.strip()
    v["curl"] = sh("curl --version").stdout.splitlines()[0]
    v["kernel"] = os.uname().release
    with open("/proc/cpuinfo") as f:
        m = re.search(r"model name\s*:\s*(.*)", f.read())
    v["cpu"] = m.group(1) if m else "?"
    v["nproc"] = NCPU
    return v


def set_autogroup_nice(value):
    """With kernel.sched_autogroup_enabled=1, plain nice only ranks processes within one session;
    CPU is shared fairly *between* sessions. So NICE also sets our own session's autogroup nice
    (all processes in it are ours). Returns the previous value, or None."""
    try:
        with open("/proc/self/autogroup") as f:
            prev = int(f.read().split("nice")[1])
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(value))
        return prev
    except (OSError, ValueError, IndexError):
        return None


def main():
    t_start = time.time()
    ag_prev = set_autogroup_nice(int(NICE)) if NICE and NICE != "0" else None
    for tool in ("nginx", "wrk", "h2load", "curl", "openssl", "taskset"):
        if not any(os.access(os.path.join(d, tool), os.X_OK) for d in os.environ["PATH"].split(":")):
            sys.exit(f"missing tool: {tool} (run proxy-bench.sh, which installs the Debian packages)")
    if not os.path.exists("/usr/lib/nginx/modules/ngx_http_echo_module.so"):
        sys.exit("missing libnginx-mod-http-echo (needed for the delayed upstream)")
    os.makedirs(RUN, exist_ok=True)
    crt, key = write_files()
    ts = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    meta = {"timestamp": ts, "versions": versions(),
            "config": {"duration_s": DURATION, "warmup_s": WARMUP, "conns": CONNS, "slow_conns": SLOW_CONNS,
                       "close_conns": CLOSE_CONNS, "h2": f"{H2_CLIENTS} conns x {H2_STREAMS} streams",
                       "upstream_delay_ms": DELAY_MS, "cert": CERT_TYPE, "client_tls13_ciphers": TLS13_CIPHERS, "routes_file": ROUTES,
                       "routes": len(load_routes()), "location_op": LOCATION_OP, "pin": PIN,
                       "nice": NICE or None, "proxy_cpus": PROXY_CPUS or "any", "load_cpus": LOAD_CPUS or "any",
                       "upstream_cpus": UPSTREAM_CPUS or "any", "nginx_workers": PROXY_WORKERS,
                       "upstream_workers": UPSTREAM_WORKERS, "loadgen_threads": LOAD_THREADS,
                       "nginx_error_log_level": PROXY_LOG_LEVEL, "nginx_extra": NGINX_EXTRA,
                       "gateway_cmd": GATEWAY_CMD or None, "gateway_plain_port": GATEWAY_PLAIN_PORT or None,
                       "gateway_local_size": GATEWAY_LOCAL_SIZE, "targets": TARGETS, "paths": PATHS}}
    log(f"proxy-bench {ts}: targets={','.join(TARGETS)} pin={PIN} proxy_cpus={PROXY_CPUS or 'any'} "
        f"load_cpus={LOAD_CPUS or 'any'} upstream_cpus={UPSTREAM_CPUS or 'any'} {DURATION}s+{WARMUP}s/scenario")
    s0 = proc_stat()
    time.sleep(1.0)
    s1 = proc_stat()
    bg = {k: round(100 * (1 - (s1[k]["idle"] - s0[k]["idle"]) / max(1, s1[k]["total"] - s0[k]["total"])), 1) for k in s1}
    meta["background_busy_pct_before"] = bg
    log(f"background CPU busy before start (per core, %): {bg}" +
        ("  WARNING: machine not idle, figures will be perturbed" if sum(bg.values()) > 20 else ""))
    results = []
    want = set(x for x in SCEN_FILTER.split(",") if x)
    try:
        up = start_upstream()

        def open_target(tname):
            if tname == "direct":
                return Target("direct", "direct", DIRECT_SCEN,
                              {"h1": f"http://{HOST}:{UP_FAST}", "h1-slow": f"http://{HOST}:{UP_SLOW}"}, None), []
            if tname == "nginx":
                p = start_nginx_proxy()
                return Target("nginx", "nginx", PROXY_SCEN | NGINX_ONLY,
                              {"h1": f"http://{HOST}:{NGX_PLAIN}", "h1s": f"https://{HOST}:{NGX_TLS}",
                               "h2s": f"https://{HOST}:{NGX_TLS}", "h1s-close": f"https://{HOST}:{NGX_TLS}",
                               "h1s-slow": f"https://{HOST}:{NGX_SLOW}", "h1s-docs": f"https://{HOST}:{NGX_DOCS}"},
                              {"main": p, "slow": p}), [p]
            if tname == GATEWAY_NAME and GATEWAY_CMD:
                trees = start_gateway(crt, key)
                urls = {"h1s": f"https://{HOST}:{GATEWAY_PORT}", "h2s": f"https://{HOST}:{GATEWAY_PORT}",
                        "h1s-close": f"https://{HOST}:{GATEWAY_PORT}"}
                if GATEWAY_PLAIN_PORT:
                    urls["h1"] = f"http://{HOST}:{GATEWAY_PLAIN_PORT}"
                if GATEWAY_SLOW_PORT:
                    urls["h1s-slow"] = f"https://{HOST}:{GATEWAY_SLOW_PORT}"
                return Target(GATEWAY_NAME, "gateway", PROXY_SCEN, urls, trees), list(trees.values())
            log(f"unknown target {tname} (set GATEWAY_CMD for a gateway target)")
            return None

        def probe(t):
            if "h1s" in t.urls:
                meta.setdefault("tls", {})[t.name] = tls_probe(int(t.urls["h1s"].rsplit(":", 1)[1]))
                log(f"  TLS {t.name}: {meta['tls'][t.name]}")

        def run_one(t, sid, proto, workload, rnd):
            if sid not in t.scen or (want and sid not in want):
                return
            url = t.url(proto, workload)
            if not url:
                return
            assert url.startswith(("http://127.0.0.1:", "https://127.0.0.1:"))
            r = measure(t, sid, proto, workload, up)
            if rnd is not None:
                r["round"] = rnd
            results.append(r)
            if "rps" in r:
                log(f"  {t.name:9} {sid:19} {fmt(r.get('rps'), 0):>9} req/s  p50 {fmt(r.get('p50_ms'), 2)} ms"
                    f"  p99 {fmt(r.get('p99_ms'), 2)} ms  err {r.get('errors', 0)}"
                    f"  proxy {fmt(r.get('proxy_cpu_pct'))}% {fmt(r.get('proxy_cpu_us_per_req'))}us/req"
                    + (f"  (round {rnd})" if rnd is not None else ""))

        def close_target(procs):
            for p in procs:
                for n, q in list(STARTED):
                    if q is p:
                        stop_proc(n, q)
                        STARTED.remove((n, q))

        if ROUNDS > 1:
            # Interleaved: every target runs from the start (an idle proxy uses no CPU), and each
            # round measures every scenario on every target in turn, so slow drifts of the machine
            # hit all targets alike; compare per-round ratios (their median is printed at the end).
            opened = [o for o in (open_target(n) for n in TARGETS) if o]
            for t, _ in opened:
                probe(t)
            for rnd in range(1, ROUNDS + 1):
                for sid, proto, workload in SCENARIOS:
                    for t, _ in opened:
                        run_one(t, sid, proto, workload, rnd)
            for _, procs in opened:
                close_target(procs)
        else:
            for tname in TARGETS:
                opened = open_target(tname)
                if not opened:
                    continue
                t, procs = opened
                probe(t)
                for sid, proto, workload in SCENARIOS:
                    run_one(t, sid, proto, workload, None)
                # stop this target's proxy before the next one so they never share the cores
                close_target(procs)
    finally:
        stop_all()
        if ag_prev is not None:
            set_autogroup_nice(ag_prev)
    table = print_table(results)
    meta["elapsed_s"] = round(time.time() - t_start, 1)
    os.makedirs(RESULTS_DIR, exist_ok=True)
    out = env("RESULTS", os.path.join(RESULTS_DIR, f"proxy-bench-{ts}{('-' + LABEL) if LABEL else ''}.json"))
    with open(out, "w") as f:
        json.dump({"meta": meta, "results": results, "table": table.splitlines()}, f, indent=1)
    log("\n" + table)
    log(f"\nelapsed {meta['elapsed_s']} s; results: {out}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *a: sys.exit(129))
    main()
