#!/usr/bin/env python3
"""Test-only stand-in for the token introspection service Synapse delegates auth to.

Stdlib only. Adapted from the synapse-peer `mas_stub.py`. Until Gatehouse answers
introspection itself, Synapse's `matrix_authentication_service.endpoint` points here.

Sub-commands:

  serve      Answer the two endpoints Synapse calls:
               GET  /.well-known/openid-configuration   (server metadata)
               POST /oauth2/introspect                   (RFC 7662, Bearer <shared secret>)
             plus GET /health (for readiness polling). Known tokens come from
             --token TOKEN=LOCALPART:DEVICE[:FLAGS] (repeatable); FLAGS is a comma list of
             admin (adds urn:synapse:admin:*), noapi (no C-S API scope), expired
             (expires_in: 0). Any other token is answered {"active": false}.
             Each request is appended as one JSON line to --log (if given).

  provision  Act as the auth service towards Synapse: POST /_synapse/mas/provision_user,
             then POST /_synapse/mas/upsert_device for each --device, with the secret.
             Exit 0 only if every call succeeded (200/201).

The shared secret is given with --secret-file FILE (first line) or --secret S.

Examples:
  introspection_standin.py serve --port 18080 --secret-file secret --token alicetoken=alice:DEV1
  introspection_standin.py provision --synapse http://127.0.0.1:18008 --secret-file secret \\
      --localpart alice --device DEV1
"""

import argparse
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_SCOPE = "urn:matrix:client:api:*"
DEVICE_SCOPE_PREFIX = "urn:matrix:client:device:"
ADMIN_SCOPE = "urn:synapse:admin:*"


def build_metadata(issuer: str) -> dict:
    """The fields Synapse requires (issuer, account_management_uri) plus the usual ones."""
    base = issuer.rstrip("/")
    return {
        "issuer": issuer,
        "account_management_uri": f"{base}/account/",
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/oauth2/token",
        "jwks_uri": f"{base}/oauth2/keys.json",
        "registration_endpoint": f"{base}/oauth2/registration",
        "introspection_endpoint": f"{base}/oauth2/introspect",
        "revocation_endpoint": f"{base}/oauth2/revoke",
        "scopes_supported": ["openid"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "create"],
    }


def parse_tokens(specs):
    """TOKEN=LOCALPART:DEVICE[:FLAGS] -> {token: (localpart, device or None, {flags})}."""
    tokens = {}
    for spec in specs:
        tok, sep, rest = spec.partition("=")
        if not sep or not tok or not rest:
            raise SystemExit(f"bad --token {spec!r} (want TOKEN=LOCALPART:DEVICE[:FLAGS])")
        parts = rest.split(":")
        device = parts[1] if len(parts) > 1 and parts[1] else None
        flags = set(parts[2].split(",")) if len(parts) > 2 and parts[2] else set()
        tokens[tok] = (parts[0], device, flags)
    return tokens


def read_secret(a) -> str:
    if a.secret_file:
        with open(a.secret_file, encoding="utf-8") as f:
            secret = f.readline().strip()
    else:
        secret = a.secret or ""
    if not secret:
        raise SystemExit("a shared secret is required (--secret-file or --secret)")
    return secret


