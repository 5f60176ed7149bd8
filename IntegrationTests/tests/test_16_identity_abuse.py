"""Issue 7 ("Edge security"), identity items, against the built binary and a real Synapse:

- item 6: names no account can have (NUL and other control characters, other servers' IDs) never
  log in nor get a rate-limit allowance of their own; bad device IDs and names are refused before
  the store or Synapse; `gatehouse manage` refuses them too;
- item 11: a login while Synapse is down or frozen (SIGSTOP: it accepts connections and never
  answers) gets 503 M_UNKNOWN with Retry-After within a bounded time, and the device the frozen
  Synapse creates when it wakes up is removed through the job queue;
- item 14: refresh-token replay ends the session, a lost refresh response gets a fresh pair once;
  the shared secret needs 32 bytes; secret files and TLS keys other accounts can read are refused,
  a readable database is a warning; `config generate` writes private files.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from harness import (SERVER_NAME, Gatehouse, clean_env, free_port, gatehouse_bin, http_client,
                     wait_until)

PASSWORD = "abuse test password 16"
INVALID_CREDENTIALS = {"errcode": "M_FORBIDDEN", "error": "Invalid username/password"}
INVALID_DEVICE = {"errcode": "M_INVALID_PARAM", "error": "Invalid device_id"}
UNAVAILABLE = {"errcode": "M_UNKNOWN", "error": "The homeserver is unavailable; try again later"}
RELAXED_PER_IP = {"burst": 10000, "per_second": 1000}


# --------------------------------------------------------------------------- helpers
def login(c: httpx.Client, user: str, password: str = PASSWORD, **extra) -> httpx.Response:
    body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
            "password": password, **extra}
    return c.post("/_matrix/client/v3/login", json=body)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def devices(gatehouse, token: str) -> set[str]:
    """The user's devices as Synapse lists them (GET /devices through Gatehouse)."""
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.get("/_matrix/client/v3/devices", headers=bearer(token))
    assert r.status_code == 200, r.text
    return {d["device_id"] for d in r.json()["devices"]}


def db(gatehouse) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{gatehouse.dir / 'gatehouse.db'}?mode=ro", uri=True, timeout=10)


def orphan_jobs(gatehouse, localpart: str) -> list[tuple[str, int | None]]:
    """(payload, completed_at) of the remove_orphan_device jobs of a user."""
    with db(gatehouse) as conn:
        rows = conn.execute("SELECT payload, completed_at FROM jobs WHERE kind = 'remove_orphan_device'").fetchall()
    return [row for row in rows if f'"localpart":"{localpart}"' in row[0]]


def run(*args, cwd, umask: int | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(gatehouse_bin()), *args], capture_output=True, text=True, cwd=cwd, env=clean_env(),
                          timeout=60, stdin=subprocess.DEVNULL,
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def limited(request, workdir, synapse, secret_file, bulk):
    """A Gatehouse of its own with `per_account.burst: 3` (and a relaxed per-address limit, since
    every test connects from 127.0.0.1)."""
    name = request.node.name
    g = Gatehouse(name, workdir / f"gatehouse-{name}", synapse_url=synapse.url, secret_file=secret_file,
                  bulk_url=bulk.url, extra_config={"rate_limiting": {"login": {
                      "per_ip": RELAXED_PER_IP, "per_account": {"burst": 3, "per_second": 0.001}}}})
    yield g
    g.stop()


# --------------------------------------------------------------------------- item 6: identifiers
def test_nul_and_other_non_canonical_names_never_log_in(limited):
    limited.manage("register-user", "victim16", "--password", PASSWORD)
    limited.start()
    with http_client(limited.base_url, http2=False) as c:
        for name in ["victim16\u0000abc", "victim16\u0000", f"@victim16\u0000:{SERVER_NAME}", "victim16\n", " victim16",
                     "victim16\u007f", "v\u0456ctim16", "@victim16:elsewhere.example", "victim16\u200b"]:
            r = login(c, name)
            assert r.status_code == 403 and r.json() == INVALID_CREDENTIALS, f"{name!r}: {r.status_code} {r.text}"
        # Capitals fold, as Synapse matches login names case-insensitively.
        r = login(c, f"@VICTIM16:{SERVER_NAME}")
        assert r.status_code == 200, r.text
        assert r.json()["user_id"] == f"@victim16:{SERVER_NAME}"


