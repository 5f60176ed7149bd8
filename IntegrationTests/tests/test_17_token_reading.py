"""The edge token check reads the access token exactly as Synapse does.

Synapse caches an introspection answer for 2 minutes, so a token that /refresh replaced stays
"active" there; only Gatehouse's edge check stops it. These tests make Synapse cache a token,
refresh it away, then send it in every spelling Synapse would still read (Twisted's query parsing:
names percent-decoded, `;` as a separator, bad escapes kept literally, the first of several values;
a form-encoded POST body, which Twisted adds to the query arguments) and expect each to be refused
before it reaches Synapse. Requests go byte for byte over TLS, HTTP/1.1 and h2, to a proxied route.
"""

from __future__ import annotations

import json

import pymacaroons
import pytest

from harness import SERVER_NAME, h2_request, http_client, raw_h1, wait_until

PASSWORD = "token reading password 17"
WHOAMI = "/_matrix/client/v3/account/whoami"
REFUSED = {"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"}


def login_and_refresh(gatehouse, name: str) -> tuple[str, str, dict]:
    """Logs `name` in on a fixed device with a refresh token, shows the access token to Synapse
    (so Synapse caches it as active), refreshes it away; returns (old, new, login body)."""
    gatehouse.manage("register-user", name, "--password", PASSWORD)
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.post("/_matrix/client/v3/login", json={
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": name},
            "password": PASSWORD, "device_id": "READDEV", "refresh_token": True})
        assert r.status_code == 200, r.text
        body = r.json()
        old = body["access_token"]
        r = c.get(WHOAMI, headers={"Authorization": f"Bearer {old}"})
        assert r.status_code == 200, f"Synapse must see (and cache) the token first: {r.text}"
        r = c.post("/_matrix/client/v3/refresh", json={"refresh_token": body["refresh_token"]})
        assert r.status_code == 200, r.text
        new = r.json()["access_token"]
        r = c.get(WHOAMI, headers={"Authorization": f"Bearer {old}"})
        assert r.status_code == 401, f"the plain spelling is refused already: {r.text}"
    return old, new, body


def h1(gatehouse, method: str, target: str, headers: list[tuple[str, str]] = (), body: bytes = b""):
    head = f"{method} {target} HTTP/1.1\r\nHost: {SERVER_NAME}:{gatehouse.port}\r\nConnection: close\r\n"
    for name, value in headers:
        head += f"{name}: {value}\r\n"
    if body or method == "POST":
        head += f"Content-Length: {len(body)}\r\n"
    r = raw_h1(gatehouse.port, head.encode("latin-1") + b"\r\n" + body, close_wait=0.01)
    return r.status, r.body


def h2(gatehouse, method: str, target: str, headers: list[tuple[str, str]] = (), body: bytes = b""):
    extra = [(name.lower(), value) for name, value in headers]
    if body:
        extra.append(("content-length", str(len(body))))
    r = h2_request(gatehouse.port, method, target, extra, body)
    return r.status, r.body


def query_variants(t: str) -> list[str]:
    """Spellings of `?access_token=t` that Synapse reads as the token t (or as its first value)."""
    return [
        f"access%5Ftoken={t}",
        f"access%5ftoken={t}",
        f"%61ccess_token={t}",
        f"%61%63%63%65%73%73%5F%74%6F%6B%65%6E={t}",
        f"access_token={t}&access_token={t}",
        f"access_token={t}&x=%zz",
        f"access_token={t}&x=%ff",
        f"x=%zz&access_token={t}",
        f"x=1;access_token={t}",
        f"x=1;access%5Ftoken={t}",
        f"access_token={t};x=1",
    ]


def refusal_problem(status: int, body: bytes) -> str | None:
    """None when this is the edge's 401 refusal, else what is wrong with it."""
    if status != 401:
        return f"{status} {body[:200]!r}"
    try:
        errcode = json.loads(body)["errcode"]
    except (ValueError, KeyError):
        return f"401 without a Matrix error: {body[:200]!r}"
    return None if errcode in REFUSED else f"401 {errcode}"


