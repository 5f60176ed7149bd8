"""The identity store, provisioning through Synapse's /_synapse/mas API and token introspection,
with the real Synapse asking Gatehouse about every token."""

import signal
import sqlite3
import subprocess
import time

import httpx
import pytest

from harness import SERVER_NAME, http_client, wait_until


def synapse_mas(synapse, secret, path, **params):
    """Synapse's own MAS API (loopback only; Gatehouse never exposes it)."""
    return httpx.get(f"{synapse.url}/_synapse/mas/{path}", params=params, trust_env=False,
                     headers={"Authorization": f"Bearer {secret}"}, timeout=10)


def introspect(gatehouse, secret, token, hint="access_token", supports_device_id=True):
    headers = {"Authorization": f"Bearer {secret}"}
    if supports_device_id:
        headers["X-MAS-Supports-Device-Id"] = "1"
    return httpx.post(f"{gatehouse.internal_url}/oauth2/introspect", headers=headers, trust_env=False,
                      data={"token": token, "token_type_hint": hint}, timeout=10)


def whoami(gatehouse, token):
    with http_client(gatehouse.base_url, http2=False) as c:
        return c.get("/_matrix/client/v3/account/whoami", headers={"Authorization": f"Bearer {token}"})


def test_register_user_provisions_synapse(gatehouse, synapse, secret):
    r = synapse_mas(synapse, secret, "query_user", localpart="alice")
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == f"@alice:{SERVER_NAME}"
    assert r.json()["display_name"] == "Alice"
    listed = gatehouse.manage("list-users").stdout
    assert listed.startswith("alice\t")


def test_register_rejects_bad_and_duplicate_names(gatehouse):
    r = gatehouse.manage("register-user", "Bad Name", check=False)
    assert r.returncode == 1 and "not a valid username" in r.stderr
    r = gatehouse.manage("register-user", "alice", check=False)
    assert r.returncode == 1 and "already exists" in r.stderr
    r = gatehouse.manage("register-user", f"@zed:not-{SERVER_NAME}", check=False)
    assert r.returncode == 1 and "another server" in r.stderr


def test_introspection_answers_like_mas(gatehouse, secret):
    token = gatehouse.issue_token("alice", "INTRO1")
    r = introspect(gatehouse, secret, token)
    assert r.status_code == 200
    body = r.json()
    assert body["active"] is True
    assert body["username"] == "alice"
    assert body["device_id"] == "INTRO1"
    assert body["client_id"] == "legacy"
    assert body["token_type"] == "access_token"
    assert body["scope"] == "urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:api:*"
    assert "expires_in" not in body, "compat tokens without refresh never expire"
    assert isinstance(body["iat"], int)
    legacy = introspect(gatehouse, secret, token, supports_device_id=False).json()
    assert "urn:matrix:client:device:INTRO1" in legacy["scope"].split()
    assert "urn:matrix:org.matrix.msc2967.client:device:INTRO1" in legacy["scope"].split()
    # A refresh hint on an access token is a mismatch: inactive, like MAS.
    assert introspect(gatehouse, secret, token, hint="refresh_token").json() == {"active": False}


@pytest.mark.parametrize("token", [
    "garbage",
    "mct_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_000000",          # well-formed, bad checksum
    "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43",           # valid checksum, never issued
    "syt_YWxpY2U_TGhbGTLXNnRmOYvkjodM_1mCNv7",
])
def test_unknown_tokens_are_inactive_everywhere(gatehouse, secret, token):
    r = introspect(gatehouse, secret, token)
    assert r.status_code == 200 and r.json() == {"active": False}
    r = whoami(gatehouse, token)
    assert r.status_code == 401, r.text
    assert r.json()["errcode"] == "M_UNKNOWN_TOKEN"


