"""What every HTML page of Gatehouse must carry and how its browser session behaves: security headers
on each page Chromium is shown (login, the re-rendered form, consent, registration, code entry,
device consent, SSO confirmation, error page), the session cookie's attributes, CSRF on form posts,
303 after credentials, and the error page (never a redirect) for an unknown client or a redirect
URI that was not registered."""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest

from browser import Browser, DocumentResponse, FormReader, LoopbackReceiver
from harness import http_client
from oauth_client import discover, new_device_id
from oauth_flows import (PASSWORD, device_authorization, expect_consent_page, expect_login_page, register_user,
                         start_flow)

SESSION_COOKIE = "__Host-gatehouse-session"


@pytest.fixture(scope="module")
def metadata(gatehouse):
    return discover(gatehouse)


def assert_page_headers(page: DocumentResponse) -> None:
    h = page.headers
    where = f"{page.status} {page.url}"
    csp = h.get("content-security-policy", "")
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", f"{where}: CSP {csp!r}"
    assert h.get("referrer-policy") == "no-referrer", where
    assert h.get("x-frame-options", "").upper() == "DENY", where
    assert "no-store" in h.get("cache-control", ""), where
    assert h.get("content-type", "").startswith("text/html"), where


def gatehouse_pages(b: Browser, base: str) -> list[DocumentResponse]:
    return [r for r in b.responses if r.url.startswith(base) and not 300 <= r.status < 400]


def test_security_headers_on_every_page(gatehouse, metadata, browser_factory, loopback):
    assert gatehouse.optional_config_applied, gatehouse.optional_config_refusal
    name = register_user(gatehouse, "pages-hal")
    b = browser_factory()

    # Error page (unknown client), login, the re-rendered form, consent.
    b.get(f"{gatehouse.base_url}/authorize?" + urlencode({
        "response_type": "code", "client_id": "01NOTAREGISTEREDCLIENTXXXX", "redirect_uri": loopback.url(),
        "scope": "openid", "state": "s", "code_challenge": "x" * 43, "code_challenge_method": "S256"}), "error-page")
    assert b.has("error-title")
    flow = start_flow(gatehouse, metadata, loopback)
    b.get(flow.auth.url, "login")
    expect_login_page(b)
    b.login(name, "wrong", "login-refused")
    b.login(name, PASSWORD, "consent")
    expect_consent_page(b, flow)

    # Registration page, in a browser without a session.
    fresh = browser_factory("register")
    fresh.get(start_flow(gatehouse, metadata, loopback, prompt="create").auth.url, "register")
    fresh.expect_form("register-form")

    # Code entry and device consent, with the session from above.
    grant = device_authorization(gatehouse, metadata, flow.client, new_device_id())
    b.get(grant["verification_uri"], "link")
    b.expect_form("link-form")
    b.in_form("link-form", "#code").send_keys(grant["user_code"])
    b.click("submit", "device-consent")
    b.expect_form("device-consent-form")

    # SSO confirmation.
    b.get(f"{gatehouse.base_url}/_matrix/client/v3/login/sso/redirect?redirectUrl="
          + quote(loopback.url("/sso"), safe=""), "sso-confirmation")
    b.expect_form("sso-consent-form")

    pages = gatehouse_pages(b, gatehouse.base_url) + gatehouse_pages(fresh, gatehouse.base_url)
    paths = {"/" + p.path.split("/")[1] for p in pages}      # /consent/ID -> /consent
    assert {"/authorize", "/login", "/consent", "/register", "/link", "/device", "/complete-compat-sso"} <= paths, paths
    assert sorted({p.status for p in pages}) == [200, 400, 401], [(p.status, p.url) for p in pages]
    for page in pages:
        assert_page_headers(page)


def test_session_cookie_attributes(gatehouse, metadata, browser, loopback):
    name = register_user(gatehouse, "pages-ida")
    flow = start_flow(gatehouse, metadata, loopback)
    browser.get(flow.auth.url, "login")
    browser.login(name, PASSWORD, "consent")
    expect_consent_page(browser, flow)
    cookie = browser.cookies()[SESSION_COOKIE]
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"], cookie["path"]) == (True, True, "Lax", "/")
    assert name not in cookie["value"] and "@" not in cookie["value"], "the session cookie is not encrypted"
    assert not cookie.get("domain", "localhost").startswith("."), cookie


def _get_form(c, path: str, form_id: str):
    r = c.get(path)
    assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text[:300]}"
    forms = FormReader(r.text).forms
    assert form_id in forms, forms
    return forms[form_id]


