"""Legacy SSO for classic Matrix clients: GET /login lists m.login.sso (with the flags that tell
OAuth-aware clients to prefer OAuth 2.0), /login/sso/redirect sends the browser through Gatehouse's
login and a confirmation page naming the client's host, back to the client with a single-use
loginToken, which matrix-nio exchanges with m.login.token."""

from __future__ import annotations

import asyncio
from urllib.parse import quote, urlsplit

from nio import AsyncClient, AsyncClientConfig, LoginInfoResponse, LoginResponse, WhoamiResponse

from harness import http_client
from oauth_client import assert_whoami, user_id
from oauth_flows import PASSWORD, register_user

SSO_FLAGS = {"oauth_aware_preferred": True, "org.matrix.msc3824.delegated_oidc_compatibility": True}


def run_nio(gatehouse, scenario):
    async def main():
        client = AsyncClient(gatehouse.base_url, ssl=False,
                             config=AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, request_timeout=30))
        try:
            return await scenario(client)
        finally:
            await client.close()
    return asyncio.run(main())


def token_login(gatehouse, token: str):
    with http_client(gatehouse.base_url, http2=False) as c:
        return c.post("/_matrix/client/v3/login", json={"type": "m.login.token", "token": token})


def test_login_flows_offer_sso_in_mas_order(gatehouse):
    with http_client(gatehouse.base_url, http2=True) as c:
        r = c.get("/_matrix/client/v3/login")
    assert r.status_code == 200, r.text
    flows = r.json()["flows"]
    assert [f["type"] for f in flows] == ["m.login.password", "m.login.sso", "m.login.token"], flows
    sso = flows[1]
    assert {k: sso.get(k) for k in SSO_FLAGS} == SSO_FLAGS, sso

    info = run_nio(gatehouse, lambda client: client.login_info())
    assert isinstance(info, LoginInfoResponse), info
    assert info.flows == ["m.login.password", "m.login.sso", "m.login.token"]


def test_sso_redirect_login_confirm_login_token(gatehouse, browser, loopback):
    name = register_user(gatehouse, "sso-cleo")
    redirect_url = loopback.url("/sso") + "?client=classic"
    start = f"{gatehouse.base_url}/_matrix/client/v3/login/sso/redirect?redirectUrl={quote(redirect_url, safe='')}"
    browser.get(start, "sso-redirect-login")
    assert browser.path == "/login", f"expected the login page first, at {browser.url}"
    browser.login(name, PASSWORD, "sso-confirmation")

    assert browser.path.startswith("/complete-compat-sso/"), browser.url
    browser.expect_form("sso-consent-form")
    assert "127.0.0.1" in browser.text, "the confirmation page does not name the redirect target's host"
    browser.decide("sso-consent-form", "consent", "back-at-client")

    arrival = loopback.next()
    assert (arrival.method, arrival.path) == ("GET", "/sso")
    assert arrival.one("client") == "classic", "the client's own query parameters were lost"
    login_token = arrival.one("loginToken")
    assert browser.has("received")

    async def scenario(client: AsyncClient):
        login = await client.login(token=login_token, device_name="classic SSO client")
        assert isinstance(login, LoginResponse), login
        assert login.user_id == user_id(name)
        who = await client.whoami()
        assert isinstance(who, WhoamiResponse), who
        assert (who.user_id, who.device_id) == (user_id(name), login.device_id)
        return login
    login = run_nio(gatehouse, scenario)
    assert_whoami(gatehouse, login.access_token, name, login.device_id)

    # Single use: the same loginToken again is refused.
    again = token_login(gatehouse, login_token)
    assert again.status_code == 403, again.text
    assert again.json()["errcode"] == "M_FORBIDDEN", again.text

    # With the browser session from the first round, the next SSO login goes straight to confirmation.
    browser.get(start, "second-sso-confirmation")
    assert browser.path.startswith("/complete-compat-sso/"), browser.url
    browser.decide("sso-consent-form", "consent", "back-at-client-again")
    second = loopback.next()
    second_token = second.one("loginToken")
    assert second_token != login_token
    r = token_login(gatehouse, second_token)
    assert r.status_code == 200 and r.json()["user_id"] == user_id(name), r.text
    assert urlsplit(browser.url).path == "/sso"
