"""100 MiB bodies stream through Gatehouse to the `bulk` upstream (route max_body=200MiB)
without being buffered: Gatehouse's RSS stays flat."""

import functools
import hashlib
import time

import pytest

from bulk_upstream import pattern_chunks
from harness import RssSampler

SIZE = 100 * 1024 * 1024
RSS_LIMIT_KIB = 150 * 1024


@functools.cache
def expected_sha256() -> str:
    h = hashlib.sha256()
    for piece in pattern_chunks(SIZE):
        h.update(piece)
    return h.hexdigest()


def _check_rss(rss):
    print(f"Gatehouse RSS peak {rss.peak_kib / 1024:.1f} MiB over {rss.samples} samples")
    assert rss.samples > 0, "no RSS sample taken"
    assert rss.peak_kib < RSS_LIMIT_KIB, f"Gatehouse RSS peaked at {rss.peak_kib / 1024:.0f} MiB"


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_upload_100mib(client, gatehouse, framing):
    headers = {"Content-Type": "application/octet-stream"}
    if framing == "content-length":
        headers["Content-Length"] = str(SIZE)   # with a generator body, httpx then skips chunking
    with RssSampler(gatehouse) as rss:
        r = client.post("/bulk/upload", content=pattern_chunks(SIZE, 256 * 1024), headers=headers,
                        timeout=300)
    assert r.http_version == client.expected_version
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["bytes"] == SIZE
    assert body["sha256"] == expected_sha256()
    _check_rss(rss)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_download_100mib(client, gatehouse, chunked):
    h, n = hashlib.sha256(), 0
    with RssSampler(gatehouse) as rss:
        with client.stream("GET", "/bulk/download", params={"size": SIZE, "chunked": int(chunked)},
                           timeout=300) as r:
            assert r.status_code == 200, r.read()[:300]
            assert r.http_version == client.expected_version
            for piece in r.iter_bytes():
                h.update(piece)
                n += len(piece)
    assert n == SIZE
    assert h.hexdigest() == expected_sha256()
    _check_rss(rss)


def test_download_to_slow_reader_is_not_buffered(h1, gatehouse):
    """The upstream is much faster than this client: Gatehouse must apply back-pressure
    instead of buffering what the client has not read yet."""
    h, n = hashlib.sha256(), 0
    with RssSampler(gatehouse) as rss:
        with h1.stream("GET", "/bulk/download", params={"size": SIZE}, timeout=300) as r:
            assert r.status_code == 200
            for piece in r.iter_bytes(chunk_size=1 << 20):
                h.update(piece)
                n += len(piece)
                time.sleep(0.02)                     # ~50 MiB/s at most
    assert n == SIZE
    assert h.hexdigest() == expected_sha256()
    _check_rss(rss)
