"""The abuse suite (issue 7, edge security): floods, clients that never read, idle and slow
connections, descriptor exhaustion, control characters in every identifier, conflicting hosts.

Each test bounds itself (sockets with timeouts, hard deadlines, everything closed in `finally`) and
checks that the process is still up, that another client is served (`GET /health` over HTTP/1.1
and a `GET /_matrix/client/versions` that reaches Synapse over h2) and, where a flood could make it
grow, that memory stayed bounded. Destructive scenarios get a Gatehouse instance of their own
(`edge` below), with lowered timeouts where that shortens the test; the request-level scenarios
(large headers, control characters, hosts) use the shared instance.

HTTP/2 is spoken by hand here (frames and HPACK through `hpack`), so that the tests can do what a
well-behaved client library refuses to: ignore a GOAWAY, never acknowledge SETTINGS, put any byte in
any header.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import json
import os
import select
import socket
import struct
import time
from pathlib import Path

import hpack
import httpx
import pytest

import harness
from harness import (ALICE_PASSWORD, SERVER_NAME, Gatehouse, RssSampler, client_tls, http_client,
                     raw_h1, wait_until)

MIB_KIB = 1024                 # RssSampler and rss_kib() count KiB
FLOOD_RSS_BOUND_KIB = 100 * MIB_KIB
CLOSE_AFTER_GOAWAY = 5.0       # s: an error GOAWAY is followed by the close within this
SLACK = 4.0                    # s: added to a configured timeout before it counts as missed


# --------------------------------------------------------------------------- instances
_instances = itertools.count()


@pytest.fixture
def edge(workdir, synapse, secret_file, bulk, gatehouse):
    """Dedicated Gatehouse instances: `edge(name, config=None, nofile=None)` starts one whose
    configuration has `config` merged in (section by section) and a 1 s shutdown grace, under
    RLIMIT_NOFILE `nofile` if given; all are stopped afterwards. (`gatehouse` is requested only so
    that Synapse's auth delegate is up.)"""
    made: list[Gatehouse] = []

    def make(name: str, config: dict | None = None, nofile: int | None = None) -> Gatehouse:
        extra: dict = {"timeouts": {"shutdown_grace": "1s"}}
        for section, values in (config or {}).items():
            extra.setdefault(section, {}).update(values)
        n = next(_instances)
        g = Gatehouse(f"abuse-{name}-{n}", workdir / f"gatehouse-abuse-{name}-{n}", synapse_url=synapse.url,
                      secret_file=secret_file, bulk_url=bulk.url, extra_config=extra)
        g.nofile = nofile
        made.append(g)
        g.start()
        return g

    yield make
    for g in made:
        g.stop()


def assert_served(g: Gatehouse, when: str) -> None:
    """The process is up and another client is served: /health over HTTP/1.1, and a proxied
    /_matrix/client/versions (answered by Synapse) over h2."""
    assert g.proc is not None and g.proc.poll() is None, \
        f"gatehouse[{g.name}] is not running {when} (exit code {g.proc.returncode if g.proc else None})"
    with http_client(g.base_url, http2=False, timeout=10) as c:
        r = c.get("/health")
        assert r.status_code == 200, f"{when}: GET /health over HTTP/1.1 -> {r.status_code} {r.text[:200]}"
    with http_client(g.base_url, http2=True, timeout=10) as c:
        r = c.get("/_matrix/client/versions")
        assert r.status_code == 200 and "versions" in r.json(), \
            f"{when}: GET /_matrix/client/versions over h2 -> {r.status_code} {r.text[:200]}"


def served(g: Gatehouse) -> bool:
    """assert_served as a condition for wait_until (short timeouts)."""
    with http_client(g.base_url, http2=False, timeout=5) as c:
        if c.get("/health").status_code != 200:
            return False
        return c.get("/_matrix/client/versions").status_code == 200


def internal_health(g: Gatehouse) -> bool:
    return httpx.get(g.internal_url + "/health", timeout=3, trust_env=False).status_code == 200


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def upstream_connections(pid: int, port: int) -> int:
    """Established TCP connections of process `pid` to 127.0.0.1:`port`."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if int(f[2].rsplit(":", 1)[1], 16) == port and f[3] == "01" and f[9] in inodes:
                count += 1
    return count


def matrix_error(body: bytes, what: str) -> dict:
    """The body must be a Matrix error: a JSON object with string `errcode` (M_...) and `error`."""
    try:
        doc = json.loads(body)
    except ValueError:
        pytest.fail(f"{what}: the body is not a Matrix JSON error: {body[:300]!r}")
    assert isinstance(doc, dict) and isinstance(doc.get("errcode"), str) and doc["errcode"].startswith("M_") \
        and isinstance(doc.get("error"), str), f"{what}: not a Matrix error: {body[:300]!r}"
    return doc


# --------------------------------------------------------------------------- raw HTTP/2
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
FLAG_END_STREAM, FLAG_ACK, FLAG_END_HEADERS, FLAG_PADDED, FLAG_PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
MAX_FRAME = 16384


def frame(ftype: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


@dataclasses.dataclass
class Stream:
    status: int | None = None
    headers: list = dataclasses.field(default_factory=list)
    body: bytearray = dataclasses.field(default_factory=bytearray)
    ended: bool = False
    reset: int | None = None          # RST_STREAM error code


class RawH2:
    """A client-side HTTP/2 connection over TLS that does only what it is told. It decodes every
    header block the server sends (to keep HPACK in step), records GOAWAY and the close, and
    acknowledges the server's SETTINGS when `auto_ack` (as any client would)."""

    def __init__(self, port: int, timeout: float = 10.0):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            self.sock = client_tls(["h2"]).wrap_socket(raw, server_hostname=SERVER_NAME)
        except BaseException:
            raw.close()
            raise
        assert self.sock.selected_alpn_protocol() == "h2", "server did not negotiate h2"
        self.port = port
        self.opened = time.monotonic()
        self.buf = bytearray()
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 24
        self.auto_ack = True
        self.streams: dict[int, Stream] = {}
        self.frames: list[tuple[int, int, int, int]] = []      # (type, flags, stream, length) received
        self.goaway: tuple[int, int, float] | None = None      # (last stream, error code, when)
        self.closed_at: float | None = None                    # EOF, reset or a failed send
        self.bytes_sent = 0
        self._block: tuple[int, bytearray, bool] | None = None  # header block being continued

    def __enter__(self) -> "RawH2":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    @property
    def eof(self) -> bool:
        return self.closed_at is not None

    # ---- sending
    def send(self, data: bytes, timeout: float = 5.0) -> bool:
        """False when the connection is closed (or the write could not finish within `timeout`)."""
        if self.eof:
            return False
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(data)
        except TimeoutError:      # the server stopped reading
            self.closed_at = self.closed_at or time.monotonic()
            return False
        except OSError:           # reset or closed (ssl.SSLError included)
            self.closed_while_sending()
            return False
        self.bytes_sent += len(data)
        return True

    def start(self, settings: bytes = b"") -> bytes:
        return PREFACE + frame(SETTINGS, 0, 0, settings)

    def header_frames(self, stream: int, fields, end_stream: bool = False) -> bytes:
        """HEADERS (+ CONTINUATION) frames for `fields` ((bytes, bytes) pairs), HPACK-encoded as is."""
        block = self.encoder.encode(fields)
        chunks = [block[i:i + MAX_FRAME] for i in range(0, len(block), MAX_FRAME)] or [b""]
        out = bytearray()
        for i, chunk in enumerate(chunks):
            flags = FLAG_END_HEADERS if i == len(chunks) - 1 else 0
            if i == 0:
                out += frame(HEADERS, flags | (FLAG_END_STREAM if end_stream else 0), stream, chunk)
            else:
                out += frame(CONTINUATION, flags, stream, chunk)
        return bytes(out)

    def request_fields(self, method: bytes, path: bytes, extra=(), authority: bytes | None = None) -> list:
        authority = authority if authority is not None else f"{SERVER_NAME}:{self.port}".encode()
        return [(b":method", method), (b":scheme", b"https"), (b":authority", authority), (b":path", path),
                *extra]

    def closed_while_sending(self) -> None:
        """A send failed because the server closed. What it wrote before closing (its GOAWAY) is
        still in our receive buffer, where a reset does not remove it: read it, as a client would."""
        if self.eof:
            return
        self.closed_at = time.monotonic()
        deadline = self.closed_at + 1.0
        self.sock.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            self.buf += chunk
            self._parse()

    # ---- receiving
    def pump(self, timeout: float) -> None:
        """Reads once if something arrives within `timeout`, and handles the complete frames."""
        if self.eof:
            return
        if not self.sock.pending():
            try:
                readable, _, _ = select.select([self.sock], [], [], max(timeout, 0))
            except (OSError, ValueError):
                readable = [self.sock]
            if not readable:
                return
        self.sock.settimeout(max(timeout, 0.5))
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return           # part of a TLS record: the rest comes later
        except OSError:      # reset, TLS alert...
            chunk = b""
        if not chunk:
            self.closed_at = time.monotonic()
            return
        self.buf += chunk
        self._parse()

    def _parse(self) -> None:
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[0:3], "big")
            if len(self.buf) < 9 + length:
                return
            ftype, flags = self.buf[3], self.buf[4]
            sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            payload = bytes(self.buf[9:9 + length])
            del self.buf[:9 + length]
            self.frames.append((ftype, flags, sid, length))
            self._handle(ftype, flags, sid, payload)

    def _handle(self, ftype: int, flags: int, sid: int, payload: bytes) -> None:
        if ftype == SETTINGS and not flags & FLAG_ACK and self.auto_ack:
            self.send(frame(SETTINGS, FLAG_ACK, 0))
        elif ftype == GOAWAY and self.goaway is None:
            last, code = struct.unpack(">II", payload[:8])
            self.goaway = (last & 0x7FFFFFFF, code, time.monotonic())
        elif ftype == RST_STREAM:
            self.streams.setdefault(sid, Stream()).reset = struct.unpack(">I", payload[:4])[0]
        elif ftype == DATA:
            s = self.streams.setdefault(sid, Stream())
            if flags & FLAG_PADDED:
                payload = payload[1:len(payload) - payload[0]]
            s.body += payload
            if flags & FLAG_END_STREAM:
                s.ended = True
            if payload:      # give the window back, so that long bodies keep coming
                inc = struct.pack(">I", len(payload))
                self.send(frame(WINDOW_UPDATE, 0, 0, inc) + frame(WINDOW_UPDATE, 0, sid, inc))
        elif ftype in (HEADERS, CONTINUATION):
            if ftype == HEADERS:
                if flags & FLAG_PADDED:
                    payload = payload[1:len(payload) - payload[0]]
                if flags & FLAG_PRIORITY:
                    payload = payload[5:]
                self._block = (sid, bytearray(payload), bool(flags & FLAG_END_STREAM))
            elif self._block is not None:
                self._block[1].extend(payload)
            if flags & FLAG_END_HEADERS and self._block is not None:
                block_sid, block, end_stream = self._block
                self._block = None
                fields = self.decoder.decode(bytes(block))
                s = self.streams.setdefault(block_sid, Stream())
                s.headers.extend(fields)
                for name, value in fields:
                    if name == ":status" and s.status is None:
                        s.status = int(value)
                s.ended = s.ended or end_stream

    def wait(self, condition, timeout: float) -> bool:
        """Pumps until `condition()` holds, the connection closes, or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.eof:
                return bool(condition())
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.pump(min(remaining, 0.5))
        return True

    def response(self, sid: int, timeout: float = 15.0) -> Stream:
        """Waits until stream `sid` ends or is reset, the server says GOAWAY without it, or the
        connection closes; raises TimeoutError after `timeout`."""
        def done() -> bool:
            s = self.streams.get(sid)
            if s is not None and (s.ended or s.reset is not None):
                return True
            return self.goaway is not None and self.goaway[0] < sid
        if not self.wait(done, timeout) and not self.eof:
            raise TimeoutError(f"no end of h2 stream {sid} within {timeout}s (goaway {self.goaway}, "
                               f"frames {self.frames[-10:]})")
        return self.streams.get(sid, Stream())

    def wait_closed(self, timeout: float) -> bool:
        """Reads (and drops) what comes until the server closes the connection."""
        return self.wait(lambda: self.eof, timeout)


def h2_outcome(g_port: int, fields_for, timeout: float = 15.0) -> tuple[Stream, RawH2]:
    """One request on a fresh connection; `fields_for(conn)` gives its header fields."""
    conn = RawH2(g_port)
    try:
        conn.send(conn.start())
        conn.send(conn.header_frames(1, fields_for(conn), end_stream=True))
        s = conn.response(1, timeout)
        if conn.goaway is not None and conn.goaway[1] != 0:
            conn.wait_closed(CLOSE_AFTER_GOAWAY)
        return s, conn
    finally:
        conn.close()


# --------------------------------------------------------------------------- 1, 2: HTTP/2 floods
def flood(conn: RawH2, batch: bytes, seconds: float) -> str:
    """Sends `batch` again and again for `seconds`, reading in between (only to notice a GOAWAY
    and the close); returns why it stopped: "closed", "stalled" (a write did not finish within
    2 s: the server stopped reading) or "time"."""
    deadline = time.monotonic() + seconds
    conn.sock.settimeout(2.0)
    while time.monotonic() < deadline:
        try:
            conn.sock.sendall(batch)
        except TimeoutError:
            return "stalled"
        except OSError:
            conn.closed_while_sending()
            return "closed"
        conn.bytes_sent += len(batch)
        conn.pump(0)
        if conn.eof:
            return "closed"
    return "time"


def test_h2_ping_flood_after_error_goaway(edge):
    """A connection error gets GOAWAY; a client that ignores it and floods PINGs is cut off
    (the connection closed), instead of having every PING read and answered into memory."""
    g = edge("ping-flood")
    assert_served(g, "before the flood")
    baseline = g.rss_kib()
    with RawH2(g.port) as conn, RssSampler(g) as rss:
        conn.send(conn.start())
        # WINDOW_UPDATE with an increment of 0 on the connection is a connection error (RFC 9113 §6.9).
        conn.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0)))
        assert conn.wait(lambda: conn.goaway is not None, 10), \
            f"no GOAWAY after a zero WINDOW_UPDATE on stream 0 (closed: {conn.eof}, frames {conn.frames})"
        last, code, goaway_at = conn.goaway
        assert code != 0, f"GOAWAY with NO_ERROR ({conn.goaway}) after a connection error"
        pings = frame(PING, 0, 0, b"flood!!!") * 4096          # 68 KiB of PINGs per write
        why = flood(conn, pings, 3.0)
        if not conn.eof:
            conn.wait_closed(max(0.0, goaway_at + CLOSE_AFTER_GOAWAY - time.monotonic()))
        sent_mib = conn.bytes_sent / 2**20
        assert conn.eof, (f"the connection is still open {time.monotonic() - goaway_at:.1f}s after GOAWAY "
                          f"(flood ended: {why}, {sent_mib:.1f} MiB sent, RSS +{(rss.peak_kib - baseline) // 1024} MiB)")
        assert conn.closed_at - goaway_at <= CLOSE_AFTER_GOAWAY, \
            f"closed only {conn.closed_at - goaway_at:.1f}s after GOAWAY ({sent_mib:.1f} MiB of PINGs sent)"
    growth = rss.peak_kib - baseline
    print(f"PING flood: GOAWAY {conn.goaway[:2]}, closed {conn.closed_at - goaway_at:.2f}s after it, "
          f"{sent_mib:.1f} MiB sent, ended: {why}, RSS +{growth // 1024} MiB")
    assert growth < FLOOD_RSS_BOUND_KIB, \
        f"RSS grew by {growth // 1024} MiB during the PING flood ({sent_mib:.1f} MiB sent, ended: {why})"
    assert_served(g, "after the PING flood")


def test_h2_continuation_flood(edge):
    """HEADERS without END_HEADERS followed by an endless run of CONTINUATION frames: GOAWAY, then
    the connection is closed, and memory stays bounded while the client keeps sending."""
    g = edge("continuation-flood")
    assert_served(g, "before the flood")
    baseline = g.rss_kib()
    value_len = MAX_FRAME - 64
    filler = hpack.Encoder().encode([hpack.NeverIndexedHeaderTuple("x-filler", "a" * value_len)], huffman=False)
    assert len(filler) <= MAX_FRAME
    with RawH2(g.port) as conn, RssSampler(g) as rss:
        head = conn.header_frames(1, conn.request_fields(b"GET", b"/_matrix/client/versions"))
        head = frame(HEADERS, 0, 1, head[9:])                  # the same block, without END_HEADERS
        conn.send(conn.start() + head)
        started = time.monotonic()
        why = flood(conn, frame(CONTINUATION, 0, 1, filler) * 4, 4.0)
        if not conn.eof:
            conn.wait_closed(max(0.0, (conn.goaway[2] if conn.goaway else started) + CLOSE_AFTER_GOAWAY
                                 - time.monotonic()))
        sent_mib = conn.bytes_sent / 2**20
        assert conn.goaway is not None and conn.goaway[1] != 0, \
            f"no error GOAWAY during the CONTINUATION flood (got {conn.goaway}; closed: {conn.eof}; ended: {why})"
        assert conn.eof, (f"the connection is still open {time.monotonic() - conn.goaway[2]:.1f}s after GOAWAY "
                          f"(flood ended: {why}, {sent_mib:.1f} MiB sent)")
        assert conn.closed_at - conn.goaway[2] <= CLOSE_AFTER_GOAWAY, \
            f"closed only {conn.closed_at - conn.goaway[2]:.1f}s after GOAWAY"
    growth = rss.peak_kib - baseline
    print(f"CONTINUATION flood: GOAWAY {conn.goaway[:2]} {conn.goaway[2] - started:.2f}s in, closed "
          f"{conn.closed_at - conn.goaway[2]:.2f}s after it, {sent_mib:.1f} MiB sent, ended: {why}, "
          f"RSS +{growth // 1024} MiB")
    assert growth < FLOOD_RSS_BOUND_KIB, \
        f"RSS grew by {growth // 1024} MiB during the CONTINUATION flood ({sent_mib:.1f} MiB sent, ended: {why})"
    assert_served(g, "after the CONTINUATION flood")


# --------------------------------------------------------------------------- 3: pipelining
@dataclasses.dataclass
class PipelineOutcome:
    sent: int
    ended: str                     # how sending stopped: "all sent", "closed", "stalled"
    closed_after: float | None     # s after sending stopped until the server closed; None: still open


TCP_ESTABLISHED = 1


def tcp_state(sock: socket.socket) -> int:
    """The kernel's TCP state of our end (tcpi_state): ESTABLISHED until the peer's FIN or RST."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]


