"""Process management and low-level HTTP helpers for Gatehouse's integration tests.

Everything talks to 127.0.0.1 only. Nothing here sleeps blindly: waits poll a condition
until a deadline (`wait_until`).
"""

from __future__ import annotations

import dataclasses
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import httpx
import yaml

IT_DIR = Path(__file__).resolve().parent.parent          # IntegrationTests/
REPO_ROOT = IT_DIR.parent
BULK_UPSTREAM = Path(__file__).resolve().parent / "bulk_upstream.py"
SYNAPSE_SCRIPTS = IT_DIR / "synapse"

SERVER_NAME = "localhost"
ALICE_PASSWORD = "correct horse battery staple"
ALICE_DEVICE = "DEV1"
ALICE_ID = "@alice:localhost"

# name -> path of every log worth showing when a test fails (see conftest.py).
LOGS: dict[str, Path] = {}

T = TypeVar("T")


# --------------------------------------------------------------------------- generic
def clean_env() -> dict[str, str]:
    """The environment for child processes: no proxies, everything stays on loopback."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost,::1"
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Call `check` until it returns a truthy value (returned) or the deadline passes.
    Exceptions from `check` count as "not yet"; the last one is reported on timeout."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = check()
            if value:
                return value
            last = value
        except Exception as e:  # noqa: BLE001 - polled condition, reported below
            last = e
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def tail(path: Path, lines: int = 40) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError as e:
        return f"<{e}>"
    return "\n".join(data.splitlines()[-lines:])


def python() -> str:
    return sys.executable


# --------------------------------------------------------------------------- TLS / raw HTTP
def client_tls(alpn: Iterable[str]) -> ssl.SSLContext:
    """A client context that accepts Gatehouse's self-signed test certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(list(alpn))
    return ctx


def http_client(base_url: str, *, http2: bool, timeout: float = 30.0) -> httpx.Client:
    """http2=False: HTTP/1.1 only; http2=True: h2 only (ALPN offers just "h2")."""
    return httpx.Client(base_url=base_url, verify=False, trust_env=False, http1=not http2,
                        http2=http2, timeout=timeout)


@dataclasses.dataclass
class RawResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    closed: bool          # the server closed the connection after this response
    raw: bytes

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def _parse_h1(buf: bytes) -> tuple[RawResponse | None, int]:
    """Parse one complete HTTP/1.1 response from buf; (None, 0) if incomplete."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None, 0
    head = buf[:end].decode("latin-1").split("\r\n")
    parts = head[0].split(" ", 2)
    status, reason = int(parts[1]), (parts[2] if len(parts) > 2 else "")
    headers = [(k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in head[1:])]
    hmap = {k.lower(): v for k, v in headers}
    pos = end + 4
    if "chunked" in hmap.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            nl = buf.find(b"\r\n", pos)
            if nl < 0:
                return None, 0
            size = int(buf[pos:nl].split(b";")[0], 16)
            if size == 0:
                trailer_end = buf.find(b"\r\n\r\n", nl)
                if trailer_end < 0:
                    return None, 0
                pos = trailer_end + 4
                break
            if len(buf) < nl + 2 + size + 2:
                return None, 0
            body += buf[nl + 2:nl + 2 + size]
            pos = nl + 2 + size + 2
        return RawResponse(status, reason, headers, bytes(body), False, buf[:pos]), pos
    n = int(hmap.get("content-length", "0"))
    if len(buf) < pos + n:
        return None, 0
    return RawResponse(status, reason, headers, buf[pos:pos + n], False, buf[:pos + n]), pos + n


def raw_h1(port: int, request: bytes, *, timeout: float = 15.0, close_wait: float = 2.0) -> RawResponse:
    """Send `request` byte for byte over TLS (ALPN http/1.1), read one response, then
    check for up to `close_wait` s whether the server closes the connection."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock = client_tls(["http/1.1"]).wrap_socket(raw, server_hostname=SERVER_NAME)
    buf = b""
    eof = False
    try:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass    # the server may answer (and close) before reading everything we send
        deadline = time.monotonic() + timeout
        resp = None
        while resp is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no complete response within {timeout}s; got {buf[:500]!r}")
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError) as e:
                if not buf:
                    raise ConnectionError(f"connection reset before any response: {e}") from e
                chunk = b""
            except socket.timeout as e:
                raise TimeoutError(f"no complete response within {timeout}s; got {buf[:500]!r}") from e
            if not chunk:
                eof = True
                resp, _ = _parse_h1(buf)
                if resp is None:
                    raise ConnectionError(f"connection closed mid-response: {buf[:500]!r}")
                break
            buf += chunk
            resp, _ = _parse_h1(buf)
        if not eof:
            sock.settimeout(close_wait)
            try:
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        eof = True
                        break
            except socket.timeout:
                pass
            except (ConnectionResetError, ssl.SSLError, OSError):
                eof = True
        resp.closed = eof
        return resp
    finally:
        sock.close()


