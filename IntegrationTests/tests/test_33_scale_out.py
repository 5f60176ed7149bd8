"""Two Gatehouse processes, A and B, on one PostgreSQL database (a private cluster, harness.PostgresCluster)
in front of one real Synapse, as in examples/scale-out without the load balancer: a client may reach
either instance for any request.

Synapse's matrix_authentication_service endpoint is B's internal listener. In a deployment it is the
load balancer's internal frontend (either instance); here one instance has to be chosen, and it is B
because A is the one `kill -9`ed in the login storm: requests sent through A still reach Synapse, which
introspects at B. What Synapse would ask A is asked of A directly, exactly as Synapse asks it
(`POST /oauth2/introspect` on A's internal listener with the shared secret), so "Synapse's
introspection through A" is checked without a second Synapse.

Both instances share `secrets` (the encryption key of browser-session cookies and CSRF tokens, the
signing keys) and the shared secret; each has its own TLS port and public base (in a deployment they
share one address), so an OAuth client meets B's issuer on B.

Each instance also has a third listener, `behind-haproxy` (TLS, `proxy_protocol: true`), and HAProxy in
TCP mode sends PROXY protocol v2 headers to them (`send-proxy-v2`, as examples/scale-out/haproxy.cfg),
from 127.0.0.3 (`http.trusted_proxies` lists only that address); clients connect to HAProxy from
127.0.0.2, and Gatehouse must see 127.0.0.2, not HAProxy's address.

Last, `gatehouse database copy` moves a populated SQLite deployment into a fresh database of the same
cluster, and a Gatehouse on the copy (D) accepts every old password and token."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import uuid

import httpx
import pytest
import yaml

import harness
from conftest import RELAXED_LOGIN_LIMITS
from harness import (SERVER_NAME, Gatehouse, PostgresCluster, Synapse, clean_env, free_port, http_client, stop_process,
                     tail, wait_until)

PASSWORD = "scale out password 33"
# The loopback addresses of the PROXY protocol test: clients connect from CLIENT_ADDRESS, HAProxy
# connects to the instances from HAPROXY_ADDRESS, the only trusted proxy.
CLIENT_ADDRESS = "127.0.0.2"
HAPROXY_ADDRESS = "127.0.0.3"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def user_id(name: str) -> str:
    return f"@{name}:{SERVER_NAME}"


def use_database(g: Gatehouse, uri: str, secrets_of: Gatehouse | None = None) -> None:
    """Points `g` at a PostgreSQL database (instead of `config generate`'s SQLite file) and, with
    `secrets_of`, gives it that instance's `secrets` section (what examples/scale-out shares)."""
    cfg = yaml.safe_load(g.config.read_text())
    cfg["database"] = {"uri": uri, "max_connections": 5}
    if secrets_of is not None:
        cfg["secrets"] = yaml.safe_load(secrets_of.config.read_text())["secrets"]
    g.config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    check = g.cli("config", "check", "-c", str(g.config))
    assert check.returncode == 0, check.stdout + check.stderr


def add_proxy_protocol_listener(g: Gatehouse, port: int) -> None:
    """A TLS listener that expects PROXY headers from HAPROXY_ADDRESS, HAProxy's source address."""
    cfg = yaml.safe_load(g.config.read_text())
    public = cfg["http"]["listeners"][0]
    cfg["http"]["listeners"].append({"name": "behind-haproxy", "binds": [{"address": f"127.0.0.1:{port}"}],
                                     "tls": dict(public["tls"]), "proxy_protocol": True})
    cfg["http"]["trusted_proxies"] = [f"{HAPROXY_ADDRESS}/32"]
    g.config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    check = g.cli("config", "check", "-c", str(g.config))
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"127.0.0.1:{port} (TLS) (PROXY protocol)" in check.stdout, check.stdout


class HAProxy:
    """HAProxy in TCP mode in front of the instances' `behind-haproxy` listeners, with `send-proxy-v2`
    and HAPROXY_ADDRESS as its source address, as examples/scale-out/haproxy.cfg (round robin here,
    so that consecutive connections reach both instances)."""

    def __init__(self, directory, port: int, servers: list[int]):
        self.port = port
        self.url = f"https://{SERVER_NAME}:{port}"
        self.config = directory / "haproxy.cfg"
        self.log = directory / "haproxy.log"
        harness.LOGS["haproxy (scale-out)"] = self.log
        lines = "\n".join(f"    server g{i} 127.0.0.1:{p} send-proxy-v2" for i, p in enumerate(servers))
        self.config.write_text(f"""global
    maxconn 256
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend public
    bind 127.0.0.1:{port}
    default_backend gatehouse
backend gatehouse
    balance roundrobin
    source {HAPROXY_ADDRESS}
{lines}
""")
        self.proc = None

    def start(self) -> None:
        check = subprocess.run(["haproxy", "-c", "-q", "-f", str(self.config)], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(self.config)], stdout=out, stderr=subprocess.STDOUT,
                                         env=clean_env(), stdin=subprocess.DEVNULL, start_new_session=True)

        def listening() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited with {self.proc.returncode}:\n{tail(self.log)}")
            with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                return True
        wait_until(listening, 30, "HAProxy to listen")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, 10)


