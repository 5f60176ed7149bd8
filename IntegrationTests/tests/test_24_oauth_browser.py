"""The OAuth 2.0 authorization-code flow end to end, as a Matrix client developer would run it:
discovery through Synapse's auth_metadata, dynamic registration of a native client with a loopback
redirect URI, /authorize driven in headless Chromium through Gatehouse's login and consent pages,
the code received on the loopback redirect and exchanged with PKCE, then whoami and sync on Synapse
through Gatehouse with the mat_ token, refresh, revocation, and the refusals a client must see:
a replayed code, a wrong PKCE verifier, a replayed refresh token. prompt=create registers a new
user on the registration page. A client that registers id_token_signed_response_alg and
userinfo_signed_response_alg gets its id_token and a signed userinfo JWT with that algorithm."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from harness import http_client
from oauth_client import (DEVICE_CODE_GRANT, assert_refused, assert_token_answer, assert_whoami, bearer,
                          discover, oauth_error, register_native_client, s256, token_request, user_id)
from oauth_flows import (PASSWORD, authorize_in_browser, expect_consent_page, expect_login_page,
                         expect_redirect, register_user, start_flow)


@pytest.fixture(scope="module")
def metadata(gatehouse):
    return discover(gatehouse)


def sync(gatehouse, token: str) -> httpx.Response:
    with http_client(gatehouse.base_url, http2=True) as c:
        return c.get("/_matrix/client/v3/sync", params={"timeout": "0"}, headers=bearer(token))


def refresh(gatehouse, metadata, flow, refresh_token: str) -> httpx.Response:
    return token_request(metadata, {"grant_type": "refresh_token", "refresh_token": refresh_token,
                                    "client_id": flow.client.client_id}, gatehouse)


def half_hash(value: str) -> str:
    """at_hash/c_hash for RS256 and ES256 (OIDC Core §3.1.3.6): left half of SHA-256, base64url."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


# --------------------------------------------------------------------------- discovery
def test_auth_metadata_is_the_discovery_document_and_advertises_the_flows(gatehouse, metadata):
    with http_client(gatehouse.base_url, http2=False) as c:
        doc = c.get("/.well-known/openid-configuration").json()
    assert metadata == doc, "Synapse's auth_metadata differs from Gatehouse's discovery document"
    issuer = doc["issuer"]
    assert issuer == gatehouse.base_url + "/"
    assert doc["authorization_endpoint"] == issuer + "authorize"
    assert doc["token_endpoint"] == issuer + "oauth2/token"
    assert doc["registration_endpoint"] == issuer + "oauth2/registration"
    assert doc["revocation_endpoint"] == issuer + "oauth2/revoke"
    assert doc["userinfo_endpoint"] == issuer + "oauth2/userinfo"
    assert doc["device_authorization_endpoint"] == issuer + "oauth2/device"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["response_types_supported"] == ["code"]
    assert {"query", "fragment", "form_post"} <= set(doc["response_modes_supported"])
    assert {"authorization_code", "refresh_token", DEVICE_CODE_GRANT} <= set(doc["grant_types_supported"])
    assert "none" in doc["token_endpoint_auth_methods_supported"]
    # Registration is on in the tests' configuration: prompt=create is offered.
    assert gatehouse.optional_config_applied, gatehouse.optional_config_refusal
    assert "create" in doc["prompt_values_supported"]


