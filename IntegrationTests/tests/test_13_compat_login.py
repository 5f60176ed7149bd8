"""The Matrix legacy login layer (/login, /logout, /refresh) with a real client, matrix-nio, and
with raw requests where the exact answer matters; Synapse asks Gatehouse about every token.

matrix-nio (0.26) speaks HTTP/1.1 only and has no refresh-token support, so /refresh and the
h2 checks use httpx. Synapse caches a valid introspection answer for 2 minutes and only drops
it early when the token's device is gone, so a token that was refreshed away or replaced on the
same device would keep working there; the tests show such tokens to Synapse first (so it has
cached them) and expect them to be refused at once all the same (Gatehouse checks its own
tokens before proxying).
"""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import quote

import httpx
import pytest
from nio import (AsyncClient, AsyncClientConfig, LoginError, LoginInfoResponse, LoginResponse,
                 LogoutResponse, RoomCreateResponse, RoomMessagesResponse, RoomMessageText,
                 RoomSendResponse, SyncResponse, WhoamiResponse)

from harness import SERVER_NAME, http_client

PASSWORD = "compat login password 13"
INVALID_CREDENTIALS = {"errcode": "M_FORBIDDEN", "error": "Invalid username/password"}


# --------------------------------------------------------------------------- helpers
def user_id(name: str) -> str:
    return f"@{name}:{SERVER_NAME}"


def register(g, name: str, password: str = PASSWORD) -> str:
    g.manage("register-user", name, "--password", password)
    return name


def password_login(c: httpx.Client, user: str, password: str = PASSWORD, path: str = "/_matrix/client/v3/login",
                   headers: dict | None = None, **extra) -> httpx.Response:
    body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
            "password": password, **extra}
    return c.post(path, json=body, headers=headers)


def logged_in(r: httpx.Response, user: str) -> dict:
    assert r.status_code == 200, f"{r.request.method} {r.request.url.raw_path!r}: {r.status_code} {r.text}"
    body = r.json()
    assert body["user_id"] == user_id(user), body
    assert body["access_token"] and body["device_id"], body
    return body


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def whoami(gatehouse, token: str) -> httpx.Response:
    with http_client(gatehouse.base_url, http2=False) as c:
        return c.get("/_matrix/client/v3/account/whoami", headers=bearer(token))


def assert_refused(r: httpx.Response) -> None:
    assert r.status_code == 401, f"{r.status_code} {r.text}"
    assert r.json()["errcode"] == "M_UNKNOWN_TOKEN", r.text


def assert_works(gatehouse, token: str, user: str, device: str | None = None) -> None:
    r = whoami(gatehouse, token)
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == user_id(user)
    if device is not None:
        assert r.json()["device_id"] == device


def introspect(gatehouse, secret: str, token: str) -> dict:
    """Gatehouse's own answer about a token, as Synapse asks for it."""
    r = httpx.post(f"{gatehouse.internal_url}/oauth2/introspect", trust_env=False, timeout=10,
                   headers={"Authorization": f"Bearer {secret}", "X-MAS-Supports-Device-Id": "1"},
                   data={"token": token, "token_type_hint": "access_token"})
    assert r.status_code == 200, r.text
    return r.json()


def nio_client(gatehouse, user: str = "", device_id: str = "") -> AsyncClient:
    """A matrix-nio client that accepts the self-signed certificate and reports 429s and
    time-outs instead of silently retrying them."""
    config = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, request_timeout=30)
    return AsyncClient(gatehouse.base_url, user, device_id=device_id, ssl=False, config=config)


def run_nio(gatehouse, scenario, user: str = "", device_id: str = ""):
    """Run `scenario(client)` with a fresh nio client, closed afterwards."""
    async def main():
        client = nio_client(gatehouse, user, device_id)
        try:
            return await scenario(client)
        finally:
            await client.close()
    return asyncio.run(main())


@pytest.fixture(scope="module")
def route_user(gatehouse):
    return register(gatehouse, "compat-routes")