def client_from(address: str, base_url: str, *, http2: bool) -> httpx.Client:
    """An HTTPS client whose connections start from `address`."""
    transport = httpx.HTTPTransport(local_address=address, verify=False, http1=not http2, http2=http2)
    return httpx.Client(base_url=base_url, transport=transport, trust_env=False, timeout=30)


def introspect(g: Gatehouse, secret: str, token: str) -> dict:
    """What Synapse asks an instance about a token."""
    r = httpx.post(f"{g.internal_url}/oauth2/introspect", trust_env=False, timeout=10,
                   headers={"Authorization": f"Bearer {secret}", "X-MAS-Supports-Device-Id": "1"},
                   data={"token": token, "token_type_hint": "access_token"})
    assert r.status_code == 200, r.text
    return r.json()


def login(c: httpx.Client, user: str, password: str = PASSWORD, device: str | None = None) -> httpx.Response:
    body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user}, "password": password}
    if device:
        body["device_id"] = device
    return c.post("/_matrix/client/v3/login", json=body)


@pytest.fixture(scope="module")
def scale(workdir, secret_file, secret, bulk):
    """The cluster, Synapse (delegating to B) and the two instances, started; users registered."""
    base = workdir / "scale-out"
    base.mkdir()
    cluster = PostgresCluster(free_port(), user="gatehouse", database="gatehouse", label="scale-out test")
    cluster.start()
    port_a, internal_a, port_b, internal_b = free_port(), free_port(), free_port(), free_port()
    proxied_a, proxied_b = free_port(), free_port()
    synapse_port = free_port()
    made = []
    synapse = None
    haproxy = None
    try:
        a = Gatehouse("scale-a", base / "a", synapse_url=f"http://127.0.0.1:{synapse_port}/", secret_file=secret_file,
                      bulk_url=bulk.url, port=port_a, internal_port=internal_a, extra_config=RELAXED_LOGIN_LIMITS)
        b = Gatehouse("scale-b", base / "b", synapse_url=f"http://127.0.0.1:{synapse_port}/", secret_file=secret_file,
                      bulk_url=bulk.url, port=port_b, internal_port=internal_b, extra_config=RELAXED_LOGIN_LIMITS)
        made += [a, b]
        use_database(a, cluster.uri())
        use_database(b, cluster.uri(), secrets_of=a)
        add_proxy_protocol_listener(a, proxied_a)
        add_proxy_protocol_listener(b, proxied_b)
        extra = base / "synapse-extra.yaml"
        extra.write_text("presence:\n  enabled: false\n")
        logs = dict(harness.LOGS)
        synapse = Synapse(base / "synapse", synapse_port, b.internal_url + "/", secret_file, b.base_url + "/", extra)
        harness.LOGS.clear()
        harness.LOGS.update(logs)
        harness.LOGS["synapse (scale-out) homeserver.log"] = synapse.log_path
        synapse.start()
        a.start()
        b.start()
        # register-user through A's configuration: the job lands in the shared queue.
        for name in ("scale-nina", "scale-logout", "scale-oauth", "scale-lease"):
            a.manage("register-user", name, "--password", PASSWORD)
        if shutil.which("haproxy"):
            haproxy = HAProxy(base, free_port(), [proxied_a, proxied_b])
            haproxy.start()
        yield {"a": a, "b": b, "cluster": cluster, "synapse": synapse, "secret": secret, "base": base,
               "haproxy": haproxy, "proxied": {"a": proxied_a, "b": proxied_b}}
    finally:
        if haproxy is not None:
            haproxy.stop()
        for g in made:
            g.stop()
        if synapse is not None:
            synapse.stop()
        cluster.stop()