def test_per_account_limit_keys_on_the_account_not_the_spelling(limited):
    """The report: with per_account.burst 3, plain `victim` got 429 while 20 of 20 guesses as
    `victim\\u0000…` were still checked (and the right password logged in)."""
    limited.manage("register-user", "victim16b", "--password", PASSWORD)
    limited.start()
    with http_client(limited.base_url, http2=False) as c:
        for name in ["victim16b", "VICTIM16B", f"@victim16b:{SERVER_NAME}"]:
            r = login(c, name, "wrong guess")
            assert r.status_code == 403 and r.json() == INVALID_CREDENTIALS, r.text
        for name in ["victim16b", "Victim16b"]:
            r = login(c, name)
            assert r.status_code == 429 and r.json()["errcode"] == "M_LIMIT_EXCEEDED", f"{name}: {r.text}"
        for i in range(20):
            r = login(c, f"victim16b\u0000{i}")
            assert r.status_code == 403 and r.json() == INVALID_CREDENTIALS, f"variant {i}: {r.status_code} {r.text}"


def test_bad_device_ids_and_names_get_matrix_errors(gatehouse, h1):
    gatehouse.manage("register-user", "devices16", "--password", PASSWORD)
    for device in ["DEV\u0000X", "DEV\u0001", "has space", "quote\"d", "D\u00c9V", "A" * 256, "", "x\u0000" * 1000]:
        r = login(h1, "devices16", device_id=device)
        assert r.status_code == 400 and r.json() == INVALID_DEVICE, f"{device[:20]!r}: {r.status_code} {r.text}"
        # Before the password is looked at: a wrong one gets the same answer.
        r = login(h1, "devices16", "wrong", device_id=device)
        assert r.status_code == 400 and r.json() == INVALID_DEVICE, r.text
    r = login(h1, "devices16", initial_device_display_name="Phone\u0000")
    assert r.status_code == 400 and r.json() == {"errcode": "M_INVALID_PARAM",
                                                  "error": "Invalid initial_device_display_name"}, r.text
    with db(gatehouse) as conn:
        count = conn.execute("SELECT count(*) FROM compat_sessions s JOIN users u ON u.id = s.user_id "
                             "WHERE u.username = 'devices16'").fetchone()[0]
    assert count == 0
    r = login(h1, "devices16", device_id="mautrix_Dev-1.x", initial_device_display_name="Bridge (ünïcode) 📱")
    assert r.status_code == 200 and r.json()["device_id"] == "mautrix_Dev-1.x", r.text


def test_manage_refuses_names_and_device_ids_no_account_can_have(gatehouse):
    gatehouse.manage("register-user", "manage16", "--password", PASSWORD)
    for name in ["manage16\u0001", "manage16 ", "@manage16:elsewhere.example"]:
        r = gatehouse.manage("lock-user", name, check=False)
        assert r.returncode == 1 and "is not a valid username" in r.stderr, r.stderr
        assert "\u0001" not in r.stderr, "control characters are escaped in the message"
    r = gatehouse.manage("lock-user", "MANAGE16")
    assert "locked" in r.stdout
    gatehouse.manage("unlock-user", f"@manage16:{SERVER_NAME}")
    for device in ["has space", "D\u0001", "A" * 256]:
        r = gatehouse.manage("issue-compatibility-token", "manage16", "--device-id", device, check=False)
        assert r.returncode == 1 and "is not a valid device ID" in r.stderr, r.stderr