# --------------------------------------------------------------------------- nio, end to end
def test_nio_login_sync_room_message_logout(gatehouse):
    name = register(gatehouse, "compat-nina")
    text = f"hello through gatehouse {secrets.token_hex(4)}"

    async def scenario(client: AsyncClient):
        login = await client.login(password=PASSWORD, device_name="nio integration test")
        assert isinstance(login, LoginResponse), login
        assert login.user_id == user_id(name)
        who = await client.whoami()
        assert isinstance(who, WhoamiResponse), who
        assert (who.user_id, who.device_id) == (user_id(name), login.device_id)

        first = await client.sync(timeout=0, full_state=True)
        assert isinstance(first, SyncResponse), first
        room = await client.room_create(name="compat login room")
        assert isinstance(room, RoomCreateResponse), room
        sent = await client.room_send(room.room_id, "m.room.message", {"msgtype": "m.text", "body": text})
        assert isinstance(sent, RoomSendResponse), sent

        # Read it back through /sync (long-poll until it shows up) and through /messages.
        since, seen = first.next_batch, []
        for _ in range(5):
            synced = await client.sync(timeout=10_000, since=since)
            assert isinstance(synced, SyncResponse), synced
            since = synced.next_batch
            joined = synced.rooms.join.get(room.room_id)
            seen += [e for e in (joined.timeline.events if joined else []) if isinstance(e, RoomMessageText)]
            if any(e.event_id == sent.event_id for e in seen):
                break
        assert [e.body for e in seen if e.event_id == sent.event_id] == [text]
        history = await client.room_messages(room.room_id, limit=20)
        assert isinstance(history, RoomMessagesResponse), history
        assert [e.body for e in history.chunk if isinstance(e, RoomMessageText)] == [text]

        token = client.access_token
        out = await client.logout()
        assert isinstance(out, LogoutResponse), out
        return token

    token = run_nio(gatehouse, scenario, name)
    # Logout deletes the device in Synapse before answering: refused at once, cache or not.
    assert_refused(whoami(gatehouse, token))


def test_nio_login_info_lists_password_and_token(gatehouse):
    async def scenario(client: AsyncClient):
        return await client.login_info()
    info = run_nio(gatehouse, scenario)
    assert isinstance(info, LoginInfoResponse), info
    assert {"m.login.password", "m.login.token"} <= set(info.flows), info.flows


# --------------------------------------------------------------------------- HTTP/1.1 and h2
def test_get_login_lists_flows(client):
    r = client.get("/_matrix/client/v3/login")
    assert r.http_version == client.expected_version
    assert r.status_code == 200, r.text
    flows = r.json()["flows"]
    assert [f["type"] for f in flows] == ["m.login.password", "m.login.sso", "m.login.token"], flows
    assert flows[1] == {"type": "m.login.sso", "oauth_aware_preferred": True,
                        "org.matrix.msc3824.delegated_oidc_compatibility": True}, flows


def test_password_login_whoami_logout(client, gatehouse):
    name = f"compat-{client.expected_version.replace('/', '').replace('.', '').lower()}"
    register(gatehouse, name)
    r = password_login(client, name, initial_device_display_name="raw client")
    assert r.http_version == client.expected_version
    body = logged_in(r, name)
    assert "refresh_token" not in body and "expires_in_ms" not in body, body
    r = client.get("/_matrix/client/v3/account/whoami", headers=bearer(body["access_token"]))
    assert r.status_code == 200, r.text
    assert r.json()["device_id"] == body["device_id"]
    r = client.post("/_matrix/client/v3/logout", headers=bearer(body["access_token"]), json={})
    assert r.http_version == client.expected_version
    assert r.status_code == 200 and r.json() == {}, r.text
    assert_refused(client.get("/_matrix/client/v3/account/whoami", headers=bearer(body["access_token"])))


