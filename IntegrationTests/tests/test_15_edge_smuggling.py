"""Request smuggling and framing, tested as an attacker would: what arrives at a raw-bytes origin
behind Gatehouse (not only what the client sees), for every method with every body framing, over
HTTP/1.1 and HTTP/2 through TLS; and the TRACE smuggling attempt against the real Synapse."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from harness import SERVER_NAME, free_port, h2_request, raw_h1, wait_until

SMUGGLED = b"GET /raw/smuggled HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"
METHODS = ["GET", "HEAD", "DELETE", "OPTIONS", "PUT", "POST", "PATCH", "PROPFIND"]


class RawOrigin:
    """A loopback HTTP/1.1 origin that parses what it receives itself, strictly, and records every
    request as it arrived. Each complete request is answered 200 "ok" and the connection kept open,
    so bytes smuggled in a body would be read (and recorded) as a request of their own."""

    def __init__(self):
        self.port = free_port()
        self.requests: list[dict] = []
        self.errors: list[str] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self):
        with self._lock:
            self.requests.clear()
            self.errors.clear()

    def close(self):
        self._stop = True
        self._thread.join(5)
        self._server.close()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self._server.accept()
            except socket.timeout:
                continue
            with self._lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int):
        buf = b""
        conn.settimeout(60)
        try:
            while not self._stop:
                try:
                    chunk = conn.recv(65536)
                except (socket.timeout, OSError):
                    return
                if not chunk:
                    return
                buf += chunk
                while True:
                    result = _parse_request(buf)
                    if result is None:
                        break
                    if isinstance(result, str):
                        with self._lock:
                            self.errors.append(f"{result}: {buf[:300]!r}")
                        return
                    request, consumed = result
                    request["connection"] = number
                    buf = buf[consumed:]
                    with self._lock:
                        self.requests.append(request)
                    body = b"" if request["method"] == "HEAD" else b"ok"
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\n" + body)
        finally:
            conn.close()


def _parse_request(buf: bytes):
    """(request, consumed) for a complete request, None when more bytes are needed, or an error string."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buf[:end].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] != b"HTTP/1.1":
        return "bad request line"
    headers = []
    length, chunked = None, False
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            return "bad header line"
        name, value = name.strip().lower(), value.strip()
        headers.append((name.decode(), value.decode("latin-1")))
        if name == b"content-length":
            if length is not None or not value.isdigit():
                return "bad content-length"
            length = int(value)
        if name == b"transfer-encoding":
            if value != b"chunked" or chunked:
                return "bad transfer-encoding"
            chunked = True
    if chunked and length is not None:
        return "content-length with chunked"
    pos, body = end + 4, b""
    if length is not None:
        if len(buf) < pos + length:
            return None
        body, pos = buf[pos:pos + length], pos + length
    elif chunked:
        while True:
            nl = buf.find(b"\r\n", pos)
            if nl < 0:
                return None
            try:
                size = int(buf[pos:nl], 16)
            except ValueError:
                return "bad chunk size"
            pos = nl + 2
            if size == 0:
                if len(buf) < pos + 2:
                    return None
                if buf[pos:pos + 2] != b"\r\n":
                    return "trailers or bad chunk end"
                pos += 2
                break
            if len(buf) < pos + size + 2:
                return None
            body += buf[pos:pos + size]
            if buf[pos + size:pos + size + 2] != b"\r\n":
                return "bad chunk end"
            pos += size + 2
    return {"method": parts[0].decode(), "target": parts[1].decode("latin-1"), "headers": headers,
            "body": body}, pos


@pytest.fixture(scope="module")
def raw_origin():
    origin = RawOrigin()
    yield origin
    origin.close()


@pytest.fixture(scope="module")
def edge(workdir, synapse, secret_file, bulk, raw_origin):
    """A Gatehouse with a `raw` upstream (the raw-bytes origin) routed at /raw before the Matrix rules."""
    from harness import Gatehouse
    g = Gatehouse("edge", workdir / "gatehouse-edge", synapse_url=synapse.url, secret_file=secret_file,
                  bulk_url=bulk.url, extra_config={"upstreams": {"raw": {"members": [raw_origin.url]}}})
    routes = g.dir / "matrix.routes"
    routes.write_text("*  ^/raw(/|$)  proxy raw\n\n" + routes.read_text())
    g.start()
    yield g
    g.stop()


