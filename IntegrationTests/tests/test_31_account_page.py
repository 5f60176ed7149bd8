"""The account page at account_management_uri and its MSC4191 deep links, in headless Chromium,
against the real Synapse: a user logged in with matrix-nio on two devices ends one from the page
(its token is refused at once, the device is gone from Synapse's GET /devices for the other), the
cross-signing reset is allowed only after the confirmation (Synapse asks for UIA before it, accepts
the new keys without UIA after it), and the profile, rename and password forms work. Every page
state is screenshotted into IntegrationTests/artifacts/screenshots/."""

from __future__ import annotations

import asyncio
import base64
import secrets
from urllib.parse import urlencode

import httpx
from nio import AsyncClient, AsyncClientConfig, LoginResponse

from harness import SERVER_NAME, http_client
from oauth_client import discover
from oauth_flows import PASSWORD, register_user

ACTIONS = ["org.matrix.profile", "org.matrix.devices_list", "org.matrix.device_view", "org.matrix.device_delete",
           "org.matrix.cross_signing_reset", "org.matrix.sessions_list", "org.matrix.session_view", "org.matrix.session_end"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def nio_login(gatehouse, name: str, device_id: str) -> str:
    """A matrix-nio password login on `device_id`; returns the access token."""
    async def main() -> str:
        config = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, request_timeout=30)
        client = AsyncClient(gatehouse.base_url, name, device_id=device_id, ssl=False, config=config)
        try:
            login = await client.login(password=PASSWORD, device_name=f"nio {device_id}")
            assert isinstance(login, LoginResponse), login
            assert login.device_id == device_id
            return login.access_token
        finally:
            await client.close()
    return asyncio.run(main())


def whoami(gatehouse, token: str) -> httpx.Response:
    with http_client(gatehouse.base_url, http2=False) as c:
        return c.get("/_matrix/client/v3/account/whoami", headers=bearer(token))


def devices(gatehouse, token: str) -> dict[str, dict]:
    """The user's devices as Synapse lists them (GET /devices through Gatehouse)."""
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.get("/_matrix/client/v3/devices", headers=bearer(token))
    assert r.status_code == 200, r.text
    return {d["device_id"]: d for d in r.json()["devices"]}


def account_link(metadata: dict, action: str, **extra: str) -> str:
    """The deep link as a client builds it from the discovery document (MSC4191)."""
    assert action in metadata["account_management_actions_supported"]
    return metadata["account_management_uri"] + "?" + urlencode({"action": action, **extra})


def upload_master_key(gatehouse, token: str, name: str) -> httpx.Response:
    """Uploads a fresh (random) cross-signing master key, without any UIA."""
    public = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    body = {"master_key": {"user_id": f"@{name}:{SERVER_NAME}", "usage": ["master"], "keys": {f"ed25519:{public}": public}}}
    with http_client(gatehouse.base_url, http2=False) as c:
        return c.post("/_matrix/client/v3/keys/device_signing/upload", json=body, headers=bearer(token))


def test_discovery_lists_the_account_actions(gatehouse):
    metadata = discover(gatehouse)
    assert metadata["account_management_uri"] == metadata["issuer"] + "account/"
    assert metadata["account_management_actions_supported"] == ACTIONS


def test_ending_a_device_on_the_account_page(gatehouse, browser):
    name = register_user(gatehouse, "acct-ada")
    phone = nio_login(gatehouse, name, "ADAPHONE31")
    laptop = nio_login(gatehouse, name, "ADALAPTOP31")
    assert set(devices(gatehouse, laptop)) == {"ADAPHONE31", "ADALAPTOP31"}
    assert whoami(gatehouse, phone).status_code == 200, "Synapse has the phone's token cached now"
    metadata = discover(gatehouse)

    # The deep link a client opens to remove the lost phone: through the login page and back.
    browser.get(account_link(metadata, "org.matrix.device_delete", device_id="ADAPHONE31"), "deep-link-login")
    assert browser.path == "/login"
    browser.login(name, PASSWORD, "device-delete-confirmation")
    assert browser.path.endswith("/end"), browser.url
    browser.expect_form("end-form")
    assert browser.element("device-id").text == "ADAPHONE31"
    assert set(devices(gatehouse, laptop)) == {"ADAPHONE31", "ADALAPTOP31"}, "nothing happens before the confirmation"

    ended_session = browser.path.removesuffix("/end")
    browser.click("confirm-end", "sessions-after-end")
    assert browser.path == "/account/sessions" and browser.has("account-notice"), browser.text[:1000]
    # At once: the token is refused although Synapse had cached it, and the device is gone.
    r = whoami(gatehouse, phone)
    assert r.status_code == 401 and r.json()["errcode"] == "M_UNKNOWN_TOKEN", r.text
    assert set(devices(gatehouse, laptop)) == {"ADALAPTOP31"}
    assert "ADAPHONE31" not in browser.text and "ADALAPTOP31" in browser.text

    # The other deep links and page states, each screenshotted.
    browser.get(account_link(metadata, "org.matrix.device_view", device_id="ADALAPTOP31"), "device-view")
    browser.expect_form("rename-form")
    browser.get(account_link(metadata, "org.matrix.device_delete", device_id="ADAPHONE31"), "device-not-found")
    assert "Device not found" in browser.text and "ADAPHONE31" in browser.text
    # The ended session's own pages (an old link, a stale tab): "already ended", as its sign-out says.
    base = metadata["issuer"].rstrip("/")
    browser.get(base + ended_session, "session-already-ended")
    assert "This session has already ended" in browser.text and not browser.has("rename-form"), browser.text[:1000]
    browser.get(base + ended_session + "/end", "session-end-already-ended")
    assert "This session has already ended" in browser.text and not browser.has("end-form"), browser.text[:1000]
    browser.get(account_link(metadata, "org.matrix.devices_list"), "devices-list")
    assert browser.path == "/account/sessions"
    browser.get(account_link(metadata, "org.matrix.profile"), "profile")
    browser.expect_form("profile-form")
    browser.get(base + "/account/sessions/01JNOSUCHSESSION0000000000", "session-not-found")
    assert "Session not found" in browser.text, browser.text[:1000]

    # Sign out everywhere else: the laptop's token is refused at once, its device is gone, this browser stays.
    browser.get(base + "/account/sessions", "sessions-before-end-others")
    browser.click("end-others", "others-ended")
    assert browser.path == "/account/sessions" and browser.has("account-notice"), browser.text[:1000]
    assert whoami(gatehouse, laptop).status_code == 401
    tablet = nio_login(gatehouse, name, "ADATABLET31")
    assert set(devices(gatehouse, tablet)) == {"ADATABLET31"}