@dataclasses.dataclass
class H2Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    reset: int | None = None      # RST_STREAM error code, if the stream was reset


def h2_request(port: int, method: str, path: str, headers: Iterable[tuple[str, str]] = (),
               body: bytes = b"", *, timeout: float = 15.0, validate: bool = True) -> H2Response:
    """One h2 request whose :path is sent exactly as given (no client normalisation);
    validate=False lets the client send headers its own checks would refuse (e.g. a `host` that
    differs from :authority)."""
    import h2.config
    import h2.connection
    import h2.events

    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock = client_tls(["h2"]).wrap_socket(raw, server_hostname=SERVER_NAME)
    try:
        assert sock.selected_alpn_protocol() == "h2", "server did not negotiate h2"
        conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8", validate_outbound_headers=validate,
            normalize_outbound_headers=validate))
        conn.initiate_connection()
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", method), (":scheme", "https"),
                                (":authority", f"{SERVER_NAME}:{port}"), (":path", path), *headers],
                          end_stream=not body)
        if body:
            conn.send_data(sid, body, end_stream=True)
        sock.sendall(conn.data_to_send())
        status, rheaders, data = 0, [], bytearray()
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"h2 connection closed before the response ended (status {status})")
            for ev in conn.receive_data(chunk):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    rheaders = list(ev.headers)
                    status = int(dict(rheaders)[":status"])
                elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                    data += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                    return H2Response(status, rheaders, bytes(data))
                elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == sid:
                    return H2Response(status, rheaders, bytes(data), reset=ev.error_code)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    raise ConnectionError(f"h2 GOAWAY before the response ended: {ev}")
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
    finally:
        sock.close()


