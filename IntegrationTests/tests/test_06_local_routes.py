"""Routes Gatehouse owns are answered by Gatehouse, never forwarded to Synapse."""

import pytest

SYNAPSE_404 = {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}


@pytest.mark.parametrize("path", ["/_matrix/client/v3/login", "/_matrix/client/r0/login"])
def test_login_is_answered_locally(client, path):
    r = client.post(path, json={"type": "m.login.password", "password": "x",
                                "identifier": {"type": "m.id.user", "user": "alice"}})
    # Gatehouse's login layer refuses the wrong password; Synapse (auth delegated) would say 404.
    assert r.http_version == client.expected_version
    assert r.status_code == 403, f"{r.status_code} {r.text}"
    body = r.json()
    assert body == {"errcode": "M_FORBIDDEN", "error": "Invalid username/password"}, body
    assert body != SYNAPSE_404