# --------------------------------------------------------------------------- one client, two instances
def test_login_through_a_sync_through_b(scale):
    """matrix-nio logs in through A; a second nio client restores that session on B and syncs."""
    from nio import AsyncClient, AsyncClientConfig, LoginResponse, SyncResponse, WhoamiResponse

    a, b = scale["a"], scale["b"]
    config = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, request_timeout=30)

    async def main():
        on_a = AsyncClient(a.base_url, "scale-nina", ssl=False, config=config)
        on_b = AsyncClient(b.base_url, ssl=False, config=config)
        try:
            logged_in = await on_a.login(password=PASSWORD, device_name="scale-out test")
            assert isinstance(logged_in, LoginResponse), logged_in
            on_b.restore_login(logged_in.user_id, logged_in.device_id, logged_in.access_token)
            synced = await on_b.sync(timeout=0, full_state=True)
            assert isinstance(synced, SyncResponse), synced
            who = await on_b.whoami()
            assert isinstance(who, WhoamiResponse), who
            assert (who.user_id, who.device_id) == (user_id("scale-nina"), logged_in.device_id)
            again = await on_b.sync(timeout=1000, since=synced.next_batch)
            assert isinstance(again, SyncResponse), again
        finally:
            await on_a.close()
            await on_b.close()

    asyncio.run(main())


def test_logout_through_b_is_refused_by_a_at_once(scale):
    """A has the token cached as active (edge check and introspection); B logs it out; A refuses it
    within 100 ms, measured from B's answer (LISTEN/NOTIFY arrives before that answer, normally)."""
    a, b, secret = scale["a"], scale["b"], scale["secret"]
    with http_client(a.base_url, http2=False) as ca, http_client(b.base_url, http2=False) as cb:
        r = login(ca, "scale-logout", device="LOGOUTDEV")
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        assert ca.get("/_matrix/client/v3/account/whoami", headers=bearer(token)).status_code == 200
        assert introspect(a, secret, token)["active"] is True
        assert introspect(a, secret, token)["active"] is True   # now from A's cache

        def edge_refuses() -> bool:
            w = ca.get("/_matrix/client/v3/account/whoami", headers=bearer(token))
            assert w.status_code in (200, 401), w.text
            return w.status_code == 401 and w.json()["errcode"] == "M_UNKNOWN_TOKEN"

        r = cb.post("/_matrix/client/v3/logout", headers=bearer(token), json={})
        assert r.status_code == 200, r.text
        logged_out = time.monotonic()
        # Both checks poll at once, each in its own thread; a delay is when the first refused request
        # was sent, counted from B's answer.
        refused: dict[str, float] = {}
        errors: dict[str, BaseException] = {}

        def poll(name: str, check) -> None:
            try:
                while time.monotonic() - logged_out < 5:
                    sent = time.monotonic() - logged_out
                    if check():
                        refused[name] = sent
                        return
            except BaseException as e:  # noqa: BLE001 - reported by the test thread below
                errors[name] = e

        pollers = [threading.Thread(target=poll, args=("edge", edge_refuses)),
                   threading.Thread(target=poll, args=("introspection", lambda: introspect(a, secret, token) == {"active": False}))]
        for t in pollers:
            t.start()
        for t in pollers:
            t.join(10)
        assert not errors, errors
        edge_refused, introspection_refused = refused.get("edge"), refused.get("introspection")
        assert introspection_refused is not None and edge_refused is not None, "A still accepts the token after 5 s"
        print(f"\nA refused the token B logged out: introspection {introspection_refused * 1000:.1f} ms, "
              f"edge check {edge_refused * 1000:.1f} ms after B's answer")
        assert introspection_refused < 0.1 and edge_refused < 0.1, (introspection_refused, edge_refused)


# --------------------------------------------------------------------------- PROXY protocol behind HAProxy
def _synapse_line_with(path, marker: str) -> str | None:
    for line in path.read_text(errors="replace").splitlines():
        if marker in line and "Processed request" in line:
            return line
    return None