def pipeline_without_reading(port: int, payload: bytes, close_within: float) -> PipelineOutcome:
    """Sends `payload` over TLS and never reads; then watches (still without reading) for up to
    `close_within` s whether the server closes the connection."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock = client_tls(["http/1.1"]).wrap_socket(raw, server_hostname=SERVER_NAME)
    try:
        sock.settimeout(3.0)
        sent, ended = 0, "all sent"
        step = 256 * 1024
        give_up = time.monotonic() + 20
        while sent < len(payload) and time.monotonic() < give_up:
            try:
                sock.sendall(payload[sent:sent + step])
            except TimeoutError:
                ended = "stalled"
                break
            except OSError:
                ended = "closed"
                break
            sent += step
        stopped = time.monotonic()
        while tcp_state(sock) == TCP_ESTABLISHED and time.monotonic() - stopped < close_within:
            time.sleep(0.1)        # polling the socket's state
        closed = ended == "closed" or tcp_state(sock) != TCP_ESTABLISHED
        return PipelineOutcome(min(sent, len(payload)), ended, time.monotonic() - stopped if closed else None)
    finally:
        sock.close()


def test_h1_pipelining_without_reading(edge):
    """6 MiB of pipelined requests from a client that never reads: memory stays bounded, the
    connection is closed (at most 32 requests wait behind the current one), nothing ratchets up over
    three rounds, and others are served throughout."""
    g = edge("pipeline")
    assert_served(g, "before pipelining")
    request = f"GET /health HTTP/1.1\r\nHost: {SERVER_NAME}:{g.port}\r\n\r\n".encode()
    payload = request * (6 * 2**20 // len(request))
    baseline = g.rss_kib()
    after = []
    for round_ in range(1, 4):
        not_served, slowest = [], 0.0
        with RssSampler(g) as rss:
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                future = pool.submit(pipeline_without_reading, g.port, payload, 25.0)
                # Others are served while the pipeline is pushed (the pusher gives up within ~50 s).
                while True:
                    asked = time.monotonic()
                    try:
                        assert_served(g, f"during pipelining round {round_}")
                    except (AssertionError, httpx.HTTPError) as e:
                        not_served.append(f"{e!r} after {time.monotonic() - asked:.1f}s")
                    slowest = max(slowest, time.monotonic() - asked)
                    try:
                        outcome = future.result(timeout=0.5)
                        break
                    except concurrent.futures.TimeoutError:
                        pass
        after.append(g.rss_kib())
        growth = rss.peak_kib - baseline
        print(f"pipelining round {round_}: {outcome}, RSS +{growth // 1024} MiB, slowest check of another "
              f"client {slowest:.1f}s, not served: {not_served}")
        assert outcome.closed_after is not None, (f"round {round_}: the server did not close the connection of "
                                                  f"a client that does not read ({outcome}); RSS +{growth // 1024} MiB")
        assert growth < FLOOD_RSS_BOUND_KIB, f"round {round_}: RSS grew by {growth // 1024} MiB ({outcome})"
        assert not not_served, f"round {round_}: other clients were not served during the pipelining: {not_served}"
        assert_served(g, f"after pipelining round {round_}")
    assert after[2] - after[0] < 32 * MIB_KIB, \
        f"RSS ratchets up over the rounds: {[a // 1024 for a in after]} MiB (baseline {baseline // 1024} MiB)"


# --------------------------------------------------------------------------- 4: idle h2
def test_idle_h2_connections_are_closed(edge):
    """50 h2 connections that send only the preface, SETTINGS and a PING every 0.5 s (PINGs are
    not activity): each gets GOAWAY and is closed within timeouts.idle + a few seconds."""
    idle = 2.0
    g = edge("idle-h2", {"timeouts": {"idle": "2s"}})
    conns: list[RawH2] = []
    checker = concurrent.futures.ThreadPoolExecutor(1)
    during = None
    try:
        for _ in range(50):
            c = RawH2(g.port)
            conns.append(c)
            c.send(c.start())
        deadline = conns[-1].opened + idle + SLACK + 2
        next_ping = time.monotonic()
        while time.monotonic() < deadline:
            live = [c for c in conns if not c.eof]
            if not live:
                break
            if time.monotonic() >= next_ping:
                for c in live:
                    c.send(frame(PING, 0, 0, b"keepme!!"))
                next_ping += 0.5
            by_sock = {c.sock: c for c in live if not c.eof}
            pending = [c for c in by_sock.values() if c.sock.pending()]
            if not pending and by_sock:
                readable, _, _ = select.select(list(by_sock), [], [], 0.1)
                pending = [by_sock[s] for s in readable]
            for c in pending:
                c.pump(0)
            if during is None and time.monotonic() > conns[0].opened + 1:
                # In another thread, so that this loop notices each GOAWAY and close when it happens.
                during = checker.submit(assert_served, g, "while 50 idle h2 connections are open")
        late = []
        for i, c in enumerate(conns):
            life = (c.closed_at - c.opened) if c.closed_at else None
            if c.goaway is None or life is None or life > idle + SLACK:
                late.append((i, "goaway" if c.goaway else "no goaway",
                             f"closed after {life:.1f}s" if life else "still open"))
        lives = [c.closed_at - c.opened for c in conns if c.closed_at]
        print(f"idle h2: {len(lives)} of 50 closed, after {min(lives, default=0):.1f}-{max(lives, default=0):.1f}s")
        assert not late, f"{len(late)} of 50 idle h2 connections not ended within {idle + SLACK}s: {late[:10]}"
        assert all(c.goaway[1] == 0 for c in conns), [c.goaway for c in conns if c.goaway[1] != 0][:5]
        assert during is not None
        during.result(timeout=30)
    finally:
        checker.shutdown(wait=True)
        for c in conns:
            c.close()
    assert_served(g, "after the idle h2 connections")


# --------------------------------------------------------------------------- 5: descriptors
@pytest.mark.parametrize("caps", ["default-caps", "no-caps"])
def test_descriptor_exhaustion(edge, caps):
    """400 idle TCP connections to an instance limited to 256 descriptors. With the default caps
    (derived from the limit) the excess is closed at accept; with the caps lifted the listener runs
    out of descriptors (EMFILE) and must pause accepting rather than spin. Either way the process
    stays up, the CPU is not spinning, and clients are served again once the idle connections are
    closed by the handshake timeout or by the client."""
    nofile = 256
    config = {"timeouts": {"header": "3s", "idle": "3s"}}
    if caps == "no-caps":
        config["limits"] = {"max_connections": 100000, "max_connections_per_address": 100000}
    g = edge(f"nofile-{caps}", config, nofile=nofile)
    assert_served(g, "before the connection flood")
    assert internal_health(g)
    held: list[socket.socket] = []
    try:
        for _ in range(400):
            held.append(socket.create_connection(("127.0.0.1", g.port), timeout=5))
        assert g.proc.poll() is None, f"gatehouse exited ({g.proc.returncode}) under 400 idle connections"
        if caps == "default-caps":
            # The internal listener (Synapse's way in) keeps its own room.
            wait_until(lambda: internal_health(g), 10, "the internal listener's /health while 400 connections are held")
        else:
            wait_until(lambda: "cannot accept connections" in g.stderr.read_text(errors="replace"), 10,
                       "the 'cannot accept connections' log line once descriptors run out")
        before, started = cpu_seconds(g.proc.pid), time.monotonic()
        time.sleep(2.0)      # the measurement window, not a wait for anything
        rate = (cpu_seconds(g.proc.pid) - before) / (time.monotonic() - started)
        print(f"{caps}: {rate:.2f} CPU-seconds per second while 400 idle connections are held")
        assert g.proc.poll() is None, f"gatehouse exited ({g.proc.returncode}) under 400 idle connections"
        # The accepted ones are closed by the handshake timeout (3 s): a new client gets in while the
        # client still holds all its sockets.
        wait_until(lambda: served(g), 20, "a new public client to be served while the idle connections are held")
    finally:
        for s in held:
            s.close()
    wait_until(lambda: internal_health(g), 15, "the internal listener's /health after the flood")
    wait_until(lambda: served(g), 15, "a public client after the idle connections are closed")
    assert_served(g, "after the connection flood")
    # Checked last, so that a failure here still shows whether the rest held.
    assert rate < 0.25, f"gatehouse uses {rate:.2f} CPU-seconds per second while 400 idle connections are held"


# --------------------------------------------------------------------------- 6: slow clients
SLOW_TIMEOUTS = {"timeouts": {"body": "2s", "body_total": "6s", "local_body": "3s"}}
LOCAL_BODY, BODY_TOTAL = 3.0, 6.0
SLOW_BODY = (b'{"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"}, '
             b'"password": "xxxxxxxxxxxxxxx"}')[:100].ljust(100)


class SlowH1:
    """An HTTP/1.1 request over TLS whose 100-byte body is sent one byte per `trickle()`."""

    def __init__(self, port: int, path: str):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock = client_tls(["http/1.1"]).wrap_socket(raw, server_hostname=SERVER_NAME)
        self.sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {SERVER_NAME}:{port}\r\n"
                           f"Content-Type: application/json\r\nContent-Length: {len(SLOW_BODY)}\r\n\r\n").encode())
        self.started = time.monotonic()
        self.sent = 0
        self.buf = b""
        self.response: harness.RawResponse | None = None
        self.answered_at: float | None = None
        self.eof = False

    def trickle(self) -> None:
        if self.response is None and not self.eof and self.sent < len(SLOW_BODY):
            try:
                self.sock.settimeout(2)
                self.sock.sendall(SLOW_BODY[self.sent:self.sent + 1])
                self.sent += 1
            except OSError:
                pass

    def pump(self) -> None:
        if self.response is not None or self.eof:
            return
        self.sock.settimeout(0.5)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.eof = True
            self.answered_at = time.monotonic()
            return
        self.buf += chunk
        response, _ = harness._parse_h1(self.buf)
        if response is not None:
            self.response = response
            self.answered_at = time.monotonic()

    @property
    def done(self) -> bool:
        return self.response is not None or self.eof

    def close(self) -> None:
        self.sock.close()


def drive_slow(requests: list, give_up: float, during=None) -> None:
    """Trickles one byte per second into every request and reads answers, until all are answered or
    `give_up` seconds passed; `during()` runs once, about 1.5 s in."""
    started = time.monotonic()
    next_byte = started + 1.0
    during_done = during is None
    while time.monotonic() - started < give_up and not all(r.done for r in requests):
        if time.monotonic() >= next_byte:
            for r in requests:
                r.trickle()
            next_byte += 1.0
        waiting = {r.sock: r for r in requests if not r.done}
        ready = [r for r in waiting.values() if r.sock.pending()]
        if not ready and waiting:
            readable, _, _ = select.select(list(waiting), [], [], 0.1)
            ready = [waiting[s] for s in readable]
        for r in ready:
            r.pump()
        if not during_done and time.monotonic() - started > 1.5:
            during()
            during_done = True


def slow_h2(port: int, path: str, give_up: float) -> tuple[Stream, float | None, RawH2]:
    """POST `path` over h2 with a 100-byte body sent one byte (one DATA frame) per second."""
    conn = RawH2(port)
    try:
        conn.send(conn.start() + conn.header_frames(1, conn.request_fields(b"POST", path.encode(), [
            (b"content-type", b"application/json"), (b"content-length", str(len(SLOW_BODY)).encode())])))
        started = time.monotonic()
        sent = 0

        def done() -> bool:
            s = conn.streams.get(1)
            return s is not None and (s.ended or s.reset is not None)
        while time.monotonic() - started < give_up and not done() and not conn.eof:
            if sent < len(SLOW_BODY):
                conn.send(frame(DATA, 0, 1, SLOW_BODY[sent:sent + 1]))
                sent += 1
            conn.wait(done, 1.0)
        answered = time.monotonic() - started if done() or conn.eof else None
        return conn.streams.get(1, Stream()), answered, conn
    finally:
        conn.close()


def test_slow_request_bodies_get_408(edge):
    """Bodies trickled one byte per second are cut with 408 (Matrix M_UNKNOWN): a local endpoint's
    after timeouts.local_body, a proxied one's after timeouts.body_total, over HTTP/1.1 and h2."""
    g = edge("slow", SLOW_TIMEOUTS)
    assert_served(g, "before the slow bodies")
    h1_local = SlowH1(g.port, "/_matrix/client/v3/login")
    h1_proxied = SlowH1(g.port, "/_matrix/client/v3/createRoom")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        h2_local = pool.submit(slow_h2, g.port, "/_matrix/client/v3/login", LOCAL_BODY + 15)
        h2_proxied = pool.submit(slow_h2, g.port, "/_matrix/client/v3/createRoom", BODY_TOTAL + 15)
        try:
            drive_slow([h1_local, h1_proxied], BODY_TOTAL + 15,
                       during=lambda: assert_served(g, "while slow bodies trickle in"))
        finally:
            h1_local.close()
            h1_proxied.close()
        h2_results = {"h2 login (local)": (h2_local.result(60), LOCAL_BODY),
                      "h2 createRoom (proxied)": (h2_proxied.result(60), BODY_TOTAL)}

    for name, r, limit in (("HTTP/1.1 login (local)", h1_local, LOCAL_BODY),
                           ("HTTP/1.1 createRoom (proxied)", h1_proxied, BODY_TOTAL)):
        took = (r.answered_at - r.started) if r.answered_at else None
        assert r.response is not None, f"{name}: no response (closed: {r.eof}, after {took}s, {r.sent} bytes sent)"
        assert r.response.status == 408, f"{name}: {r.response.status} {r.response.raw[:300]!r}"
        assert matrix_error(r.response.body, name)["errcode"] == "M_UNKNOWN"
        assert took <= limit + SLACK, f"{name}: 408 only after {took:.1f}s (limit {limit}s)"
    for name, ((stream, took, _), limit) in h2_results.items():
        assert took is not None, f"{name}: no answer (stream {stream})"
        assert took <= limit + SLACK, f"{name}: answered only after {took:.1f}s (limit {limit}s)"
        if stream.reset is None:
            assert stream.status == 408, f"{name}: {stream.status} {bytes(stream.body)[:300]!r}"
            assert matrix_error(bytes(stream.body), name)["errcode"] == "M_UNKNOWN"
    assert_served(g, "after the slow bodies")


