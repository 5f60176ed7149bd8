"""SIGTERM drains: an in-flight request completes with 200 and the process exits 0.
Runs against its own Gatehouse instance so the shared one is not affected."""

import signal
import threading
import time

import pytest

from harness import http_client, wait_until


@pytest.mark.parametrize("http2", [False, True], ids=["h1", "h2"])
def test_sigterm_lets_inflight_request_finish(gatehouse_factory, bulk, http2):
    g = gatehouse_factory("drain-h2" if http2 else "drain-h1")
    g.start()
    result = {}

    def slow_request():
        try:
            with http_client(g.base_url, http2=http2, timeout=60) as c:
                t0 = time.monotonic()
                result["response"] = c.get("/bulk/slow", params={"seconds": 3})
                result["elapsed"] = time.monotonic() - t0
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            result["error"] = repr(e)

    started = bulk.stats()["slow_started"]
    t = threading.Thread(target=slow_request, daemon=True)
    t.start()
    wait_until(lambda: bulk.stats()["slow_started"] > started, 15, "the slow request to reach the upstream")
    g.signal(signal.SIGTERM)
    t.join(60)
    assert "error" not in result, result["error"]
    r = result["response"]
    assert r.status_code == 200, r.text
    assert r.json() == {"slept": 3.0}
    assert g.wait_exit(40) == 0