def _framed(body: bytes, chunked: bool) -> tuple[str, bytes]:
    if chunked:
        return "Transfer-Encoding: chunked", b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    return f"Content-Length: {len(body)}", body


def _h1_exchange(port: int, requests: list[tuple[bytes, bool]]) -> list[bytes]:
    """Sends each request on one TLS connection, reading its response before the next; returns the
    raw responses (is_head tells that no body follows)."""
    import ssl as _ssl

    from harness import client_tls
    raw = socket.create_connection(("127.0.0.1", port), timeout=15)
    sock = client_tls(["http/1.1"]).wrap_socket(raw, server_hostname=SERVER_NAME)
    out = []
    try:
        buf = b""
        for request, is_head in requests:
            sock.sendall(request)
            while True:
                end = buf.find(b"\r\n\r\n")
                if end >= 0:
                    head = buf[:end].decode("latin-1")
                    length = 0
                    for line in head.split("\r\n")[1:]:
                        name, _, value = line.partition(":")
                        if name.strip().lower() == "content-length":
                            length = int(value)
                    if is_head:
                        length = 0
                    if len(buf) >= end + 4 + length:
                        out.append(buf[:end + 4 + length])
                        buf = buf[end + 4 + length:]
                        break
                try:
                    chunk = sock.recv(65536)
                except (ConnectionResetError, _ssl.SSLError):
                    chunk = b""
                if not chunk:
                    out.append(buf)
                    return out
                buf += chunk
    finally:
        sock.close()
    return out


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("method", METHODS)
def test_every_method_with_a_body_reaches_the_origin_as_one_request_h1(edge, raw_origin, method, chunked):
    raw_origin.reset()
    framing, body = _framed(SMUGGLED, chunked)
    first = f"{method} /raw/first HTTP/1.1\r\nHost: {SERVER_NAME}:{edge.port}\r\n{framing}\r\n\r\n".encode() + body
    second = f"GET /raw/second HTTP/1.1\r\nHost: {SERVER_NAME}:{edge.port}\r\n\r\n".encode()
    responses = _h1_exchange(edge.port, [(first, method == "HEAD"), (second, False)])
    assert [r.split(b" ", 2)[1] for r in responses] == [b"200", b"200"], responses
    wait_until(lambda: len(raw_origin.requests) >= 2, 5, "both requests at the origin")
    assert raw_origin.errors == []
    assert [r["target"] for r in raw_origin.requests] == ["/raw/first", "/raw/second"], \
        "exactly one upstream request per client request: nothing smuggled"
    assert raw_origin.requests[0]["method"] == method
    assert raw_origin.requests[0]["body"] == SMUGGLED, "the body arrives whole, as a body"


@pytest.mark.parametrize("method", METHODS)
def test_every_method_with_a_body_reaches_the_origin_as_one_request_h2(edge, raw_origin, method):
    raw_origin.reset()
    r = h2_request(edge.port, method, "/raw/first", body=SMUGGLED)
    if method in ("GET", "HEAD"):
        # HTTP/2 without content-length: a body on GET or HEAD is refused, never guessed at (and
        # never reaches the origin); on any other method it goes upstream chunked (DELETE carries
        # one in Matrix), and with content-length it is forwarded as such (below).
        assert r.status == 400, r
    else:
        assert r.status == 200, r
    r2 = h2_request(edge.port, method, "/raw/cl", headers=[("content-length", str(len(SMUGGLED)))], body=SMUGGLED)
    assert r2.status == 200, r2
    wait_until(lambda: any(x["target"] == "/raw/cl" for x in raw_origin.requests), 5, "the request at the origin")
    assert raw_origin.errors == []
    first = [x for x in raw_origin.requests if x["target"] == "/raw/first"]
    assert len(first) == (0 if r.status == 400 else 1), raw_origin.requests
    assert all(x["body"] == SMUGGLED and x["method"] == method for x in first), first
    assert all(x["target"] in ("/raw/first", "/raw/cl") for x in raw_origin.requests), raw_origin.requests
    cl = [x for x in raw_origin.requests if x["target"] == "/raw/cl"]
    assert len(cl) == 1 and cl[0]["method"] == method and cl[0]["body"] == SMUGGLED


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_trace_is_refused_and_never_reaches_the_origin(edge, raw_origin, chunked):
    raw_origin.reset()
    framing, body = _framed(SMUGGLED, chunked)
    r = raw_h1(edge.port, f"TRACE /raw/first HTTP/1.1\r\nHost: {SERVER_NAME}\r\n{framing}\r\n\r\n".encode() + body)
    assert r.status == 405, r.raw[:300]
    assert b"M_UNRECOGNIZED" in r.body
    assert r.closed
    h2 = h2_request(edge.port, "TRACE", "/raw/first")
    assert h2.status == 405
    time.sleep(0.3)
    assert raw_origin.requests == [] and raw_origin.errors == []