def test_haproxy_send_proxy_v2_gives_gatehouse_the_client_address(scale):
    """Four connections through HAProxy from CLIENT_ADDRESS (HTTP/1.1 and HTTP/2, so both instances
    by round robin): the upstream's X-Forwarded-For, Synapse's request log and each instance's access
    log name the client, never HAProxy's HAPROXY_ADDRESS; a forged X-Forwarded-For is dropped."""
    lb = scale["haproxy"]
    if lb is None:
        pytest.skip("HAProxy is not installed (Debian: apt-get install haproxy)")
    a, b, synapse = scale["a"], scale["b"], scale["synapse"]
    markers = []
    for http2 in (False, False, True, True):
        with client_from(CLIENT_ADDRESS, lb.url, http2=http2) as c:
            r = c.get("/bulk/echo", headers={"X-Forwarded-For": "6.6.6.6"})
            assert r.status_code == 200, r.text
            assert r.http_version == ("HTTP/2" if http2 else "HTTP/1.1"), r.http_version
            xff = [v for k, v in r.json()["headers"] if k.lower() == "x-forwarded-for"]
            assert xff == [CLIENT_ADDRESS], xff
            marker = uuid.uuid4().hex
            markers.append(marker)
            r = c.get("/_matrix/client/versions", params={"gh_marker": marker})
            assert r.status_code == 200, r.text
    for marker in markers:
        line = wait_until(lambda: _synapse_line_with(synapse.log_path, marker), 15,
                          "Synapse's 'Processed request' line for the marker")
        assert re.search(rf" - {re.escape(CLIENT_ADDRESS)} - \d+ - \{{", line), line

    # Round robin sent connections to both instances; each logged the client as the peer.
    def access_lines(g: Gatehouse) -> list[str]:
        return [line for line in g.stdout.read_text(errors="replace").splitlines() if "gh_marker" in line or "/bulk/echo" in line]
    for g in (a, b):
        lines = wait_until(lambda: [line for line in access_lines(g) if any(m in line for m in markers)], 15,
                           f"gatehouse[{g.name}]'s access log lines of the markers")
        assert all(f"peer={CLIENT_ADDRESS} " in line for line in lines), lines
    assert not any(f"peer={HAPROXY_ADDRESS} " in line for g in (a, b) for line in access_lines(g))


def _closed_unanswered(source: str, port: int, first_bytes: bytes) -> bool:
    """Connects from `source`, sends `first_bytes`; whether the connection ends without a byte back."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as s:
        try:
            s.sendall(first_bytes)
            return s.recv(4096) == b""
        except ConnectionResetError:
            return True


def test_proxy_protocol_listener_refuses_untrusted_peers_and_missing_headers(scale):
    """Straight to an instance's `behind-haproxy` listener: a peer that is not a trusted proxy is
    closed unread, even with a valid header; the trusted proxy's connection without a header (a TLS
    ClientHello or an HTTP request) is closed too; with a v1 header written by hand, TLS and HTTP work
    on the same connection and the header's client is what the upstream sees."""
    a, port = scale["a"], scale["proxied"]["a"]
    header = b"PROXY TCP4 198.51.100.9 127.0.0.1 40000 443\r\n"
    request = b"GET /bulk/echo HTTP/1.1\r\nHost: localhost\r\n\r\n"
    assert _closed_unanswered("127.0.0.1", port, header + request)
    assert _closed_unanswered(CLIENT_ADDRESS, port, header)
    assert _closed_unanswered(HAPROXY_ADDRESS, port, request)
    assert _closed_unanswered(HAPROXY_ADDRESS, port, b"\x16\x03\x01\x00\xf4\x01\x00\x00\xf0\x03\x03" + bytes(32))

    # A v1 header from the trusted proxy, then TLS on the same socket.
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(HAPROXY_ADDRESS, 0)) as raw:
        raw.sendall(header)
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"GET /bulk/echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := tls.recv(65536):
                answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    xff = [v for k, v in json.loads(body)["headers"] if k.lower() == "x-forwarded-for"]
    assert xff == ["198.51.100.9"], xff

    log = a.stderr.read_text(errors="replace")
    assert "not in http.trusted_proxies" in log, tail(a.stderr)
    assert "invalid PROXY protocol header" in log, tail(a.stderr)