def test_slow_proxied_bodies_hold_no_upstream_connections(edge, synapse):
    """50 proxied bodies trickled at once are gathered in Gatehouse (up to limits.proxy_request_buffer)
    before an upstream connection is taken: Synapse's connections stay free, a normal proxied request
    is answered meanwhile, and each slow one gets 408 after timeouts.body_total."""
    g = edge("slow-many", SLOW_TIMEOUTS)
    assert_served(g, "before the slow bodies")
    before = upstream_connections(g.proc.pid, synapse.port)
    slow = []
    seen: dict[str, object] = {}

    def during() -> None:
        seen["upstream"] = upstream_connections(g.proc.pid, synapse.port)
        with http_client(g.base_url, http2=False, timeout=5) as c:
            r = c.get("/_matrix/client/versions")
        seen["versions"] = r.status_code
        assert_served(g, "while 50 slow proxied bodies trickle in")

    try:
        for _ in range(50):
            slow.append(SlowH1(g.port, "/_matrix/client/v3/createRoom"))
        drive_slow(slow, BODY_TOTAL + 15, during=during)
        print(f"50 slow proxied bodies: Synapse connections before {before}, during {seen.get('upstream')}, "
              f"GET /_matrix/client/versions meanwhile: {seen.get('versions')}")
        assert seen.get("versions") == 200, f"GET /_matrix/client/versions during the slow bodies: {seen}"
        assert seen["upstream"] <= before + 5, \
            (f"{seen['upstream']} connections to Synapse while 50 bodies trickle in (before: {before}): "
             f"slow clients hold upstream connections")
        statuses = [r.response.status if r.response else ("closed" if r.eof else "no answer") for r in slow]
        assert all(s == 408 for s in statuses), f"slow proxied bodies got {statuses}"
        took = max(r.answered_at - r.started for r in slow)
        assert took <= BODY_TOTAL + SLACK, f"the last 408 came after {took:.1f}s (body_total {BODY_TOTAL}s)"
    finally:
        for r in slow:
            r.close()
    assert_served(g, "after the slow bodies")


