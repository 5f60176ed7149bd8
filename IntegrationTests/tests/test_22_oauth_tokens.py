"""The OAuth 2.0 token side over TLS, through public interfaces only: client_credentials with a
confidential client added by `gatehouse clients add`, revocation, userinfo and the token endpoint's
error shapes, the device authorization request and its first polls, and introspection of
`mat_`/`mar_` tokens by Synapse's shared secret. (The user-facing grants need the HTML pages:
those are the browser tests' job.)"""

import httpx

from harness import http_client

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

NATIVE = {
    "application_type": "native",
    "client_name": "Token Test",
    "client_uri": "https://tokens.example.org/",
    "redirect_uris": ["http://127.0.0.1/callback"],
    "grant_types": ["authorization_code", "refresh_token", DEVICE_GRANT],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
}


def introspect(gatehouse, secret, token, hint=None):
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    return httpx.post(f"{gatehouse.internal_url}/oauth2/introspect", trust_env=False, timeout=10, data=data,
                      headers={"Authorization": f"Bearer {secret}", "X-MAS-Supports-Device-Id": "1"})


def public_client(gatehouse):
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.post("/oauth2/registration", json=NATIVE)
    assert r.status_code == 201, r.text
    return r.json()["client_id"]


def confidential_client(gatehouse):
    added = gatehouse.cli("clients", "add", "-c", str(gatehouse.config), "--auth-method", "client_secret_basic",
                          "--redirect-uri", "https://service.example.org/cb", "--client-name", "Service")
    assert added.returncode == 0, added.stderr
    lines = added.stdout.splitlines()
    client_id = lines[0].split()[2]
    secret = next(line.split(": ", 1)[1] for line in lines if line.startswith("client_secret: "))
    return client_id, secret


def error_of(response):
    assert response.headers["cache-control"] == "no-store", response.headers
    assert response.headers["pragma"] == "no-cache", response.headers
    return response.json()["error"]


def test_client_credentials_revocation_and_introspection(gatehouse, secret):
    client_id, client_secret = confidential_client(gatehouse)
    with http_client(gatehouse.base_url, http2=True) as c:
        r = c.post("/oauth2/token", data={"grant_type": "client_credentials", "scope": "urn:mas:graphql:*"},
                   auth=(client_id, client_secret))
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store" and r.headers["pragma"] == "no-cache"
        body = r.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 300 and body["scope"] == "urn:mas:graphql:*"
        assert body["access_token"].startswith("mat_") and "refresh_token" not in body and "id_token" not in body
        token = body["access_token"]

        answer = introspect(gatehouse, secret, token).json()
        assert answer["active"] is True and answer["client_id"] == client_id and answer["scope"] == "urn:mas:graphql:*"
        assert answer["token_type"] == "access_token" and 0 < answer["expires_in"] <= 300
        assert "username" not in answer and "sub" not in answer and "device_id" not in answer
        # No Matrix scope: Synapse does not let it in.
        whoami = c.get("/_matrix/client/v3/account/whoami", headers={"Authorization": f"Bearer {token}"})
        assert whoami.status_code == 401, whoami.text

        refused = c.post("/oauth2/token", data={"grant_type": "client_credentials", "scope": "urn:matrix:client:api:*"},
                         auth=(client_id, client_secret))
        assert refused.status_code == 400 and error_of(refused) == "invalid_scope"
        wrong = c.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, "not-the-secret"))
        assert wrong.status_code == 401 and error_of(wrong) == "invalid_client"
        assert wrong.headers["www-authenticate"].startswith("Basic")

        # Revocation: garbage is fine, a bad hint is not, then the token dies at once.
        assert c.post("/oauth2/revoke", data={"token": "garbage"}, auth=(client_id, client_secret)).status_code == 200
        hint = c.post("/oauth2/revoke", data={"token": token, "token_type_hint": "id_token"}, auth=(client_id, client_secret))
        assert hint.status_code == 400 and error_of(hint) == "unsupported_token_type"
        revoked = c.post("/oauth2/revoke", data={"token": token, "token_type_hint": "access_token"}, auth=(client_id, client_secret))
        assert revoked.status_code == 200 and revoked.content == b""
    assert introspect(gatehouse, secret, token).json() == {"active": False}


def test_revocation_needs_the_right_client(gatehouse):
    client_id, client_secret = confidential_client(gatehouse)
    other_id, other_secret = confidential_client(gatehouse)
    with http_client(gatehouse.base_url, http2=False) as c:
        token = c.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret)).json()["access_token"]
        other = c.post("/oauth2/revoke", data={"token": token}, auth=(other_id, other_secret))
        assert other.status_code == 401 and error_of(other) == "unauthorized_client"
        nobody = c.post("/oauth2/revoke", data={"token": token, "client_id": "01NOSUCHCLIENT0000000000000"})
        assert nobody.status_code == 401 and error_of(nobody) == "invalid_client"
        anonymous = c.post("/oauth2/revoke", data={"token": token})
        assert anonymous.status_code == 400 and error_of(anonymous) == "invalid_request"
        assert c.post("/oauth2/revoke", data={"token": token}, auth=(client_id, client_secret)).status_code == 200


