"""The gRPC-web wire format: content types, frames and the trailers frame, grpc-timeout, which
HTTP headers become gRPC metadata (and which metadata goes back), and how a failed upstream
call is reported to the browser."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Iterable

import grpc

from frontdesk import logs

log = logs.get("gateway.grpcweb")

BINARY_TYPES = frozenset({"application/grpc-web", "application/grpc-web+proto"})
TEXT_TYPES = frozenset({"application/grpc-web-text", "application/grpc-web-text+proto"})
BINARY_RESPONSE_TYPE = "application/grpc-web+proto"
TEXT_RESPONSE_TYPE = "application/grpc-web-text+proto"

# request headers that never become gRPC metadata: hop-by-hop and HTTP/1.1 framing, the
# browser's own headers, gRPC's reserved names, and addresses a client could forge
NOT_METADATA = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-type",
        "content-length",
        "content-encoding",
        "accept",
        "accept-encoding",
        "accept-language",
        "user-agent",
        "origin",
        "referer",
        "cookie",
        "cache-control",
        "pragma",
        "dnt",
        "priority",
        "expect",
        "x-grpc-web",
        "x-accept-content-transfer-encoding",
        "x-accept-response-streaming",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "forwarded",
        "x-real-ip",
        "x-web-origin",
        "http2-settings",
    }
)
NOT_METADATA_PREFIXES = ("grpc-", "sec-", "access-control-", ":")
# response metadata that the translator writes itself or that means something else in HTTP/1.1
_NOT_FORWARDED_BACK = frozenset(
    {
        "content-type",
        "content-length",
        "grpc-status",
        "grpc-message",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "date",
        "server",
    }
)
METADATA_KEY = re.compile(r"^[0-9a-z_.\-]{1,128}\Z")
_ASCII_VALUE = re.compile(r"^[\x20-\x7e]*\Z")

# CORS: what a gRPC-web client sends and must be allowed to read
CORS_ALLOW_HEADERS = (
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "authorization",
    "x-request-id",
    "x-accept-content-transfer-encoding",
    "x-accept-response-streaming",
)
CORS_EXPOSE_HEADERS = (
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "retry-after",
    "x-frontdesk-error",
    "x-request-id",
)
CORS_MAX_AGE_S = 7200  # the most Chromium honours

_TIMEOUT = re.compile(r"^(\d{1,8})([HMSmun])\Z")
_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
METHOD_PATH = re.compile(r"^/([A-Za-z_][A-Za-z0-9_.]*)/([A-Za-z_][A-Za-z0-9_]*)\Z")

# a request body holds one message of at most the channel's limit (32 MiB), base64 in text mode

OK = grpc.StatusCode.OK


class ProtocolError(Exception):
    """A malformed gRPC-web request; answered with `code`."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# -- framing ---------------------------------------------------------------------------


def frame(message: bytes, flags: int = 0) -> bytes:
    return bytes([flags]) + len(message).to_bytes(4, "big") + message


def percent_encode(message: str) -> str:
    """grpc-message encoding: printable ASCII except '%' as is, everything else %XX of UTF-8."""
    return "".join(chr(b) if 0x20 <= b <= 0x7E and b != 0x25 else f"%{b:02X}" for b in message.encode())


def _metadata_value(key: str, value: str | bytes) -> str | None:
    if key.endswith("-bin"):
        raw = value if isinstance(value, bytes) else value.encode()
        return base64.b64encode(raw).decode()
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value if _ASCII_VALUE.match(value) else None


def trailers_frame(code: grpc.StatusCode, message: str, trailers: Iterable[tuple[str, str | bytes]] = ()) -> bytes:
    lines = [f"grpc-status:{code.value[0]}", f"grpc-message:{percent_encode(message)}"]
    for key, value in trailers:
        key = key.lower()
        if key in _NOT_FORWARDED_BACK or not METADATA_KEY.match(key):
            continue
        text = _metadata_value(key, value)
        if text is not None:
            lines.append(f"{key}:{text}")
    return frame(("\r\n".join(lines) + "\r\n").encode("ascii"), flags=0x80)


