"""Reload on SIGHUP (and `gatehouse reload`) and the Prometheus /metrics listener, against the real
Synapse.

- A broken route file or configuration is refused on SIGHUP (the reason in the log) and the old
  rules keep serving; a fixed route file applies to new connections, while /sync long-polls that
  were in flight on connections opened before the reload (HTTP/1.1 and h2) complete normally.
- A renewed certificate at the same paths is served to new connections after SIGHUP; a connection
  opened before goes on.
- `/metrics` on `metrics.address` counts a request under its rule (file:line and action) and
  status class, the compat password logins by outcome and the upstream latency; `gatehouse reload`
  finds the process through `server.pid_file`.
"""

import shutil
import signal
import socket
import ssl
import threading
import time

import httpx
import yaml

from harness import (SERVER_NAME, Gatehouse, _parse_h1, client_tls, free_port, http_client, wait_until)

SYNC = "/_matrix/client/v3/sync"
PROBE = "/_gatehouse_it/reload-probe"
DENIED = "/_matrix/client/v3/reload_it_denied"
NEW_RULES = ("# added by test_30 (reload)\n"
             f"GET  ^{PROBE}$  local health\n"
             f"*    ^{DENIED}$  deny 403\n\n")


def _routes_file(g: Gatehouse):
    cfg = yaml.safe_load(g.config.read_text())
    return g.dir / cfg["routes"]["files"][0]


def _count(g: Gatehouse, text: str) -> int:
    return g.stderr.read_text(errors="replace").count(text)


def _hangup_and_wait(g: Gatehouse, outcome: str) -> str:
    """SIGHUP, then wait for the reload's log line `outcome`; returns that line."""
    before = _count(g, outcome)
    g.signal(signal.SIGHUP)
    wait_until(lambda: _count(g, outcome) > before, 20, f"'{outcome}' in gatehouse[{g.name}]'s log")
    return [line for line in g.stderr.read_text(errors="replace").splitlines() if outcome in line][-1]


def _since(c: httpx.Client, headers: dict) -> str:
    r = c.get(SYNC, params={"timeout": 0}, headers=headers)
    assert r.status_code == 200, r.text
    r = c.get(SYNC, params={"timeout": 0, "since": r.json()["next_batch"]}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["next_batch"]


def _status(g: Gatehouse, path: str) -> httpx.Response:
    """A request on a new connection (so it is served with what is in force now)."""
    with http_client(g.base_url, http2=False, timeout=10) as c:
        return c.get(path)


def test_sighup_refuses_broken_files_and_applies_fixed_routes_without_dropping_long_polls(gatehouse, alice):
    g = gatehouse
    routes = _routes_file(g)
    original_routes, original_config = routes.read_text(), g.config.read_text()
    assert _status(g, PROBE).status_code == 404

    with http_client(g.base_url, http2=False) as c:
        since = _since(c, alice)
    target = f"{SYNC}?timeout=20000&since={since}"

    # Two long-polls on connections opened before any reload: raw HTTP/1.1 (the request is on the
    # wire before the first SIGHUP) and h2 (the connection is up before the first SIGHUP).
    raw = socket.create_connection(("127.0.0.1", g.port), timeout=90)
    h1 = client_tls(["http/1.1"]).wrap_socket(raw, server_hostname=SERVER_NAME)
    h1.sendall(f"GET {target} HTTP/1.1\r\nHost: {SERVER_NAME}\r\n"
               f"Authorization: {alice['Authorization']}\r\n\r\n".encode())
    h2 = http_client(g.base_url, http2=True, timeout=90)
    assert h2.get("/health").status_code == 200
    h2_result: dict = {}
    h2_thread = threading.Thread(target=lambda: h2_result.update(r=h2.get(target, headers=alice)))
    t0 = time.monotonic()
    h2_thread.start()

    try:
        # A route file that does not compile: refused with the reason, the old rules keep serving.
        routes.write_text("GET ^/x$ local no-such-service\n" + original_routes)
        line = _hangup_and_wait(g, "reload refused")
        assert "routes.files" in line and "no-such-service" in line, line
        assert _status(g, PROBE).status_code == 404
        assert _status(g, "/health").status_code == 200
        routes.write_text(original_routes)

        # A configuration that does not validate: refused, naming the key.
        broken = yaml.safe_load(original_config)
        broken.setdefault("log", {})["level"] = "loud"
        g.config.write_text(yaml.safe_dump(broken, sort_keys=False))
        line = _hangup_and_wait(g, "reload refused")
        assert "log.level" in line, line
        g.config.write_text(original_config)

        # Fixed: the new rules apply to new connections.
        routes.write_text(NEW_RULES + original_routes)
        _hangup_and_wait(g, "reloaded the configuration")
        assert _status(g, PROBE).status_code == 200
        denied = _status(g, DENIED)
        assert denied.status_code == 403 and denied.json()["errcode"] == "M_FORBIDDEN", denied.text
        with http_client(g.base_url, http2=True, timeout=10) as c:
            assert c.get(PROBE).status_code == 200

        # The long-polls opened before the reloads complete normally, after Synapse's timeout.
        buf = b""
        while True:
            response, _ = _parse_h1(buf)
            if response:
                break
            chunk = h1.recv(65536)
            assert chunk, f"the HTTP/1.1 long-poll's connection was closed: {buf[:300]!r}"
            buf += chunk
        assert response.status == 200, response.body[:300]
        assert b"next_batch" in response.body
        h2_thread.join(60)
        assert not h2_thread.is_alive(), "the h2 long-poll did not complete"
        assert h2_result["r"].status_code == 200 and "next_batch" in h2_result["r"].json(), h2_result["r"].text
        assert time.monotonic() - t0 >= 15, "the long-polls returned before Synapse's timeout"
    finally:
        h1.close()
        h2.close()
        routes.write_text(original_routes)
        g.config.write_text(original_config)
        _hangup_and_wait(g, "reloaded the configuration")
    assert _status(g, PROBE).status_code == 404


def test_sighup_serves_a_renewed_certificate_to_new_connections(workdir, synapse, secret_file, bulk):
    directory = workdir / "gatehouse-renewal"
    g = Gatehouse("renewal", directory, synapse_url=synapse.url, secret_file=secret_file, bulk_url=bulk.url)
    g.start()
    try:
        cfg = yaml.safe_load(g.config.read_text())
        tls = next(listener["tls"] for listener in cfg["http"]["listeners"] if listener.get("tls"))
        cert, key = (directory / tls["certificate_file"]), (directory / tls["key_file"])
        served = lambda: ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", g.port)))
        before = served()
        assert before == ssl.PEM_cert_to_DER_cert(cert.read_text())
        with http_client(g.base_url, http2=True) as opened_before:
            assert opened_before.get("/health").status_code == 200
            # A new pair, as a renewal would bring, written over the configured files.
            renewed = directory / "renewed"
            r = g.cli("config", "generate", "--output", str(renewed / "gatehouse.yaml"), "--server-name", SERVER_NAME)
            assert r.returncode == 0, r.stderr
            shutil.copyfile(renewed / "tls" / "cert.pem", cert)
            shutil.copyfile(renewed / "tls" / "key.pem", key)   # keeps the file's 0600
            _hangup_and_wait(g, "reloaded the configuration")
            after = served()
            assert after != before
            assert after == ssl.PEM_cert_to_DER_cert((renewed / "tls" / "cert.pem").read_text())
            assert opened_before.get("/health").status_code == 200
    finally:
        g.stop()


def _metrics(port: int) -> dict[str, float]:
    r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10, trust_env=False)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    values = {}
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            values[series] = float(value)
    return values


