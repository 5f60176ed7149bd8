#!/usr/bin/env python3
"""Streaming test upstream `bulk` for Gatehouse's integration tests (stdlib only).

  POST /bulk/upload             reads the body as it streams (Content-Length or chunked),
                                answers {"bytes", "sha256", "chunked", "content_length"}
  GET  /bulk/download?size=N    streams N deterministic bytes (see pattern_chunks);
                                &chunked=1 sends them chunked instead of with Content-Length
  GET  /bulk/slow?seconds=S     answers {"slept": S} after S seconds
  GET  /bulk/echo...            answers {"method", "path", "headers"} (path exactly as received)
  GET  /bulk/stats              counters: uploads_started, slow_inflight, slow_started

Never holds a whole body in memory. Also importable: `pattern_chunks` is what the tests
use to compute the expected digest.
"""

import argparse
import hashlib
import json
import random
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 1 << 20
_BLOCK = random.Random(20251129).randbytes(CHUNK)


def pattern_chunks(size: int, chunk: int = CHUNK):
    """`size` deterministic bytes (a fixed random 1 MiB block, repeated), in pieces of at
    most `chunk` bytes; the byte stream is the same whatever `chunk` is (must divide 1 MiB)."""
    assert chunk <= CHUNK and CHUNK % chunk == 0
    off = 0
    while off < size:
        n = min(chunk, size - off)
        start = off % CHUNK
        yield _BLOCK[start:start + n]
        off += n


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counters = {"uploads_started": 0, "slow_inflight": 0, "slow_started": 0}

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counters[key] += n

    def snapshot(self) -> dict:
        with self.lock:
            return dict(self.counters)


STATS = Stats()


class Handler(BaseHTTPRequestHandler):
    server_version = "bulk-upstream/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("bulk: " + (fmt % args) + "\n")

    def _json(self, code: int, obj) -> None:
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body_pieces(self):
        """Yield the request body as it arrives, decoding chunked transfer coding."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass            # trailers
                    return
                left = size
                while left:
                    piece = self.rfile.read(min(left, CHUNK))
                    if not piece:
                        raise ConnectionError("body ended early")
                    left -= len(piece)
                    yield piece
                self.rfile.readline()   # CRLF after the chunk
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                piece = self.rfile.read(min(left, CHUNK))
                if not piece:
                    raise ConnectionError("body ended early")
                left -= len(piece)
                yield piece

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/bulk/upload":
            STATS.add("uploads_started")
            h, n = hashlib.sha256(), 0
            for piece in self._body_pieces():
                h.update(piece)
                n += len(piece)
            self._json(200, {"bytes": n, "sha256": h.hexdigest(),
                             "chunked": "chunked" in self.headers.get("Transfer-Encoding", "").lower(),
                             "content_length": self.headers.get("Content-Length")})
        elif path.startswith("/bulk/echo"):
            for _ in self._body_pieces():
                pass
            self._echo()
        else:
            self._json(404, {"error": "not found"})

    def _echo(self):
        self._json(200, {"method": self.command, "path": self.path,
                         "headers": [[k, v] for k, v in self.headers.items()]})

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/bulk/download":
            size = int(q.get("size", ["0"])[0])
            chunked = q.get("chunked", ["0"])[0] == "1"
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(size))
            self.end_headers()
            for piece in pattern_chunks(size):
                if chunked:
                    self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
                else:
                    self.wfile.write(piece)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/bulk/slow":
            seconds = float(q.get("seconds", ["1"])[0])
            STATS.add("slow_started")
            STATS.add("slow_inflight")
            try:
                time.sleep(seconds)
                self._json(200, {"slept": seconds})
            finally:
                STATS.add("slow_inflight", -1)
        elif url.path == "/bulk/stats":
            self._json(200, STATS.snapshot())
        elif url.path.startswith("/bulk/echo"):
            self._echo()
        else:
            self._json(404, {"error": "not found"})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    a = p.parse_args()
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    srv.daemon_threads = True
    sys.stderr.write(f"bulk: listening on http://{a.host}:{a.port}/\n")
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