# --------------------------------------------------------------------------- 7: early large headers
def filler_headers(kib: int) -> list:
    return [(f"x-filler-{i:03d}".encode(), b"a" * 1000) for i in range(kib)]


def test_h2_large_headers_before_settings_ack(gatehouse):
    """The first request, sent with the preface before the server's SETTINGS arrive, may use the
    64 KiB header list Gatehouse announces (not nghttp2's / NIO's 16 KiB default). The 40 KiB request
    goes to /health (local): Synapse (Twisted) itself refuses more than 16 KiB of headers."""
    with RawH2(gatehouse.port) as conn:
        conn.auto_ack = False
        conn.send(conn.start() + conn.header_frames(1, conn.request_fields(b"GET", b"/health", filler_headers(40)),
                                                     end_stream=True))
        s = conn.response(1, 15)
        assert conn.goaway is None, f"GOAWAY {conn.goaway} for a 40 KiB header list sent before SETTINGS ACK"
        assert s.reset is None and s.status == 200, f"40 KiB of headers: status {s.status}, reset {s.reset}"
        # The connection stays usable, for a request that reaches Synapse.
        conn.send(frame(SETTINGS, FLAG_ACK, 0))
        conn.auto_ack = True
        conn.send(conn.header_frames(3, conn.request_fields(b"GET", b"/_matrix/client/versions"), end_stream=True))
        s = conn.response(3, 15)
        assert s.status == 200 and b"versions" in s.body, (s.status, s.reset, bytes(s.body)[:200])

    with RawH2(gatehouse.port) as conn:
        conn.auto_ack = False
        conn.send(conn.start() + conn.header_frames(1, conn.request_fields(b"GET", b"/health", filler_headers(100)),
                                                     end_stream=True))
        s = conn.response(1, 15)
        print(f"100 KiB of headers: status {s.status}, reset {s.reset}, goaway {conn.goaway}, closed {conn.eof}")
        assert s.status != 200, "a 100 KiB header list (over the announced 64 KiB) was accepted"
        assert s.status == 431 or s.reset is not None or conn.goaway is not None or conn.eof, \
            f"100 KiB of headers: status {s.status}, reset {s.reset}, goaway {conn.goaway}"
        if conn.goaway is not None and conn.goaway[1] != 0:
            assert conn.wait_closed(CLOSE_AFTER_GOAWAY), \
                f"GOAWAY {conn.goaway} for 100 KiB of headers, but the connection stays open"
    assert_served(gatehouse, "after the large header lists")


