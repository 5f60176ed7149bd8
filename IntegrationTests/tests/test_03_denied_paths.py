"""Synapse's /_synapse/mas API (and the admin API) must not be reachable through Gatehouse,
however the path is spelled. Synapse itself answers some of these spellings with 200
(%6Das, %5Fsynapse, a leading //), so forwarding them would leak the MAS API."""

import httpx
import pytest

from harness import h2_request, raw_h1

QUERY = "?localpart=alice"
VARIANTS = [
    "/_synapse/mas/query_user",
    "/_synapse/%6Das/query_user",
    "/_synapse/%6das/query_user",
    "/%5Fsynapse/mas/query_user",
    "/%5fsynapse/mas/query_user",
    "//_synapse/mas/query_user",
    "/_synapse//mas/query_user",
    "/_synapse/mas/%2e%2e/mas/query_user",
    "/_synapse/mas/../mas/query_user",
    "/_matrix/../_synapse/mas/query_user",
    "/_matrix/client/../../_synapse/mas/query_user",
    "/_synapse/mas/./query_user",
]
# Literal dot segments are rejected outright.
DOT_SEGMENTS = [v for v in VARIANTS if "/../" in v or "/./" in v]
H2_VARIANTS = ["/_synapse/mas/query_user", "/_synapse/%6Das/query_user", "//_synapse/mas/query_user",
               "/_synapse/mas/../mas/query_user"]


def _h1_get(gatehouse, path, secret):
    return raw_h1(gatehouse.port, (f"GET {path} HTTP/1.1\r\nHost: localhost:{gatehouse.port}\r\n"
                                   f"Authorization: Bearer {secret}\r\nConnection: close\r\n\r\n").encode())


def test_control_synapse_answers_the_secret_directly(gatehouse, synapse, secret):
    """Without Gatehouse the request works: the denials below are Gatehouse's doing. (The
    gatehouse fixture is what registers alice, so this control also runs alone.)"""
    r = httpx.get(synapse.url + "/_synapse/mas/query_user" + QUERY, trust_env=False,
                  headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200 and r.json()["user_id"] == "@alice:localhost", r.text


@pytest.mark.parametrize("path", VARIANTS)
def test_mas_api_denied_h1(gatehouse, secret, path):
    r = _h1_get(gatehouse, path + QUERY, secret)
    assert b"user_id" not in r.body, f"{path}: Synapse's answer leaked: {r.raw[:400]!r}"
    assert r.status in (400, 404), r.raw[:400]


@pytest.mark.parametrize("path", H2_VARIANTS)
def test_mas_api_denied_h2(gatehouse, secret, path):
    r = h2_request(gatehouse.port, "GET", path + QUERY, [("authorization", f"Bearer {secret}")])
    assert b"user_id" not in r.body, f"{path}: Synapse's answer leaked: {r.status} {r.body[:300]!r}"
    assert r.reset is not None or r.status in (400, 404), (r.status, r.body[:300])


@pytest.mark.parametrize("path", DOT_SEGMENTS)
def test_dot_segments_rejected_with_400(gatehouse, secret, path):
    r = _h1_get(gatehouse, path + QUERY, secret)
    assert r.status == 400, r.raw[:400]


def test_admin_api_not_exposed(client):
    r = client.get("/_synapse/admin/v1/server_version")
    assert r.status_code == 404, r.text
