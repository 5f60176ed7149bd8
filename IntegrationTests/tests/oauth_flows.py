"""Whole OAuth 2.0 flows for the browser tests: a user, a registered native client, the
authorization request driven through Gatehouse's pages in Chromium up to the loopback redirect,
and device-grant polling."""

from __future__ import annotations

import dataclasses
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.integrations.httpx_client import OAuth2Client

from browser import Arrival, Browser, LoopbackReceiver
from oauth_client import (DEVICE_CODE_GRANT, Authorization, NativeClient, authorization_request,
                          matrix_scope, new_device_id, oauth_session, register_native_client, token_request)

PASSWORD = "browser flows password 24"
# Printable ASCII a client may put in `state` that has to be escaped in a URL: echoed byte for byte.
STATE_TAIL = " +/=&%~!*'();:@,?#"


def new_state() -> str:
    return secrets.token_urlsafe(12) + STATE_TAIL


def register_user(gatehouse, name: str, password: str = PASSWORD) -> str:
    gatehouse.manage("register-user", name, "--password", password)
    return name


@dataclasses.dataclass
class Flow:
    """A client in the middle of (or done with) an authorization-code flow."""
    client: NativeClient
    session: OAuth2Client
    auth: Authorization
    arrival: Arrival | None = None

    @property
    def code(self) -> str:
        assert self.arrival is not None
        return self.arrival.one("code")

    def exchange(self, metadata: dict, gatehouse, verifier: str | None = None) -> httpx.Response:
        """The token request exactly as a public client sends it (raw, so the answer can be checked)."""
        return token_request(metadata, {
            "grant_type": "authorization_code", "code": self.code, "redirect_uri": self.client.redirect_uri,
            "code_verifier": verifier if verifier is not None else self.auth.code_verifier,
            "client_id": self.client.client_id}, gatehouse)


def start_flow(gatehouse, metadata: dict, loopback: LoopbackReceiver, client: NativeClient | None = None,
               device_id: str | None = None, extra_scope: str = "", **extra: str) -> Flow:
    client = client or register_native_client(gatehouse, loopback.url("/callback"),
                                              registration_endpoint=metadata["registration_endpoint"])
    device_id = device_id or new_device_id()
    scope = " ".join(filter(None, [matrix_scope(device_id), extra_scope]))
    session = oauth_session(client, scope)
    return Flow(client, session, authorization_request(metadata, session, device_id, scope, state=new_state(), **extra))


def expect_login_page(browser: Browser, kind: str = "continue_authorization_grant") -> str:
    """On /login?kind=…&id=GRANT: returns the grant id."""
    assert browser.path == "/login", f"expected the login page, at {browser.url}:\n{browser.text[:1500]}"
    query = parse_qs(urlsplit(browser.url).query)
    assert query.get("kind") == [kind], browser.url
    assert query.get("id") and query["id"][0], browser.url
    browser.expect_form("login-form")
    return query["id"][0]


def expect_consent_page(browser: Browser, flow: Flow, grant_id: str | None = None) -> None:
    assert browser.path.startswith("/consent/"), f"expected the consent page, at {browser.url}:\n{browser.text[:1500]}"
    if grant_id is not None:
        assert browser.path == f"/consent/{grant_id}"
    browser.expect_form("consent-form")
    text = browser.text
    assert flow.client.registration["client_name"] in text, text
    assert "browser-test.example.org" in text, "the client's URI is not shown"
    assert flow.auth.device_id in text, "the device that will be created is not shown"
    assert "unverified" in text.lower(), "no warning that a dynamically registered client is unverified"


def expect_redirect(flow: Flow, loopback: LoopbackReceiver, metadata: dict, method: str = "GET") -> Arrival:
    """The authorization response at the loopback redirect URI: `state` byte for byte, `iss` (RFC 9207)."""
    arrival = loopback.next()
    source = "form" if method == "POST" else "query"
    assert (arrival.method, arrival.path) == (method, "/callback"), arrival
    assert arrival.one("state", source) == flow.auth.state, "state not echoed byte for byte"
    assert arrival.one("iss", source) == metadata["issuer"]
    flow.arrival = arrival
    return arrival


def authorize_in_browser(browser: Browser, gatehouse, metadata: dict, loopback: LoopbackReceiver, user: str,
                         password: str = PASSWORD, flow: Flow | None = None) -> Flow:
    """The whole front channel for a browser without a session: authorize → login → consent → code."""
    flow = flow or start_flow(gatehouse, metadata, loopback)
    browser.get(flow.auth.url, "authorize-login")
    grant = expect_login_page(browser)
    browser.login(user, password, "consent")
    expect_consent_page(browser, flow, grant)
    browser.decide("consent-form", "consent", "redirected-with-code")
    expect_redirect(flow, loopback, metadata)
    assert browser.has("received"), "Chromium did not end on the client's loopback page"
    return flow


# --------------------------------------------------------------------------- device grant
def device_authorization(gatehouse, metadata: dict, client: NativeClient, device_id: str) -> dict:
    with httpx.Client(verify=False, trust_env=False, timeout=30) as c:
        r = c.post(metadata["device_authorization_endpoint"],
                   data={"client_id": client.client_id, "scope": matrix_scope(device_id)})
    assert r.status_code == 200, f"device authorization: {r.status_code} {r.text}"
    assert r.headers.get("cache-control") == "no-store", r.headers
    return r.json()


def poll_device_token(gatehouse, metadata: dict, client: NativeClient, device_code: str) -> httpx.Response:
    return token_request(metadata, {"grant_type": DEVICE_CODE_GRANT, "device_code": device_code,
                                    "client_id": client.client_id}, gatehouse)


def poll_until_decided(gatehouse, metadata: dict, client: NativeClient, grant: dict, timeout: float = 90) -> httpx.Response:
    """Poll as RFC 8628 §3.5 says: every `interval` s, 5 s more after each slow_down, until the
    answer is not authorization_pending."""
    interval = grant.get("interval", 5)
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(interval)
        r = poll_device_token(gatehouse, metadata, client, grant["device_code"])
        error = r.json().get("error") if r.status_code != 200 else None
        if error == "slow_down":
            interval += 5
        elif error != "authorization_pending":
            return r
        assert time.monotonic() < deadline, f"still {error} after {timeout} s"
