"""Gatehouse overwrites X-Forwarded-For with the real peer address (127.0.0.1)."""

import re
import uuid

from harness import wait_until

SPOOF = "6.6.6.6"


def _line_with(path, marker):
    for line in path.read_text(errors="replace").splitlines():
        if marker in line and "Processed request" in line:
            return line
    return None


def test_synapse_logs_real_client_ip(client, synapse):
    marker = uuid.uuid4().hex
    r = client.get("/_matrix/client/versions", params={"gh_marker": marker},
                   headers={"X-Forwarded-For": SPOOF})
    assert r.status_code == 200, r.text
    line = wait_until(lambda: _line_with(synapse.log_path, marker), 15,
                      "Synapse's 'Processed request' line for the marker")
    # "... - GET-12 - <client ip> - <port> - {requester} Processed request: ..."
    assert SPOOF not in line, line
    assert re.search(r" - 127\.0\.0\.1 - \d+ - \{", line), line


def test_upstream_sees_single_overwritten_header(client, bulk):
    r = client.get("/bulk/echo", headers={"X-Forwarded-For": f"{SPOOF}, 7.7.7.7"})
    assert r.status_code == 200, r.text
    xff = [v for k, v in r.json()["headers"] if k.lower() == "x-forwarded-for"]
    assert xff == ["127.0.0.1"], xff