def _rule_label(routes_path, pattern: str) -> str:
    """The `rule` label of the rule with this pattern: the route file's name and the line."""
    for number, line in enumerate(routes_path.read_text().splitlines(), start=1):
        fields = line.split()
        if len(fields) >= 3 and not line.startswith("#") and fields[1] == pattern:
            return f"{routes_path.name}:{number}"
    raise AssertionError(f"no rule with pattern {pattern} in {routes_path}")


def test_metrics_count_requests_by_rule_and_status_and_login_outcomes(workdir, synapse, secret_file, bulk):
    metrics_port = free_port()
    directory = workdir / "gatehouse-metrics"
    g = Gatehouse("metrics", directory, synapse_url=synapse.url, secret_file=secret_file, bulk_url=bulk.url,
                  extra_config={"metrics": {"address": f"127.0.0.1:{metrics_port}"},
                                "server": {"pid_file": str(directory / "gatehouse.pid")}})
    assert g.check_result.returncode == 0, g.check_result.stderr
    password = "metrics test password 30"
    g.manage("register-user", "metrics-bob", "--password", password)
    g.start()
    try:
        login = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "metrics-bob"}}
        with http_client(g.base_url, http2=False) as c:
            assert c.post("/_matrix/client/v3/login", json={**login, "password": password}).status_code == 200
            assert c.post("/_matrix/client/v3/login", json={**login, "password": "wrong"}).status_code == 403
            assert c.get("/_matrix/client/versions").status_code == 200
        # Not on the public listener: no rule serves it there.
        assert _status(g, "/metrics").status_code == 404

        routes = _routes_file(g)
        versions = _rule_label(routes, "^/_matrix(/|$)")
        login_rule = _rule_label(routes, "^/_matrix/client/(api/v1|r0|v3|unstable)/login/?$")
        values = _metrics(metrics_port)
        key = 'gatehouse_http_requests_total{rule="%s",action="%s",status="%s"}'
        assert values.get(key % (versions, "proxy synapse", "2xx"), 0) >= 1, sorted(values)[:40]
        assert values.get(key % (login_rule, "local matrix-compat", "2xx")) == 1
        assert values.get(key % (login_rule, "local matrix-compat", "4xx")) == 1
        assert values.get('gatehouse_compat_logins_total{type="m.login.password",outcome="success"}') == 1
        assert values.get('gatehouse_compat_logins_total{type="m.login.password",outcome="invalid_credentials"}') == 1
        assert values.get('gatehouse_upstream_request_duration_seconds_count{upstream="synapse"}', 0) >= 1
        assert any(k.startswith("gatehouse_connections_active{") for k in values)
        assert not any("versions" in k or "/_matrix" in k for k in values), "a request path became a label"
        assert httpx.get(f"http://127.0.0.1:{metrics_port}/other", timeout=10, trust_env=False).status_code == 404

        # `gatehouse reload` finds the process through server.pid_file; counters survive the reload.
        before = _count(g, "reloaded the configuration")
        r = g.cli("reload", "-c", str(g.config))
        assert r.returncode == 0 and "sent SIGHUP" in r.stdout, r.stdout + r.stderr
        wait_until(lambda: _count(g, "reloaded the configuration") > before, 20, "the reload's log line")
        with http_client(g.base_url, http2=True) as c:
            assert c.get("/_matrix/client/versions").status_code == 200
        after = _metrics(metrics_port)
        assert after[key % (versions, "proxy synapse", "2xx")] >= values[key % (versions, "proxy synapse", "2xx")] + 1
    finally:
        g.stop()
    # The PID file goes with the process, and `reload` then says so instead of signalling.
    assert not (directory / "gatehouse.pid").exists()
    r = g.cli("reload", "-c", str(g.config))
    assert r.returncode != 0 and "gatehouse.pid" in r.stderr, r.stdout + r.stderr
