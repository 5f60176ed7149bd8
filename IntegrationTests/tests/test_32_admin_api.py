"""The admin API (/api/admin/v1, MAS's shape) driven by a script with a client-credentials token,
against the real Synapse (issue 11).

The module restarts the shared Gatehouse with an `admin_api` section (the API on the internal
listener, one static confidential client allowed `urn:mas:admin`) and restores its configuration
afterwards. A user is created through the API, given a password, logs in with matrix-nio on two
devices; the API lists the compat sessions and finishes one: its token is refused at once and the
device is gone from Synapse's `GET /devices` for the other. Then lock/unlock and deactivate.
"""

from __future__ import annotations

import asyncio
import base64
import secrets

import httpx
import pytest
import yaml
from nio import AsyncClient, AsyncClientConfig, LoginResponse

from harness import http_client

ADMIN_CLIENT = "01J9ZQ3B7N6Y2W8K4R5T0V1X2Y"
PASSWORD = "admin api password 32"
USERNAME = "adminapi32"


@pytest.fixture(scope="module")
def admin(gatehouse):
    """The shared Gatehouse with the admin API on its internal listener; yields an httpx client
    for that listener with a client-credentials admin token."""
    original = gatehouse.config.read_text()
    secret = secrets.token_hex(32)
    cfg = yaml.safe_load(original)
    cfg.setdefault("clients", []).append({
        "client_id": ADMIN_CLIENT, "client_auth_method": "client_secret_basic", "client_secret": secret,
        "redirect_uris": [], "client_name": "admin script"})
    cfg["admin_api"] = {"listeners": ["internal"], "clients": [ADMIN_CLIENT]}
    gatehouse.config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    try:
        check = gatehouse.cli("config", "check", "-c", str(gatehouse.config))
        assert check.returncode == 0, check.stderr
        gatehouse.stop()
        gatehouse.start()
        basic = base64.b64encode(f"{ADMIN_CLIENT}:{secret}".encode()).decode()
        with httpx.Client(base_url=gatehouse.internal_url, timeout=30) as c:
            r = c.post("/oauth2/token", data={"grant_type": "client_credentials", "scope": "urn:mas:admin"},
                       headers={"Authorization": f"Basic {basic}"})
            assert r.status_code == 200, r.text
            assert r.json()["scope"] == "urn:mas:admin", r.text
            c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            yield c
    finally:
        gatehouse.config.write_text(original)
        gatehouse.stop()
        gatehouse.start()


def nio_login(gatehouse, device: str) -> LoginResponse:
    async def scenario():
        config = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, request_timeout=30)
        client = AsyncClient(gatehouse.base_url, USERNAME, device_id=device, ssl=False, config=config)
        try:
            return await client.login(password=PASSWORD, device_name=f"admin api {device}")
        finally:
            await client.close()
    response = asyncio.run(scenario())
    assert isinstance(response, LoginResponse), response
    return response


def as_user(gatehouse, token: str, path: str) -> httpx.Response:
    with http_client(gatehouse.base_url, http2=False) as c:
        return c.get(path, headers={"Authorization": f"Bearer {token}"})


def test_admin_api_on_the_internal_listener_only(gatehouse, admin):
    r = admin.get("/api/admin/v1/site-config")
    assert r.status_code == 200 and r.json()["server_name"] == "localhost", r.text
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.get("/api/admin/v1/users", headers={"Authorization": admin.headers["Authorization"]})
    assert r.status_code == 404 and r.json()["errcode"] == "M_UNRECOGNIZED", r.text
    r = admin.get("/api/admin/v1/users", headers={"Authorization": ""})
    assert r.status_code in (400, 401) and "errors" in r.json(), r.text
    spec = admin.get("/api/spec.json")
    assert spec.status_code == 200 and "/api/admin/v1/users/{id}/lock" in spec.json()["paths"], spec.text