# --------------------------------------------------------------------------- kill -9 during a login storm
def test_kill_a_during_a_login_storm(scale):
    """Logins through A and B in parallel (and accounts registered through the shared queue); A is
    killed with SIGKILL in the middle. Every login that was answered 200 works through B afterwards;
    every job completes exactly once (B takes over what A had leased once the lease ends); Synapse
    has the device of every answered login, and no other device than those of the logins A was
    answering when it died (the device is made in Synapse before the session is stored)."""
    a, b, cluster, synapse = scale["a"], scale["b"], scale["cluster"], scale["synapse"]
    users = [f"scale-storm{i}" for i in range(4)]
    for name in users:
        b.manage("register-user", name, "--password", PASSWORD)
    answered: list[tuple[str, str, str]] = []        # (user, device, token)
    attempted: dict[str, set[str]] = {name: set() for name in users}
    unanswered_on_a: set[str] = set()                # logins in flight on A when it was killed
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(1_000_000))

    def storm(instance: Gatehouse, worker: int) -> None:
        with http_client(instance.base_url, http2=False, timeout=15) as c:
            while not stop.is_set():
                n = next(counter)
                user = users[n % len(users)]
                device = f"STORM{worker}X{n}"
                with lock:
                    attempted[user].add(device)
                try:
                    r = login(c, user, device=device)
                except httpx.HTTPError:
                    if instance is a:
                        with lock:
                            unanswered_on_a.add(device)
                        return      # A is gone
                    continue
                if r.status_code == 200:
                    with lock:
                        answered.append((user, device, r.json()["access_token"]))

    # Accounts registered meanwhile: their provision_user jobs go through the shared queue, where
    # A's and B's workers and the CLI itself compete for them.
    registered = [f"scale-late{i}" for i in range(3)]

    def register_during_storm() -> None:
        for name in registered:
            b.manage("register-user", name, "--password", PASSWORD, check=False)

    threads = [threading.Thread(target=storm, args=(g, w)) for w, g in enumerate([a, b, a, b])]
    threads.append(threading.Thread(target=register_during_storm))
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(answered) >= 16, 120, "the first answered logins of the storm")
        os.kill(a.proc.pid, signal.SIGKILL)
        a.proc.wait(10)
        killed_at = len(answered)
        wait_until(lambda: len(answered) >= killed_at + 16, 120, "logins through B after A was killed")
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        if a.proc.poll() is not None:
            a.start()       # the later tests use A again

    # Every answered login works through B (Synapse introspects at B).
    with http_client(b.base_url, http2=False) as c:
        for user, device, token in answered:
            r = c.get("/_matrix/client/v3/account/whoami", headers=bearer(token))
            assert r.status_code == 200, (user, device, r.text)
            assert (r.json()["user_id"], r.json()["device_id"]) == (user_id(user), device), r.text

    # Jobs: none left pending once the lease of anything A held has run out (120 s), each completed
    # once: one attempt, unless A held it when it died (then one more, by B).
    def all_completed() -> bool:
        return cluster.query("SELECT COUNT(*) FROM jobs WHERE completed_at IS NULL") == [["0"]]
    wait_until(all_completed, 180, "every queued job to complete", 1.0)
    jobs = cluster.query("SELECT id, kind, attempts FROM jobs ORDER BY id")
    assert jobs, "no job was queued"
    retried = [job for job in jobs if int(job[2]) != 1]
    print(f"\nstorm: {len(answered)} logins answered ({killed_at} before A was killed), {len(jobs)} jobs, retried: {retried}")
    assert len(retried) <= 1 and all(int(job[2]) == 2 for job in retried), jobs

    # Synapse: every registered user exists; every answered login's device exists; any other device
    # is one of a login A was killed in the middle of (its device may exist without a session).
    admin_token = b.issue_token("scale-storm0", "STORMADMIN", admin=True)
    with httpx.Client(base_url=synapse.url, trust_env=False, timeout=30, headers=bearer(admin_token)) as s:
        for name in registered:
            assert s.get(f"/_synapse/admin/v2/users/{user_id(name)}").status_code == 200, name
        for user in users:
            r = s.get(f"/_synapse/admin/v2/users/{user_id(user)}/devices")
            assert r.status_code == 200, r.text
            devices = {d["device_id"] for d in r.json()["devices"]} - {"STORMADMIN"}
            expected = {device for u, device, _ in answered if u == user}
            assert expected <= devices, (user, expected - devices)
            assert devices <= attempted[user], (user, devices - attempted[user])
            assert devices - expected <= unanswered_on_a, (user, devices - expected - unanswered_on_a)