def test_introspection_caller_must_present_the_shared_secret(gatehouse, secret):
    token = gatehouse.alice_token
    for headers in ({}, {"Authorization": "Bearer wrong-secret"}, {"Authorization": f"Basic {secret}"}):
        r = httpx.post(f"{gatehouse.internal_url}/oauth2/introspect", headers=headers, data={"token": token},
                       trust_env=False, timeout=10)
        assert r.status_code == 401, (headers, r.text)
        assert r.json()["error"] == "access_denied"
        assert "active" not in r.json()
    r = httpx.post(f"{gatehouse.internal_url}/oauth2/introspect", headers={"Authorization": f"Bearer {secret}"},
                   data={"token_type_hint": "access_token"}, trust_env=False, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_discovery_document(gatehouse):
    r = httpx.get(f"{gatehouse.internal_url}/.well-known/openid-configuration", trust_env=False, timeout=10)
    assert r.status_code == 200
    doc = r.json()
    assert doc["issuer"] == f"https://{SERVER_NAME}:{gatehouse.port}/"
    assert doc["account_management_uri"] == doc["issuer"] + "account/"
    with http_client(gatehouse.base_url, http2=False) as c:
        # Synapse repeats our metadata to clients (MSC2965).
        r = c.get("/_matrix/client/v1/auth_metadata")
        assert r.status_code == 200, r.text
        assert r.json()["issuer"] == doc["issuer"]


def test_admin_flag_grants_synapse_admin(gatehouse, synapse):
    admin = gatehouse.issue_token("alice", "ADMINDEV", admin=True)
    plain = gatehouse.issue_token("alice", "PLAINDEV")
    url = f"{synapse.url}/_synapse/admin/v2/users/@alice:{SERVER_NAME}"
    r = httpx.get(url, headers={"Authorization": f"Bearer {admin}"}, trust_env=False, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == f"@alice:{SERVER_NAME}"
    r = httpx.get(url, headers={"Authorization": f"Bearer {plain}"}, trust_env=False, timeout=10)
    assert r.status_code == 403, r.text
    # From outside, the admin API stays closed whatever the token.
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.get(f"/_synapse/admin/v2/users/@alice:{SERVER_NAME}", headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code == 404


def test_lock_and_unlock(gatehouse, synapse, secret):
    gatehouse.manage("register-user", "bob", "--password", "bob-password")
    token = gatehouse.issue_token("bob", "BOBDEV")
    assert whoami(gatehouse, token).status_code == 200
    out = gatehouse.manage("lock-user", "bob").stdout
    assert "locked bob" in out and "Synapse: updated" in out
    assert introspect(gatehouse, secret, token).json() == {"active": False}
    r = whoami(gatehouse, token)
    assert r.status_code == 401, "the token must die at once, not after Synapse's 2-minute cache"
    r = gatehouse.manage("issue-compatibility-token", "bob", check=False)
    assert r.returncode == 1 and "locked" in r.stderr
    gatehouse.manage("unlock-user", "bob")
    fresh = gatehouse.issue_token("bob")
    assert whoami(gatehouse, fresh).status_code == 200


def test_deactivate_user(gatehouse, synapse, secret):
    gatehouse.manage("register-user", "carol")
    token = gatehouse.issue_token("carol", "CAROLDEV")
    assert whoami(gatehouse, token).status_code == 200
    gatehouse.manage("deactivate-user", "carol")
    assert synapse_mas(synapse, secret, "query_user", localpart="carol").json()["is_deactivated"] is True
    assert introspect(gatehouse, secret, token).json() == {"active": False}
    assert whoami(gatehouse, token).status_code == 401
    assert "deactivated" in gatehouse.manage("list-users").stdout


def test_kill_sessions(gatehouse, secret):
    gatehouse.manage("register-user", "erin")
    tokens = [gatehouse.issue_token("erin", f"ERIN{i}") for i in range(2)]
    out = gatehouse.manage("kill-sessions", "erin").stdout
    assert "ended 2 session(s)" in out
    for t in tokens:
        assert introspect(gatehouse, secret, t).json() == {"active": False}
        assert whoami(gatehouse, t).status_code == 401


def test_replacing_a_device_kills_its_old_token(gatehouse, secret):
    first = gatehouse.issue_token("alice", "REPLACED")
    second = gatehouse.issue_token("alice", "REPLACED")
    assert introspect(gatehouse, secret, first).json() == {"active": False}
    assert introspect(gatehouse, secret, second).json()["active"] is True


def test_register_while_synapse_is_down_is_queued_and_completes(gatehouse, synapse, secret):
    synapse.stop()
    try:
        r = gatehouse.manage("register-user", "frank", "--password", "frank-password")
        assert "created user frank" in r.stdout
        assert "queued" in r.stdout, r.stdout
        # Fail closed: no token for a user Synapse does not know yet.
        r = gatehouse.manage("issue-compatibility-token", "frank", check=False)
        assert r.returncode == 1 and "could not be reached" in r.stderr
    finally:
        synapse.start()
    # The running server's job worker retries until Synapse accepts the provisioning.
    wait_until(lambda: synapse_mas(synapse, secret, "query_user", localpart="frank").status_code == 200, 120,
               "the queued provisioning of frank to complete")
    token = gatehouse.issue_token("frank")
    assert whoami(gatehouse, token).json()["user_id"] == f"@frank:{SERVER_NAME}"


def test_sigkill_leaves_a_consistent_store(gatehouse_factory, secret):
    g = gatehouse_factory("crash")
    g.manage("register-user", "dave", "--password", "dave-password")
    token = g.issue_token("dave", "DAVEDEV")
    g.start()
    # Kill the server while it answers (and records activity), and a CLI run in the middle of a write.
    for _ in range(20):
        introspect(g, secret, token)
    cli = subprocess.Popen([str(g.bin), "manage", "register-user", "ghost", "--password", "pw", "-c", str(g.config)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.05)
    cli.send_signal(signal.SIGKILL)
    cli.wait()
    g.signal(signal.SIGKILL)
    g.wait_exit(10)
    g.start()
    assert introspect(g, secret, token).json()["active"] is True
    db = sqlite3.connect(g.dir / "gatehouse.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # No half-made user: every user created with a password has it.
        orphans = db.execute("SELECT username FROM users WHERE id NOT IN (SELECT user_id FROM user_passwords)").fetchall()
        assert orphans == []
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()