def test_user_lifecycle_through_the_api(gatehouse, admin):
    r = admin.post("/api/admin/v1/users", json={"username": USERNAME})
    assert r.status_code == 201, r.text
    user = r.json()["data"]
    user_id = user["id"]
    assert user["attributes"]["username"] == USERNAME and user["attributes"]["locked_at"] is None
    assert admin.get(f"/api/admin/v1/users/by-username/{USERNAME}").json()["data"]["id"] == user_id
    # As MAS's find_by_username: ASCII case is ignored; the answer links to the path asked.
    r = admin.get(f"/api/admin/v1/users/by-username/{USERNAME.upper()}")
    assert r.status_code == 200 and r.json()["data"]["id"] == user_id, r.text
    assert r.json()["links"]["self"] == f"/api/admin/v1/users/by-username/{USERNAME.upper()}"

    r = admin.post(f"/api/admin/v1/users/{user_id}/set-password", json={"password": PASSWORD})
    assert r.status_code == 200, r.text

    # matrix-nio logs in on two devices with the password the API set.
    first = nio_login(gatehouse, "ADMINAPI01")
    second = nio_login(gatehouse, "ADMINAPI02")
    for login in (first, second):
        r = as_user(gatehouse, login.access_token, "/_matrix/client/v3/account/whoami")
        assert r.status_code == 200 and r.json()["device_id"] == login.device_id, r.text

    r = admin.get("/api/admin/v1/compat-sessions", params={"filter[user]": user_id, "filter[status]": "active"})
    assert r.status_code == 200, r.text
    sessions = {s["attributes"]["device_id"]: s["id"] for s in r.json()["data"]}
    assert set(sessions) == {"ADMINAPI01", "ADMINAPI02"}, r.text
    assert r.json()["meta"]["count"] == 2

    # Finishing one: its token is refused at once, and Synapse no longer lists its device.
    r = admin.post(f"/api/admin/v1/compat-sessions/{sessions['ADMINAPI01']}/finish")
    assert r.status_code == 200 and r.json()["data"]["attributes"]["finished_at"], r.text
    r = as_user(gatehouse, first.access_token, "/_matrix/client/v3/account/whoami")
    assert r.status_code == 401 and r.json()["errcode"] == "M_UNKNOWN_TOKEN", r.text
    r = as_user(gatehouse, second.access_token, "/_matrix/client/v3/devices")
    assert r.status_code == 200, r.text
    assert {d["device_id"] for d in r.json()["devices"]} == {"ADMINAPI02"}, r.text
    r = admin.post(f"/api/admin/v1/compat-sessions/{sessions['ADMINAPI01']}/finish")
    assert r.status_code == 400 and "already finished" in r.json()["errors"][0]["title"], r.text

    # Lock: every session ends (the second token dies too); unlock lets the user log in again.
    r = admin.post(f"/api/admin/v1/users/{user_id}/lock")
    assert r.status_code == 200 and r.json()["data"]["attributes"]["locked_at"], r.text
    r = as_user(gatehouse, second.access_token, "/_matrix/client/v3/account/whoami")
    assert r.status_code == 401, r.text
    r = admin.get("/api/admin/v1/users", params={"filter[status]": "locked", "filter[search]": USERNAME})
    assert [u["id"] for u in r.json()["data"]] == [user_id], r.text
    r = admin.post(f"/api/admin/v1/users/{user_id}/unlock")
    assert r.status_code == 200 and r.json()["data"]["attributes"]["locked_at"] is None, r.text
    third = nio_login(gatehouse, "ADMINAPI03")
    r = as_user(gatehouse, third.access_token, "/_matrix/client/v3/account/whoami")
    assert r.status_code == 200, r.text

    # Deactivate: the token dies and Synapse deactivates the account.
    r = admin.post(f"/api/admin/v1/users/{user_id}/deactivate", json={"skip_erase": True})
    assert r.status_code == 200 and r.json()["data"]["attributes"]["deactivated_at"], r.text
    r = as_user(gatehouse, third.access_token, "/_matrix/client/v3/account/whoami")
    assert r.status_code == 401, r.text
    r = admin.get("/api/admin/v1/users", params={"filter[status]": "deactivated", "filter[search]": USERNAME})
    assert [u["id"] for u in r.json()["data"]] == [user_id], r.text
