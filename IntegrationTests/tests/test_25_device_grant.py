"""The device authorization grant (RFC 8628) end to end: a client without a browser asks for a
user code at /oauth2/device and polls the token endpoint; a second, separate browser session opens
the verification URI, logs in, and approves or rejects on the device consent page; the client then
gets its tokens (whoami works on the device of its device scope) or access_denied."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from browser import Browser
from oauth_client import assert_token_answer, assert_whoami, discover, new_device_id, oauth_error, register_native_client
from oauth_flows import PASSWORD, device_authorization, poll_device_token, poll_until_decided, register_user

PENDING_STATUSES = (400, 403)     # RFC 8628 says 400; MAS answers 403


@pytest.fixture(scope="module")
def metadata(gatehouse):
    return discover(gatehouse)


def start_device_grant(gatehouse, metadata, loopback):
    client = register_native_client(gatehouse, loopback.url("/callback"), name="Device test TV",
                                    registration_endpoint=metadata["registration_endpoint"])
    device = new_device_id()
    grant = device_authorization(gatehouse, metadata, client, device)
    issuer = metadata["issuer"]
    assert grant["verification_uri"] == issuer + "link", grant
    complete = urlsplit(grant["verification_uri_complete"])
    assert f"{complete.scheme}://{complete.netloc}{complete.path}" == issuer + "link", grant
    assert parse_qs(complete.query) == {"code": [grant["user_code"]]}, grant
    assert grant["device_code"] and grant["user_code"] and grant["device_code"] != grant["user_code"]
    assert isinstance(grant["expires_in"], int) and grant["expires_in"] > 60, grant
    assert isinstance(grant["interval"], int) and grant["interval"] >= 1, grant
    # Nobody has looked at the code yet.
    oauth_error(poll_device_token(gatehouse, metadata, client, grant["device_code"]), "authorization_pending",
                PENDING_STATUSES)
    return client, device, grant


def approve_in_browser(b: Browser, url: str, user: str, user_code: str, action: str,
                       wrong_code_first: bool = False) -> list[str]:
    """Walk the pages from the verification URI to the device consent page, whatever their order
    (login before or after the code entry), and press `action` there; returns the forms passed."""
    b.get(url)
    seen: list[str] = []
    for _ in range(6):
        forms = b.form_ids()
        if "login-form" in forms:
            seen.append("login-form")
            b.login(user, PASSWORD)
        elif "link-form" in forms:
            seen.append("link-form")
            b.expect_form("link-form")
            field = b.in_form("link-form", "#code")
            assert field.get_attribute("name") == "code"
            if wrong_code_first:
                wrong_code_first = False
                field.clear()
                field.send_keys("ZZZZ-ZZZZ" if user_code != "ZZZZ-ZZZZ" else "YYYY-YYYY")
                b.click("submit", "wrong-code-refused")
                assert "link-form" in b.form_ids(), "a wrong user code was accepted"
                assert b.driver.find_elements("css selector", ".error"), "no error for a wrong user code"
                field = b.in_form("link-form", "#code")
                field.clear()
                field.send_keys(user_code)
            elif (field.get_attribute("value") or "") != user_code:
                assert not field.get_attribute("value"), f"prefilled with {field.get_attribute('value')!r}"
                field.send_keys(user_code)
            b.click("submit")
        elif "device-consent-form" in forms:
            seen.append("device-consent-form")
            assert b.path.startswith("/device/"), b.url
            assert "Device test TV" in b.text, "the device consent page does not name the client"
            b.decide("device-consent-form", action, f"{action}-done")
            assert "device-consent-form" not in b.form_ids()
            return seen
        else:
            raise AssertionError(f"unexpected page {b.url} (forms {forms}):\n{b.text[:1500]}")
    raise AssertionError(f"never reached the device consent page; passed {seen}")


def test_device_grant_approved_in_a_second_browser(gatehouse, metadata, loopback, browser_factory):
    name = register_user(gatehouse, "device-ann")
    client, device, grant = start_device_grant(gatehouse, metadata, loopback)
    approver = browser_factory("approver")
    seen = approve_in_browser(approver, grant["verification_uri_complete"], name, grant["user_code"], "consent")
    assert seen[0] in ("login-form", "link-form") and "login-form" in seen, seen
    assert approver.responses[-1].status == 200
    assert approver.url.startswith(gatehouse.base_url)

    tokens = assert_token_answer(poll_until_decided(gatehouse, metadata, client, grant), device)
    assert_whoami(gatehouse, tokens["access_token"], name, device)
    # The device code is single-use, and so is the user code.
    again = poll_device_token(gatehouse, metadata, client, grant["device_code"])
    oauth_error(again, "invalid_grant", (400,))
    approver.get(grant["verification_uri_complete"], "link-used-code")
    approver.click("submit", "used-code-refused")
    assert "link-form" in approver.form_ids() and approver.driver.find_elements("css selector", ".error"), approver.text
    assert approver.responses[-1].status == 400, approver.responses[-1]


def test_device_grant_rejected(gatehouse, metadata, loopback, browser_factory):
    name = register_user(gatehouse, "device-bob")
    client, _, grant = start_device_grant(gatehouse, metadata, loopback)
    approver = browser_factory("rejecter")
    # Typing the code by hand this time (verification_uri without the code), a wrong one first.
    seen = approve_in_browser(approver, grant["verification_uri"], name, grant["user_code"], "reject",
                              wrong_code_first=True)
    assert "link-form" in seen and "login-form" in seen, seen
    oauth_error(poll_until_decided(gatehouse, metadata, client, grant), "access_denied", PENDING_STATUSES)