# --------------------------------------------------------------------------- 8: control characters
def h1_request(port: int, target: bytes, headers: list[bytes] | None = None, host: bytes | None = None) -> bytes:
    host = host if host is not None else f"{SERVER_NAME}:{port}".encode()
    lines = [b"GET " + target + b" HTTP/1.1", b"Host: " + host, *(headers or [])]
    return b"\r\n".join(lines) + b"\r\n\r\n"


CONTROL_RAW = {"NUL": b"\x00", "SOH": b"\x01", "ESC": b"\x1b", "DEL": b"\x7f", "CR": b"\r", "LF": b"\n"}
CONTROL_ENCODED = ["%00", "%0A", "%0D", "%01", "%1F", "%7F"]
PROFILE = b"/_matrix/client/v3/profile/@alice%s:localhost"
WHOAMI = b"/_matrix/client/v3/account/whoami"

# (id, target, extra header lines, Host value or None) for HTTP/1.1, sent byte for byte.
H1_CASES = (
    [(f"path-raw-{n}", PROFILE.replace(b"%s", c + b"x"), [], None) for n, c in CONTROL_RAW.items()]
    + [(f"path-{e}-proxied", PROFILE.replace(b"%s", e.encode() + b"x"), [], None) for e in CONTROL_ENCODED]
    + [(f"path-{e}-local", b"/_matrix/client/v3/login" + e.encode(), [], None) for e in CONTROL_ENCODED]
    + [(f"path-{e}-health", b"/health" + e.encode(), [], None) for e in ("%00", "%0A", "%0D")]
    + [(f"query-raw-{n}", b"/_matrix/client/versions?x=a" + c + b"b", [], None)
       for n, c in CONTROL_RAW.items() if n != "LF"]
    + [(f"query-access_token-{v}", WHOAMI + b"?access_token=" + v.encode(), [], None)
       for v in ("%00", "mct_a%00b", "syt_a%0Ab", "mct_%0D%0AX-Injected:%201")]
    + [("query-sso-redirectUrl-%00",
        b"/_matrix/client/v3/login/sso/redirect?redirectUrl=https%3A%2F%2Fexample.org%2F%00x", [], None)]
    + [(f"authorization-{n}", WHOAMI, [b"Authorization: Bearer mct_a" + c + b"b"], None)
       for n, c in CONTROL_RAW.items() if n not in ("CR", "LF")]
    + [("authorization-syt-SOH", WHOAMI, [b"Authorization: Bearer syt_a\x01b"], None),
       ("header-NUL", b"/_matrix/client/versions", [b"X-Test: a\x00b"], None),
       ("header-SOH", b"/_matrix/client/versions", [b"X-Test: a\x01b"], None),
       ("header-DEL", b"/_matrix/client/versions", [b"X-Test: a\x7fb"], None),
       ("header-bare-CR", b"/_matrix/client/versions", [b"X-Test: a\rb"], None)]
    + [(f"host-{n}", b"/_matrix/client/versions", [], b"local" + c + b"host")
       for n, c in CONTROL_RAW.items() if n not in ("CR", "LF")]
)