# --------------------------------------------------------------------------- refresh tokens
def test_refresh_chain(gatehouse, secret, h1):
    """Three refreshes in a row: each new access token works, each old access token is dead at
    once, although Synapse has cached it as valid; replaying a used refresh token then ends the
    whole session (RFC 9700 §4.14.2; the lost-response case is in test_16)."""
    name = register(gatehouse, "compat-refresh")
    body = logged_in(password_login(h1, name, refresh_token=True), name)
    assert isinstance(body["expires_in_ms"], int) and body["expires_in_ms"] > 0, body
    assert body["refresh_token"], body
    device = body["device_id"]
    assert_works(gatehouse, body["access_token"], name, device)
    old = body
    for hop in range(3):
        r = h1.post("/_matrix/client/v3/refresh", json={"refresh_token": old["refresh_token"]})
        assert r.status_code == 200, f"hop {hop}: {r.text}"
        new = r.json()
        assert new["access_token"] not in (old["access_token"], old["refresh_token"])
        assert new["refresh_token"] and new["refresh_token"] != old["refresh_token"]
        assert isinstance(new["expires_in_ms"], int) and new["expires_in_ms"] > 0, new
        assert_works(gatehouse, new["access_token"], name, device)
        assert introspect(gatehouse, secret, old["access_token"]) == {"active": False}, f"hop {hop}"
        assert_refused(whoami(gatehouse, old["access_token"]))
        old = new
    assert_refused(h1.post("/_matrix/client/v3/refresh", json={"refresh_token": body["refresh_token"]}))
    assert_refused(whoami(gatehouse, old["access_token"]))
    assert_refused(h1.post("/_matrix/client/v3/refresh", json={"refresh_token": old["refresh_token"]}))


