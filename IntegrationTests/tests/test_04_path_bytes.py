"""Gatehouse forwards the path byte for byte: %2F, %23 and %25 reach Synapse still encoded."""

import urllib.parse

ENCODED_KEY = "a%2Fb%23c%25d"
DECODED_KEY = "a/b#c%d"


def test_state_key_with_encoded_slash(client, alice):
    r = client.post("/_matrix/client/v3/createRoom", json={"preset": "private_chat"}, headers=alice)
    assert r.status_code == 200, r.text
    room = urllib.parse.quote(r.json()["room_id"], safe="")
    base = f"/_matrix/client/v3/rooms/{room}/state"

    r = client.put(f"{base}/m.room.topic/{ENCODED_KEY}", json={"topic": "x"}, headers=alice)
    assert r.status_code == 200, r.text
    assert "event_id" in r.json()

    r = client.get(f"{base}/m.room.topic/{ENCODED_KEY}", headers=alice)
    assert r.status_code == 200, r.text
    assert r.json() == {"topic": "x"}

    # Had %2F been decoded, the event would have state_key "a" (or no route at all).
    r = client.get(f"{base}/m.room.topic/a", headers=alice)
    assert r.status_code == 404, r.text

    r = client.get(base, headers=alice)
    assert r.status_code == 200, r.text
    keys = [e["state_key"] for e in r.json() if e["type"] == "m.room.topic"]
    assert DECODED_KEY in keys, keys