@pytest.mark.parametrize("target,headers,host", [c[1:] for c in H1_CASES], ids=[c[0] for c in H1_CASES])
def test_control_characters_h1(gatehouse, target, headers, host):
    """HTTP/1.1: a control character (raw or percent-encoded) in the path, a query value, a token or
    the Host gets a 4xx Matrix error, never a 5xx, a success or a hang."""
    request = h1_request(gatehouse.port, target, headers, host)
    r = raw_h1(gatehouse.port, request, timeout=15, close_wait=0)
    what = f"{request[:160]!r} -> {r.status}"
    assert 400 <= r.status < 500, f"{what} {r.raw[:300]!r}"
    if b"/login/sso/redirect" in target:
        # Legacy SSO answers browsers: its refusals are the pages' HTML error page (as MAS's).
        assert b'id="error-title"' in r.body, what
    else:
        matrix_error(r.body, what)
    assert_served(gatehouse, f"after {request[:80]!r}")


# (id, :path, extra fields, :authority or None) for h2, HPACK-encoded as is.
H2_CASES = (
    [(f"path-raw-{n}", PROFILE.replace(b"%s", c + b"x"), [], None) for n, c in CONTROL_RAW.items()]
    + [(f"path-{e}", PROFILE.replace(b"%s", e.encode() + b"x"), [], None) for e in ("%00", "%0A", "%0D")]
    + [(f"path-{e}-local", b"/_matrix/client/v3/login" + e.encode(), [], None) for e in ("%00", "%0A", "%0D")]
    + [(f"query-raw-{n}", b"/_matrix/client/versions?x=a" + c + b"b", [], None) for n, c in CONTROL_RAW.items()]
    + [(f"query-access_token-{v}", WHOAMI + b"?access_token=" + v.encode(), [], None)
       for v in ("%00", "mct_a%00b", "syt_a%0Ab")]
    + [(f"authority-{n}", b"/_matrix/client/versions", [], b"local" + c + b"host")
       for n, c in CONTROL_RAW.items()]
    + [(f"host-{n}", b"/_matrix/client/versions", [(b"host", b"local" + c + b"host")], None)
       for n, c in CONTROL_RAW.items()]
    + [(f"authorization-{n}", WHOAMI, [(b"authorization", b"Bearer mct_a" + c + b"b")], None)
       for n, c in CONTROL_RAW.items()]
    + [("header-NUL", b"/_matrix/client/versions", [(b"x-test", b"a\x00b")], None),
       ("header-SOH", b"/_matrix/client/versions", [(b"x-test", b"a\x01b")], None),
       ("header-DEL", b"/_matrix/client/versions", [(b"x-test", b"a\x7fb")], None),
       ("header-CRLF-injection", b"/_matrix/client/versions", [(b"x-test", b"a\r\nx-injected: 1")], None)]
)


