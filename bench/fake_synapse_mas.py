#!/usr/bin/env python3
"""A minimal stand-in for Synapse's /_synapse/mas/* API, for benchmarks only (the tests use a real
Synapse): every user exists, every device call succeeds. Usage: fake_synapse_mas.py PORT"""
import http.server
import json
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without TCP_NODELAY, Nagle and the client's delayed ACK
    # hold every answer ~40 ms (it capped the code-exchange scenario at ~100/s).
    disable_nagle_algorithm = True

    def _answer(self, status, body=b"{}"):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/_synapse/mas/query_user"):
            self._answer(200, json.dumps({"user_id": "@x:localhost", "display_name": None, "avatar_url": None,
                                          "is_suspended": False, "is_deactivated": False}).encode())
        else:
            self._answer(200)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._answer(204 if self.path.endswith("/delete_device") else 200, b"" if self.path.endswith("/delete_device") else b"{}")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