# --------------------------------------------------------------------------- the main flow
def test_code_flow_whoami_sync_refresh_revoke(gatehouse, metadata, browser, loopback):
    name = register_user(gatehouse, "oauth-amy")
    flow = authorize_in_browser(browser, gatehouse, metadata, loopback, name)
    device = flow.auth.device_id

    tokens = assert_token_answer(flow.exchange(metadata, gatehouse), device)
    # The Synapse device of the device scope exists before the answer: the token works at once.
    assert_whoami(gatehouse, tokens["access_token"], name, device)
    first_sync = sync(gatehouse, tokens["access_token"])
    assert first_sync.status_code == 200, first_sync.text
    assert first_sync.json()["next_batch"]

    # The id_token (openid scope), checked against the published keys as a client library does.
    jwks = KeySet.import_key_set(httpx.get(metadata["jwks_uri"], verify=False, trust_env=False).json())
    id_token = jwt.decode(tokens["id_token"], jwks)
    claims = id_token.claims
    assert claims["iss"] == metadata["issuer"]
    assert claims["aud"] in (flow.client.client_id, [flow.client.client_id])
    assert claims["nonce"] == flow.auth.nonce
    assert claims["at_hash"] == half_hash(tokens["access_token"])
    now = time.time()
    assert claims["iat"] - 5 <= now < claims["exp"], claims
    assert claims["auth_time"] <= claims["iat"], claims
    assert claims["sub"], claims

    with http_client(gatehouse.base_url, http2=False) as c:
        userinfo = c.get(metadata["userinfo_endpoint"], headers=bearer(tokens["access_token"]))
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["sub"] == claims["sub"] and userinfo.json()["username"] == name

    # Refresh with authlib, as a client library does: a new pair, the old access token dead at once.
    flow.session.token = tokens
    renewed = flow.session.refresh_token(metadata["token_endpoint"], refresh_token=tokens["refresh_token"])
    assert renewed["access_token"].startswith("mat_") and renewed["refresh_token"].startswith("mar_")
    assert renewed["access_token"] != tokens["access_token"] and renewed["refresh_token"] != tokens["refresh_token"]
    assert_whoami(gatehouse, renewed["access_token"], name, device)
    assert_refused(gatehouse, tokens["access_token"])
    assert sync(gatehouse, renewed["access_token"]).status_code == 200

    # Revocation (RFC 7009) ends the session before answering: refused at once, refresh too.
    revoked = flow.session.revoke_token(metadata["revocation_endpoint"], token=renewed["access_token"],
                                        token_type_hint="access_token")
    assert revoked.status_code == 200, revoked.text
    assert_refused(gatehouse, renewed["access_token"])
    oauth_error(refresh(gatehouse, metadata, flow, renewed["refresh_token"]), "invalid_grant")


def test_registered_signing_algorithms_for_id_token_and_userinfo(gatehouse, metadata, browser, loopback):
    """OpenID Connect Registration §2 as MAS supports it: ES256 for both, checked with the JWKS."""
    assert {"ES256", "RS256"} <= set(metadata["userinfo_signing_alg_values_supported"])
    refused = httpx.post(metadata["registration_endpoint"], verify=False, trust_env=False, timeout=10, json={
        "application_type": "native", "client_uri": "https://browser-test.example.org/",
        "redirect_uris": [loopback.url("/callback")], "token_endpoint_auth_method": "none",
        "userinfo_signed_response_alg": "PS256"})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_client_metadata", refused.text
    assert "userinfo_signed_response_alg" in refused.json()["error_description"]

    client = register_native_client(gatehouse, loopback.url("/callback"), registration_endpoint=metadata["registration_endpoint"],
                                    extra={"id_token_signed_response_alg": "ES256", "userinfo_signed_response_alg": "ES256"})
    assert client.registration["userinfo_signed_response_alg"] == "ES256", client.registration
    name = register_user(gatehouse, "oauth-sig")
    flow = authorize_in_browser(browser, gatehouse, metadata, loopback, name,
                                flow=start_flow(gatehouse, metadata, loopback, client=client))
    tokens = assert_token_answer(flow.exchange(metadata, gatehouse), flow.auth.device_id)
    jwks = KeySet.import_key_set(httpx.get(metadata["jwks_uri"], verify=False, trust_env=False).json())

    id_token = jwt.decode(tokens["id_token"], jwks, algorithms=["ES256"])
    assert id_token.header["alg"] == "ES256" and id_token.claims["aud"] in (client.client_id, [client.client_id])

    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.get(metadata["userinfo_endpoint"], headers=bearer(tokens["access_token"]))
    assert r.status_code == 200 and r.headers["content-type"] == "application/jwt", (r.status_code, r.headers, r.text)
    userinfo = jwt.decode(r.text, jwks, algorithms=["ES256"])
    assert userinfo.header["alg"] == "ES256"
    assert userinfo.claims == {"iss": metadata["issuer"], "aud": client.client_id, "sub": id_token.claims["sub"],
                               "username": name}, userinfo.claims


def test_replayed_refresh_token_ends_the_session(gatehouse, metadata, browser, loopback):
    name = register_user(gatehouse, "oauth-ben")
    flow = authorize_in_browser(browser, gatehouse, metadata, loopback, name)
    first = assert_token_answer(flow.exchange(metadata, gatehouse), flow.auth.device_id)
    r = refresh(gatehouse, metadata, flow, first["refresh_token"])
    second = assert_token_answer(r, flow.auth.device_id)
    # The successor has been used, so this is no lost response: a replay (RFC 9700 §4.14.2).
    assert_whoami(gatehouse, second["access_token"], name, flow.auth.device_id)
    oauth_error(refresh(gatehouse, metadata, flow, first["refresh_token"]), "invalid_grant")
    assert_refused(gatehouse, second["access_token"])
    oauth_error(refresh(gatehouse, metadata, flow, second["refresh_token"]), "invalid_grant")