def test_login_without_a_browser_sets_a_host_cookie_after_303(gatehouse):
    """The pages work without JavaScript: a plain HTTP client logs in with the form's CSRF token."""
    name = register_user(gatehouse, "pages-joe")
    with http_client(gatehouse.base_url, http2=False) as c:
        form = _get_form(c, "/login", "login-form")
        assert form["method"] == "post" and form["inputs"].get("csrf")
        action = form["action"] or "/login"
        body = {**form["inputs"], "username": name, "password": PASSWORD}
        r = c.post(action, data=body)
        assert r.status_code == 303, f"{r.status_code} {r.text[:300]}"   # never 307 after credentials
        set_cookies = [v for k, v in r.headers.multi_items() if k.lower() == "set-cookie"]
        session = [v for v in set_cookies if v.startswith(SESSION_COOKIE + "=")]
        assert len(session) == 1, set_cookies
        attributes = {a.strip().split("=", 1)[0].lower(): a.strip() for a in session[0].split(";")[1:]}
        assert {"httponly", "secure", "samesite", "path"} <= attributes.keys(), session[0]
        assert attributes["samesite"].lower() == "samesite=lax" and attributes["path"] == "Path=/", session[0]
        assert "domain" not in attributes, "a __Host- cookie has no Domain"
        parsed = SimpleCookie()
        parsed.load(session[0])
        assert name not in parsed[SESSION_COOKIE].value


def test_form_post_without_csrf_is_refused(gatehouse):
    name = register_user(gatehouse, "pages-kim")
    with http_client(gatehouse.base_url, http2=False) as c:
        form = _get_form(c, "/login", "login-form")
        body = {k: v for k, v in form["inputs"].items() if k != "csrf"} | {"username": name, "password": PASSWORD}
        r = c.post(form["action"] or "/login", data=body)
        assert r.status_code in (400, 403), f"{r.status_code} {r.text[:300]}"
        assert not any(v.startswith(SESSION_COOKIE + "=") and not v.startswith(SESSION_COOKIE + "=;")
                       for k, v in r.headers.multi_items() if k.lower() == "set-cookie"), "logged in without CSRF"
        forged = {**body, "csrf": secrets.token_urlsafe(24)}
        r = c.post(form["action"] or "/login", data=forged)
        assert r.status_code in (400, 403), f"{r.status_code} {r.text[:300]}"


def test_unregistered_redirect_uri_shows_the_error_page(gatehouse, metadata, browser, loopback):
    evil = LoopbackReceiver()
    try:
        flow = start_flow(gatehouse, metadata, loopback)
        params = {k: v[0] for k, v in parse_qs(urlsplit(flow.auth.url).query).items()}
        registered = flow.client.redirect_uri
        variants = {
            "other-path": loopback.url("/other"),
            "extra-query": registered + "?next=1",
            "trailing-slash": registered + "/",
            "other-host": evil.url("/callback").replace("127.0.0.1", "localhost"),
            "userinfo": registered.replace("http://", "http://user@"),
            "https": registered.replace("http://", "https://"),
            "other-scheme": "org.evil.app:/callback",
        }
        for label, uri in variants.items():
            browser.get(f"{metadata['authorization_endpoint']}?" + urlencode({**params, "redirect_uri": uri}), label)
            assert browser.url.startswith(gatehouse.base_url + "/authorize"), f"{label}: redirected to {browser.url}"
            assert browser.has("error-title"), f"{label}: no error page:\n{browser.text[:500]}"
            page = [r for r in browser.responses if r.url.startswith(gatehouse.base_url)][-1]
            assert page.status == 400, (label, page)
            assert_page_headers(page)
        assert loopback.nothing_arrived() and evil.nothing_arrived(), "a refused redirect URI was visited"
    finally:
        evil.stop()


def test_logout_ends_the_browser_session(gatehouse, metadata, browser, loopback):
    name = register_user(gatehouse, "pages-lou")
    browser.get(f"{gatehouse.base_url}/login", "login")
    browser.login(name, PASSWORD, "signed-in")
    browser.expect_form("logout-form")
    browser.submit("logout-form", "signed-out")
    assert browser.path == "/login", browser.url
    assert [r.status for r in browser.responses if r.path == "/logout"] == [303]
    flow = start_flow(gatehouse, metadata, loopback)
    browser.get(flow.auth.url, "authorize-after-logout")
    expect_login_page(browser)