def test_userinfo_errors(gatehouse):
    client_id, client_secret = confidential_client(gatehouse)
    with http_client(gatehouse.base_url, http2=False) as c:
        token = c.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret)).json()["access_token"]
        missing = c.get("/oauth2/userinfo")
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        assert c.get("/oauth2/userinfo", headers={"Authorization": "Bearer mat_garbage"}).status_code == 401
        # A token without `openid` (and without a user) gets nothing.
        assert c.get("/oauth2/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        both = c.post("/oauth2/userinfo", data={"access_token": token}, headers={"Authorization": f"Bearer {token}"})
        assert both.status_code == 400 and both.json()["error"] == "invalid_request"
        # A compat token is not an OAuth 2.0 access token.
        assert c.get("/oauth2/userinfo", headers={"Authorization": f"Bearer {gatehouse.alice_token}"}).status_code == 401


def test_token_endpoint_error_shapes(gatehouse):
    client_id = public_client(gatehouse)
    cases = [
        ({"grant_type": "password", "username": "alice", "password": "x"}, 400, "unsupported_grant_type"),
        ({"code": "x"}, 400, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "no-such-code", "code_verifier": "v" * 43}, 400, "invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "mar_garbage"}, 400, "invalid_grant"),
        ({"grant_type": DEVICE_GRANT, "device_code": "no-such-device-code"}, 400, "invalid_grant"),
        ({"grant_type": "client_credentials"}, 401, "unauthorized_client"),
    ]
    with http_client(gatehouse.base_url, http2=True) as c:
        for form, status, error in cases:
            r = c.post("/oauth2/token", data={**form, "client_id": client_id})
            assert r.status_code == status, (form, r.text)
            assert error_of(r) == error, (form, r.text)
            assert r.json()["error_description"], form
        unknown = c.post("/oauth2/token", data={"grant_type": "client_credentials", "client_id": "01NOSUCHCLIENT0000000000000"})
        assert unknown.status_code == 401 and error_of(unknown) == "invalid_client"
        as_json = c.post("/oauth2/token", json={"grant_type": "client_credentials", "client_id": client_id})
        assert as_json.status_code == 400 and error_of(as_json) == "invalid_request"
        get = c.get("/oauth2/token")
        assert get.status_code == 405 and get.headers["allow"] == "POST, OPTIONS"
        preflight = c.options("/oauth2/token", headers={"origin": "https://app.element.io", "access-control-request-method": "POST"})
        assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*"


def test_device_authorization_and_first_polls(gatehouse):
    client_id = public_client(gatehouse)
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.post("/oauth2/device", data={"client_id": client_id, "scope": "openid urn:matrix:client:api:*"})
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        body = r.json()
        base = gatehouse.base_url.rstrip("/") + "/"
        assert len(body["device_code"]) == 32 and body["expires_in"] == 1200 and body["interval"] == 5
        user_code = body["user_code"]
        assert len(user_code) == 9 and user_code[4] == "-" and user_code.replace("-", "").isupper()
        assert body["verification_uri"].endswith("/link")
        assert body["verification_uri_complete"] == body["verification_uri"] + "?code=" + user_code
        assert body["verification_uri"].startswith(("https://", "http://")), base

        poll = {"grant_type": DEVICE_GRANT, "device_code": body["device_code"], "client_id": client_id}
        pending = c.post("/oauth2/token", data=poll)
        assert pending.status_code == 400 and error_of(pending) == "authorization_pending"
        too_soon = c.post("/oauth2/token", data=poll)
        assert too_soon.status_code == 400 and error_of(too_soon) == "slow_down"

        confidential_id, confidential_secret = confidential_client(gatehouse)
        # `clients add` clients may use every grant; a dynamic client without the device grant may not.
        web = dict(NATIVE, grant_types=["authorization_code"], client_name="No device")
        no_device = c.post("/oauth2/registration", json=web).json()["client_id"]
        refused = c.post("/oauth2/device", data={"client_id": no_device})
        assert refused.status_code == 401 and error_of(refused) == "unauthorized_client"
        mixed = c.post("/oauth2/device", data={"client_id": client_id,
                                               "scope": "urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:api:*"})
        assert mixed.status_code == 400 and error_of(mixed) == "invalid_scope"
        # No body at all: credentials in the header, no scope.
        ok = c.post("/oauth2/device", auth=(confidential_id, confidential_secret))
        assert ok.status_code == 200, ok.text
        assert ok.json()["user_code"] != user_code


def test_introspection_of_garbage_oauth_tokens(gatehouse, secret):
    for token, hint in [("mat_garbage", None), ("mar_" + "a" * 30 + "_000000", "refresh_token"),
                        ("mat_" + "a" * 30 + "_000000", "access_token"), ("mar_garbage", "access_token"), ("", None)]:
        r = introspect(gatehouse, secret, token, hint)
        assert r.status_code == 200 and r.json() == {"active": False}, (token, r.text)
