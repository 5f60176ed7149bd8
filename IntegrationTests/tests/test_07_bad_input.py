"""Malformed or oversized HTTP/1.1 requests, sent byte for byte over TLS."""

import pytest

from harness import raw_h1


def _request(gatehouse, start_line, headers=(), body=b""):
    head = [start_line, f"Host: localhost:{gatehouse.port}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def test_content_length_with_transfer_encoding(gatehouse, bulk):
    before = bulk.stats()["uploads_started"]
    r = raw_h1(gatehouse.port, _request(gatehouse, "POST /bulk/upload HTTP/1.1",
                                        ["Content-Length: 5", "Transfer-Encoding: chunked"], b"0\r\n\r\n"))
    assert r.status == 400, r.raw[:400]
    assert r.closed, "connection must be closed after a CL+TE request"
    assert bulk.stats()["uploads_started"] == before, "the request reached the upstream"


@pytest.mark.parametrize("values", [("5", "6"), ("5", "5")], ids=["different", "identical"])
def test_duplicate_content_length(gatehouse, bulk, values):
    before = bulk.stats()["uploads_started"]
    r = raw_h1(gatehouse.port, _request(gatehouse, "POST /bulk/upload HTTP/1.1",
                                        [f"Content-Length: {v}" for v in values], b"hello"))
    assert r.status == 400, r.raw[:400]
    assert bulk.stats()["uploads_started"] == before, "the request reached the upstream"


def test_request_target_too_long(gatehouse):
    target = "/_matrix/client/versions?pad=" + "a" * 10240
    r = raw_h1(gatehouse.port, _request(gatehouse, f"GET {target} HTTP/1.1"))
    assert r.status == 414, r.raw[:400]


def test_header_section_too_large(gatehouse):
    headers = [f"X-Filler-{i:03d}: " + "a" * 1024 for i in range(100)]      # ~103 KiB > 64 KiB
    r = raw_h1(gatehouse.port, _request(gatehouse, "GET /_matrix/client/versions HTTP/1.1", headers))
    assert r.status == 431, r.raw[:400]


@pytest.mark.parametrize("path", ["/bulk/upload", "/_matrix/client/v3/createRoom"],
                         ids=["route-max_body", "default-max_body"])
def test_declared_body_too_large_rejected_before_upload(gatehouse, bulk, path):
    """413 must come from the headers alone: no body byte is ever sent."""
    before = bulk.stats()["uploads_started"]
    r = raw_h1(gatehouse.port, _request(gatehouse, f"POST {path} HTTP/1.1",
                                        ["Content-Type: application/json", "Content-Length: 999999999999"]),
               timeout=10)
    assert r.status == 413, r.raw[:400]
    assert bulk.stats()["uploads_started"] == before, "the request reached the upstream"
