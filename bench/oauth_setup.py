#!/usr/bin/env python3
"""Prepares the OAuth 2.0 scenarios of identity-bench.sh through Gatehouse's public interfaces only
(Python standard library): registers a public native client, signs in once on the login page, then
runs /authorize + consent N times with that browser session to collect N authorization codes (all
with one PKCE verifier), and exchanges a few of them for token pairs.

Usage: oauth_setup.py BASE_URL USERNAME PASSWORD CODES REFRESH_TOKENS OUT_DIR
Writes into OUT_DIR: client_id, verifier, redirect_uri, codes.txt (one unused code per line),
refresh.txt (REFRESH_TOKENS live refresh tokens, one per line), access_token (an OAuth access token
for the introspection scenario)."""
import base64
import hashlib
import http.client
import json
import re
import secrets
import sys
import time
import urllib.parse

base, username, password, n_codes, n_refresh, out = sys.argv[1:7]
n_codes, n_refresh = int(n_codes), int(n_refresh)
parsed = urllib.parse.urlsplit(base)
REDIRECT = "http://127.0.0.1:9/callback"  # never contacted: the code is read from the Location header
cookies: dict[str, str] = {}
conn = http.client.HTTPConnection(parsed.hostname, parsed.port)


def request(method, path, body=None, content_type=None):
    headers = {"Host": f"{parsed.hostname}:{parsed.port}"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if content_type:
        headers["Content-Type"] = content_type
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    for value in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = value.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    return response.status, response.headers, data


def form(method, path, fields):
    return request(method, path, urllib.parse.urlencode(fields), "application/x-www-form-urlencoded")


def csrf_of(page: bytes) -> str:
    for tag in re.findall(rb"<input[^>]*>", page):
        if b'name="csrf"' in tag:
            return re.search(rb'value="([^"]*)"', tag).group(1).decode()
    sys.exit(f"no csrf field in the page: {page[:300]!r}")


def expect(status, wanted, what, data=b""):
    if status not in wanted:
        sys.exit(f"{what}: HTTP {status} {data[:300]!r}")


status, _, data = request("POST", "/oauth2/registration", json.dumps({
    "application_type": "native", "client_name": "bench", "client_uri": "https://bench.example/",
    "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
    "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
}), "application/json")
expect(status, (200, 201), "registration", data)
client_id = json.loads(data)["client_id"]

status, _, page = request("GET", "/login")
expect(status, (200,), "login page", page)
status, _, data = form("POST", "/login", {"username": username, "password": password, "csrf": csrf_of(page)})
expect(status, (303,), "login", data)

verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def one_code() -> str:
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
        "scope": "openid urn:matrix:client:api:*", "state": secrets.token_hex(8),
        "code_challenge": challenge, "code_challenge_method": "S256",
    })
    status, headers, data = request("GET", "/authorize?" + query)
    expect(status, (302, 303), "authorize", data)
    consent = urllib.parse.urlsplit(headers["Location"]).path
    status, _, page = request("GET", consent)
    expect(status, (200,), "consent page", page)
    status, headers, data = form("POST", consent, {"action": "consent", "csrf": csrf_of(page)})
    expect(status, (302, 303), "consent", data)
    return urllib.parse.parse_qs(urllib.parse.urlsplit(headers["Location"]).query)["code"][0]


def exchange(code: str) -> dict:
    status, _, data = form("POST", "/oauth2/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier, "client_id": client_id,
    })
    expect(status, (200,), "code exchange", data)
    return json.loads(data)


started = time.monotonic()
codes = [one_code() for _ in range(n_codes + n_refresh + 1)]
print(f"oauth_setup: {len(codes)} codes in {time.monotonic() - started:.1f} s", file=sys.stderr)
pairs = [exchange(code) for code in codes[n_codes:]]
with open(f"{out}/client_id", "w") as f:
    f.write(client_id)
with open(f"{out}/verifier", "w") as f:
    f.write(verifier)
with open(f"{out}/redirect_uri", "w") as f:
    f.write(REDIRECT)
with open(f"{out}/codes.txt", "w") as f:
    f.write("\n".join(codes[:n_codes]) + "\n")
with open(f"{out}/refresh.txt", "w") as f:
    f.write("\n".join(pair["refresh_token"] for pair in pairs[1:]) + "\n")
with open(f"{out}/access_token", "w") as f:
    f.write(pairs[0]["access_token"])
