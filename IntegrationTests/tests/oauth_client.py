"""The OAuth 2.0 client side of the browser tests, as a Matrix client developer writes it: discovery
through Synapse's `/_matrix/client/v1/auth_metadata`, dynamic registration of a native client with a
loopback redirect URI, a PKCE S256 authorization URL built by authlib, and the token endpoint calls
(authlib for the ordinary path, raw httpx where the exact error answer matters)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
import string

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from harness import SERVER_NAME, http_client

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
API_SCOPE = "urn:matrix:client:api:*"
DEVICE_SCOPE_PREFIX = "urn:matrix:client:device:"


def user_id(name: str) -> str:
    return f"@{name}:{SERVER_NAME}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_device_id() -> str:
    """A device id such as a client picks for its device scope (MSC2967)."""
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(10))


def matrix_scope(device_id: str, *, openid: bool = True) -> str:
    return " ".join((["openid"] if openid else []) + [API_SCOPE, DEVICE_SCOPE_PREFIX + device_id])


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))), unpadded."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def discover(gatehouse) -> dict:
    """The provider metadata as a Matrix client finds it: from Synapse, through Gatehouse."""
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.get("/_matrix/client/v1/auth_metadata")
    assert r.status_code == 200, f"auth_metadata: {r.status_code} {r.text}"
    return r.json()


@dataclasses.dataclass
class NativeClient:
    client_id: str
    redirect_uri: str
    registration: dict


def register_native_client(gatehouse, redirect_uri: str, name: str = "Gatehouse browser test",
                           registration_endpoint: str | None = None, extra: dict | None = None) -> NativeClient:
    """RFC 7591 registration of a public native client (MSC2966): loopback redirect URI, no secret,
    the authorization-code, refresh and device-code grants, and any `extra` metadata."""
    body = {
        "application_type": "native",
        "client_name": name,
        "client_uri": "https://browser-test.example.org/",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token", DEVICE_CODE_GRANT],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        **(extra or {}),
    }
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.post(registration_endpoint or "/oauth2/registration", json=body)
    assert r.status_code == 201, f"client registration: {r.status_code} {r.text}"
    answer = r.json()
    assert answer["redirect_uris"] == [redirect_uri] and answer["token_endpoint_auth_method"] == "none", answer
    return NativeClient(answer["client_id"], redirect_uri, answer)


def oauth_session(client: NativeClient, scope: str) -> OAuth2Client:
    """authlib's httpx OAuth2Client for this public client (PKCE S256, no client secret)."""
    return OAuth2Client(client_id=client.client_id, redirect_uri=client.redirect_uri, scope=scope,
                        code_challenge_method="S256", token_endpoint_auth_method="none",
                        revocation_endpoint_auth_method="none", verify=False, trust_env=False, timeout=30)


@dataclasses.dataclass
class Authorization:
    """One authorization request: the URL to open in the browser and what the client keeps."""
    url: str
    state: str
    code_verifier: str
    nonce: str
    scope: str
    device_id: str


def authorization_request(metadata: dict, session: OAuth2Client, device_id: str, scope: str,
                          state: str | None = None, **extra: str) -> Authorization:
    verifier = generate_token(64)
    nonce = generate_token(24)
    url, state = session.create_authorization_url(metadata["authorization_endpoint"], state=state,
                                                  code_verifier=verifier, nonce=nonce, **extra)
    return Authorization(url, state, verifier, nonce, scope, device_id)


def token_request(metadata: dict, data: dict, gatehouse) -> httpx.Response:
    """A raw form POST to the token endpoint (the answer is checked by the caller)."""
    with http_client(gatehouse.base_url, http2=False) as c:
        return c.post(metadata["token_endpoint"], data=data)


def oauth_error(r: httpx.Response, error: str, statuses: tuple[int, ...] = (400,)) -> dict:
    """Assert an RFC 6749 §5.2 error answer and return its body."""
    assert r.status_code in statuses, f"expected {error} with status {statuses}, got {r.status_code} {r.text}"
    body = r.json()
    assert body["error"] == error, body
    assert r.headers.get("cache-control") == "no-store", r.headers
    return body


def assert_token_answer(r: httpx.Response, device_id: str) -> dict:
    """A successful token answer in MAS's shape, carrying the device scope."""
    assert r.status_code == 200, f"token endpoint: {r.status_code} {r.text}"
    assert r.headers.get("cache-control") == "no-store", r.headers
    body = r.json()
    assert body["access_token"].startswith("mat_"), body
    assert body["refresh_token"].startswith("mar_"), body
    assert body["token_type"].lower() == "bearer", body
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0, body
    assert DEVICE_SCOPE_PREFIX + device_id in body["scope"].split(), body
    return body


def whoami(gatehouse, token: str) -> httpx.Response:
    with http_client(gatehouse.base_url, http2=False) as c:
        return c.get("/_matrix/client/v3/account/whoami", headers=bearer(token))


def assert_whoami(gatehouse, token: str, name: str, device_id: str) -> None:
    r = whoami(gatehouse, token)
    assert r.status_code == 200, f"whoami: {r.status_code} {r.text}"
    assert (r.json()["user_id"], r.json().get("device_id")) == (user_id(name), device_id), r.json()


def assert_refused(gatehouse, token: str) -> None:
    r = whoami(gatehouse, token)
    assert r.status_code == 401, f"expected the token to be refused: {r.status_code} {r.text}"
    assert r.json()["errcode"] == "M_UNKNOWN_TOKEN", r.text