def test_replayed_code_is_refused_and_kills_the_first_exchange(gatehouse, metadata, browser, loopback):
    name = register_user(gatehouse, "oauth-cat")
    flow = authorize_in_browser(browser, gatehouse, metadata, loopback, name)
    tokens = assert_token_answer(flow.exchange(metadata, gatehouse), flow.auth.device_id)
    assert_whoami(gatehouse, tokens["access_token"], name, flow.auth.device_id)
    oauth_error(flow.exchange(metadata, gatehouse), "invalid_grant")
    assert_refused(gatehouse, tokens["access_token"])
    oauth_error(refresh(gatehouse, metadata, flow, tokens["refresh_token"]), "invalid_grant")


def test_wrong_pkce_verifier_burns_the_code(gatehouse, metadata, browser, loopback):
    name = register_user(gatehouse, "oauth-dan")
    flow = authorize_in_browser(browser, gatehouse, metadata, loopback, name)
    wrong = secrets.token_urlsafe(48)
    assert s256(wrong) != s256(flow.auth.code_verifier)
    oauth_error(flow.exchange(metadata, gatehouse, verifier=wrong), "invalid_grant")
    # The right verifier comes too late: the code was consumed by the failed attempt.
    oauth_error(flow.exchange(metadata, gatehouse), "invalid_grant")


def test_browser_session_goes_straight_to_consent(gatehouse, metadata, browser, loopback):
    """A second client on the same browser: no login page, consent again (each request), two devices."""
    name = register_user(gatehouse, "oauth-eve")
    first = authorize_in_browser(browser, gatehouse, metadata, loopback, name)
    second = start_flow(gatehouse, metadata, loopback, client=first.client)
    browser.get(second.auth.url, "authorize-with-session")
    expect_consent_page(browser, second)
    browser.decide("consent-form", "consent", "redirected-with-code")
    expect_redirect(second, loopback, metadata)
    assert first.code != second.code
    for flow in (first, second):
        tokens = assert_token_answer(flow.exchange(metadata, gatehouse), flow.auth.device_id)
        assert_whoami(gatehouse, tokens["access_token"], name, flow.auth.device_id)


def test_wrong_password_then_right_one(gatehouse, metadata, browser, loopback):
    name = register_user(gatehouse, "oauth-fay")
    flow = start_flow(gatehouse, metadata, loopback)
    browser.get(flow.auth.url, "authorize-login")
    grant = expect_login_page(browser)
    browser.login(name, "not the password", "wrong-password")
    expect_login_page(browser)
    assert browser.driver.find_elements("css selector", ".error"), "no error message on the re-rendered form"
    assert browser.responses[-1].status == 401, browser.responses[-1]
    browser.login(name, PASSWORD, "consent")
    expect_consent_page(browser, flow, grant)
    browser.decide("consent-form", "consent", "redirected-with-code")
    expect_redirect(flow, loopback, metadata)
    assert_token_answer(flow.exchange(metadata, gatehouse), flow.auth.device_id)


def test_rejected_consent_redirects_with_access_denied(gatehouse, metadata, browser, loopback):
    name = register_user(gatehouse, "oauth-gus")
    flow = start_flow(gatehouse, metadata, loopback)
    browser.get(flow.auth.url, "authorize-login")
    expect_login_page(browser)
    browser.login(name, PASSWORD, "consent")
    expect_consent_page(browser, flow)
    browser.decide("consent-form", "reject", "redirected-with-error")
    arrival = expect_redirect(flow, loopback, metadata)
    assert arrival.one("error") == "access_denied"
    assert "code" not in arrival.query


