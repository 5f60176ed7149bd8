"""OAuth 2.0 clients over TLS: dynamic client registration (RFC 7591 / MSC2966) as a client
developer sends it with httpx, the refusals with their RFC 7591 error bodies, static clients from
`clients[]` synced by `serve`, and `gatehouse clients list|add|remove`."""

import os

import yaml

from harness import http_client

NATIVE = {
    "application_type": "native",
    "client_name": "Integration Native",
    "client_name#fr": "Intégration native",
    "client_uri": "https://app.example.org/",
    "redirect_uris": ["http://127.0.0.1/callback", "org.example.app:/callback"],
    "grant_types": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
}

WEB = {
    "application_type": "web",
    "client_name": "Integration Web",
    "client_uri": "https://web.example.org/",
    "logo_uri": "https://cdn.web.example.org/logo.png",
    "tos_uri": "https://web.example.org/tos",
    "redirect_uris": ["https://web.example.org/oauth/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "token_endpoint_auth_method": "none",
}

STATIC_ID = "01J9Z0XKQ4T3H7YB2V6N8M5R1C"


def register(gatehouse, body, *, http2=False, **kwargs):
    with http_client(gatehouse.base_url, http2=http2) as c:
        return c.post("/oauth2/registration", json=body, **kwargs)


def clients_list(g):
    r = g.cli("clients", "list", "-c", str(g.config))
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert rows[0] == ["client_id", "origin", "type", "auth_method", "created_at", "name", "redirect_uris"]
    return {row[0]: row for row in rows[1:]}


def test_native_and_web_clients_register_and_are_listed(gatehouse):
    native = register(gatehouse, NATIVE, http2=True)
    assert native.status_code == 201, native.text
    assert native.http_version == "HTTP/2"
    assert native.headers["cache-control"] == "no-store"
    assert native.headers["content-type"] == "application/json"
    body = native.json()
    assert len(body["client_id"]) == 26
    assert isinstance(body["client_id_issued_at"], int)
    assert {k: body[k] for k in NATIVE} == NATIVE
    assert "client_secret" not in body

    web = register(gatehouse, WEB)
    assert web.status_code == 201, web.text
    web_body = web.json()
    assert web_body["redirect_uris"] == WEB["redirect_uris"]
    assert web_body["response_types"] == ["code"]  # RFC 7591 default
    assert web_body["logo_uri"] == WEB["logo_uri"]

    # The same registration again is the same client (as in MAS).
    again = register(gatehouse, NATIVE)
    assert again.status_code == 201 and again.json()["client_id"] == body["client_id"]

    listed = clients_list(gatehouse)
    assert listed[body["client_id"]][1:4] == ["dynamic", "native", "none"]
    assert listed[body["client_id"]][5] == "Integration Native"
    assert listed[body["client_id"]][6] == "http://127.0.0.1/callback org.example.app:/callback"
    assert listed[web_body["client_id"]][1:4] == ["dynamic", "web", "none"]


def refusal(gatehouse, changes):
    body = {**NATIVE, **changes}
    body = {k: v for k, v in body.items() if v is not None}
    r = register(gatehouse, body)
    assert r.status_code == 400, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.json()


def test_refusals_name_the_rule(gatehouse):
    cases = [
        ({"redirect_uris": ["http://example.org/callback"]}, "invalid_redirect_uri",
         "redirect_uris[0] 'http://example.org/callback': a native application's http redirect URI must be on the loopback "
         "interface (http://localhost, http://127.0.0.1 or http://[::1], any port; RFC 8252 §7.3)"),
        ({"redirect_uris": ["com.evil.app:/callback"]}, "invalid_redirect_uri",
         "redirect_uris[0] 'com.evil.app:/callback': the private-use scheme com.evil.app must be the reverse-DNS form of "
         "client_uri's host (org.example.app or org.example.app.something; RFC 8252 §7.1)"),
        ({"redirect_uris": ["http://127.0.0.1/callback#frag"]}, "invalid_redirect_uri",
         "redirect_uris[0] 'http://127.0.0.1/callback#frag' has a fragment (#); redirect URIs must not (RFC 6749 §3.1.2)"),
        ({"redirect_uris": ["http://user@127.0.0.1/callback"]}, "invalid_redirect_uri",
         "redirect_uris[0] 'http://user@127.0.0.1/callback' contains user information (user@host); redirect URIs must not"),
        ({"application_type": "web", "redirect_uris": ["https://evil.example.com/cb"]}, "invalid_redirect_uri",
         "redirect_uris[0]: host evil.example.com is not app.example.org (the host of client_uri) or a subdomain of it"),
        ({"client_uri": None}, "invalid_client_metadata",
         "client_uri is required: the https home page of the client, whose host its redirect URIs and other URIs must be on"),
        ({"client_uri": "http://app.example.org/"}, "invalid_client_metadata", "client_uri 'http://app.example.org/' must be an https URL"),
        ({"policy_uri": "https://evil.example.com/privacy"}, "invalid_client_metadata",
         "policy_uri: host evil.example.com is not app.example.org (the host of client_uri) or a subdomain of it"),
        ({"grant_types": ["authorization_code", "password"]}, "invalid_client_metadata",
         "grant_types: 'password' is not allowed; a dynamically registered client may use only authorization_code, "
         "refresh_token, urn:ietf:params:oauth:grant-type:device_code"),
        ({"response_types": ["token"]}, "invalid_client_metadata",
         "response_types: 'token' is not allowed; only \"code\" is supported (no implicit or hybrid flows)"),
        ({"token_endpoint_auth_method": "client_secret_post"}, "invalid_client_metadata", None),
        ({"client_name#fr": "a\u202eb"}, "invalid_client_metadata", "client_name#fr contains control or formatting characters"),
    ]
    for changes, error, description in cases:
        answer = refusal(gatehouse, changes)
        assert answer["error"] == error, (changes, answer)
        if description is not None:
            assert answer["error_description"] == description, (changes, answer)
        else:
            assert answer["error_description"].startswith("token_endpoint_auth_method 'client_secret_post' is not allowed")


def test_bad_requests_store_nothing(gatehouse):
    before = clients_list(gatehouse)
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.post("/oauth2/registration", content=b"{broken", headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
        r = c.post("/oauth2/registration", data={"client_uri": "https://app.example.org/"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
        r = c.get("/oauth2/registration")
        assert r.status_code == 405 and r.headers["allow"] == "POST, OPTIONS"
        r = c.options("/oauth2/registration", headers={"origin": "https://app.example.org",
                                                       "access-control-request-method": "POST"})
        assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "*"
        r = c.post("/oauth2/registration", content=b"{" + b" " * (70 * 1024) + b"}",
                   headers={"content-type": "application/json"})
        assert r.status_code == 413
    refusal(gatehouse, {"redirect_uris": ["http://example.org/"]})
    assert clients_list(gatehouse) == before


def test_static_clients_are_synced_and_managed_from_the_cli(gatehouse_factory, tmp_path):
    g = gatehouse_factory("clients")
    secret_file = g.dir / "client_secret"
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, b"0123456789abcdef0123456789abcdef\n")
    os.close(fd)
    cfg = yaml.safe_load(g.config.read_text())
    cfg["clients"] = [{
        "client_id": STATIC_ID, "client_auth_method": "client_secret_basic", "client_secret_file": str(secret_file),
        "redirect_uris": ["https://bot.example.org/callback"], "client_name": "Static bot",
    }]
    g.config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    check = g.cli("config", "check", "-c", str(g.config))
    assert check.returncode == 0, check.stderr

    # A secret file others can read is refused at load, naming the key and the fix.
    os.chmod(secret_file, 0o644)
    bad = g.cli("config", "check", "-c", str(g.config))
    assert bad.returncode != 0
    assert "clients[0].client_secret_file: the client secret file" in bad.stderr and "chmod 600" in bad.stderr
    os.chmod(secret_file, 0o600)

    g.start()
    listed = clients_list(g)
    assert listed[STATIC_ID][1:4] == ["config", "web", "client_secret_basic"]
    assert listed[STATIC_ID][5] == "Static bot"
    # The secret itself is nowhere in the store file.
    assert b"0123456789abcdef0123456789abcdef" not in (g.dir / "gatehouse.db").read_bytes()

    added = g.cli("clients", "add", "-c", str(g.config), "--auth-method", "client_secret_post",
                  "--redirect-uri", "https://tool.example.org/cb", "--client-name", "Tool")
    assert added.returncode == 0, added.stderr
    lines = added.stdout.splitlines()
    assert lines[0].startswith("added client ") and lines[0].endswith(" (client_secret_post)")
    new_id = lines[0].split()[2]
    assert lines[1].startswith("client_secret: ") and len(lines[1].split()[1]) == 32
    assert clients_list(g)[new_id][1:4] == ["cli", "web", "client_secret_post"]

    refused = g.cli("clients", "add", "-c", str(g.config), "--redirect-uri", "https://tool.example.org/cb#x")
    assert refused.returncode == 1
    assert "has a fragment (#)" in refused.stderr

    config_client = g.cli("clients", "remove", "-c", str(g.config), STATIC_ID)
    assert config_client.returncode == 1
    assert "comes from clients[] in the configuration" in config_client.stderr

    removed = g.cli("clients", "remove", "-c", str(g.config), new_id)
    assert removed.returncode == 0, removed.stderr
    assert new_id not in clients_list(g)

    # Taking the client out of clients[] removes it at the next start.
    g.stop()
    cfg["clients"] = []
    g.config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    g.start()
    assert STATIC_ID not in clients_list(g)


def test_registrations_per_address_are_limited(gatehouse_factory):
    g = gatehouse_factory("dcr-limit")  # default limit: 10 per address at once, then 10 per hour
    g.start()
    statuses = [register(g, {**WEB, "client_name": f"Spam {i}"}).status_code for i in range(10)]
    assert statuses == [201] * 10
    limited = register(g, {**WEB, "client_name": "Spam 10"})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert limited.json()["error"] == "temporarily_unavailable"
    assert len(clients_list(g)) == 10
