"""`gatehouse import-synapse` against a real Synapse, on SQLite and on PostgreSQL: Synapse first runs
WITHOUT delegation (its own password login), users are registered with passwords (shared-secret admin
registration) and log in a device (one with a refresh token); then Synapse stops, Gatehouse imports its
database, Synapse starts again delegating to Gatehouse, and the users log in through Gatehouse with
their old passwords while the old `syt_` access tokens keep working (`/account/whoami` through
Gatehouse) and the old `syr_` refresh token refreshes. One Synapse database per backend, started twice
(before and after the switch). The PostgreSQL backend runs its own cluster (Debian's `postgresql`
binaries, initdb/pg_ctl) in a private directory on a loopback port, stopped and removed afterwards."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

import harness
from harness import SERVER_NAME, Gatehouse, PostgresCluster, Synapse, free_port, http_client

PEPPER = "a-synapse-pepper-for-the-import-test"
ALICE_PASSWORD = "alice's old Synapse password"
BOB_PASSWORD = "bob's old Synapse password"


# --------------------------------------------------------------------------- Synapse, before the switch
def register(synapse_url: str, shared_secret: str, user: str, password: str, admin: bool) -> None:
    """Synapse's shared-secret registration (what register_new_matrix_user does)."""
    nonce = httpx.get(f"{synapse_url}/_synapse/admin/v1/register", trust_env=False, timeout=30).json()["nonce"]
    mac = hmac.new(shared_secret.encode(), digestmod=hashlib.sha1)
    for part in (nonce, user, password):
        mac.update(part.encode() + b"\x00")
    mac.update(b"admin" if admin else b"notadmin")
    r = httpx.post(f"{synapse_url}/_synapse/admin/v1/register", trust_env=False, timeout=60, json={
        "nonce": nonce, "username": user, "password": password, "admin": admin, "mac": mac.hexdigest()})
    assert r.status_code == 200, r.text