# --------------------------------------------------------------------------- processes
def stop_process(proc: subprocess.Popen, timeout: float = 40.0) -> int:
    """SIGTERM our child, wait, SIGKILL after `timeout`; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode


class Synapse:
    """A real Synapse run by IntegrationTests/synapse/start-synapse.sh; restartable."""

    def __init__(self, workdir: Path, port: int, mas_endpoint: str, secret_file: Path,
                 public_baseurl: str, extra_config: Path):
        self.workdir, self.port = workdir, port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = workdir / "homeserver.log"
        self.script_log = workdir.parent / "synapse-scripts.log"
        self._args = ["--workdir", str(workdir), "--port", str(port), "--server-name", SERVER_NAME,
                      "--mas-endpoint", mas_endpoint, "--secret-file", str(secret_file),
                      "--public-baseurl", public_baseurl, "--extra-config", str(extra_config)]
        LOGS["synapse homeserver.log"] = self.log_path
        LOGS["synapse start/stop scripts"] = self.script_log

    def _script(self, name: str, args: list[str], timeout: float) -> str:
        with open(self.script_log, "a") as log:
            log.write(f"$ {name} {' '.join(args)}\n")
            log.flush()
            r = subprocess.run([str(SYNAPSE_SCRIPTS / name), *args], stdout=subprocess.PIPE,
                               stderr=log, text=True, env=clean_env(), timeout=timeout,
                               stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise RuntimeError(f"{name} failed (rc {r.returncode}):\n{tail(self.script_log)}")
        return r.stdout.strip()

    def start(self) -> None:
        # Generous: the first run installs Synapse into a cached venv (~30 s, needs PyPI).
        self.pid = int(self._script("start-synapse.sh", self._args, timeout=900))

    def stop(self) -> None:
        self._script("stop-synapse.sh", ["--workdir", str(self.workdir)], timeout=60)

    def running(self) -> bool:
        try:
            return httpx.get(self.url + "/health", timeout=2, trust_env=False).text == "OK"
        except httpx.HTTPError:
            return False


class BulkUpstream:
    """tests/bulk_upstream.py: the streaming upstream behind the `bulk` route."""

    def __init__(self, workdir: Path, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = workdir / "bulk-upstream.log"
        LOGS["bulk upstream"] = self.log
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([python(), str(BULK_UPSTREAM), "--port", str(port)],
                                         stdout=out, stderr=subprocess.STDOUT, env=clean_env(),
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        wait_until(lambda: self.stats() is not None, 30, "the bulk upstream")

    def stats(self) -> dict | None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"bulk upstream exited with {self.proc.returncode}:\n{tail(self.log)}")
        return httpx.get(self.url + "/bulk/stats", timeout=2, trust_env=False).json()

    def stop(self) -> None:
        stop_process(self.proc, 10)


# --------------------------------------------------------------------------- PostgreSQL
class PostgresCluster:
    """A throw-away PostgreSQL cluster: initdb into a private directory, a loopback TCP port only (no
    Unix socket), scram-sha-256 for one superuser role (`user`), which owns `database`. Run as the
    `postgres` system user when the tests run as root (initdb refuses root). Used by
    test_29_import_synapse.py (Synapse's database) and test_33_scale_out.py (Gatehouse's)."""

    def __init__(self, port: int, *, user: str = "synapse", database: str = "synapse", label: str = "tests"):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
                               "(Debian: apt-get install postgresql; scripts/install-deps.sh does)")
        self.bin = Path(bins[-1]).parent
        self.port = port
        self.user, self.password, self.database = user, secrets.token_urlsafe(16), database
        self.dir = Path(tempfile.mkdtemp(prefix="gatehouse-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        LOGS[f"postgres ({label})"] = self.log

    def _run(self, *args: str, env: dict | None = None) -> str:
        r = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=120,
                           env=env or clean_env(), stdin=subprocess.DEVNULL, cwd=self.dir)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed (rc {r.returncode}):\n{r.stdout}{r.stderr}\n"
                               f"{tail(self.log)}")
        return r.stdout

    def _client_env(self) -> dict:
        return clean_env() | {"PGPASSWORD": self.password}

    def start(self) -> None:
        pwfile = self.dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.as_user:
            owner = pwd.getpwnam("postgres")
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        pwfile.chmod(0o600)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user, f"--pwfile={pwfile}",
                  "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C")
        pwfile.unlink()
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='' "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        self.create_database(self.database)

    def create_database(self, name: str) -> None:
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                  "--template=template0", "--encoding=UTF8", "--locale=C", name, env=self._client_env())

    def query(self, sql: str, database: str | None = None) -> list[list[str]]:
        """Rows of `sql` (psql, unaligned, `|`-separated), as lists of strings."""
        out = self._run(str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                        "-d", database or self.database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql,
                        env=self._client_env())
        return [line.split("|") for line in out.splitlines() if line]

    def uri(self, database: str | None = None) -> str:
        """A `database.uri` for Gatehouse (no TLS on loopback)."""
        return (f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database or self.database}"
                "?sslmode=disable")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def synapse_database(self) -> dict:
        return {"name": "psycopg2", "args": {
            "user": self.user, "password": self.password, "dbname": self.database,
            "host": "127.0.0.1", "port": self.port, "cp_min": 1, "cp_max": 5}}


def gatehouse_bin() -> Path:
    p = Path(os.environ.get("GATEHOUSE_BIN") or ".build/debug/gatehouse")
    return p if p.is_absolute() else REPO_ROOT / p


class Gatehouse:
    """One Gatehouse instance: its config dir (made with `gatehouse config generate`), the
    `serve` process, and its logs (access log = stdout, the rest = stderr)."""

    def __init__(self, name: str, directory: Path, *, synapse_url: str, secret_file: Path,
                 bulk_url: str, port: int | None = None, internal_port: int | None = None,
                 extra_config: dict | None = None, optional_config: dict | None = None):
        self.name, self.dir = name, directory
        self.bin = gatehouse_bin()
        if not os.access(self.bin, os.X_OK):
            raise RuntimeError(f"Gatehouse binary {self.bin} is missing: build it (swift build) "
                               "or set GATEHOUSE_BIN")
        self.port = port or free_port()
        self.internal_port = internal_port or free_port()
        self.internal_url = f"http://127.0.0.1:{self.internal_port}"
        self.base_url = f"https://{SERVER_NAME}:{self.port}"
        self.config = directory / "gatehouse.yaml"
        self.stdout = directory / "stdout.log"
        self.stderr = directory / "stderr.log"
        self.proc: subprocess.Popen | None = None
        LOGS[f"gatehouse[{name}] stdout (access log)"] = self.stdout
        LOGS[f"gatehouse[{name}] stderr"] = self.stderr
        directory.mkdir(parents=True, exist_ok=True)
        # Whether `optional_config` was applied; if not, why this binary refused it (`config check`).
        self.optional_config_applied, self.optional_config_refusal = False, ""
        self._generate(synapse_url, secret_file, bulk_url, extra_config or {}, optional_config or {})

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bin), *args], capture_output=True, text=True, cwd=self.dir,
                              env=clean_env(), timeout=timeout, stdin=subprocess.DEVNULL)

    def _generate(self, synapse_url: str, secret_file: Path, bulk_url: str, extra_config: dict,
                  optional_config: dict) -> None:
        r = self.cli("config", "generate", "--output", str(self.config), "--server-name", SERVER_NAME,
                     "--public-base", f"https://{SERVER_NAME}:{self.port}/",
                     "--listen", f"127.0.0.1:{self.port}",
                     "--internal-listen", f"127.0.0.1:{self.internal_port}",
                     "--synapse-url", synapse_url.rstrip("/") + "/",
                     "--database", str(self.dir / "gatehouse.db"),
                     "--synapse-secret-file", str(secret_file))
        if r.returncode != 0:
            raise RuntimeError(f"gatehouse config generate failed (rc {r.returncode}):\n{r.stdout}{r.stderr}")
        cfg = yaml.safe_load(self.config.read_text())
        # The `bulk` upstream for the streaming tests, routed before the matrix rules.
        cfg.setdefault("upstreams", {})["bulk"] = {"members": [bulk_url]}
        _merge(cfg, extra_config)
        routes_file = self.dir / cfg["routes"]["files"][0]
        routes_file.write_text("# added by the integration tests: streaming test upstream\n"
                               "*  ^/bulk(/|$)  proxy bulk  max_body=200MiB timeout=120s\n\n"
                               + routes_file.read_text())
        self.config.write_text(yaml.safe_dump(cfg, sort_keys=False))
        self.check_result = self.cli("config", "check", "-c", str(self.config))
        if optional_config and self.check_result.returncode == 0:
            # Keys a newer binary knows and an older one refuses as unknown: kept only if accepted.
            with_optional = yaml.safe_load(self.config.read_text())
            _merge(with_optional, optional_config)
            self.config.write_text(yaml.safe_dump(with_optional, sort_keys=False))
            check = self.cli("config", "check", "-c", str(self.config))
            if check.returncode == 0:
                self.optional_config_applied, self.check_result = True, check
            else:
                self.optional_config_refusal = check.stderr.strip()
                self.config.write_text(yaml.safe_dump(cfg, sort_keys=False))

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """`gatehouse manage ARGS -c <config>`; raises on failure unless check=False."""
        r = self.cli("manage", *args, "-c", str(self.config))
        if check and r.returncode != 0:
            raise RuntimeError(f"gatehouse manage {' '.join(args)} failed (rc {r.returncode}):\n{r.stdout}{r.stderr}")
        return r

    def issue_token(self, user: str, device: str | None = None, admin: bool = False) -> str:
        args = ["issue-compatibility-token", user]
        if device:
            args += ["--device-id", device]
        if admin:
            args.append("--yes-i-want-to-grant-synapse-admin-privileges")
        return self.manage(*args).stdout.strip().splitlines()[-1]

    # Set before start() to run `serve` under RLIMIT_NOFILE = (nofile, nofile) (soft and hard).
    nofile: int | None = None

    def start(self, timeout: float = 60) -> None:
        with open(self.stdout, "ab") as out, open(self.stderr, "ab") as err:
            self.proc = subprocess.Popen([str(self.bin), "serve", "-c", str(self.config)], stdout=out,
                                         stderr=err, cwd=self.dir, env=clean_env(),
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=_nofile_limiter(self.nofile))
        wait_until(self._answers, timeout, f"gatehouse[{self.name}] to answer on port {self.port}", 0.2)

    def _answers(self) -> bool:
        """Ready = the public TLS listener answers an HTTP request (any status)."""
        if self.proc.poll() is not None:
            raise RuntimeError(f"gatehouse[{self.name}] exited with {self.proc.returncode}:\n"
                               f"{tail(self.stderr)}")
        with http_client(self.base_url, http2=False, timeout=3) as c:
            c.get("/health")
        return True

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> int | None:
        return stop_process(self.proc) if self.proc else None

    def rss_kib(self, field: str = "VmRSS") -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise RuntimeError(f"no {field} in /proc/{self.proc.pid}/status")


class RssSampler:
    """Samples a process's VmRSS in a background thread; `peak_kib` is the maximum seen."""

    def __init__(self, gatehouse: Gatehouse, interval: float = 0.02):
        self.gatehouse, self.interval = gatehouse, interval
        self.peak_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_kib = max(self.peak_kib, self.gatehouse.rss_kib())
                self.samples += 1
            except (OSError, RuntimeError):
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)


def _merge(into: dict, extra: dict) -> None:
    """Deep-merge `extra` into the config mapping `into` (mappings merge, anything else replaces)."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def new_secret_file(path: Path) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32) + "\n")
    return path


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _nofile_limiter(nofile: int | None) -> Callable[[], None] | None:
    """A Popen preexec_fn that lowers the child's descriptor limit to `nofile` (None: no change)."""
    if nofile is None:
        return None
    import resource     # imported here, not in the forked child

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    return limit