@pytest.mark.parametrize("path,extra,authority", [c[1:] for c in H2_CASES], ids=[c[0] for c in H2_CASES])
def test_control_characters_h2(gatehouse, path, extra, authority):
    """h2: the same identifiers, with bytes no h2 library would send. A 4xx Matrix error or a
    stream reset (a malformed request, RFC 9113 §8.1.1); a connection error must be followed by
    the close. Never a 5xx, a success or a hang."""
    s, conn = h2_outcome(gatehouse.port, lambda c: c.request_fields(b"GET", path, extra, authority))
    what = f":path {path!r} {extra!r} :authority {authority!r} -> status {s.status}, reset {s.reset}, goaway {conn.goaway}"
    if s.status is not None and s.reset is None:
        assert 400 <= s.status < 500, f"{what} {bytes(s.body)[:300]!r}"
        matrix_error(bytes(s.body), what)
    elif s.reset is None:
        assert conn.goaway is not None and conn.eof, f"{what}: no answer, and the connection was not closed"
    assert_served(gatehouse, f"after {what}")


LOGIN_FIELDS = ["identifier.user", "user", "device_id", "initial_device_display_name", "password"]


def login_body(field: str, char: str) -> dict:
    body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"},
            "password": ALICE_PASSWORD}
    if field == "identifier.user":
        body["identifier"]["user"] = f"alice{char}x"
    elif field == "user":
        del body["identifier"]
        body["user"] = f"alice{char}x"
    elif field == "password":
        body["password"] = f"{ALICE_PASSWORD}{char}x"
    elif field == "device_id":
        body["device_id"] = f"DEV{char}X"
    else:
        body[field] = f"Phone{char}X"
    return body