# --------------------------------------------------------------------------- a dead instance's lease
def test_a_job_leased_by_a_killed_instance_is_run_by_b(scale):
    """A dies while it runs a job: B runs it once A's lease (JobRunner's 120 s) has run out, exactly
    one attempt more, and Synapse ends up as the job says.

    The job is made by a logout through A while Synapse is frozen (SIGSTOP): A's direct device
    deletion waits out its 10 s deadline, then A queues a `sync_devices` job and its runner claims it
    at once and calls Synapse again. A is killed while that call hangs. B is frozen meanwhile so that
    A's runner, not B's, claims the job; then Synapse and B go on."""
    a, b, cluster, synapse = scale["a"], scale["b"], scale["cluster"], scale["synapse"]
    with http_client(a.base_url, http2=False) as ca:
        r = login(ca, "scale-lease", device="LEASEDEV")
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
    before = {row[0] for row in cluster.query("SELECT id FROM jobs")}
    synapse_pid = int((synapse.workdir / "synapse.pid").read_text())

    def leased_by_a() -> list[str] | None:
        rows = cluster.query("SELECT id, kind, attempts, last_error, lease_until > (extract(epoch FROM clock_timestamp()) * 1000) "
                             "FROM jobs WHERE completed_at IS NULL")
        mine = [row for row in rows if row[0] not in before]
        return next((row for row in mine if row[1] == "sync_devices" and row[2] == "1" and row[3] == "" and row[4] == "t"), None)

    os.kill(b.proc.pid, signal.SIGSTOP)
    os.kill(synapse_pid, signal.SIGSTOP)
    answered: dict[str, httpx.Response] = {}
    try:
        def logout() -> None:
            with http_client(a.base_url, http2=False, timeout=60) as c:
                answered["logout"] = c.post("/_matrix/client/v3/logout", headers=bearer(token), json={})
        logging_out = threading.Thread(target=logout)
        logging_out.start()
        job = wait_until(leased_by_a, 40, "A's runner to claim the sync_devices job of the logout", 0.05)
        # The answer leaves as the job is queued; the runner's call to Synapse hangs for 10 s.
        logging_out.join(8)
        os.kill(a.proc.pid, signal.SIGKILL)
        a.proc.wait(10)
    finally:
        os.kill(synapse_pid, signal.SIGCONT)
        os.kill(b.proc.pid, signal.SIGCONT)
    # The logout itself was answered before A died: the session ended, the device went to the queue.
    assert answered.get("logout") is not None and answered["logout"].status_code == 200, answered

    try:
        def completed() -> list[str] | None:
            rows = cluster.query(f"SELECT attempts, completed_at IS NOT NULL FROM jobs WHERE id = '{job[0]}'")
            return rows[0] if rows and rows[0][1] == "t" else None
        done = wait_until(completed, 200, "B to run the job once A's lease ran out", 1.0)
        assert done[0] == "2", f"the job took {done[0]} attempts; A's (killed) and B's make 2"
        admin_token = b.issue_token("scale-lease", "LEASEADMIN", admin=True)
        with httpx.Client(base_url=synapse.url, trust_env=False, timeout=30, headers=bearer(admin_token)) as s:
            r = s.get(f"/_synapse/admin/v2/users/{user_id('scale-lease')}/devices")
            assert r.status_code == 200, r.text
            devices = {d["device_id"] for d in r.json()["devices"]}
        assert "LEASEDEV" not in devices, devices
    finally:
        a.start()       # the later tests use A again


