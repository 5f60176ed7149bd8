"""Plain pass-through and Gatehouse's own endpoints, over HTTP/1.1 and h2."""

from harness import ALICE_DEVICE, ALICE_ID, SERVER_NAME


def test_config_check_accepts_generated_config(gatehouse):
    r = gatehouse.check_result
    assert r.returncode == 0, r.stdout + r.stderr
    assert "configuration OK" in r.stdout + r.stderr


def test_versions(client):
    r = client.get("/_matrix/client/versions")
    assert r.http_version == client.expected_version
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert isinstance(r.json().get("versions"), list)
    assert r.headers.get("strict-transport-security"), dict(r.headers)


def test_key_server(client):
    r = client.get("/_matrix/key/v2/server")
    assert r.http_version == client.expected_version
    assert r.status_code == 200, r.text
    assert r.json()["server_name"] == SERVER_NAME


def test_whoami(client, alice):
    r = client.get("/_matrix/client/v3/account/whoami", headers=alice)
    assert r.http_version == client.expected_version
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_id"] == ALICE_ID
    assert body["device_id"] == ALICE_DEVICE


def test_health(client):
    r = client.get("/health")
    assert r.http_version == client.expected_version
    assert r.status_code == 200, r.text