@pytest.mark.parametrize("mode", ["query", "fragment", "form_post"])
def test_response_modes(gatehouse, metadata, browser, loopback, mode):
    name = register_user(gatehouse, f"oauth-mode-{mode.replace('_', '-')}")
    flow = start_flow(gatehouse, metadata, loopback, response_mode=mode)
    browser.get(flow.auth.url, "authorize-login")
    expect_login_page(browser)
    browser.login(name, PASSWORD, "consent")
    expect_consent_page(browser, flow)
    browser.decide("consent-form", "consent", "redirected-with-code")
    if mode == "fragment":
        # The fragment never reaches the server: the client reads it from the browser's URL.
        arrival = loopback.next()
        assert (arrival.method, arrival.path) == ("GET", "/callback") and "code" not in arrival.query
        fragment = parse_qs(urlsplit(browser.url).fragment, keep_blank_values=True)
        assert fragment["state"] == [flow.auth.state] and fragment["iss"] == [metadata["issuer"]]
        arrival.query = fragment
        flow.arrival = arrival
    else:
        expect_redirect(flow, loopback, metadata, "POST" if mode == "form_post" else "GET")
        if mode == "form_post":
            flow.arrival.query = flow.arrival.form
    tokens = assert_token_answer(flow.exchange(metadata, gatehouse), flow.auth.device_id)
    assert_whoami(gatehouse, tokens["access_token"], name, flow.auth.device_id)


# --------------------------------------------------------------------------- redirected errors (no browser needed)
def _authorize_raw(gatehouse, metadata, params: dict) -> httpx.Response:
    with http_client(gatehouse.base_url, http2=False) as c:
        return c.get(metadata["authorization_endpoint"] + "?" + urlencode(params))