# --------------------------------------------------------------------------- OAuth across instances
def test_oauth_code_flow_started_on_a_completes_on_b(scale, browser, loopback):
    """The authorization request and the login happen on A; the consent page is opened on B with the
    browser-session cookie A set (sealed with the shared encryption key); B issues the code and
    exchanges it; the token works through B."""
    from oauth_client import register_native_client
    from oauth_flows import expect_consent_page, expect_login_page, expect_redirect, start_flow

    a, b = scale["a"], scale["b"]
    with http_client(a.base_url, http2=False) as c:
        metadata_a = c.get("/.well-known/openid-configuration").json()
    with http_client(b.base_url, http2=False) as c:
        metadata_b = c.get("/.well-known/openid-configuration").json()
    client = register_native_client(a, loopback.url("/callback"), registration_endpoint=metadata_a["registration_endpoint"])
    flow = start_flow(a, metadata_a, loopback, client=client)

    browser.get(flow.auth.url, "authorize-on-a")
    grant = expect_login_page(browser)
    browser.login("scale-oauth", PASSWORD, "consent-on-a")
    assert browser.path == f"/consent/{grant}", browser.url
    browser.get(f"{b.base_url}/consent/{grant}", "consent-on-b")
    expect_consent_page(browser, flow, grant)
    browser.decide("consent-form", "consent", "redirected-from-b")
    expect_redirect(flow, loopback, metadata_b)

    r = flow.exchange(metadata_b, b)
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    with http_client(b.base_url, http2=False) as c:
        who = c.get("/_matrix/client/v3/account/whoami", headers=bearer(token))
    assert who.status_code == 200, who.text
    assert (who.json()["user_id"], who.json()["device_id"]) == (user_id("scale-oauth"), flow.auth.device_id)


# --------------------------------------------------------------------------- database copy
def test_database_copy_from_sqlite(scale, workdir, secret_file, bulk):
    """A SQLite deployment (C: users with passwords, tokens) is copied into a fresh database with
    `gatehouse database copy`; D, on the copy, accepts every password and every old token (asked as
    Synapse asks, at D's introspection endpoint, since Synapse delegates to B)."""
    cluster, synapse, secret = scale["cluster"], scale["synapse"], scale["secret"]
    base = scale["base"]
    c = Gatehouse("copy-sqlite", base / "c", synapse_url=synapse.url, secret_file=secret_file, bulk_url=bulk.url,
                  extra_config=RELAXED_LOGIN_LIMITS)
    users = {"scale-copy1": "copy password one", "scale-copy2": "copy password two"}
    tokens = {}
    for name, password in users.items():
        c.manage("register-user", name, "--password", password)
        tokens[name] = c.issue_token(name, f"{name.upper().replace('-', '')}DEV")

    cluster.create_database("gatehouse_copy")
    sqlite_file = str(yaml.safe_load(c.config.read_text())["database"]["path"])
    copy = c.cli("database", "copy", "--from", sqlite_file, "--to", cluster.uri("gatehouse_copy"), timeout=120)
    assert copy.returncode == 0, copy.stdout + copy.stderr
    assert "  users: 2 rows, 2 copied, 0 already there\n" in copy.stdout, copy.stdout
    assert "  compat_access_tokens: 2 rows, 2 copied, 0 already there\n" in copy.stdout, copy.stdout
    assert "done: " in copy.stdout, copy.stdout
    assert cluster.password not in copy.stdout + copy.stderr
    again = c.cli("database", "copy", "--from", sqlite_file, "--to", cluster.uri("gatehouse_copy"), timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing new" in again.stdout, again.stdout
    refused = c.cli("database", "copy", "--from", sqlite_file, "--to", cluster.uri("gatehouse"), timeout=120)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "copy refused, no row of" in refused.stderr and "row(s) the source does not have" in refused.stderr, refused.stderr

    d = Gatehouse("copy-postgres", base / "d", synapse_url=synapse.url, secret_file=secret_file, bulk_url=bulk.url,
                  extra_config=RELAXED_LOGIN_LIMITS)
    use_database(d, cluster.uri("gatehouse_copy"), secrets_of=c)
    d.start()
    try:
        with http_client(d.base_url, http2=False) as client:
            for name, password in users.items():
                answer = introspect(d, secret, tokens[name])
                assert answer["active"] is True and answer["username"] == name, answer
                r = login(client, name, password)
                assert r.status_code == 200, (name, r.text)
                assert introspect(d, secret, r.json()["access_token"])["active"] is True
                assert login(client, name, "not the password").status_code == 403
    finally:
        d.stop()