def test_profile_rename_and_password(gatehouse, browser):
    name = register_user(gatehouse, "acct-bea")
    token = nio_login(gatehouse, name, "BEAPHONE31")
    other = nio_login(gatehouse, name, "BEATABLET31")
    browser.get(gatehouse.base_url + "/account/", "login")
    browser.login(name, PASSWORD, "overview")
    browser.expect_form("profile-form")

    field = browser.in_form("profile-form", "#displayname")
    field.clear()
    field.send_keys("Bea from the tests")
    browser.click("save-profile", "profile-saved")
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.get(f"/_matrix/client/v3/profile/@{name}:{SERVER_NAME}/displayname", headers=bearer(token))
    assert r.status_code == 200 and r.json()["displayname"] == "Bea from the tests", r.text

    browser.get(gatehouse.base_url + "/account/sessions", "sessions")
    browser.get(account_link(discover(gatehouse), "org.matrix.device_view", device_id="BEAPHONE31"), "session-view")
    name_field = browser.in_form("rename-form", "#name")
    name_field.clear()
    name_field.send_keys("Bea's phone")
    browser.click("rename", "renamed")
    assert devices(gatehouse, token)["BEAPHONE31"]["display_name"] == "Bea's phone"

    browser.get(gatehouse.base_url + "/account/password", "password")
    browser.in_form("password-form", "#current_password").send_keys("not the password")
    browser.in_form("password-form", "#new_password").send_keys("a new password 31")
    browser.in_form("password-form", "#new_password_confirm").send_keys("a new password 31")
    browser.click("submit", "password-wrong")
    assert "The current password is wrong." in browser.text
    browser.in_form("password-form", "#current_password").send_keys(PASSWORD)
    browser.in_form("password-form", "#new_password").send_keys("a new password 31")
    browser.in_form("password-form", "#new_password_confirm").send_keys("a new password 31")
    browser.in_form("password-form", "#end_others").click()
    browser.click("submit", "password-changed")
    assert browser.has("account-notice"), browser.text[:1000]
    assert whoami(gatehouse, other).status_code == 401, "the other sessions ended with the change"
    with http_client(gatehouse.base_url, http2=False) as c:
        login = c.post("/_matrix/client/v3/login", json={
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": name}, "password": "a new password 31"})
    assert login.status_code == 200, login.text

    # A form whose CSRF token does not match the cookie's (a forged post, or a tab older than the
    # browser session) is refused with its own page, and nothing changes.
    browser.get(gatehouse.base_url + "/account/", "overview-again")
    browser.driver.execute_script("document.querySelector('#profile-form input[name=csrf]').value = 'forged'")
    field = browser.in_form("profile-form", "#displayname")
    field.clear()
    field.send_keys("Forged name")
    browser.click("save-profile", "csrf-refused")
    assert "This form has expired" in browser.text, browser.text[:1000]
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.get(f"/_matrix/client/v3/profile/@{name}:{SERVER_NAME}/displayname",
                  headers=bearer(login.json()["access_token"]))
    assert r.status_code == 200 and r.json()["displayname"] == "Bea from the tests", r.text


def test_cross_signing_reset_needs_the_confirmation(gatehouse, browser):
    name = register_user(gatehouse, "acct-cai")
    token = nio_login(gatehouse, name, "CAIPHONE31")
    assert upload_master_key(gatehouse, token, name).status_code == 200, "the first upload needs no UIA"
    # Replacing the key: Synapse asks for UIA and sends the client to the account page.
    refused = upload_master_key(gatehouse, token, name)
    assert refused.status_code == 401, refused.text
    body = refused.json()
    url = body["params"]["m.oauth"]["url"]
    assert url == discover(gatehouse)["account_management_uri"] + "?action=org.matrix.cross_signing_reset", body

    browser.get(url, "login")
    browser.login(name, PASSWORD, "cross-signing-confirmation")
    browser.expect_form("cross-signing-form")
    assert upload_master_key(gatehouse, token, name).status_code == 401, "looking at the page is not confirming"
    browser.click("confirm-reset", "cross-signing-allowed")
    assert browser.element("account-done").text == "Identity reset allowed"
    accepted = upload_master_key(gatehouse, token, name)
    assert accepted.status_code == 200, f"Synapse accepts the new keys without UIA: {accepted.text}"