# --------------------------------------------------------------------------- item 11: Synapse down or frozen
def test_login_while_synapse_is_frozen(gatehouse, synapse, h1):
    gatehouse.manage("register-user", "frozen16", "--password", PASSWORD)
    lister = gatehouse.issue_token("frozen16", "LISTER16")
    assert devices(gatehouse, lister) == {"LISTER16"}

    os.kill(synapse.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        r = login(h1, "frozen16", device_id="FROZEN16")
        elapsed = time.monotonic() - started
    finally:
        os.kill(synapse.pid, signal.SIGCONT)
    assert r.status_code == 503 and r.json() == UNAVAILABLE, r.text
    assert r.headers["retry-after"] == "5"
    assert r.headers["cache-control"] == "no-store"
    assert elapsed < 20, f"the client waited {elapsed:.1f}s"
    with db(gatehouse) as conn:
        sessions = {row[0] for row in conn.execute(
            "SELECT s.device_id FROM compat_sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'frozen16'")}
    assert sessions == {"LISTER16"}, "no session without a device"

    # Synapse woke up and carried out the lost upsert_device; the queue removes the device, then
    # removes it once more after the confirmation delay.
    def cleaned() -> bool:
        jobs = orphan_jobs(gatehouse, "frozen16")
        done = [payload for payload, completed in jobs if completed is not None]
        return (len(jobs) >= 2 and len(done) == len(jobs) and any('"confirmation":true' in p for p in done)
                and devices(gatehouse, lister) == {"LISTER16"})
    wait_until(cleaned, 90, "the orphan device to be removed and the removal confirmed", 0.5)
    r = login(h1, "frozen16", device_id="FROZEN16")
    assert r.status_code == 200, "Synapse answers again"
    assert devices(gatehouse, lister) == {"LISTER16", "FROZEN16"}


def test_login_while_synapse_is_down(workdir, synapse, secret_file, bulk):
    """A Gatehouse whose matrix.endpoint has nobody listening: refused at once, not after a timeout."""
    dead = free_port()
    g = Gatehouse("down16", workdir / "gatehouse-down16", synapse_url=synapse.url, secret_file=secret_file,
                  bulk_url=bulk.url, extra_config={
                      "matrix": {"endpoint": f"http://127.0.0.1:{dead}/"},
                      "rate_limiting": {"login": {"per_ip": RELAXED_PER_IP}}})
    try:
        r = g.manage("register-user", "down16", "--password", PASSWORD)
        assert "queued" in r.stdout, r.stdout
        r = g.manage("issue-compatibility-token", "down16", "--device-id", "CLI16", check=False)
        assert r.returncode == 1 and "could not be reached" in r.stderr, r.stderr
        g.start()
        with http_client(g.base_url, http2=False) as c:
            started = time.monotonic()
            r = login(c, "down16", device_id="DOWN16")
            elapsed = time.monotonic() - started
        assert r.status_code == 503 and r.json() == UNAVAILABLE, r.text
        assert r.headers["retry-after"] == "5"
        assert elapsed < 5, f"{elapsed:.1f}s"
        payloads = [payload for payload, _ in orphan_jobs(g, "down16")]
        assert any('"device_id":"DOWN16"' in p for p in payloads), payloads
        assert any('"device_id":"CLI16"' in p for p in payloads), payloads
    finally:
        g.stop()


# --------------------------------------------------------------------------- item 14: refresh replay
def refresh(c: httpx.Client, token: str) -> httpx.Response:
    return c.post("/_matrix/client/v3/refresh", json={"refresh_token": token})


def whoami(gatehouse, token: str) -> httpx.Response:
    with http_client(gatehouse.base_url, http2=False) as c:
        return c.get("/_matrix/client/v3/account/whoami", headers=bearer(token))


def test_lost_refresh_response_gets_a_fresh_pair_once(gatehouse, h1):
    gatehouse.manage("register-user", "lost16", "--password", PASSWORD)
    first = login(h1, "lost16", refresh_token=True).json()
    lost = refresh(h1, first["refresh_token"])
    assert lost.status_code == 200, lost.text
    # The client never saw that answer and retries with the token it has.
    retry = refresh(h1, first["refresh_token"])
    assert retry.status_code == 200, retry.text
    fresh = retry.json()
    assert whoami(gatehouse, fresh["access_token"]).status_code == 200
    assert whoami(gatehouse, lost.json()["access_token"]).status_code == 401, "the lost pair is dead"
    nxt = refresh(h1, fresh["refresh_token"])
    assert nxt.status_code == 200, "the chain goes on"
    # Once: the same token again is a replay, and the session ends.
    r = refresh(h1, first["refresh_token"])
    assert r.status_code == 401 and r.json()["errcode"] == "M_UNKNOWN_TOKEN", r.text
    assert whoami(gatehouse, nxt.json()["access_token"]).status_code == 401


def test_replayed_refresh_token_ends_the_session(gatehouse, h1):
    gatehouse.manage("register-user", "replay16", "--password", PASSWORD)
    lister = gatehouse.issue_token("replay16", "LISTER16")
    first = login(h1, "replay16", device_id="REPLAY16", refresh_token=True).json()
    second = refresh(h1, first["refresh_token"]).json()
    # The successor is used (Gatehouse records the activity when it first sees the token).
    assert whoami(gatehouse, second["access_token"]).status_code == 200

    def used() -> bool:
        with db(gatehouse) as conn:
            return conn.execute(
                "SELECT s.last_active_at > r.created_at FROM compat_refresh_tokens r "
                "JOIN compat_sessions s ON s.id = r.session_id WHERE r.id = "
                "(SELECT next_refresh_token_id FROM compat_refresh_tokens WHERE consumed_at IS NOT NULL AND session_id = "
                "(SELECT s2.id FROM compat_sessions s2 WHERE s2.device_id = 'REPLAY16' AND s2.finished_at IS NULL))"
            ).fetchone() == (1,)
    wait_until(used, 10, "the successor's use to be recorded")

    r = refresh(h1, first["refresh_token"])
    assert r.status_code == 401 and r.json()["errcode"] == "M_UNKNOWN_TOKEN", r.text
    r = whoami(gatehouse, second["access_token"])
    assert r.status_code == 401, "the whole session ends, although Synapse had cached the token"
    assert refresh(h1, second["refresh_token"]).status_code == 401
    wait_until(lambda: devices(gatehouse, lister) == {"LISTER16"}, 30, "the device to be deleted in Synapse")


# --------------------------------------------------------------------------- item 14: secrets and files
@pytest.fixture
def generated(tmp_path):
    """A configuration from `config generate` in a directory of its own (written with umask 0, so
    only the modes Gatehouse asks for count)."""
    r = run("config", "generate", "--output", str(tmp_path / "gatehouse.yaml"), "--listen", f"127.0.0.1:{free_port()}",
            "--internal-listen", "", "--database", "gatehouse.db", cwd=tmp_path, umask=0)
    assert r.returncode == 0, r.stderr
    return tmp_path


def test_config_generate_writes_private_secret_and_key(generated):
    secret = generated / "synapse_secret"
    assert mode(secret) == 0o600 and mode(generated / "tls" / "key.pem") == 0o600
    assert len(secret.read_text().strip()) >= 32
    assert mode(generated / "gatehouse.yaml") == 0o644
    assert not [p.name for p in generated.rglob(".*tmp*")], "no temporary files left behind"
    r = run("config", "check", "-c", str(generated / "gatehouse.yaml"), cwd=generated)
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr


@pytest.mark.parametrize("file_mode", [0o644, 0o640, 0o604])
def test_readable_secret_file_and_key_are_refused(generated, file_mode):
    config = generated / "gatehouse.yaml"
    secret, key = generated / "synapse_secret", generated / "tls" / "key.pem"
    for path, key_path in [(secret, "matrix.secret_path"), (key, "http.listeners[0].tls.key_file")]:
        os.chmod(path, file_mode)
        for command in (["config", "check", "-c", str(config)], ["serve", "-c", str(config)]):
            r = run(*command, cwd=generated)
            assert r.returncode == 1, (command, r.stdout, r.stderr)
            assert key_path in r.stderr and f"(mode 0{file_mode:o})" in r.stderr and f"chmod 600 {path}" in r.stderr, r.stderr
        os.chmod(path, 0o600)


def test_short_shared_secret_is_refused(generated):
    config = generated / "gatehouse.yaml"
    secret = generated / "synapse_secret"
    fd = os.open(secret, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"only-31-bytes-of-shared-secret!\n")
    os.close(fd)
    for command in (["config", "check", "-c", str(config)], ["serve", "-c", str(config)]):
        r = run(*command, cwd=generated)
        assert r.returncode == 1, r.stderr
        assert "matrix.secret_path: the shared secret" in r.stderr and "is 31 bytes; at least 32 are needed" in r.stderr, r.stderr
        assert "openssl rand -hex 32" in r.stderr
    text = config.read_text()
    config.write_text(text.replace(f'secret_path: "{secret}"', 'secret: "too-short"'))
    r = run("config", "check", "-c", str(config), cwd=generated)
    assert r.returncode == 1 and "matrix.secret: the shared secret in `secret` is 9 bytes" in r.stderr, r.stderr


def test_readable_database_is_a_warning(generated):
    db_path = generated / "gatehouse.db"
    r = run("database", "migrate", "-c", str(generated / "gatehouse.yaml"), cwd=generated, umask=0)
    assert r.returncode == 0, r.stderr
    assert mode(db_path) == 0o600, "a new store is created private"
    os.chmod(db_path, 0o644)
    r = run("config", "check", "-c", str(generated / "gatehouse.yaml"), cwd=generated)
    assert r.returncode == 0, r.stderr
    assert "warning:" in r.stderr and "database.path" in r.stderr and f"chmod 600 {db_path}" in r.stderr, r.stderr


def test_database_cleanup_deletes_only_dead_rows(generated):
    """`database cleanup` on a real store file: a session finished 40 days ago goes with its tokens, a
    live one and a job not yet done stay, and the command reports per table."""
    config = str(generated / "gatehouse.yaml")
    assert run("database", "migrate", "-c", config, cwd=generated).returncode == 0
    now_ms = int(time.time() * 1000)
    day_ms = 86_400_000
    with sqlite3.connect(generated / "gatehouse.db") as db:
        db.execute("INSERT INTO users (id, username, created_at) VALUES ('u1', 'alice', ?)", (now_ms - 60 * day_ms,))
        for session, finished in (("old", now_ms - 40 * day_ms), ("live", None)):
            db.execute("INSERT INTO compat_sessions (id, user_id, device_id, created_at, finished_at) VALUES (?, 'u1', ?, ?, ?)",
                       (session, session.upper(), now_ms - 50 * day_ms, finished))
            db.execute("INSERT INTO compat_access_tokens (id, session_id, token_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)",
                       (f"at-{session}", session, f"hash-at-{session}", now_ms - 50 * day_ms, finished))
            db.execute("INSERT INTO compat_refresh_tokens (id, session_id, access_token_id, token_hash, created_at, revoked_at)"
                       " VALUES (?, ?, ?, ?, ?, ?)",
                       (f"rt-{session}", session, f"at-{session}", f"hash-rt-{session}", now_ms - 50 * day_ms, finished))
        db.execute("INSERT INTO jobs (id, kind, payload, run_at, created_at) VALUES ('job-pending', 'provision_user', '{}', ?, ?)",
                   (now_ms - 40 * day_ms, now_ms - 40 * day_ms))
    r = run("database", "cleanup", "-c", config, cwd=generated)
    assert r.returncode == 0, r.stderr
    assert "compat_sessions: 1 deleted" in r.stdout and "compat_access_tokens: 1 deleted" in r.stdout, r.stdout
    assert "compat_refresh_tokens: 1 deleted" in r.stdout and "jobs: 0 deleted" in r.stdout, r.stdout
    with sqlite3.connect(generated / "gatehouse.db") as db:
        assert [row[0] for row in db.execute("SELECT id FROM compat_sessions")] == ["live"]
        assert [row[0] for row in db.execute("SELECT id FROM compat_access_tokens")] == ["at-live"]
        assert [row[0] for row in db.execute("SELECT id FROM jobs")] == ["job-pending"]
    again = run("database", "cleanup", "-c", config, cwd=generated)
    assert again.returncode == 0 and "compat_sessions: 0 deleted" in again.stdout, again.stdout