@pytest.mark.parametrize("change", ["plain", "no_challenge", "prompt_none"])
def test_authorize_errors_go_back_to_the_client(gatehouse, metadata, loopback, change):
    flow = start_flow(gatehouse, metadata, loopback)
    params = {k: v[0] for k, v in parse_qs(urlsplit(flow.auth.url).query).items()}
    expected = "invalid_request"
    if change == "plain":
        params["code_challenge_method"], params["code_challenge"] = "plain", flow.auth.code_verifier
    elif change == "no_challenge":
        del params["code_challenge"], params["code_challenge_method"]
    else:
        params["prompt"], expected = "none", "login_required"   # no browser session here
    r = _authorize_raw(gatehouse, metadata, params)
    assert r.status_code in (302, 303), f"{r.status_code} {r.text[:500]}"
    location = urlsplit(r.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == flow.client.redirect_uri
    answer = parse_qs(location.query)
    assert answer["error"] == [expected], answer
    assert answer["state"] == [flow.auth.state] and answer["iss"] == [metadata["issuer"]]
    assert "code" not in answer


# --------------------------------------------------------------------------- prompt=create
def test_prompt_create_registers_a_new_user(gatehouse, metadata, browser, loopback):
    assert gatehouse.optional_config_applied, f"registration is off: {gatehouse.optional_config_refusal}"
    name = f"oauth-new-{secrets.token_hex(3)}"
    password = "a new user's long password 24"
    flow = start_flow(gatehouse, metadata, loopback, prompt="create")
    browser.get(flow.auth.url, "authorize-register")
    assert browser.path == "/register", browser.url
    assert parse_qs(urlsplit(browser.url).query).get("kind") == ["continue_authorization_grant"], browser.url
    browser.register(name, password, "consent")
    expect_consent_page(browser, flow)
    browser.decide("consent-form", "consent", "redirected-with-code")
    expect_redirect(flow, loopback, metadata)
    tokens = assert_token_answer(flow.exchange(metadata, gatehouse), flow.auth.device_id)
    # Synapse knows the new user (provisioned before the token was issued).
    assert_whoami(gatehouse, tokens["access_token"], name, flow.auth.device_id)
    with http_client(gatehouse.base_url, http2=False) as c:
        profile = c.get(f"/_matrix/client/v3/profile/{user_id(name)}", headers=bearer(tokens["access_token"]))
    assert profile.status_code == 200, profile.text
    # The new account logs in with its password on the legacy API as well.
    with http_client(gatehouse.base_url, http2=False) as c:
        login = c.post("/_matrix/client/v3/login", json={
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": name}, "password": password})
    assert login.status_code == 200 and login.json()["user_id"] == user_id(name), login.text


# --------------------------------------------------------------------------- login variants and account state
def test_prompt_login_asks_for_the_password_again(gatehouse, metadata, browser, loopback):
    name = register_user(gatehouse, "oauth-hana")
    first = authorize_in_browser(browser, gatehouse, metadata, loopback, name)
    again = start_flow(gatehouse, metadata, loopback, client=first.client, prompt="login")
    browser.get(again.auth.url, "authorize-prompt-login")
    grant = expect_login_page(browser)           # despite the browser session
    browser.login(name, PASSWORD, "consent")
    expect_consent_page(browser, again, grant)
    browser.decide("consent-form", "consent", "redirected-with-code")
    expect_redirect(again, loopback, metadata)
    assert_token_answer(again.exchange(metadata, gatehouse), again.auth.device_id)


def test_login_hint_prefills_the_username(gatehouse, metadata, browser, loopback):
    name = register_user(gatehouse, "oauth-ivo")
    flow = start_flow(gatehouse, metadata, loopback, login_hint=f"mxid:{user_id(name)}")
    browser.get(flow.auth.url, "authorize-with-hint")
    expect_login_page(browser)
    assert browser.in_form("login-form", "#username").get_attribute("value") == name
    browser.in_form("login-form", "#password").send_keys(PASSWORD)
    browser.click("submit", "consent")
    expect_consent_page(browser, flow)


def test_deactivated_user_loses_tokens_and_browser_session(gatehouse, metadata, browser, loopback):
    """ASVS 7.4.2 and Synapse CVE-2023-32682: deactivation ends every session; no way back in."""
    name = register_user(gatehouse, "oauth-jon")
    flow = authorize_in_browser(browser, gatehouse, metadata, loopback, name)
    tokens = assert_token_answer(flow.exchange(metadata, gatehouse), flow.auth.device_id)
    assert_whoami(gatehouse, tokens["access_token"], name, flow.auth.device_id)
    gatehouse.manage("deactivate-user", name)
    assert_refused(gatehouse, tokens["access_token"])
    oauth_error(refresh(gatehouse, metadata, flow, tokens["refresh_token"]), "invalid_grant")
    retry = start_flow(gatehouse, metadata, loopback, client=flow.client)
    browser.get(retry.auth.url, "authorize-after-deactivation")
    expect_login_page(browser)                   # the browser session ended with the account
    browser.login(name, PASSWORD, "login-refused")
    expect_login_page(browser)
    assert browser.responses[-1].status == 401, browser.responses[-1]
    assert loopback.nothing_arrived()


# --------------------------------------------------------------------------- redirect URI port, admin scope
def test_loopback_redirect_uri_registered_without_a_port(gatehouse, metadata, browser, loopback):
    """RFC 8252 §7.3: a native app registers http://127.0.0.1/callback and listens on any port."""
    name = register_user(gatehouse, "oauth-kai")
    client = register_native_client(gatehouse, "http://127.0.0.1/callback",
                                    registration_endpoint=metadata["registration_endpoint"])
    client.redirect_uri = loopback.url("/callback")      # the port the app got from the OS
    flow = authorize_in_browser(browser, gatehouse, metadata, loopback, name,
                                flow=start_flow(gatehouse, metadata, loopback, client=client))
    tokens = assert_token_answer(flow.exchange(metadata, gatehouse), flow.auth.device_id)
    assert_whoami(gatehouse, tokens["access_token"], name, flow.auth.device_id)


def test_admin_scope_only_for_admins(gatehouse, synapse, metadata, browser_factory, loopback):
    admin_scope = "urn:synapse:admin:*"
    plain = register_user(gatehouse, "oauth-lea")
    refused = start_flow(gatehouse, metadata, loopback, extra_scope=admin_scope)
    b = browser_factory("non-admin")
    b.get(refused.auth.url, "authorize-login")
    expect_login_page(b)
    b.login(plain, PASSWORD, "admin-scope-refused")
    assert b.has("error-title"), f"a non-admin was offered the admin scope at {b.url}:\n{b.text[:800]}"
    assert b.responses[-1].status == 403, b.responses[-1]
    assert loopback.nothing_arrived()

    gatehouse.manage("register-user", "oauth-max", "--password", PASSWORD, "--admin")
    granted = authorize_in_browser(browser_factory("admin"), gatehouse, metadata, loopback, "oauth-max",
                                   flow=start_flow(gatehouse, metadata, loopback, extra_scope=admin_scope))
    tokens = assert_token_answer(granted.exchange(metadata, gatehouse), granted.auth.device_id)
    assert admin_scope in tokens["scope"].split(), tokens
    # Synapse honours it: its admin API (not reachable through Gatehouse) answers this token, and
    # refuses one without the scope (admin rights come from the scope, not from Synapse's database).
    url = f"{synapse.url}/_synapse/admin/v2/users/{user_id('oauth-max')}"
    r = httpx.get(url, headers=bearer(tokens["access_token"]), trust_env=False, timeout=30)
    assert r.status_code == 200 and r.json()["name"] == user_id("oauth-max"), r.text
    r = httpx.get(url, headers=bearer(gatehouse.alice_token), trust_env=False, timeout=30)
    assert r.status_code == 403 and r.json()["errcode"] == "M_FORBIDDEN", r.text
