"""A /sync long-poll is held open by Synapse for its whole timeout and still gets through."""

import time
from concurrent.futures import ThreadPoolExecutor

from harness import http_client

SYNC = "/_matrix/client/v3/sync"


def _since(c, alice):
    r = c.get(SYNC, params={"timeout": 0}, headers=alice)
    assert r.status_code == 200, r.text
    # A second incremental sync settles anything the initial one left pending.
    r = c.get(SYNC, params={"timeout": 0, "since": r.json()["next_batch"]}, headers=alice)
    assert r.status_code == 200, r.text
    return r.json()["next_batch"]


def test_sync_long_poll_h1_and_h2_concurrently(gatehouse, alice):
    with http_client(gatehouse.base_url, http2=False) as c:
        since = _since(c, alice)

    def long_poll(http2):
        with http_client(gatehouse.base_url, http2=http2, timeout=90) as c:
            t0 = time.monotonic()
            r = c.get(SYNC, params={"timeout": 20000, "since": since}, headers=alice)
            return r, time.monotonic() - t0

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(long_poll, [False, True]))
    for (r, elapsed), version in zip(results, ["HTTP/1.1", "HTTP/2"]):
        assert r.http_version == version
        assert r.status_code == 200, r.text
        assert "next_batch" in r.json()
        assert 15 <= elapsed < 60, f"{version}: long-poll returned after {elapsed:.1f}s"