def test_trace_smuggling_does_not_reach_synapse_admin_api(gatehouse, synapse):
    """The original report: TRACE /_matrix/client/versions carrying a GET of the admin API."""
    inner = (b"GET /_synapse/admin/v1/server_version HTTP/1.1\r\nHost: localhost\r\n\r\n")
    r = raw_h1(gatehouse.port, (f"TRACE /_matrix/client/versions HTTP/1.1\r\nHost: {SERVER_NAME}\r\n"
                                f"Content-Length: {len(inner)}\r\n\r\n").encode() + inner)
    assert r.status == 405, r.raw[:300]
    assert r.closed
    log = synapse.log_path
    if log.exists():
        assert b"/_synapse/admin/v1/server_version" not in log.read_bytes(), "the inner request reached Synapse"


def test_query_bytes_clients_send_are_forwarded_as_sent(edge, raw_origin):
    """Raw JSON filters and UTF-8 in queries: nginx forwards them, so must Gatehouse (not 502)."""
    raw_origin.reset()
    targets = ['/raw/sync?filter={"room":{"timeline":{"limit":1}}}', "/raw/x?a=|\\^`&b=%zz"]
    for target in targets:
        r = raw_h1(edge.port, f"GET {target} HTTP/1.1\r\nHost: {SERVER_NAME}\r\n\r\n".encode())
        assert r.status == 200, (target, r.raw[:300])
    # HTTP/2 carries UTF-8 in :path; forwarded as sent. (HTTP/1.1's parser refuses raw non-ASCII in a
    # request line with a clear 400, never a 502.)
    utf8 = "/raw/x?name=caf\u00e9"
    assert h2_request(edge.port, "GET", utf8).status == 200
    assert raw_h1(edge.port, f"GET {utf8} HTTP/1.1\r\nHost: {SERVER_NAME}\r\n\r\n".encode()).status == 400
    wait_until(lambda: len(raw_origin.requests) >= len(targets) + 1, 5, "the requests at the origin")
    assert [x["target"].encode("latin-1") for x in raw_origin.requests] == [t.encode() for t in targets + [utf8]]


def test_raw_json_filter_reaches_synapse(gatehouse):
    """A /sync with a raw JSON filter reaches Synapse (its answer, not Gatehouse's 502)."""
    r = raw_h1(gatehouse.port, (f'GET /_matrix/client/v3/sync?filter={{"room":{{"timeline":{{"limit":1}}}}}}&timeout=0 '
                                f"HTTP/1.1\r\nHost: {SERVER_NAME}\r\nAuthorization: Bearer {gatehouse.alice_token}\r\n\r\n").encode())
    assert r.status == 200, r.raw[:400]
    assert b"next_batch" in r.body


# HTTP/2 header blocks that must never become an HTTP/1.1 request. NIO's own header block
# validation is off (Gatehouse's check of the block is the only one), so each is sent raw
# (validate=False) and what reaches the origin is looked at, not only the answer.
MALFORMED_H2_HEADERS = [
    pytest.param([("x-a", "1\r\nx-injected: yes")], id="crlf-in-value"),
    pytest.param([("x-a", "1\r\ntransfer-encoding: chunked")], id="crlf-te-in-value"),
    pytest.param([("x-a", "1\nx-injected: yes")], id="lf-in-value"),
    pytest.param([("x-a", "nul\x00byte")], id="nul-in-value"),
    pytest.param([("x-a:b", "1")], id="colon-in-name"),
    pytest.param([("x a", "1")], id="space-in-name"),
    pytest.param([("X-Upper", "1")], id="upper-case-name"),
    pytest.param([("transfer-encoding", "chunked")], id="transfer-encoding"),
    pytest.param([("connection", "close")], id="connection"),
    pytest.param([("upgrade", "websocket")], id="upgrade"),
    pytest.param([("te", "gzip")], id="te-not-trailers"),
    pytest.param([("accept", "*/*"), (":path", "/raw/other")], id="pseudo-after-regular"),
]


