"""The browser-test harness itself, on what Gatehouse serves without the OAuth pages: Debian's
Chromium (the system binary and driver) reads Gatehouse's TLS listener with its self-signed
certificate and leaves a screenshot per page; the loopback redirect server records GET redirects
and form_post POSTs byte for byte; a native client registers dynamically and authlib builds a
PKCE S256 authorization URL with it."""

from __future__ import annotations

import json
import subprocess
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from selenium.webdriver.common.by import By

from browser import CHROMEDRIVER, CHROMIUM, SCREENSHOTS
from harness import http_client
from oauth_client import (DEVICE_CODE_GRANT, authorization_request, matrix_scope, new_device_id,
                          oauth_session, register_native_client, s256)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _version(binary) -> str:
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30).stdout
    return out.split()[1]      # "Chromium 156.0.… built on Debian…", "ChromeDriver 156.0.… (…)"


def test_system_chromium_reads_discovery_over_tls(gatehouse, browser):
    caps = browser.driver.capabilities
    assert caps["browserName"] == "chrome"
    assert caps["browserVersion"] == _version(CHROMIUM), "not the system chromium"
    assert caps["chrome"]["chromedriverVersion"].split()[0] == _version(CHROMEDRIVER), "not the system chromedriver"

    with http_client(gatehouse.base_url, http2=False) as c:
        expected = c.get("/.well-known/openid-configuration").json()
    url = f"{gatehouse.base_url}/.well-known/openid-configuration"
    browser.get(url, "discovery")
    # Chromium shows a JSON document as text in a <pre>: the page is the document itself.
    assert json.loads(browser.driver.find_element(By.TAG_NAME, "pre").text) == expected
    assert browser.url == url, "the self-signed certificate was not accepted (interstitial or redirect)"
    assert expected["issuer"] == gatehouse.base_url + "/"

    browser.get(f"{gatehouse.base_url}/health", "health")
    assert browser.text.strip() != ""
    documents = [r for r in browser.responses if r.url.startswith(gatehouse.base_url)]
    assert [(r.path, r.status) for r in documents] == [("/.well-known/openid-configuration", 200), ("/health", 200)]
    assert documents[0].headers["content-type"] == "application/json"

    assert [p.name for p in browser.screenshots] == [
        "test_system_chromium_reads_discovery_over_tls-01-discovery.png",
        "test_system_chromium_reads_discovery_over_tls-02-health.png"]
    for shot in browser.screenshots:
        assert shot.parent == SCREENSHOTS
        assert shot.read_bytes()[:8] == PNG_MAGIC and shot.stat().st_size > 1000


def test_loopback_receiver_records_redirects_and_form_posts(browser, loopback):
    state = "st ate+/=&é~"          # needs escaping, so a mangled echo would show
    query = urlencode({"code": "c0de", "state": state, "iss": "https://localhost:1/"}, quote_via=quote)
    browser.get(loopback.url("/callback") + "?" + query, "redirect")
    arrival = loopback.next()
    assert (arrival.method, arrival.path) == ("GET", "/callback")
    assert arrival.raw_query == query
    assert (arrival.one("code"), arrival.one("state"), arrival.one("iss")) == ("c0de", state, "https://localhost:1/")
    assert browser.has("received")

    # response_mode=form_post: the browser POSTs the answer to the redirect URI.
    form = (f'<form method=post action="{loopback.url("/callback")}">'
            f'<input type=hidden name=code value="c0de2"><input type=hidden name=state value="{state}">'
            '<button id=submit type=submit>Continue</button></form>')
    browser.get("data:text/html;charset=utf-8," + quote(form), "form-post-page")
    browser.click("submit", "form-posted")
    posted = loopback.next()
    assert (posted.method, posted.path, posted.raw_query) == ("POST", "/callback", "")
    assert (posted.one("code", "form"), posted.one("state", "form")) == ("c0de2", state)
    assert loopback.nothing_arrived()


def test_native_client_registers_and_authlib_builds_a_pkce_url(gatehouse, loopback):
    client = register_native_client(gatehouse, loopback.url("/callback"))
    assert len(client.client_id) == 26
    assert client.registration["grant_types"] == ["authorization_code", "refresh_token", DEVICE_CODE_GRANT]
    assert client.registration["application_type"] == "native"

    device = new_device_id()
    scope = matrix_scope(device)
    metadata = {"authorization_endpoint": gatehouse.base_url + "/authorize"}
    auth = authorization_request(metadata, oauth_session(client, scope), device, scope, state="s t/a=te")
    split = urlsplit(auth.url)
    assert f"{split.scheme}://{split.netloc}{split.path}" == metadata["authorization_endpoint"]
    params = {k: v[0] for k, v in parse_qs(split.query).items()}
    assert params == {
        "response_type": "code", "client_id": client.client_id, "redirect_uri": client.redirect_uri,
        "scope": f"openid urn:matrix:client:api:* urn:matrix:client:device:{device}", "state": "s t/a=te",
        "nonce": auth.nonce, "code_challenge": s256(auth.code_verifier), "code_challenge_method": "S256"}
    assert 43 <= len(auth.code_verifier) <= 128          # RFC 7636 §4.1