@pytest.mark.parametrize("char", ["\u0000", "\n"], ids=["NUL", "LF"])
@pytest.mark.parametrize("field", LOGIN_FIELDS)
def test_control_characters_in_login(gatehouse, client, field, char):
    """POST /login with a control character in one of its identifiers (the password being alice's
    correct one everywhere else): a 4xx Matrix error, never a login."""
    body = login_body(field, char)
    r = client.post("/_matrix/client/v3/login", json=body)
    what = f"login with {field} = {json.dumps(body)[:200]} over {client.expected_version} -> {r.status_code}"
    if r.status_code == 200:       # do not leave the accidental session behind
        client.post("/_matrix/client/v3/logout", headers={"Authorization": f"Bearer {r.json().get('access_token')}"})
    assert 400 <= r.status_code < 500, f"{what} {r.text[:300]}"
    matrix_error(r.content, what)
    assert_served(gatehouse, f"after {what}")


# --------------------------------------------------------------------------- 9: hosts
def test_h2_host_differing_from_authority(gatehouse):
    """`:authority` names this server, a `host` field another: 400, as two Hosts on HTTP/1.1."""
    s, conn = h2_outcome(gatehouse.port, lambda c: c.request_fields(
        b"GET", b"/_matrix/client/versions", [(b"host", b"evil.example")]))
    assert s.status == 400 and s.reset is None, f"status {s.status}, reset {s.reset}, goaway {conn.goaway}"
    matrix_error(bytes(s.body), ":authority vs host")
    # The same host spelt in another case is the same host.
    s, _ = h2_outcome(gatehouse.port, lambda c: c.request_fields(
        b"GET", b"/_matrix/client/versions", [(b"host", f"LOCALHOST:{gatehouse.port}".encode())]))
    assert s.status == 200, f"host equal to :authority but for case: status {s.status}, reset {s.reset}"
    assert_served(gatehouse, "after conflicting hosts over h2")


@pytest.mark.parametrize("request_bytes", [
    lambda port: (f"GET /_matrix/client/versions HTTP/1.1\r\nHost: localhost:{port}\r\n"
                  f"Host: evil.example\r\n\r\n").encode(),
    lambda port: (f"GET https://evil.example/_matrix/client/versions HTTP/1.1\r\n"
                  f"Host: localhost:{port}\r\n\r\n").encode(),
], ids=["two-hosts", "absolute-form-authority"])
def test_h1_conflicting_hosts(gatehouse, request_bytes):
    r = raw_h1(gatehouse.port, request_bytes(gatehouse.port), timeout=15)
    assert r.status == 400, r.raw[:300]
    matrix_error(r.body, "conflicting hosts over HTTP/1.1")
    assert_served(gatehouse, "after conflicting hosts over HTTP/1.1")
