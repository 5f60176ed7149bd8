"""OpenID Connect discovery, the JWKS and webfinger through Gatehouse's TLS listener, checked as a
client would: the issuer Synapse announces (MSC2965 auth_metadata) is byte for byte the one in
Gatehouse's discovery document, every advertised URL answers, and the published keys import into
a real JOSE library (joserfc) with the kids `config generate` gave them."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest
from joserfc.jwk import ECKey, KeySet, RSAKey

from harness import SERVER_NAME, clean_env, free_port, gatehouse_bin, http_client

ISSUER_REL = "http://openid.net/specs/connect/1.0/issuer"


@pytest.fixture
def discovery(gatehouse) -> tuple[dict, bytes]:
    with http_client(gatehouse.base_url, http2=True) as c:
        r = c.get("/.well-known/openid-configuration")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return r.json(), r.content


def _issuer_bytes(raw: bytes) -> bytes:
    """The issuer exactly as sent (JSON string escapes included), not as a parser re-spells it."""
    start = raw.index(b'"issuer":"') + len(b'"issuer":"')
    return raw[start:raw.index(b'"', start)]


def test_synapse_announces_the_same_issuer_and_document(gatehouse, discovery):
    doc, raw = discovery
    assert doc["issuer"] == f"https://{SERVER_NAME}:{gatehouse.port}/"
    with http_client(gatehouse.base_url, http2=False) as c:
        # Served by Synapse (auth delegated to Gatehouse), proxied by Gatehouse.
        metadata = c.get("/_matrix/client/v1/auth_metadata")
    assert metadata.status_code == 200, metadata.text
    assert _issuer_bytes(metadata.content) == _issuer_bytes(raw) == doc["issuer"].encode()
    # Synapse repeats the whole document; clients such as Element X read it there.
    assert metadata.json() == doc
    # (Synapse 1.163 no longer serves the unstable MSC2965 `auth_issuer`; v1 `auth_metadata` replaced it.)


def test_document_advertises_only_what_is_served(gatehouse, discovery):
    doc, _ = discovery
    issuer = doc["issuer"]
    assert doc["jwks_uri"] == issuer + "oauth2/keys.json"
    assert doc["response_types_supported"] == ["code"]
    assert doc["subject_types_supported"] == ["public"]
    assert doc["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    assert doc["claims_supported"] == ["iss", "sub", "aud", "iat", "exp", "nonce", "auth_time", "at_hash", "c_hash"]
    assert doc["registration_endpoint"] == issuer + "oauth2/registration"
    assert doc["token_endpoint"] == issuer + "oauth2/token"
    assert doc["grant_types_supported"] == [
        "authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"]
    assert doc["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post", "none"]
    assert doc["authorization_endpoint"] == issuer + "authorize"
    assert doc["response_modes_supported"] == ["form_post", "query", "fragment"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    # `create` only with the registration page (the shared instance turns it on when the binary knows the key).
    registration = gatehouse.optional_config_applied
    assert doc["prompt_values_supported"] == (["login", "create"] if registration else ["login"])
    urls = {k: v for k, v in doc.items() if k.endswith("_endpoint") or k == "jwks_uri"}
    assert set(urls) == {"jwks_uri", "introspection_endpoint", "registration_endpoint", "token_endpoint", "revocation_endpoint",
                         "userinfo_endpoint", "device_authorization_endpoint", "authorization_endpoint"}
    # Answered by Gatehouse: introspection wants Synapse's secret (401), registration a JSON body
    # (400 with an RFC 7591 error), the token-side endpoints a form with client credentials (400),
    # userinfo a bearer token (401), /authorize a client (400, the HTML error page); the JWKS is public.
    expected = {"jwks_uri": ("GET", 200), "introspection_endpoint": ("POST", 401), "registration_endpoint": ("POST", 400),
                "token_endpoint": ("POST", 400), "revocation_endpoint": ("POST", 400), "userinfo_endpoint": ("GET", 401),
                "device_authorization_endpoint": ("POST", 400), "authorization_endpoint": ("GET", 400)}
    with http_client(gatehouse.base_url, http2=False) as c:
        for key, url in urls.items():
            assert url.startswith(issuer), (key, url)
            path = "/" + url[len(issuer):]
            method, status = expected[key]
            r = c.request(method, path)
            assert r.status_code == status, (key, r.status_code, r.text)


def test_jwks_keys_import_into_joserfc(gatehouse):
    with http_client(gatehouse.base_url, http2=True) as c:
        r = c.get("/oauth2/keys.json")
    assert r.status_code == 200, r.text
    assert "max-age" in r.headers["cache-control"] and "public" in r.headers["cache-control"]
    jwks = r.json()
    assert [(k["kty"], k["alg"], k["use"]) for k in jwks["keys"]] == [("RSA", "RS256", "sig"), ("EC", "ES256", "sig")]
    for key in jwks["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys(), "private members published"
    key_set = KeySet.import_key_set(jwks)
    rsa, ec = key_set.keys
    assert isinstance(rsa, RSAKey) and isinstance(ec, ECKey)
    assert rsa.raw_value.key_size == 2048
    assert ec.get("crv") == "P-256" and ec.raw_value.curve.name == "secp256r1"
    # config generate names each key after its RFC 7638 thumbprint: joserfc computes the same one.
    for key, prefix in ((rsa, "rs256-"), (ec, "es256-")):
        assert key.kid.startswith(prefix), key.kid
        assert key.thumbprint().startswith(key.kid[len(prefix):]), (key.kid, key.thumbprint())


def test_webfinger(gatehouse, discovery):
    doc, _ = discovery
    resource = f"acct:alice@{SERVER_NAME}"
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.get("/.well-known/webfinger", params={"resource": resource, "rel": ISSUER_REL})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/jrd+json"
        assert r.headers["access-control-allow-origin"] == "*"
        assert r.json() == {"subject": resource, "links": [{"rel": ISSUER_REL, "href": doc["issuer"]}]}
        other = c.get("/.well-known/webfinger", params={"resource": resource, "rel": "http://webfinger.net/rel/avatar"})
        assert other.status_code == 200 and other.json() == {"subject": resource, "links": []}
        for params in ({"rel": ISSUER_REL}, {"resource": ""}, [("resource", "a"), ("resource", "b")]):
            bad = c.get("/.well-known/webfinger", params=params)
            assert bad.status_code == 400, (params, bad.text)
            assert bad.json()["error"] == "invalid_request"
        assert c.post("/.well-known/webfinger", params={"resource": resource}).status_code == 405


def _run(*args, cwd, umask: int | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(gatehouse_bin()), *args], capture_output=True, text=True, cwd=cwd, env=clean_env(),
                          timeout=60, stdin=subprocess.DEVNULL,
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def test_config_generate_writes_private_keys_and_check_validates_them(tmp_path):
    # umask 0: only the modes Gatehouse asks for count.
    r = _run("config", "generate", "--output", str(tmp_path / "gatehouse.yaml"), "--listen", f"127.0.0.1:{free_port()}",
             "--internal-listen", "", "--database", "gatehouse.db", cwd=tmp_path, umask=0)
    assert r.returncode == 0, r.stderr
    files = {name: tmp_path / name for name in ("signing_rsa.pem", "signing_ec.pem", "encryption_secret")}
    for name, path in files.items():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, name
    assert len(bytes.fromhex(files["encryption_secret"].read_text().strip())) == 32
    assert files["signing_rsa.pem"].read_text().startswith("-----BEGIN ")
    r = _run("config", "check", "-c", str(tmp_path / "gatehouse.yaml"), cwd=tmp_path)
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    assert "signing keys: rs256-" in r.stdout and "(RS256), es256-" in r.stdout, r.stdout
    # A key other accounts can read, or one that is not a key, stops `config check` and `serve`.
    os.chmod(files["signing_ec.pem"], 0o640)
    for command in (["config", "check", "-c", "gatehouse.yaml"], ["serve", "-c", "gatehouse.yaml"]):
        r = _run(*command, cwd=tmp_path)
        assert r.returncode == 1, (command, r.stderr)
        assert "secrets.keys[1].key_file: the signing key" in r.stderr and "(mode 0640)" in r.stderr, r.stderr
    os.chmod(files["signing_ec.pem"], 0o600)
    files["signing_rsa.pem"].write_text("not a key\n")
    r = _run("config", "check", "-c", "gatehouse.yaml", cwd=tmp_path)
    assert r.returncode == 1 and "secrets.keys[0].key_file: the file" in r.stderr and "is not a PEM private key" in r.stderr, r.stderr