def synapse_login(synapse_url: str, user: str, password: str, device: str, refresh: bool) -> dict:
    r = httpx.post(f"{synapse_url}/_matrix/client/v3/login", trust_env=False, timeout=60, json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user}, "password": password,
        "device_id": device, "refresh_token": refresh})
    assert r.status_code == 200, r.text
    return r.json()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def import_synapse(gatehouse: Gatehouse, homeserver: Path, *extra: str) -> subprocess.CompletedProcess:
    return gatehouse.cli("import-synapse", "-c", str(gatehouse.config), "--synapse-config", str(homeserver), *extra,
                         timeout=180)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_import_synapse_then_delegate(backend, workdir, secret_file, bulk):
    base = workdir / f"import-synapse-{backend}"
    base.mkdir()
    cluster = PostgresCluster(free_port(), label="import-synapse test") if backend == "postgres" else None
    # Gatehouse first (config only): Synapse's delegated start needs its URLs. The bcrypt scheme has
    # Synapse's pepper, as `config generate --synapse-config` writes it; argon2id rehashes at login.
    synapse_port = free_port()
    gatehouse = Gatehouse(f"import-{backend}", base / "gatehouse", synapse_url=f"http://127.0.0.1:{synapse_port}/",
                          secret_file=secret_file, bulk_url=bulk.url, extra_config={"passwords": {"schemes": [
                              {"version": 1, "algorithm": "bcrypt", "cost": 12, "unicode_normalization": True,
                               "secret": PEPPER},
                              {"version": 2, "algorithm": "argon2id"}]}})

    database = {}
    try:
        if cluster:
            cluster.start()
            database = {"database": cluster.synapse_database()}
        shared_secret = secrets.token_urlsafe(24)
        before = base / "synapse-before.yaml"
        before.write_text(yaml.safe_dump({
            "matrix_authentication_service": {"enabled": False},
            "password_config": {"enabled": True, "pepper": PEPPER},
            "registration_shared_secret": shared_secret,
            "presence": {"enabled": False},
            **database}))
        after = base / "synapse-after.yaml"
        after.write_text(yaml.safe_dump({"presence": {"enabled": False}, **database}))
        logs = dict(harness.LOGS)   # keep the shared Synapse's logs for failure reports
        synapse = Synapse(base / "synapse", synapse_port, gatehouse.internal_url + "/", secret_file,
                          gatehouse.base_url + "/", before)
        harness.LOGS.clear()
        harness.LOGS.update(logs)
        harness.LOGS[f"synapse ({backend} import) homeserver.log"] = synapse.log_path
        synapse.start()
        try:
            register(synapse.url, shared_secret, "alice", ALICE_PASSWORD, admin=True)
            register(synapse.url, shared_secret, "bob", BOB_PASSWORD, admin=False)
            alice = synapse_login(synapse.url, "alice", ALICE_PASSWORD, "ALICEDEV", refresh=False)
            bob = synapse_login(synapse.url, "bob", BOB_PASSWORD, "BOBPHONE", refresh=True)
            assert alice["access_token"].startswith("syt_") and "refresh_token" not in alice
            assert bob["access_token"].startswith("syt_") and bob["refresh_token"].startswith("syr_")
            r = httpx.put(f"{synapse.url}/_synapse/admin/v2/users/@alice:{SERVER_NAME}", headers=bearer(alice["access_token"]),
                          json={"threepids": [{"medium": "email", "address": "alice@example.test"}]}, trust_env=False, timeout=30)
            assert r.status_code == 200, r.text

            # The file an admin has: Synapse's config with the test's overrides merged in.
            homeserver = base / "homeserver.yaml"
            merged = yaml.safe_load((base / "synapse" / "homeserver.yaml").read_text())
            merged.update(yaml.safe_load(before.read_text()))
            homeserver.write_text(yaml.safe_dump(merged))

            refused = import_synapse(gatehouse, homeserver)
            assert refused.returncode == 1, refused.stdout + refused.stderr
            assert "Synapse seems to be running" in refused.stderr, refused.stderr
            dry = import_synapse(gatehouse, homeserver, "--dry-run")
            assert dry.returncode == 0, dry.stdout + dry.stderr
            assert dry.stdout.startswith("Dry run from "), dry.stdout
            assert "  users: 2 imported\n" in dry.stdout, dry.stdout
        finally:
            synapse.stop()

        done = import_synapse(gatehouse, homeserver)
        assert done.returncode == 0, done.stdout + done.stderr
        source = (f"PostgreSQL database synapse at 127.0.0.1:{cluster.port} as synapse" if cluster
                  else f"SQLite database {base / 'synapse' / 'homeserver.db'}")
        assert done.stdout.startswith(f"Imported from {source}:"), done.stdout
        # Shared-secret registration logs each user in once too: two devices and tokens more.
        for line in ("  users: 2 imported\n", "  passwords: 2 imported\n", "  emails: 1 imported\n",
                     "  devices: 4 imported\n", "  access tokens: 4 imported\n", "  refresh tokens: 1 imported"):
            assert line in done.stdout, done.stdout
        assert alice["access_token"] not in done.stdout + done.stderr
        assert dry.stdout.splitlines()[1:] == done.stdout.splitlines()[1:], "the dry run counted the same"
        again = import_synapse(gatehouse, homeserver)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "Nothing new to import" in again.stdout, again.stdout

        # Synapse again, now delegating to Gatehouse (start-synapse.sh's own config), same database.
        delegated = Synapse(base / "synapse", synapse_port, gatehouse.internal_url + "/", secret_file,
                            gatehouse.base_url + "/", after)
        harness.LOGS.clear()
        harness.LOGS.update(logs)
        harness.LOGS[f"synapse ({backend} import) homeserver.log"] = synapse.log_path
        delegated.start()
        try:
            gatehouse.start()
            with http_client(gatehouse.base_url, http2=False) as c:
                # Logged-in clients stay logged in: Synapse introspects the old tokens at Gatehouse.
                for token, user, device in ((alice["access_token"], "alice", "ALICEDEV"),
                                            (bob["access_token"], "bob", "BOBPHONE")):
                    r = c.get("/_matrix/client/v3/account/whoami", headers=bearer(token))
                    assert r.status_code == 200, (user, r.status_code, r.text)
                    assert r.json()["user_id"] == f"@{user}:{SERVER_NAME}" and r.json()["device_id"] == device, r.text

                # The old refresh token refreshes through Gatehouse, into Gatehouse's own tokens.
                r = c.post("/_matrix/client/v3/refresh", json={"refresh_token": bob["refresh_token"]})
                assert r.status_code == 200, r.text
                assert r.json()["access_token"].startswith("mct_"), r.text
                r = c.get("/_matrix/client/v3/account/whoami", headers=bearer(r.json()["access_token"]))
                assert r.status_code == 200 and r.json()["device_id"] == "BOBPHONE", r.text

                # Old passwords log in through Gatehouse.
                for user, password in (("alice", ALICE_PASSWORD), ("bob", BOB_PASSWORD)):
                    r = c.post("/_matrix/client/v3/login", json={
                        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
                        "password": password})
                    assert r.status_code == 200, (user, r.text)
                    who = c.get("/_matrix/client/v3/account/whoami", headers=bearer(r.json()["access_token"]))
                    assert who.status_code == 200 and who.json()["user_id"] == f"@{user}:{SERVER_NAME}", who.text
                r = c.post("/_matrix/client/v3/login", json={
                    "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"},
                    "password": BOB_PASSWORD})
                assert r.status_code == 403, r.text

                # Logging out an imported token ends it at once.
                r = c.post("/_matrix/client/v3/logout", headers=bearer(alice["access_token"]), json={})
                assert r.status_code == 200, r.text
                r = c.get("/_matrix/client/v3/account/whoami", headers=bearer(alice["access_token"]))
                assert r.status_code == 401, r.text
        finally:
            gatehouse.stop()
            delegated.stop()
    finally:
        if cluster:
            cluster.stop()
