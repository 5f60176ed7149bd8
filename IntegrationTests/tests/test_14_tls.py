"""The TLS edge: TLS 1.2 and 1.3 only, AEAD suites only, the configured curves, ALPN h2 and
http/1.1, HSTS on every HTTPS response."""

import socket
import ssl

import pytest

from harness import SERVER_NAME, http_client


def handshake(port, *, minimum=None, maximum=None, ciphers=None, curve=None, alpn=("h2", "http/1.1")):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if minimum:
        context.minimum_version = minimum
    if maximum:
        context.maximum_version = maximum
    if ciphers:
        context.set_ciphers(ciphers)
    if curve:
        context.set_ecdh_curve(curve)
    if alpn:
        context.set_alpn_protocols(list(alpn))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls:
            return tls.version(), tls.cipher()[0], tls.selected_alpn_protocol()


def test_tls13_and_alpn(gatehouse):
    version, _, alpn = handshake(gatehouse.port)
    assert version == "TLSv1.3"
    assert alpn == "h2"
    assert handshake(gatehouse.port, alpn=("http/1.1",))[2] == "http/1.1"


@pytest.mark.parametrize("cipher", ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                                    "ECDHE-ECDSA-CHACHA20-POLY1305"])
def test_tls12_aead_suites_are_offered(gatehouse, cipher):
    version, negotiated, _ = handshake(gatehouse.port, maximum=ssl.TLSVersion.TLSv1_2, ciphers=cipher)
    assert version == "TLSv1.2"
    assert negotiated == cipher


@pytest.mark.parametrize("cipher", ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "AES128-SHA",
                                    "AES128-GCM-SHA256"])
def test_cbc_and_non_ecdhe_suites_are_refused(gatehouse, cipher):
    with pytest.raises(ssl.SSLError):
        handshake(gatehouse.port, maximum=ssl.TLSVersion.TLSv1_2, ciphers=cipher)


def test_old_protocol_versions_are_refused(gatehouse):
    context_max = ssl.TLSVersion.TLSv1_1
    try:
        with pytest.raises(ssl.SSLError):
            handshake(gatehouse.port, minimum=ssl.TLSVersion.TLSv1, maximum=context_max, ciphers="ALL:@SECLEVEL=0")
    except ValueError:
        pytest.skip("this Python's OpenSSL cannot even offer TLS 1.1")


def test_curves(gatehouse):
    """P-256 and P-384 (and X25519, which the TLS 1.3 default handshake uses) are accepted, others not.
    Checked over TLS 1.3: in TLS 1.2 the offered groups also bind the P-256 certificate's curve."""
    for curve in ("prime256v1", "secp384r1"):
        assert handshake(gatehouse.port, minimum=ssl.TLSVersion.TLSv1_3, curve=curve)[0] == "TLSv1.3"
    with pytest.raises(ssl.SSLError):
        handshake(gatehouse.port, minimum=ssl.TLSVersion.TLSv1_3, curve="secp521r1")


@pytest.mark.parametrize("path", ["/health", "/_matrix/client/versions", "/nothing-here", "/_synapse/mas/x"])
def test_hsts_on_every_https_response(gatehouse, path):
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.get(path)
        assert r.headers.get("strict-transport-security") == "max-age=31536000", (path, r.status_code)