def test_refreshed_away_token_is_refused_by_synapse(gatehouse, h1):
    """A token Synapse has never seen is refused as well once it has been refreshed away."""
    name = register(gatehouse, "compat-refresh2")
    first = logged_in(password_login(h1, name, refresh_token=True), name)
    r = h1.post("/_matrix/client/v3/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert_refused(whoami(gatehouse, first["access_token"]))
    assert_works(gatehouse, second["access_token"], name, first["device_id"])
    # A refresh token is not an access token, and an access token is not a refresh token.
    assert_refused(whoami(gatehouse, second["refresh_token"]))
    assert_refused(h1.post("/_matrix/client/v3/refresh", json={"refresh_token": second["access_token"]}))


# --------------------------------------------------------------------------- devices
def test_second_login_on_the_same_device_kills_the_first_token(gatehouse, secret, h1):
    name = register(gatehouse, "compat-samedev")
    first = logged_in(password_login(h1, name, device_id="SAMEDEV"), name)
    assert first["device_id"] == "SAMEDEV"
    # Synapse now caches the first token as valid for 2 minutes, and the device stays.
    assert_works(gatehouse, first["access_token"], name, "SAMEDEV")

    async def scenario(client: AsyncClient):
        return await client.login(password=PASSWORD, device_name="second login")
    second = run_nio(gatehouse, scenario, name, "SAMEDEV")
    assert isinstance(second, LoginResponse), second
    assert second.device_id == "SAMEDEV"
    assert second.access_token != first["access_token"]
    assert_refused(whoami(gatehouse, first["access_token"]))
    assert introspect(gatehouse, secret, first["access_token"]) == {"active": False}
    assert_works(gatehouse, second.access_token, name, "SAMEDEV")


# --------------------------------------------------------------------------- refusals
def test_locked_deactivated_and_unknown_users(gatehouse, h1):
    locked = register(gatehouse, "compat-locked")
    gone = register(gatehouse, "compat-gone")
    gatehouse.manage("lock-user", locked)
    gatehouse.manage("deactivate-user", gone)

    r = password_login(h1, locked)
    assert r.status_code == 401, r.text
    assert r.json()["errcode"] == "M_USER_LOCKED", r.text

    async def scenario(client: AsyncClient):
        return await client.login(password=PASSWORD)
    nio_answer = run_nio(gatehouse, scenario, locked)
    assert isinstance(nio_answer, LoginError) and nio_answer.status_code == "M_USER_LOCKED", nio_answer

    deactivated = password_login(h1, gone)
    unknown = password_login(h1, "compat-nobody-at-all")
    unknown_full_id = password_login(h1, user_id("compat-nobody-at-all"))
    for r in (deactivated, unknown, unknown_full_id):
        assert r.status_code == 403, r.text
        assert r.json() == INVALID_CREDENTIALS, r.text
    assert deactivated.content == unknown.content == unknown_full_id.content
    assert deactivated.headers["content-type"] == unknown.headers["content-type"]


def test_wrong_password_gets_the_same_answer_as_an_unknown_user(gatehouse, h1):
    name = register(gatehouse, "compat-wrongpw")
    wrong = password_login(h1, name, "not the password")
    unknown = password_login(h1, "compat-nobody-either")
    assert wrong.status_code == unknown.status_code == 403
    assert wrong.content == unknown.content and wrong.json() == INVALID_CREDENTIALS


def test_bad_passwords_hit_the_default_per_address_limit(gatehouse_factory):
    """MAS's default: 3 attempts per client address at once, then one every 20 s."""
    g = gatehouse_factory("limits")
    name = register(g, "compat-limited")
    g.start()
    with http_client(g.base_url, http2=False) as c:
        for attempt in range(3):
            r = password_login(c, name, "wrong password")
            assert r.status_code == 403 and r.json() == INVALID_CREDENTIALS, f"attempt {attempt + 1}: {r.text}"
        r = password_login(c, name, "wrong password")
        assert r.status_code == 429, r.text
        body = r.json()
        assert body["errcode"] == "M_LIMIT_EXCEEDED", body
        retry = body.get("retry_after_ms")
        assert type(retry) is int and 0 < retry <= 20_000, body
        # Limited before the password is looked at: the right one is refused as well.
        r = password_login(c, name)
        assert r.status_code == 429 and r.json()["errcode"] == "M_LIMIT_EXCEEDED", r.text
        # 127.0.0.1 is a trusted proxy in the generated config: the client named in
        # X-Forwarded-For has an allowance of its own.
        r = password_login(c, name, headers={"X-Forwarded-For": "203.0.113.7"})
        logged_in(r, name)


# --------------------------------------------------------------------------- m.login.token
def test_login_token_works_once(gatehouse, h1):
    name = register(gatehouse, "compat-logintoken")
    token = gatehouse.manage("issue-login-token", name).stdout.strip().splitlines()[-1]
    assert token

    async def scenario(client: AsyncClient):
        return await client.login(token=token, device_name="token login")
    login = run_nio(gatehouse, scenario)
    assert isinstance(login, LoginResponse), login
    assert login.user_id == user_id(name)
    assert_works(gatehouse, login.access_token, name, login.device_id)

    replay = h1.post("/_matrix/client/v3/login", json={"type": "m.login.token", "token": token})
    assert replay.status_code == 403, replay.text
    assert replay.json()["errcode"] == "M_FORBIDDEN", replay.text
    garbage = h1.post("/_matrix/client/v3/login", json={"type": "m.login.token", "token": "not-a-token"})
    assert garbage.status_code == 403 and garbage.json()["errcode"] == "M_FORBIDDEN", garbage.text


# --------------------------------------------------------------------------- routing
@pytest.mark.parametrize("path", [
    "/_matrix/client/v3/login", "/_matrix/client/r0/login",
    "/_matrix/client/v3/login/", "/_matrix/client/r0/login/",
    "/_matrix/client/api/v1/login", "/_matrix/client/unstable/login",
])
def test_login_route_variants(gatehouse, h1, route_user, path):
    body = logged_in(password_login(h1, route_user, path=path), route_user)
    assert_works(gatehouse, body["access_token"], route_user, body["device_id"])


@pytest.mark.parametrize("path", [
    "/_matrix/client/v3/logout", "/_matrix/client/r0/logout",
    "/_matrix/client/v3/logout/", "/_matrix/client/r0/logout/",
])
def test_logout_route_variants(gatehouse, h1, route_user, path):
    body = logged_in(password_login(h1, route_user), route_user)
    assert_works(gatehouse, body["access_token"], route_user)
    r = h1.post(path, headers=bearer(body["access_token"]), json={})
    assert r.status_code == 200 and r.json() == {}, f"{path}: {r.status_code} {r.text}"
    assert_refused(whoami(gatehouse, body["access_token"]))


@pytest.mark.parametrize("path", [
    "/_matrix/client/v3/refresh", "/_matrix/client/r0/refresh",
    "/_matrix/client/v1/refresh", "/_matrix/client/v3/refresh/",
])
def test_refresh_route_variants(gatehouse, h1, route_user, path):
    body = logged_in(password_login(h1, route_user, refresh_token=True), route_user)
    r = h1.post(path, json={"refresh_token": body["refresh_token"]})
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
    assert_works(gatehouse, r.json()["access_token"], route_user, body["device_id"])


@pytest.mark.parametrize("version", ["v3", "r0"])
def test_logout_all(gatehouse, h1, version):
    name = register(gatehouse, f"compat-logoutall-{version}")
    tokens = [logged_in(password_login(h1, name), name)["access_token"] for _ in range(2)]
    path = f"/_matrix/client/{version}/logout/all"
    # Without the opt-in, MAS (and Gatehouse) refuse: other, non-compat sessions would survive.
    r = h1.post(path, headers=bearer(tokens[0]), json={})
    assert r.status_code == 404 and r.json()["errcode"] == "M_UNRECOGNIZED", r.text
    assert r.json() != {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}, "Synapse's answer, not ours"
    assert_works(gatehouse, tokens[1], name)
    r = h1.post(path, headers=bearer(tokens[0]), json={"io.element.only_compat_is_fine": True})
    assert r.status_code == 200 and r.json() == {}, r.text
    for t in tokens:
        assert_refused(whoami(gatehouse, t))


def test_sso_redirect_is_answered_by_gatehouse(h1, gatehouse):
    r = h1.get("/_matrix/client/v3/login/sso/redirect", params={"redirectUrl": "https://example.org/"})
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith(gatehouse.base_url + "/complete-compat-sso/"), r.headers["location"]
    # A redirectUrl with user info is refused with the pages' error page, never redirected.
    r = h1.get("/_matrix/client/v3/login/sso/redirect", params={"redirectUrl": "https://user@example.org/"})
    assert r.status_code == 400 and "location" not in r.headers, r.text
    assert 'id="error-title"' in r.text


@pytest.mark.parametrize("state_key", ["login", "logout", "refresh"])
def test_state_key_named_like_a_compat_route_goes_to_synapse(gatehouse, h1, alice, state_key):
    r = h1.post("/_matrix/client/v3/createRoom", headers=alice, json={"name": "before"})
    assert r.status_code == 200, r.text
    room = quote(r.json()["room_id"], safe="")
    path = f"/_matrix/client/v3/rooms/{room}/state/m.room.name/{state_key}"
    r = h1.put(path, headers=alice, json={"name": f"state key {state_key}"})
    assert r.status_code == 200, r.text
    assert r.json()["event_id"].startswith("$"), r.text
    r = h1.get(path, headers=alice)
    assert r.status_code == 200 and r.json() == {"name": f"state key {state_key}"}, r.text


@pytest.mark.parametrize("http2", [False, True])
def test_oversized_login_body_gets_413_before_it_is_read(gatehouse, http2):
    with http_client(gatehouse.base_url, http2=http2) as c:
        body = '{"type":"m.login.password","user":"alice","password":"' + "x" * (100 * 1024) + '"}'
        r = c.post("/_matrix/client/v3/login", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 413, r.text
        assert r.json()["errcode"] == "M_TOO_LARGE"


def test_malformed_login_bodies_get_matrix_errors(gatehouse):
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.post("/_matrix/client/v3/login", content="{", headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["errcode"] == "M_NOT_JSON"
        r = c.post("/_matrix/client/v3/login", json={})
        assert r.status_code == 400 and r.json()["errcode"] == "M_BAD_JSON"
        r = c.post("/_matrix/client/v3/refresh", content="not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["errcode"] == "M_NOT_JSON", "Matrix JSON, not MAS's plain text"
        r = c.post("/_matrix/client/v3/login", json={"type": "m.login.application_service", "identifier": {"type": "m.id.user", "user": "bridge"}})
        assert r.status_code == 400 and r.json()["errcode"] == "M_APPSERVICE_LOGIN_UNSUPPORTED"