@pytest.mark.parametrize("headers", MALFORMED_H2_HEADERS)
def test_malformed_h2_header_blocks_never_reach_the_origin(edge, raw_origin, headers):
    raw_origin.reset()
    r = h2_request(edge.port, "POST", "/raw/h2bad", headers=headers, body=b"abc", validate=False)
    assert r.reset is not None or r.status == 400, (r.status, r.reset, r.body[:200])
    # The same connection's server still answers a good request, which shows what reached the origin.
    assert h2_request(edge.port, "GET", "/raw/h2good").status == 200
    wait_until(lambda: any(x["target"] == "/raw/h2good" for x in raw_origin.requests), 5, "the good request at the origin")
    assert raw_origin.errors == []
    assert [x["target"] for x in raw_origin.requests] == ["/raw/h2good"], raw_origin.requests
    for request in raw_origin.requests:
        names = [k.lower() for k, _ in request["headers"]]
        assert "x-injected" not in names and "x-a" not in names, request


def test_h2_bad_bytes_in_the_request_line_never_reach_the_origin(edge, raw_origin):
    raw_origin.reset()
    for path in ["/raw/a HTTP/1.1\r\nx-injected: yes\r\nx:", "/raw/a b", "http://evil.example/raw/a", "*"]:
        r = h2_request(edge.port, "GET", path, validate=False)
        assert r.reset is not None or r.status == 400, (path, r.status, r.reset)
    r = h2_request(edge.port, "GET", "/raw/a", headers=[], validate=False)
    assert r.status == 200
    time.sleep(0.3)
    assert [x["target"] for x in raw_origin.requests] == ["/raw/a"], raw_origin.requests
    assert raw_origin.errors == []


def test_one_host_only(edge, raw_origin):
    raw_origin.reset()
    two = raw_h1(edge.port, f"GET /raw/a HTTP/1.1\r\nHost: {SERVER_NAME}\r\nHost: evil.example\r\n\r\n".encode())
    assert two.status == 400 and two.closed
    absolute = raw_h1(edge.port, f"GET https://evil.example/raw/a HTTP/1.1\r\nHost: {SERVER_NAME}\r\n\r\n".encode())
    assert absolute.status == 400
    h2 = h2_request(edge.port, "GET", "/raw/a", headers=[("host", "evil.example")], validate=False)
    assert h2.status == 400, h2
    h2_same = h2_request(edge.port, "GET", "/raw/b", headers=[("host", f"{SERVER_NAME}:{edge.port}")], validate=False)
    assert h2_same.status == 200, h2_same
    time.sleep(0.3)
    assert [x["target"] for x in raw_origin.requests] == ["/raw/b"]
    hosts = [v for k, v in raw_origin.requests[0]["headers"] if k == "host"]
    assert hosts == [f"{SERVER_NAME}:{edge.port}"]


def test_health_takes_no_body(gatehouse):
    r = raw_h1(gatehouse.port, f"GET /health HTTP/1.1\r\nHost: {SERVER_NAME}\r\nContent-Length: 5\r\n\r\nhello".encode())
    assert r.status == 413, r.raw[:300]
    h2 = h2_request(gatehouse.port, "GET", "/health", body=b"x" * 16000)
    assert h2.status == 413 or h2.reset is not None, h2


def test_a_head_synapse_would_drop_gets_431_not_502(gatehouse):
    """Twisted drops a connection whose request head passes 16 KiB: Gatehouse says so up front."""
    big = "t" * (20 * 1024)
    r = raw_h1(gatehouse.port, (f"GET /_matrix/client/v3/account/whoami HTTP/1.1\r\nHost: {SERVER_NAME}\r\n"
                                f"Authorization: Bearer {big}\r\n\r\n").encode())
    assert r.status == 431, r.raw[:300]
    assert b"homeserver" in r.body
    ok = raw_h1(gatehouse.port, (f"GET /_matrix/client/v3/account/whoami HTTP/1.1\r\nHost: {SERVER_NAME}\r\n"
                                 f"Authorization: Bearer {gatehouse.alice_token}\r\nX-Pad: {'p' * 8192}\r\n\r\n").encode())
    assert ok.status == 200, ok.raw[:300]
