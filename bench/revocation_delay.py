#!/usr/bin/env python3
"""The measuring half of revocation-delay.sh (Python standard library only).

Usage: revocation_delay.py A_BASE B_BASE SECRET_FILE USER PASSWORD SAMPLES

Per sample: a password login through A; A is made to cache the token as active (a proxied request
through A's edge check and an introspection at A, as Synapse sends it, twice each); a logout through
B; then two threads poll A, one through the edge check (a proxied GET: 401 M_UNKNOWN_TOKEN once
refused) and one through introspection (`{"active": false}`), each on its own keep-alive connection.
A check's delay is when its first refusing request was sent, counted from B's answer. Prints p50,
p99 and max per check, and how many samples were refused only after 100 ms."""
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

a_base, b_base, secret_file, user, password, samples = sys.argv[1:7]
samples = int(samples)
secret = open(secret_file).read().strip()


def connect(base: str) -> http.client.HTTPConnection:
    parsed = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)


def call(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def edge_accepts(conn, token) -> bool:
    status, body = call(conn, "GET", "/_matrix/client/v3/account/whoami", headers=bearer(token))
    if status == 401:
        assert json.loads(body)["errcode"] == "M_UNKNOWN_TOKEN", body
        return False
    assert status == 200, (status, body)
    return True


def introspection_active(conn, token) -> bool:
    form = urllib.parse.urlencode({"token": token, "token_type_hint": "access_token"})
    status, body = call(conn, "POST", "/oauth2/introspect", body=form, headers={
        "Authorization": f"Bearer {secret}", "X-MAS-Supports-Device-Id": "1",
        "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, (status, body)
    return json.loads(body)["active"]


on_a, on_b = connect(a_base), connect(b_base)
pollers = {"edge": (connect(a_base), edge_accepts), "introspection": (connect(a_base), introspection_active)}
delays: dict[str, list[float]] = {name: [] for name in pollers}
for sample in range(samples):
    login = json.dumps({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
                        "password": password, "device_id": f"REVOKE{sample}"})
    status, body = call(on_a, "POST", "/_matrix/client/v3/login", body=login, headers={"Content-Type": "application/json"})
    assert status == 200, (status, body)
    token = json.loads(body)["access_token"]
    for name, (conn, accepts) in pollers.items():
        for _ in range(2):
            assert accepts(conn, token), f"A's {name} refuses a fresh token"
    status, body = call(on_b, "POST", "/_matrix/client/v3/logout", body="{}",
                        headers={**bearer(token), "Content-Type": "application/json"})
    assert status == 200, (status, body)
    logged_out = time.monotonic()
    refused: dict[str, float] = {}

    def poll(name):
        conn, accepts = pollers[name]
        while time.monotonic() - logged_out < 5:
            sent = time.monotonic() - logged_out
            if not accepts(conn, token):
                refused[name] = sent
                return

    threads = [threading.Thread(target=poll, args=(name,)) for name in pollers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name in pollers:
        if name not in refused:
            sys.exit(f"sample {sample}: A's {name} still accepts the token 5 s after B logged it out")
        delays[name].append(refused[name] * 1000)

print(f"{samples} tokens logged in through A and out through B; delay until A refuses, from B's answer:")
print()
print("| A's check | p50 | p99 | max | over 100 ms |")
print("| --- | --- | --- | --- | --- |")
for name, values in delays.items():
    values.sort()
    p99 = values[min(len(values) - 1, int(round(0.99 * (len(values) - 1))))]
    print(f"| {name} | {statistics.median(values):.2f} ms | {p99:.2f} ms | {values[-1]:.2f} ms | "
          f"{sum(v > 100 for v in values)} |")
