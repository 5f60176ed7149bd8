"""`gatehouse manage list-sessions NAME` and `end-session ID` against the running server and a
real Synapse (issue 8): a session ended from the CLI, in another process, is refused by the server
at once on a proxied route, because every store write moves the revision its caches check; the
user's other session keeps working.

Both tokens are shown to Synapse first, so Synapse has cached them as valid: the refusal must
come from Gatehouse's own edge check, not from Synapse asking again.
"""

from __future__ import annotations

import json
import re

import httpx

from harness import SERVER_NAME, http_client

PASSWORD = "manage sessions password 21"
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def login(gatehouse, user: str, device: str) -> dict:
    with http_client(gatehouse.base_url, http2=False) as c:
        r = c.post("/_matrix/client/v3/login", json={
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
            "password": PASSWORD, "device_id": device})
    assert r.status_code == 200, r.text
    assert r.json()["device_id"] == device, r.text
    return r.json()


def whoami(gatehouse, token: str) -> httpx.Response:
    with http_client(gatehouse.base_url, http2=False) as c:
        return c.get("/_matrix/client/v3/account/whoami", headers={"Authorization": f"Bearer {token}"})


def sessions_text(gatehouse, name: str) -> list[list[str]]:
    out = gatehouse.manage("list-sessions", name).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def sessions_json(gatehouse, name: str) -> list[dict]:
    return json.loads(gatehouse.manage("list-sessions", name, "--json").stdout)


def test_list_and_end_one_session(gatehouse):
    gatehouse.manage("register-user", "sessuser21", "--password", PASSWORD)
    first = login(gatehouse, "sessuser21", "SESSDEV1")
    second = login(gatehouse, "sessuser21", "SESSDEV2")
    for body in (first, second):
        r = whoami(gatehouse, body["access_token"])
        assert r.status_code == 200 and r.json()["device_id"] == body["device_id"], r.text

    # Text: seven tab-separated columns per session, oldest first; capitals fold as for every manage command.
    rows = sessions_text(gatehouse, f"@SESSUSER21:{SERVER_NAME}")
    assert [len(row) for row in rows] == [7, 7], rows
    assert [row[1:4] for row in rows] == [["compat", "device SESSDEV1", "client -"],
                                          ["compat", "device SESSDEV2", "client -"]], rows
    assert all(ULID.match(row[0]) for row in rows), rows
    assert all(row[4].startswith("created ") and ISO.match(row[4].removeprefix("created ")) for row in rows), rows
    assert all(row[5].startswith("last active ") for row in rows), rows
    assert [row[6] for row in rows] == ["active", "active"], rows

    # JSON: the same sessions, every key present.
    listed = sessions_json(gatehouse, "sessuser21")
    assert [s["id"] for s in listed] == [row[0] for row in rows]
    assert set(listed[0]) == {"id", "kind", "device_id", "client_id", "created_at", "last_active_at", "finished_at", "state"}
    assert [(s["kind"], s["device_id"], s["client_id"], s["state"], s["finished_at"]) for s in listed] == [
        ("compat", "SESSDEV1", None, "active", None), ("compat", "SESSDEV2", None, "active", None)]

    ended_id = rows[0][0]
    r = gatehouse.manage("end-session", ended_id)
    assert f"ended compat session {ended_id} (device SESSDEV1)" in r.stdout, r.stdout
    assert "Synapse: updated" in r.stdout, r.stdout

    # At once, with no waiting: the running server refuses the ended token on a proxied route.
    r = whoami(gatehouse, first["access_token"])
    assert r.status_code == 401, r.text
    assert r.json()["errcode"] == "M_UNKNOWN_TOKEN", r.text
    r = whoami(gatehouse, second["access_token"])
    assert r.status_code == 200 and r.json()["device_id"] == "SESSDEV2", r.text

    after = sessions_json(gatehouse, "sessuser21")
    assert [(s["device_id"], s["state"]) for s in after] == [("SESSDEV1", "finished"), ("SESSDEV2", "active")]
    assert ISO.match(after[0]["finished_at"]), after
    assert sessions_text(gatehouse, "sessuser21")[0][6].startswith("finished "), "text shows when it ended"

    # Ending it again changes nothing and says so.
    r = gatehouse.manage("end-session", ended_id, check=False)
    assert r.returncode != 0
    assert "already ended" in r.stderr, r.stderr
    r = whoami(gatehouse, second["access_token"])
    assert r.status_code == 200, r.text


def test_end_session_unknown_id(gatehouse):
    for bad in ("01ARZ3NDEKTSV4RRFFQ69G5FAV", "not-a-session"):
        r = gatehouse.manage("end-session", bad, check=False)
        assert r.returncode != 0, r.stdout
        assert "no session" in r.stderr and bad in r.stderr, r.stderr
        assert "list-sessions" in r.stderr, "the message says where to find session ids"


def test_list_sessions_unknown_user(gatehouse):
    r = gatehouse.manage("list-sessions", "nosuchuser21", check=False)
    assert r.returncode != 0
    assert "no user" in r.stderr, r.stderr
