"""gRPC-web's pure protocol helpers (gateway.grpcweb): request headers to metadata, the
trailers frame and grpc-timeout parsing. No server is started."""

from __future__ import annotations

import pytest

from gateway import grpcweb
from tests.gateway.grpcweb_wire import BINARY, parse_trailers

# -- pure helpers --------------------------------------------------------------------------------


def test_request_headers_become_metadata():
    from multidict import CIMultiDict

    headers = CIMultiDict(
        [
            ("Host", "example"),
            ("Connection", "keep-alive, x-hop"),
            ("X-Hop", "1"),
            ("Keep-Alive", "timeout=5"),
            ("Content-Type", BINARY),
            ("Content-Length", "5"),
            ("Authorization", "Bearer abc"),
            ("X-Request-Id", "r-1"),
            ("X-User-Agent", "connect-es/2.2.0"),
            ("X-Grpc-Web", "1"),
            ("Grpc-Timeout", "1S"),
            ("Origin", "https://a"),
            ("Cookie", "session=1"),
            ("X-Forwarded-For", "6.6.6.6"),
            ("X-Web-Origin", "https://forged.example"),  # only the translator sets this
            ("X-Custom-Thing", "yes"),
            ("Trace-Bin", "AAEC"),
            ("Sec-Fetch-Mode", "cors"),
            ("Te", "trailers"),
            ("X-Unicode", "caf\u00e9"),
        ]
    )
    md = dict(grpcweb.request_metadata(headers, "203.0.113.9"))
    assert md == {
        "authorization": "Bearer abc",
        "x-request-id": "r-1",
        "x-user-agent": "connect-es/2.2.0",
        "x-custom-thing": "yes",
        "trace-bin": b"\x00\x01\x02",
        "x-forwarded-for": "203.0.113.9",
        "x-web-origin": "https://a",  # the browser's Origin, for the tenant's allowed_origins
    }


def test_trailers_and_timeouts():
    import grpc

    frame = grpcweb.trailers_frame(
        grpc.StatusCode.NOT_FOUND,
        "caf\u00e9 100% gone\r\nx: y",
        [("retry-after", "1.5"), ("details-bin", b"\xff"), ("Bad Key", "v"), ("grpc-status", "0")],
    )
    assert frame[0] == 0x80
    trailers = parse_trailers(frame[5:])
    assert trailers == {
        "grpc-status": "5",
        "grpc-message": "caf%C3%A9 100%25 gone%0D%0Ax: y",
        "retry-after": "1.5",
        "details-bin": "/w==",
    }
    assert grpcweb.parse_timeout("250m") == pytest.approx(0.25)
    assert grpcweb.parse_timeout("2H") == 7200
    assert grpcweb.parse_timeout(None) is None
    for bad in ("1.5S", "123456789S", "10", "S"):
        with pytest.raises(grpcweb.ProtocolError):
            grpcweb.parse_timeout(bad)