def decode_text(body: bytes) -> bytes:
    """grpc-web-text: base64, possibly several padded chunks one after another."""
    data = re.sub(rb"\s+", b"", body)
    out = bytearray()
    for chunk in re.findall(rb"[^=]+=*|=+", data):
        if len(chunk) % 4:
            raise ProtocolError(grpc.StatusCode.INVALID_ARGUMENT, "malformed base64 in a grpc-web-text request")
        try:
            out += base64.b64decode(chunk, validate=True)
        except binascii.Error:
            raise ProtocolError(
                grpc.StatusCode.INVALID_ARGUMENT, "malformed base64 in a grpc-web-text request"
            ) from None
    return bytes(out)


def parse_request_body(body: bytes) -> bytes:
    """The one request message of a unary or server-streaming call."""
    messages = []
    i = 0
    while i < len(body):
        if len(body) - i < 5:
            raise ProtocolError(grpc.StatusCode.INVALID_ARGUMENT, "truncated gRPC-web frame header")
        flags, size = body[i], int.from_bytes(body[i + 1 : i + 5], "big")
        i += 5
        if len(body) - i < size:
            raise ProtocolError(grpc.StatusCode.INVALID_ARGUMENT, "truncated gRPC-web message")
        if flags & 0x80:
            raise ProtocolError(grpc.StatusCode.INVALID_ARGUMENT, "a request cannot carry a trailers frame")
        if flags & 0x01:
            raise ProtocolError(grpc.StatusCode.UNIMPLEMENTED, "compressed gRPC-web messages are not supported")
        messages.append(body[i : i + size])
        i += size
    if len(messages) > 1:
        raise ProtocolError(
            grpc.StatusCode.INVALID_ARGUMENT, "a unary or server-streaming call takes exactly one request message"
        )
    return messages[0] if messages else b""


def parse_timeout(value: str | None) -> float | None:
    if value is None:
        return None
    m = _TIMEOUT.match(value.strip())
    if not m:
        raise ProtocolError(grpc.StatusCode.INVALID_ARGUMENT, f"malformed grpc-timeout {value[:20]!r}")
    return int(m.group(1)) * _TIMEOUT_UNITS[m.group(2)]


def request_metadata(headers, remote: str | None) -> tuple[tuple[str, str | bytes], ...]:
    """HTTP request headers as gRPC metadata: end-to-end headers only, valid keys and values."""
    connection_listed = {t.strip().lower() for t in headers.get("connection", "").split(",") if t.strip()}
    out: list[tuple[str, str | bytes]] = []
    for key, value in headers.items():
        key = key.lower()
        if (
            key in NOT_METADATA
            or key in connection_listed
            or key.startswith(NOT_METADATA_PREFIXES)
            or not METADATA_KEY.match(key)
        ):
            continue
        if key.endswith("-bin"):
            try:
                out.append((key, base64.b64decode(value + "=" * (-len(value) % 4))))
            except binascii.Error:
                continue
        elif _ASCII_VALUE.match(value):
            out.append((key, value))
    if remote:
        # the gateway sees the translator's loopback peer; this names the browser's address
        out.append(("x-forwarded-for", remote))
    origin = headers.get("origin", "")
    if origin and _ASCII_VALUE.match(origin):
        # the page that made the call (browsers set Origin; scripts cannot forge it there):
        # the gateway checks it against the tenant's allowed_origins
        out.append(("x-web-origin", origin[:300]))
    return tuple(out)


# -- the server --------------------------------------------------------------------------


def task_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def status_of(err: grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, str, tuple]:
    """Status, message and trailers of a failed call. A status the gateway sent passes through
    unchanged (it already maps errors for people); one made up locally because the gateway could
    not be reached gets a plain message instead of the channel's internals."""
    code, details, trailers = err.code(), err.details() or "", err.trailing_metadata() or ()
    from_peer = "received from peer" in (err.debug_error_string() or "")
    if not from_peer and code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL):
        log.warning("grpcweb.upstream_failed", code=code.name, details=details)
        return grpc.StatusCode.UNAVAILABLE, "the frontdesk gateway is temporarily unavailable; please retry", ()
    if not from_peer and code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return code, "deadline exceeded (grpc-timeout)", ()
    return code, details, tuple(trailers)


def response_headers(initial) -> dict[str, str]:
    out = {}
    for key, value in initial or ():
        key = key.lower()
        if key in _NOT_FORWARDED_BACK or key.startswith(("grpc-", ":")) or not METADATA_KEY.match(key):
            continue
        text = _metadata_value(key, value)
        if text is not None:
            out[key] = text
    return out