@pytest.mark.parametrize("send", [h1, h2], ids=["h1", "h2"])
def test_replaced_token_is_refused_in_every_spelling_synapse_reads(gatehouse, send):
    old, new, _ = login_and_refresh(gatehouse, f"token-reading-{send.__name__}")
    # Every variant is sent (within Synapse's 2-minute cache of `old`), then all problems reported.
    problems: list[str] = []

    def expect_refused(status: int, body: bytes, what: str) -> None:
        problem = refusal_problem(status, body)
        if problem:
            problems.append(f"{what}: {problem}")

    for query in query_variants(old):
        status, body = send(gatehouse, "GET", f"{WHOAMI}?{query}")
        expect_refused(status, body, f"GET ?{query}")
    # Header and query together, and two Authorization headers: Synapse refuses those too, and so
    # does Gatehouse, before forwarding.
    for headers, query in [
        ([("Authorization", f"Bearer {old}")], f"access_token={old}"),
        ([("Authorization", f"Bearer {new}")], f"access%5Ftoken={old}"),
        ([("Authorization", f"Bearer {new}"), ("Authorization", f"Bearer {old}")], ""),
        ([("Authorization", f"bearer {old}")], ""),
    ]:
        status, body = send(gatehouse, "GET", f"{WHOAMI}?{query}" if query else WHOAMI, headers)
        expect_refused(status, body, f"{headers} ?{query}")
    # A form-encoded POST body is read by Twisted into the same arguments, and wins over the query;
    # this one is valid JSON as well, so Synapse would serve it.
    form_json = json.dumps({"device_keys": {}, "x": f"&access_token={old}&"}).encode()
    status, body = send(gatehouse, "POST", "/_matrix/client/v3/keys/query",
                        [("Content-Type", "application/x-www-form-urlencoded")], form_json)
    expect_refused(status, body, "form-encoded POST body")
    assert not problems, "reached Synapse with the replaced token:\n" + "\n".join(problems)

    # The live token still works in the spellings clients use.
    for target, headers in [(WHOAMI, [("Authorization", f"Bearer {new}")]), (f"{WHOAMI}?access_token={new}", [])]:
        status, body = send(gatehouse, "GET", target, headers)
        assert status == 200, f"{target}: {status} {body!r}"
    status, body = send(gatehouse, "POST", "/_matrix/client/v3/keys/query",
                        [("Authorization", f"Bearer {new}"), ("Content-Type", "application/json")],
                        json.dumps({"device_keys": {}}).encode())
    assert status == 200, f"keys/query with the live token: {status} {body!r}"
    # The edge reads a form body whole: the live token in it works as Synapse reads it (the body is
    # valid JSON too, so Synapse serves it).
    form_json = json.dumps({"device_keys": {}, "x": f"&access_token={new}&"}).encode()
    status, body = send(gatehouse, "POST", "/_matrix/client/v3/keys/query",
                        [("Content-Type", "application/x-www-form-urlencoded")], form_json)
    assert status == 200, f"keys/query with the live token in a form body: {status} {body!r}"


@pytest.mark.parametrize("send", [h1, h2], ids=["h1", "h2"])
def test_one_click_unsubscribe_reaches_synapse(gatehouse, synapse, send):
    """A mail client's RFC 8058 one-click unsubscribe: a form-encoded POST (`List-Unsubscribe=One-Click`)
    to the link in Synapse's notification email, which carries Synapse's own delete-pusher macaroon in
    the query. It has no Authorization header, so the edge reads the body for a token before it lets
    it go; Synapse must get it and answer."""
    secret = (synapse.workdir / "macaroon_secret").read_text().strip().encode()
    macaroon = pymacaroons.Macaroon(location=SERVER_NAME, identifier="key", key=secret)
    for caveat in ["gen = 1", "type = delete_pusher", f"user_id = @unsubscriber:{SERVER_NAME}",
                   "app_id = m.email", "pushkey = unsubscriber@example.org"]:
        macaroon.add_first_party_caveat(caveat)
    target = (f"/_synapse/client/unsubscribe?access_token={macaroon.serialize()}"
              "&app_id=m.email&pushkey=unsubscriber%40example.org")
    status, body = send(gatehouse, "POST", target, [("Content-Type", "application/x-www-form-urlencoded")],
                        b"List-Unsubscribe=One-Click")
    assert status == 200 and b"You have been unsubscribed" in body, f"{status} {body[:300]!r}"


def test_access_log_redacts_tokens_in_every_spelling(gatehouse):
    """The access log reads query names the same way: no spelling of a credential is logged."""
    secret = "mct_neverlogged" + "x" * 20
    marker = "logcheck17"
    for query in [f"access%5Ftoken={secret}", f"x=1;access_token={secret}", f"loginToken={secret}",
                  f"%6Cogin_token={secret}", f"refresh_token={secret}"]:
        with http_client(gatehouse.base_url, http2=False) as c:
            c.get(f"/_matrix/client/versions?{marker}=1&{query}")

    def logged() -> list[str]:
        return [line for line in gatehouse.stdout.read_text(errors="replace").splitlines() if marker in line]
    lines = wait_until(lambda: (found := logged()) and len(found) >= 5 and found, 10, "access log lines")
    assert all(secret not in line for line in lines), lines
    assert all("[redacted]" in line for line in lines), lines
