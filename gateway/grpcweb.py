"""gRPC-web for browsers, served by the gateway process itself.

In production Envoy's grpc_web filter sits in front of the gateway (deploy/). The embedded
default has no Envoy, so the gateway runs this small HTTP/1.1 server beside its gRPC port:

    browser --gRPC-web (HTTP/1.1)--> this translator --gRPC (HTTP/2, loopback)--> gateway servicers

Each gRPC-web call becomes one real gRPC call on the gateway's own port through a local
channel with raw-bytes methods (no decoding here), so it passes through exactly the same
servicers, authentication, rate limits and error mapping as a native gRPC call. The
translator only reframes: request headers become metadata, `grpc-timeout` becomes the
call's deadline, response messages are written frame by frame as they arrive (a
server-streaming call such as ChatService.StreamEvents is never buffered), and the status
and trailing metadata (`retry-after`, `x-frontdesk-error`, ...) end the body as the
gRPC-web trailers frame. A browser that goes away cancels the upstream call.

Both wire formats are served: `application/grpc-web(+proto)` (what @connectrpc/connect-web's
createGrpcWebTransport and grpc-web's binary mode send) and `application/grpc-web-text(+proto)`
(base64; grpc-web's default mode). In text mode each response frame is base64-encoded on its
own (padded), so a streamed frame is decodable the moment it arrives.

Only unary and server-streaming methods of the services the gateway serves are reachable;
client-streaming and bidi cannot work over gRPC-web and answer UNIMPLEMENTED. Other GET
paths serve the built web pages (web/dist) when there are any.

HTTP server: aiohttp (pinned by the project). It writes each chunk to the socket at once,
cancels a handler when its client disconnects (`handler_cancellation=True`), and serves
files with sendfile, ETags and ranges.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import html
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import grpc
from aiohttp import hdrs, web
from google.protobuf.descriptor import ServiceDescriptor

from frontdesk import grpcutil, logs
from frontdesk.settings import StartupError
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.analytics.v1 import analytics_pb2
from frontdesk_pb.auth.v1 import auth_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.knowledge.v1 import knowledge_pb2
from frontdesk_pb.speech.v1 import speech_pb2

log = logs.get("gateway.grpcweb")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATIC_DIR = ROOT / "web" / "dist"

# the public services of the gateway; nothing else is reachable from a browser
SERVED: tuple[ServiceDescriptor, ...] = (
    chat_pb2.DESCRIPTOR.services_by_name["ChatService"],
    auth_pb2.DESCRIPTOR.services_by_name["AuthService"],
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"],
    knowledge_pb2.DESCRIPTOR.services_by_name["KnowledgeService"],  # the admin panel's knowledge page
    speech_pb2.DESCRIPTOR.services_by_name["SpeechService"],  # SubmitAudio: a browser's recording
    analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"],  # the admin panel's charts
)

BINARY_TYPES = frozenset({"application/grpc-web", "application/grpc-web+proto"})
TEXT_TYPES = frozenset({"application/grpc-web-text", "application/grpc-web-text+proto"})
BINARY_RESPONSE_TYPE = "application/grpc-web+proto"
TEXT_RESPONSE_TYPE = "application/grpc-web-text+proto"

# request headers that never become gRPC metadata: hop-by-hop and HTTP/1.1 framing, the
# browser's own headers, gRPC's reserved names, and addresses a client could forge
_NOT_METADATA = frozenset(
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
_NOT_METADATA_PREFIXES = ("grpc-", "sec-", "access-control-", ":")
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
_METADATA_KEY = re.compile(r"^[0-9a-z_.\-]{1,128}\Z")
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
_PATH = re.compile(r"^/([A-Za-z_][A-Za-z0-9_.]*)/([A-Za-z_][A-Za-z0-9_]*)\Z")

# a request body holds one message of at most the channel's limit (32 MiB), base64 in text mode
MAX_REQUEST_BYTES = 45 * 1024 * 1024
BODY_READ_TIMEOUT_S = 30.0
# an idle connection (and one that never finishes its request line and headers) is closed
# after this; aiohttp's default is 75 s
KEEPALIVE_TIMEOUT_S = 15.0

# content types of the files a built web app consists of (mimetypes differs between systems)
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".wasm": "application/wasm",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".wav": "audio/wav",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".pdf": "application/pdf",
    ".xml": "application/xml",
}

OK = grpc.StatusCode.OK


class _AutoStaticDir:
    def __repr__(self) -> str:
        return "AUTO"


AUTO = _AutoStaticDir()  # static_dir default: web/dist of this checkout when it has been built


def default_static_dir() -> Path | None:
    return DEFAULT_STATIC_DIR if (DEFAULT_STATIC_DIR / "index.html").is_file() else None


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
        if key in _NOT_FORWARDED_BACK or not _METADATA_KEY.match(key):
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
            key in _NOT_METADATA
            or key in connection_listed
            or key.startswith(_NOT_METADATA_PREFIXES)
            or not _METADATA_KEY.match(key)
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


class _Call:
    """One in-flight upstream call, so that stop() can end it and tests can watch it."""

    __slots__ = ("path", "call", "closing")

    def __init__(self, path: str, call):
        self.path = path
        self.call = call
        self.closing = False


class GrpcWebServer:
    """The translator: an aiohttp application plus one local gRPC channel to the gateway."""

    def __init__(
        self,
        grpc_target: str,
        static_dir: Path | None | _AutoStaticDir = AUTO,
        allowed_origins: Sequence[str] = ("*",),
        services: Iterable[ServiceDescriptor] = SERVED,
        extra_allow_headers: Sequence[str] = (),
    ):
        self.grpc_target = grpc_target
        if isinstance(static_dir, _AutoStaticDir):
            static_dir = default_static_dir()
        self.static_dir = Path(static_dir).resolve() if static_dir is not None else None
        origins = [o.strip().rstrip("/") for o in allowed_origins if o.strip()]
        self.any_origin = "*" in origins
        self.origins = frozenset(o.lower() for o in origins if o != "*")
        self.allow_headers = tuple(dict.fromkeys([*CORS_ALLOW_HEADERS, *(h.lower() for h in extra_allow_headers)]))
        self.methods: dict[str, str] = {}  # "/pkg.Service/Method" -> unary | server_streaming | client_streaming | bidi
        self.services: set[str] = set()
        for svc in services:
            self.services.add(svc.full_name)
            for m in svc.methods:
                kind = {
                    (False, False): "unary",
                    (False, True): "server_streaming",
                    (True, False): "client_streaming",
                    (True, True): "bidi",
                }[(m.client_streaming, m.server_streaming)]
                self.methods[f"/{svc.full_name}/{m.name}"] = kind
        self.active: set[_Call] = set()
        self.counters = {"calls": 0, "streams": 0, "client_disconnects": 0}
        self._channel: grpc.aio.Channel | None = None
        self._callables: dict[str, Any] = {}
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.host = ""
        self.port = 0
        self.body_timeout_s = BODY_READ_TIMEOUT_S
        self.keepalive_timeout_s = KEEPALIVE_TIMEOUT_S

    # -- lifecycle --

    async def start(self, host: str, port: int) -> None:
        self._channel = grpc.aio.insecure_channel(self.grpc_target, options=grpcutil.CHANNEL_OPTIONS)
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        app.on_response_prepare.append(_server_header)
        # handler_cancellation: a client that disconnects cancels its handler, and so its upstream call
        self._runner = web.AppRunner(
            app,
            handler_cancellation=True,
            access_log=None,
            shutdown_timeout=5.0,
            keepalive_timeout=self.keepalive_timeout_s,
            max_line_size=8190,
            max_field_size=8190,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        try:
            await site.start()
        except OSError as err:
            await self._runner.cleanup()
            await self._channel.close()
            raise StartupError(f"gRPC-web: cannot listen on {host}:{port} ({err.strerror or err})") from None
        self.host, self.port = host, self._runner.addresses[0][1]
        log.info(
            "grpcweb.serving",
            address=f"{host}:{self.port}",
            upstream=self.grpc_target,
            static=str(self.static_dir) if self.static_dir else "",
            origins="*" if self.any_origin else ",".join(sorted(self.origins)),
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        """Stop listening, end open streams with UNAVAILABLE (clients reconnect), close the channel."""
        self._closing = True
        for c in list(self.active):
            c.closing = True
            c.call.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._channel is not None:
            await self._channel.close()
        log.info("grpcweb.stopped")

    # -- dispatch --

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        method = request.method
        if method == hdrs.METH_OPTIONS:
            return self._preflight(request)
        if method == hdrs.METH_POST:
            return await self._grpc(request)
        if method in (hdrs.METH_GET, hdrs.METH_HEAD):
            return await self._static(request)
        return web.Response(status=405, text="method not allowed\n", headers={"Allow": "GET, HEAD, POST, OPTIONS"})

    def _cors(self, request: web.Request) -> dict[str, str] | None:
        """CORS headers for this request; None when its origin is not allowed."""
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is None:
            return {}
        if self.any_origin:
            return {"Access-Control-Allow-Origin": "*"}
        if origin.lower().rstrip("/") in self.origins:
            return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        return None

    def _preflight(self, request: web.Request) -> web.Response:
        m = _PATH.match(request.path)
        if not m or m.group(1) not in self.services:
            return _not_found_text()  # only the gRPC-web methods are for other origins
        cors = self._cors(request)
        wanted_method = request.headers.get("Access-Control-Request-Method", "")
        if not cors or wanted_method.upper() not in ("POST", ""):
            return web.Response(status=403, text="CORS request refused\n")
        # what the browser asks for may be sent if we would forward it as metadata
        asked = [h.strip().lower() for h in request.headers.get("Access-Control-Request-Headers", "").split(",")]
        extra = [
            h
            for h in asked
            if h
            and h not in self.allow_headers
            and _METADATA_KEY.match(h)
            and h not in _NOT_METADATA
            and not h.startswith(_NOT_METADATA_PREFIXES)
        ]
        return web.Response(
            status=204,
            headers={
                **cors,
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": ", ".join([*self.allow_headers, *extra]),
                "Access-Control-Expose-Headers": ", ".join(CORS_EXPOSE_HEADERS),
                "Access-Control-Max-Age": str(CORS_MAX_AGE_S),
            },
        )

    # -- gRPC-web --

    def _callable(self, path: str, streaming: bool):
        fn = self._callables.get(path)
        if fn is None:
            assert self._channel is not None, "the gRPC-web server is not started"
            make = self._channel.unary_stream if streaming else self._channel.unary_unary
            fn = self._callables[path] = make(path, request_serializer=None, response_deserializer=None)
        return fn

    async def _grpc(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        m = _PATH.match(path)
        if not m or m.group(1) not in self.services:
            return _not_found_text()
        cors = self._cors(request)
        if cors is None:
            return web.Response(status=403, text="origin not allowed\n")
        ctype = request.content_type.lower()
        if ctype not in BINARY_TYPES and ctype not in TEXT_TYPES:
            return web.Response(
                status=415,
                text="expected application/grpc-web(+proto) or application/grpc-web-text\n",
                headers={**cors, "Accept": "application/grpc-web+proto, application/grpc-web-text+proto"},
            )
        text = ctype in TEXT_TYPES
        headers = {**cors, "Content-Type": TEXT_RESPONSE_TYPE if text else BINARY_RESPONSE_TYPE}
        if cors:
            headers["Access-Control-Expose-Headers"] = ", ".join(CORS_EXPOSE_HEADERS)
        if self._closing:
            return self._status_only(
                headers, text, grpc.StatusCode.UNAVAILABLE, "the gateway is shutting down; please retry"
            )
        kind = self.methods.get(path)
        if kind is None:
            return self._status_only(headers, text, grpc.StatusCode.UNIMPLEMENTED, f"unknown method {path}")
        if kind in ("client_streaming", "bidi"):
            return self._status_only(
                headers,
                text,
                grpc.StatusCode.UNIMPLEMENTED,
                f"{path} is a {kind.replace('_', '-')} method, which gRPC-web cannot carry; call it over native gRPC",
            )
        try:
            # a body that trickles in (or never comes: 40 MiB announced, 2 bytes sent) must
            # not hold a connection and a handler for ever
            body = await asyncio.wait_for(request.read(), self.body_timeout_s)
            if text:
                body = decode_text(body)
            message = parse_request_body(body)
            timeout = parse_timeout(request.headers.get("grpc-timeout"))
        except TimeoutError:
            return self._status_only(
                headers,
                text,
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"the request body did not arrive within {self.body_timeout_s:g} s",
            )
        except web.HTTPRequestEntityTooLarge:
            return self._status_only(
                headers, text, grpc.StatusCode.RESOURCE_EXHAUSTED, f"request larger than {MAX_REQUEST_BYTES} bytes"
            )
        except ProtocolError as err:
            return self._status_only(headers, text, err.code, err.message)
        metadata = request_metadata(request.headers, request.remote)
        if kind == "unary":
            return await self._unary(path, message, metadata, timeout, headers, text)
        return await self._server_streaming(request, path, message, metadata, timeout, headers, text)

    @staticmethod
    def _encode(data: bytes, text: bool) -> bytes:
        return base64.b64encode(data) if text else data

    def _status_only(
        self,
        headers: dict,
        text: bool,
        code: grpc.StatusCode,
        message: str,
        trailers: Iterable[tuple[str, str | bytes]] = (),
    ) -> web.Response:
        return web.Response(
            status=200, headers=headers, body=self._encode(trailers_frame(code, message, trailers), text)
        )

    async def _unary(self, path, message, metadata, timeout, headers, text) -> web.Response:
        self.counters["calls"] += 1
        started = time.perf_counter()
        call = self._callable(path, streaming=False)(message, metadata=metadata, timeout=timeout)
        entry = _Call(path, call)
        self.active.add(entry)
        try:
            reply = await call
            initial = await call.initial_metadata()
            trailers = await call.trailing_metadata()
            code, details = OK, ""
        except grpc.aio.AioRpcError as err:
            reply, initial = None, err.initial_metadata() or ()
            code, details, trailers = _status_of(err)
        except asyncio.CancelledError:
            if entry.closing and not _task_cancelled():
                reply, initial, trailers = None, (), ()
                code, details = grpc.StatusCode.UNAVAILABLE, "the gateway is shutting down; please retry"
            else:
                raise
        finally:
            self.active.discard(entry)
            if not call.done():
                call.cancel()
        log.debug("grpcweb.call", method=path, code=code.name, ms=round((time.perf_counter() - started) * 1000, 2))
        # in text mode each frame is encoded on its own: the same shape as a stream
        body = (self._encode(frame(reply), text) if reply is not None else b"") + self._encode(
            trailers_frame(code, details, trailers), text
        )
        return web.Response(status=200, headers={**_response_headers(initial), **headers}, body=body)

    async def _server_streaming(self, request, path, message, metadata, timeout, headers, text) -> web.StreamResponse:
        self.counters["streams"] += 1
        call = self._callable(path, streaming=True)(message, metadata=metadata, timeout=timeout)
        entry = _Call(path, call)
        self.active.add(entry)
        response = web.StreamResponse(status=200)
        try:
            try:
                initial = await call.initial_metadata()
                response.headers.update(
                    {**_response_headers(initial), **headers, "X-Accel-Buffering": "no", "Cache-Control": "no-cache"}
                )
                await response.prepare(request)
                async for reply in call:
                    # one write per message: aiohttp hands it to the socket now (chunked encoding)
                    await response.write(self._encode(frame(reply), text))
                code, details = OK, ""
                trailers = await call.trailing_metadata()
            except grpc.aio.AioRpcError as err:
                code, details, trailers = _status_of(err)
            except asyncio.CancelledError:
                if entry.closing and not _task_cancelled():
                    code, details, trailers = (
                        grpc.StatusCode.UNAVAILABLE,
                        "the gateway is shutting down; please reconnect",
                        (),
                    )
                else:
                    # the browser went away (aiohttp cancelled this handler): end the upstream call
                    self.counters["client_disconnects"] += 1
                    raise
            if not response.prepared:
                response.headers.update(headers)
                await response.prepare(request)
            await response.write(self._encode(trailers_frame(code, details, trailers), text))
            await response.write_eof()
        except ConnectionResetError:
            # writing to a closed connection (aiohttp's ClientConnectionResetError is one)
            self.counters["client_disconnects"] += 1
        finally:
            self.active.discard(entry)
            if not call.done():
                call.cancel()
        return response

    # -- static files --

    async def _static(self, request: web.Request) -> web.StreamResponse:
        if self.static_dir is None:
            if request.path in ("/", "/index.html"):
                return web.Response(text=_NO_PAGES, content_type="text/html", headers=page_headers(request.path))
            return _not_found_page(request.path)
        parts = [p for p in request.path.split("/") if p]
        if any(p in (".", "..") or p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
            return _not_found_page(request.path)  # traversal attempts and dotfiles look like missing files
        root = self.static_dir
        target = root.joinpath(*parts)
        try:
            target = target.resolve()
            if not target.is_relative_to(root):  # a symlink that leads outside
                return _not_found_page(request.path)
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                # a client-side route of the single-page app (no extension): its index.html,
                # the app's own for an app in a folder (/admin/conversations/c_1 -> admin/index.html)
                index = root / parts[0] / "index.html" if parts else root / "index.html"
                if not index.is_file():
                    index = root / "index.html"
                if parts and "." not in parts[-1] and index.is_file():
                    target = index
                else:
                    return _not_found_page(request.path)
        except (OSError, ValueError):
            return _not_found_page(request.path)
        ctype = CONTENT_TYPES.get(target.suffix.lower(), "application/octet-stream")
        cache = "no-cache" if target.suffix.lower() in (".html", ".htm") else "public, max-age=3600"
        headers = page_headers(request.path) if ctype.startswith("text/html") else dict(_STATIC_HEADERS)
        return web.FileResponse(target, headers={**headers, "Content-Type": ctype, "Cache-Control": cache})


def _task_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _status_of(err: grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, str, tuple]:
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


def _response_headers(initial) -> dict[str, str]:
    out = {}
    for key, value in initial or ():
        key = key.lower()
        if key in _NOT_FORWARDED_BACK or key.startswith(("grpc-", ":")) or not _METADATA_KEY.match(key):
            continue
        text = _metadata_value(key, value)
        if text is not None:
            out[key] = text
    return out


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers[hdrs.SERVER] = "frontdesk"


_STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",  # older browsers; frame-ancestors below for the rest
    "Cross-Origin-Opener-Policy": "same-origin",
}
# The admin panel: our own scripts only, gRPC-web to this origin only, never in a frame
# (clickjacking). Styles may be inline (React style attributes); nothing else is.
ADMIN_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Every other page (the demo shop page writes the widget's tag with a small inline script;
# it stands for a tenant's own site, which sets its own policy)
PAGE_CSP = "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"


def page_headers(path: str) -> dict[str, str]:
    csp = ADMIN_CSP if path == "/admin" or path.startswith("/admin/") else PAGE_CSP
    return {**_STATIC_HEADERS, "Content-Security-Policy": csp}


_NO_PAGES = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>frontdesk</title></head>
<body><h1>frontdesk</h1>
<p>This gateway serves gRPC-web for browsers. No web pages have been built into
<code>web/dist</code> yet.</p></body></html>
"""
_NOT_FOUND = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not found</title></head>
<body><h1>Not found</h1><p>There is nothing at {path}.</p><p><a href="/">frontdesk</a></p></body></html>
"""


def _not_found_page(path: str) -> web.Response:
    return web.Response(
        status=404,
        text=_NOT_FOUND.format(path=html.escape(path[:200])),
        content_type="text/html",
        headers=_STATIC_HEADERS,
    )


def _not_found_text() -> web.Response:
    return web.Response(status=404, text="not found\n")


def local_target(host: str, port: int) -> str:
    """Where this process reaches its own gRPC server bound to host:port (a wildcard bind via loopback)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def start_grpc_web(
    settings,
    grpc_target: str,
    static_dir: Path | None | _AutoStaticDir = AUTO,
    *,
    host: str | None = None,
    port: int | None = None,
    allowed_origins: Sequence[str] | None = None,
    services: Iterable[ServiceDescriptor] = SERVED,
) -> GrpcWebServer:
    """Start the gRPC-web translator for the gateway at `grpc_target`; `await server.stop()` ends it.

    host/port/origins default to settings.host, settings.web_port (8080) and
    settings.web_allowed_origins ("*", comma separated)."""
    host = host if host is not None else settings.host
    port = port if port is not None else getattr(settings, "web_port", 8080)
    if allowed_origins is None:
        allowed_origins = getattr(settings, "web_allowed_origins", "*").split(",")
    server = GrpcWebServer(grpc_target, static_dir, allowed_origins=allowed_origins, services=services)
    await server.start(host, port)
    return server
