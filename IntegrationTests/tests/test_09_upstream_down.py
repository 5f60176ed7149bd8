"""With Synapse stopped Gatehouse answers 502 M_UNKNOWN; it recovers once Synapse is back."""

from harness import ALICE_ID, http_client, wait_until


def test_502_while_synapse_down_then_recovery(gatehouse, synapse, alice):
    synapse.stop()
    try:
        for http2 in (False, True):
            with http_client(gatehouse.base_url, http2=http2) as c:
                r = c.get("/_matrix/client/versions")
                assert r.status_code == 502, f"{r.http_version}: {r.status_code} {r.text}"
                assert r.headers["content-type"].startswith("application/json")
                assert r.json().get("errcode") == "M_UNKNOWN", r.text
    finally:
        synapse.start()     # same workdir: alice and DEV1 are still there

    with http_client(gatehouse.base_url, http2=False) as c:
        wait_until(lambda: c.get("/_matrix/client/versions").status_code == 200, 60,
                   "/versions through Gatehouse to recover")
        r = c.get("/_matrix/client/v3/account/whoami", headers=alice)
        assert r.status_code == 200, r.text
        assert r.json()["user_id"] == ALICE_ID