def make_handler(secret: str, metadata: dict, tokens: dict, log_path: str, fail_with: int):
    log_lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        server_version = "introspection-standin/1"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write("standin: " + (fmt % args) + "\n")

        def _send(self, code: int, obj) -> None:
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self, body: bytes) -> None:
            if not log_path:
                return
            entry = {"ts": time.time(), "method": self.command, "path": self.path,
                     "headers": dict(self.headers.items()),
                     "body": body.decode("utf-8", "replace")}
            with log_lock, open(log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")

        def do_GET(self):
            self._record(b"")
            path = urllib.parse.urlsplit(self.path).path
            if path == "/.well-known/openid-configuration":
                self._send(200, metadata)
            elif path == "/health":
                self._send(200, {"ok": True})
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            self._record(body)
            if urllib.parse.urlsplit(self.path).path != "/oauth2/introspect":
                self._send(404, {"error": "not_found"})
                return
            if fail_with:
                self._send(fail_with, {"error": "server_error"})
                return
            if self.headers.get("Authorization", "") != f"Bearer {secret}":
                self._send(401, {"error": "access_denied"})
                return
            form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
            entry = tokens.get((form.get("token") or [""])[0])
            if entry is None:
                self._send(200, {"active": False})
                return
            localpart, device, flags = entry
            scope = [] if "noapi" in flags else [API_SCOPE]
            if device:
                scope.append(DEVICE_SCOPE_PREFIX + device)
            if "admin" in flags:
                scope.append(ADMIN_SCOPE)
            ttl = 0 if "expired" in flags else 300
            now = int(time.time())
            resp = {"active": True, "scope": " ".join(scope), "client_id": "standin-client",
                    "username": localpart, "sub": "01STANDIN" + localpart.upper(),
                    "token_type": "access_token", "iat": now, "nbf": now,
                    "exp": now + ttl, "expires_in": ttl}
            if device:
                resp["device_id"] = device
            self._send(200, resp)

    return Handler


def cmd_serve(a) -> None:
    issuer = a.issuer or f"http://{a.host}:{a.port}/"
    handler = make_handler(read_secret(a), build_metadata(issuer), parse_tokens(a.token or []),
                           a.log, a.fail_introspection_with)
    srv = ThreadingHTTPServer((a.host, a.port), handler)
    srv.daemon_threads = True
    sys.stderr.write(f"standin: listening on http://{a.host}:{srv.server_port}/ issuer={issuer}\n")
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


def call(base: str, secret: str, method: str, path: str, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {secret}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    # Loopback only: never go through a proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=30) as r:
            code, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        code, text = e.code, e.read().decode()
    print(f"> {method} {path} {json.dumps(body) if body is not None else ''}".rstrip())
    print(f"< {code} {text}")
    return code, text


def cmd_provision(a) -> None:
    secret = read_secret(a)
    body = {"localpart": a.localpart}
    if a.displayname:
        body["set_displayname"] = a.displayname
    code, _ = call(a.synapse, secret, "POST", "/_synapse/mas/provision_user", body)
    ok = code in (200, 201)
    for dev in a.device or []:
        code, _ = call(a.synapse, secret, "POST", "/_synapse/mas/upsert_device",
                       {"localpart": a.localpart, "device_id": dev})
        ok = ok and code in (200, 201)
    sys.exit(0 if ok else 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("serve", "provision"):
        sp = sub.add_parser(name)
        g = sp.add_mutually_exclusive_group(required=True)
        g.add_argument("--secret-file", help="file whose first line is the shared secret")
        g.add_argument("--secret", help="the shared secret (visible in ps; prefer --secret-file)")
        if name == "serve":
            sp.add_argument("--host", default="127.0.0.1")
            sp.add_argument("--port", type=int, default=18080)
            sp.add_argument("--issuer", help="default: http://HOST:PORT/")
            sp.add_argument("--log", default="", help="append each request as a JSON line here")
            sp.add_argument("--token", action="append", help="TOKEN=LOCALPART:DEVICE[:admin,noapi,expired]")
            sp.add_argument("--fail-introspection-with", type=int, default=0,
                            help="answer every introspection with this HTTP status")
            sp.set_defaults(func=cmd_serve)
        else:
            sp.add_argument("--synapse", required=True, help="Synapse base URL, e.g. http://127.0.0.1:18008")
            sp.add_argument("--localpart", required=True)
            sp.add_argument("--device", action="append")
            sp.add_argument("--displayname")
            sp.set_defaults(func=cmd_provision)
    a = p.parse_args()
    a.func(a)


if __name__ == "__main__":
    main()
