"""The gRPC-web translator: an aiohttp application that turns each browser call into one real
gRPC call on the gateway's own port (see gateway/grpcweb/__init__.py)."""

from __future__ import annotations

import asyncio
import base64
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
from gateway.grpcweb.pages import AUTO, AutoStaticDir, default_static_dir, not_found_text, serve_static
from gateway.grpcweb.protocol import (
    BINARY_RESPONSE_TYPE,
    BINARY_TYPES,
    CORS_ALLOW_HEADERS,
    CORS_EXPOSE_HEADERS,
    CORS_MAX_AGE_S,
    METADATA_KEY,
    METHOD_PATH,
    NOT_METADATA,
    NOT_METADATA_PREFIXES,
    OK,
    TEXT_RESPONSE_TYPE,
    TEXT_TYPES,
    ProtocolError,
    decode_text,
    frame,
    parse_request_body,
    parse_timeout,
    request_metadata,
    response_headers,
    status_of,
    task_cancelled,
    trailers_frame,
)

log = logs.get("gateway.grpcweb")

# the public services of the gateway; nothing else is reachable from a browser
SERVED: tuple[ServiceDescriptor, ...] = (
    chat_pb2.DESCRIPTOR.services_by_name["ChatService"],
    auth_pb2.DESCRIPTOR.services_by_name["AuthService"],
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"],
    knowledge_pb2.DESCRIPTOR.services_by_name["KnowledgeService"],  # the admin panel's knowledge page
    speech_pb2.DESCRIPTOR.services_by_name["SpeechService"],  # SubmitAudio: a browser's recording
    analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"],  # the admin panel's charts
)

MAX_REQUEST_BYTES = 45 * 1024 * 1024
BODY_READ_TIMEOUT_S = 30.0
# an idle connection (and one that never finishes its request line and headers) is closed
# after this; aiohttp's default is 75 s
KEEPALIVE_TIMEOUT_S = 15.0


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
        static_dir: Path | None | AutoStaticDir = AUTO,
        allowed_origins: Sequence[str] = ("*",),
        services: Iterable[ServiceDescriptor] = SERVED,
        extra_allow_headers: Sequence[str] = (),
    ):
        self.grpc_target = grpc_target
        if isinstance(static_dir, AutoStaticDir):
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
        m = METHOD_PATH.match(request.path)
        if not m or m.group(1) not in self.services:
            return not_found_text()  # only the gRPC-web methods are for other origins
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
            and METADATA_KEY.match(h)
            and h not in NOT_METADATA
            and not h.startswith(NOT_METADATA_PREFIXES)
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
        m = METHOD_PATH.match(path)
        if not m or m.group(1) not in self.services:
            return not_found_text()
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
            code, details, trailers = status_of(err)
        except asyncio.CancelledError:
            if entry.closing and not task_cancelled():
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
        return web.Response(status=200, headers={**response_headers(initial), **headers}, body=body)

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
                    {**response_headers(initial), **headers, "X-Accel-Buffering": "no", "Cache-Control": "no-cache"}
                )
                await response.prepare(request)
                async for reply in call:
                    # one write per message: aiohttp hands it to the socket now (chunked encoding)
                    await response.write(self._encode(frame(reply), text))
                code, details = OK, ""
                trailers = await call.trailing_metadata()
            except grpc.aio.AioRpcError as err:
                code, details, trailers = status_of(err)
            except asyncio.CancelledError:
                if entry.closing and not task_cancelled():
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

    async def _static(self, request: web.Request) -> web.StreamResponse:
        return await serve_static(self.static_dir, request)


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers[hdrs.SERVER] = "frontdesk"


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
    static_dir: Path | None | AutoStaticDir = AUTO,
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
