"""gRPC-web in the gateway process: raw HTTP/1.1 requests, in binary and text modes,
through the translator to the real mesh (`frontdesk run` with NATS, conversation and an
echo inference worker). Frames are built and parsed here by hand, independently of the
translator's own helpers."""

from __future__ import annotations

import asyncio
import base64
import struct
import time

import aiohttp
import pytest

from frontdesk import settings as fd_settings
from frontdesk_pb.auth.v1 import auth_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.events.v1 import events_pb2
from frontdesk_pb.speech.v1 import speech_pb2
from gateway import grpcweb
from gateway.grpcweb import SERVED, GrpcWebServer, start_grpc_web
from launcher.supervisor import free_port

BINARY = "application/grpc-web+proto"
TEXT = "application/grpc-web-text"
MODES = pytest.mark.parametrize("text", [False, True], ids=["binary", "text"])
CHAT = "/frontdesk.chat.v1.ChatService/"
AUTH = "/frontdesk.auth.v1.AuthService/"

# -- wire helpers (independent of gateway.grpcweb) ------------------------------------------


def encode(message, text: bool) -> bytes:
    payload = message.SerializeToString() if hasattr(message, "SerializeToString") else message
    body = struct.pack(">BI", 0, len(payload)) + payload
    return base64.b64encode(body) if text else body


def b64_groups(data: bytes) -> bytes:
    """Decode base64 made of padded chunks one after another, four characters at a time."""
    return b"".join(base64.b64decode(data[i : i + 4]) for i in range(0, len(data), 4))


def parse_trailers(payload: bytes) -> dict[str, str]:
    out = {}
    for line in payload.decode("ascii").split("\r\n"):
        if line:
            key, _, value = line.partition(":")
            out[key.strip().lower()] = value.strip()
    return out


def split_frames(data: bytes) -> tuple[list[bytes], dict | None]:
    messages, trailers, i = [], None, 0
    while i < len(data):
        flags, size = struct.unpack(">BI", data[i : i + 5])
        payload = data[i + 5 : i + 5 + size]
        assert len(payload) == size, "truncated frame"
        i += 5 + size
        if flags & 0x80:
            assert trailers is None and i == len(data), "the trailers frame must come last"
            trailers = parse_trailers(payload)
        else:
            assert trailers is None
            messages.append(payload)
    return messages, trailers


class Reply:
    def __init__(self, status: int, headers, body: bytes, text: bool):
        self.status = status
        self.headers = headers
        self.raw = body
        self.messages, self.trailers = split_frames(b64_groups(body) if text else body) if status == 200 else ([], None)

    @property
    def code(self) -> int:
        return int(self.trailers["grpc-status"])

    @property
    def message(self) -> str:
        from urllib.parse import unquote

        return unquote(self.trailers.get("grpc-message", ""))

    def one(self, cls):
        assert self.code == 0, (self.code, self.message)
        assert len(self.messages) == 1
        return cls.FromString(self.messages[0])


def headers_for(text: bool, token: str | None = None, **extra) -> dict:
    h = {"content-type": TEXT if text else BINARY, "x-grpc-web": "1", "x-user-agent": "grpc-web-javascript/0.1"}
    if token:
        h["authorization"] = f"Bearer {token}"
    h.update(extra)
    return h


async def call(
    http: aiohttp.ClientSession, url: str, path: str, message, text: bool = False, token: str | None = None, **extra
) -> Reply:
    async with http.post(url + path, data=encode(message, text), headers=headers_for(text, token, **extra)) as r:
        return Reply(r.status, r.headers, await r.read(), text)


class EventStream:
    """Reads a streamed gRPC-web response frame by frame as the bytes arrive."""

    def __init__(self, response: aiohttp.ClientResponse, text: bool):
        self.response = response
        self.text = text
        self.buf = b""
        self.pending = b""  # text mode: base64 characters not yet a multiple of four

    async def _fill(self) -> None:
        chunk = await self.response.content.readany()
        if not chunk:
            raise EOFError("stream ended without a trailers frame")
        if self.text:
            self.pending += chunk
            n = len(self.pending) // 4 * 4
            self.buf += b64_groups(self.pending[:n])
            self.pending = self.pending[n:]
        else:
            self.buf += chunk

    async def next(self, timeout: float = 30) -> tuple[str, object]:
        async def read():
            while True:
                if len(self.buf) >= 5:
                    flags, size = struct.unpack(">BI", self.buf[:5])
                    if len(self.buf) >= 5 + size:
                        payload, self.buf = self.buf[5 : 5 + size], self.buf[5 + size :]
                        if flags & 0x80:
                            return "trailers", parse_trailers(payload)
                        return "event", events_pb2.ConversationEvent.FromString(payload)
                await self._fill()

        return await asyncio.wait_for(read(), timeout)


async def open_stream(http, url, conversation_id: str, token: str, text: bool, **extra):
    body = encode(chat_pb2.StreamEventsRequest(conversation_id=conversation_id), text)
    response = await http.post(url + CHAT + "StreamEvents", data=body, headers=headers_for(text, token, **extra))
    return response, EventStream(response, text)


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture
async def web(mesh):
    server = await start_grpc_web(fd_settings.load(env={}), mesh.gateway, None, host="127.0.0.1", port=0)
    yield server
    await server.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as session:
        yield session


async def visitor(http, web, mesh, text: bool = False) -> auth_pb2.CreateVisitorSessionResponse:
    reply = await call(
        http,
        web.url,
        AUTH + "CreateVisitorSession",
        auth_pb2.CreateVisitorSessionRequest(widget_key=mesh.demo["widget_key"]),
        text,
    )
    return reply.one(auth_pb2.CreateVisitorSessionResponse)


async def start_conversation(http, web, token: str, text: bool = False) -> str:
    reply = await call(http, web.url, CHAT + "StartConversation", chat_pb2.StartConversationRequest(), text, token)
    return reply.one(chat_pb2.StartConversationResponse).conversation.id


# -- calls through the real gateway ---------------------------------------------------------


@MODES
async def test_visitor_session_and_conversation(mesh, web, http, text):
    reply = await call(
        http,
        web.url,
        AUTH + "CreateVisitorSession",
        auth_pb2.CreateVisitorSessionRequest(widget_key=mesh.demo["widget_key"]),
        text,
    )
    assert reply.status == 200
    assert reply.headers["content-type"] == (
        "application/grpc-web-text+proto" if text else "application/grpc-web+proto"
    )
    session = reply.one(auth_pb2.CreateVisitorSessionResponse)
    assert session.token and session.visitor_id.startswith("v_") and session.tenant_name == "Demo Company"
    assert reply.trailers == {"grpc-status": "0", "grpc-message": ""}

    who = (await call(http, web.url, AUTH + "WhoAmI", auth_pb2.WhoAmIRequest(), text, session.token)).one(
        auth_pb2.WhoAmIResponse
    )
    assert who.kind == "visitor" and who.subject == session.visitor_id  # authorization reached the servicer

    started = await call(
        http,
        web.url,
        CHAT + "StartConversation",
        chat_pb2.StartConversationRequest(),
        text,
        session.token,
        **{"x-request-id": "web-test-1"},
    )
    conversation = started.one(chat_pb2.StartConversationResponse).conversation
    assert conversation.id and conversation.status == common.CONVERSATION_STATUS_AI


@MODES
async def test_stream_events_status_then_token_deltas_then_reply(mesh, web, http, text):
    session = await visitor(http, web, mesh, text)
    conversation_id = await start_conversation(http, web, session.token, text)
    response, events = await open_stream(http, web.url, conversation_id, session.token, text)
    try:
        assert response.status == 200
        assert response.headers["content-type"].startswith("application/grpc-web")
        # the status snapshot arrives while the stream stays open: nothing is held back
        kind, first = await events.next(timeout=15)
        assert kind == "event" and first.WhichOneof("kind") == "status_changed"
        assert first.conversation_id == conversation_id

        sent = (
            await call(
                http,
                web.url,
                CHAT + "SendMessage",
                chat_pb2.SendMessageRequest(conversation_id=conversation_id, text="How do I reset my password?"),
                text,
                session.token,
            )
        ).one(chat_pb2.SendMessageResponse)
        assert sent.queued_for_ai
        deltas = []
        while True:
            kind, ev = await events.next(timeout=60)
            assert kind == "event", f"stream ended early: {ev}"
            which = ev.WhichOneof("kind")
            if which == "token" and ev.token.in_reply_to == sent.message.id:
                deltas.append(ev.token)
            if which == "message" and ev.message.in_reply_to == sent.message.id:
                reply = ev.message
                break
        assert len(deltas) >= 2, "the reply should arrive as several token deltas"
        assert [d.index for d in deltas] == list(range(len(deltas)))
        assert "".join(d.text for d in deltas).strip() == reply.text
        assert reply.role == common.ROLE_AI and "reset my password" in reply.text
        assert web.active, "the stream is still open upstream"
    finally:
        response.close()


async def test_unauthenticated_without_credentials(web, http):
    reply = await call(http, web.url, CHAT + "StartConversation", chat_pb2.StartConversationRequest())
    assert reply.status == 200 and reply.messages == []
    assert reply.code == 16  # UNAUTHENTICATED
    assert "missing credentials" in reply.message
    assert reply.trailers.get("x-frontdesk-error") == "1"

    garbage = await call(
        http, web.url, CHAT + "StartConversation", chat_pb2.StartConversationRequest(), token="nonsense"
    )
    assert garbage.code == 16


@MODES
async def test_another_visitors_conversation_is_not_found(mesh, web, http, text):
    owner = await visitor(http, web, mesh)
    stranger = await visitor(http, web, mesh)
    conversation_id = await start_conversation(http, web, owner.token)

    reply = await call(
        http,
        web.url,
        CHAT + "GetConversation",
        chat_pb2.GetConversationRequest(conversation_id=conversation_id),
        text,
        stranger.token,
    )
    assert reply.code == 5 and reply.messages == []  # NOT_FOUND, exactly like a missing one
    missing = await call(
        http,
        web.url,
        CHAT + "GetConversation",
        chat_pb2.GetConversationRequest(conversation_id="c_doesnotexist"),
        text,
        stranger.token,
    )
    assert missing.code == 5

    response, events = await open_stream(http, web.url, conversation_id, stranger.token, text)
    try:
        kind, trailers = await events.next(timeout=15)
        assert kind == "trailers" and trailers["grpc-status"] == "5"
    finally:
        response.close()


async def test_rate_limit_answers_resource_exhausted_with_retry_after(mesh, web, http):
    session = await visitor(http, web, mesh)
    limited = None
    for _ in range(80):  # burst 20 at 5/s: a quick run of calls must hit the limit
        reply = await call(
            http, web.url, AUTH + "WhoAmI", auth_pb2.WhoAmIRequest(), token=session.token, origin="https://shop.example"
        )
        if reply.code != 0:
            limited = reply
            break
    assert limited is not None, "the visitor rate limit never answered"
    assert limited.code == 8  # RESOURCE_EXHAUSTED
    assert float(limited.trailers["retry-after"]) > 0
    assert limited.trailers["x-frontdesk-error"] == "1"
    assert "rate limit" in limited.message
    exposed = {h.strip() for h in limited.headers["access-control-expose-headers"].split(",")}
    assert {"grpc-status", "grpc-message", "retry-after"} <= exposed


async def test_grpc_timeout_is_the_calls_deadline(mesh, web, http):
    session = await visitor(http, web, mesh)
    conversation_id = await start_conversation(http, web, session.token)
    started = time.monotonic()
    response, events = await open_stream(
        http, web.url, conversation_id, session.token, False, **{"grpc-timeout": "1500m"}
    )
    try:
        kind, _ = await events.next(timeout=15)
        assert kind == "event"
        kind, trailers = await events.next(timeout=15)
        assert kind == "trailers" and trailers["grpc-status"] == "4"  # DEADLINE_EXCEEDED
        assert time.monotonic() - started > 1.0, "the stream lived until its deadline, not shorter"
    finally:
        response.close()


async def test_malformed_requests_are_invalid_argument(web, http):
    url = web.url + AUTH + "CreateVisitorSession"
    async with http.post(url, data=b"\x00\x00\x00\x00\x09abc", headers=headers_for(False)) as r:
        assert Reply(r.status, r.headers, await r.read(), False).code == 3
    async with http.post(url, data=b"!!!not base64!!!", headers=headers_for(True)) as r:
        assert Reply(r.status, r.headers, await r.read(), True).code == 3
    two = encode(b"", False) * 2
    async with http.post(url, data=two, headers=headers_for(False)) as r:
        assert Reply(r.status, r.headers, await r.read(), False).code == 3
    async with http.post(url, data=encode(b"", False), headers=headers_for(False, **{"grpc-timeout": "soon"})) as r:
        reply = Reply(r.status, r.headers, await r.read(), False)
        assert reply.code == 3 and "grpc-timeout" in reply.message
    compressed = b"\x01" + encode(b"xx", False)[1:]
    async with http.post(url, data=compressed, headers=headers_for(False)) as r:
        assert Reply(r.status, r.headers, await r.read(), False).code == 12


async def test_text_mode_accepts_several_base64_chunks(mesh, web, http):
    payload = auth_pb2.CreateVisitorSessionRequest(widget_key=mesh.demo["widget_key"]).SerializeToString()
    body = struct.pack(">BI", 0, len(payload)) + payload
    chunked = base64.b64encode(body[:4]) + base64.b64encode(body[4:])  # padding in the middle
    async with http.post(web.url + AUTH + "CreateVisitorSession", data=chunked, headers=headers_for(True)) as r:
        assert Reply(r.status, r.headers, await r.read(), True).one(auth_pb2.CreateVisitorSessionResponse).token


# -- what is not gRPC-web ----------------------------------------------------------------------


async def test_unknown_paths_and_methods(web, http):
    empty = encode(b"", False)
    for path in (
        "/frontdesk.conversation.v1.ConversationService/StartConversation",  # internal: never from a browser
        "/grpc.health.v1.Health/Check",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/nope",
        "/frontdesk.chat.v1.ChatService",
        "/frontdesk.chat.v1.ChatService/Send/Message",
    ):
        async with http.post(web.url + path, data=empty, headers=headers_for(False)) as r:
            assert r.status == 404, path
    reply = await call(http, web.url, CHAT + "NoSuchMethod", b"")
    assert reply.status == 200 and reply.code == 12  # UNIMPLEMENTED, as a gRPC server answers
    async with http.post(
        web.url + CHAT + "StartConversation", data=b"{}", headers={"content-type": "application/json"}
    ) as r:
        assert r.status == 415
    async with http.put(web.url + CHAT + "StartConversation", data=empty, headers=headers_for(False)) as r:
        assert r.status == 405
    async with http.get(web.url + CHAT + "StartConversation") as r:
        assert r.status == 404


async def test_client_streaming_methods_answer_unimplemented(mesh, http):
    speech = speech_pb2.DESCRIPTOR.services_by_name["SpeechService"]
    server = GrpcWebServer(mesh.gateway, None, services=[*SERVED, speech])
    await server.start("127.0.0.1", 0)
    try:
        for text in (False, True):
            reply = await call(
                http,
                server.url,
                "/frontdesk.speech.v1.SpeechService/SubmitAudioStream",
                speech_pb2.AudioChunk(data=b"x"),
                text,
            )
            assert reply.status == 200 and reply.code == 12
            assert "client-streaming" in reply.message and "native gRPC" in reply.message
    finally:
        await server.stop()


async def test_unreachable_gateway_is_unavailable(http):
    server = GrpcWebServer(f"127.0.0.1:{free_port()}", None)  # nothing listens there
    await server.start("127.0.0.1", 0)
    try:
        reply = await call(
            http,
            server.url,
            AUTH + "CreateVisitorSession",
            auth_pb2.CreateVisitorSessionRequest(),
            **{"grpc-timeout": "5S"},
        )
        assert reply.status == 200 and reply.code == 14  # UNAVAILABLE
        assert reply.message == "the frontdesk gateway is temporarily unavailable; please retry"
    finally:
        await server.stop()


# -- CORS ----------------------------------------------------------------------------------


async def test_cors_preflight(web, http):
    asked = "content-type,x-grpc-web,x-user-agent,grpc-timeout,authorization,x-request-id,x-tenant-hint"
    async with http.options(
        web.url + CHAT + "StreamEvents",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": asked,
        },
    ) as r:
        assert r.status == 204
        assert r.headers["access-control-allow-origin"] == "*"
        assert "POST" in r.headers["access-control-allow-methods"]
        allowed = {h.strip() for h in r.headers["access-control-allow-headers"].split(",")}
        assert set(asked.split(",")) <= allowed
        exposed = {h.strip() for h in r.headers["access-control-expose-headers"].split(",")}
        assert {"grpc-status", "grpc-message", "retry-after", "x-frontdesk-error"} <= exposed
        assert int(r.headers["access-control-max-age"]) > 0
    reply = await call(http, web.url, AUTH + "WhoAmI", auth_pb2.WhoAmIRequest(), origin="https://shop.example")
    assert reply.headers["access-control-allow-origin"] == "*" and reply.code == 16
    async with http.options(
        web.url + "/frontdesk.conversation.v1.ConversationService/SendMessage",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    ) as r:
        assert r.status == 404 and "access-control-allow-origin" not in r.headers


async def test_cors_with_configured_origins(mesh, http):
    settings = fd_settings.load(env={})
    server = await start_grpc_web(
        settings,
        mesh.gateway,
        None,
        host="127.0.0.1",
        port=0,
        allowed_origins=["https://shop.example", "https://admin.example/"],
    )
    try:
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
        async with http.options(
            server.url + AUTH + "WhoAmI", headers={"Origin": "https://admin.example", **preflight}
        ) as r:
            assert r.status == 204 and r.headers["access-control-allow-origin"] == "https://admin.example"
            assert r.headers["vary"] == "Origin"
        async with http.options(
            server.url + AUTH + "WhoAmI", headers={"Origin": "https://evil.example", **preflight}
        ) as r:
            assert r.status == 403 and "access-control-allow-origin" not in r.headers
        evil = await call(http, server.url, AUTH + "WhoAmI", auth_pb2.WhoAmIRequest(), origin="https://evil.example")
        assert evil.status == 403
        good = await call(http, server.url, AUTH + "WhoAmI", auth_pb2.WhoAmIRequest(), origin="https://shop.example")
        assert good.status == 200 and good.code == 16
        assert good.headers["access-control-allow-origin"] == "https://shop.example"
        native = await call(http, server.url, AUTH + "WhoAmI", auth_pb2.WhoAmIRequest())  # no Origin: not a browser
        assert native.status == 200 and "access-control-allow-origin" not in native.headers
    finally:
        await server.stop()


# -- disconnects and shutdown -------------------------------------------------------------------


async def _raw_stream(port: int, conversation_id: str, token: str):
    """A StreamEvents call over a plain socket; returns the streams once the first event has arrived."""
    body = encode(chat_pb2.StreamEventsRequest(conversation_id=conversation_id), False)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            f"POST {CHAT}StreamEvents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {BINARY}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)
    assert head.startswith(b"HTTP/1.1 200") and b"chunked" in head.lower()
    size = int((await asyncio.wait_for(reader.readline(), 15)).strip(), 16)  # first chunk: the status event
    chunk = await reader.readexactly(size)
    flags, length = struct.unpack(">BI", chunk[:5])
    assert (
        flags == 0
        and events_pb2.ConversationEvent.FromString(chunk[5 : 5 + length]).WhichOneof("kind") == "status_changed"
    )
    return reader, writer


async def _until(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_client_disconnect_cancels_the_upstream_stream(mesh, web, http):
    session = await visitor(http, web, mesh)
    conversation_id = await start_conversation(http, web, session.token)
    _, writer = await _raw_stream(web.port, conversation_id, session.token)
    assert len(web.active) == 1
    upstream = next(iter(web.active)).call
    assert not upstream.done()
    writer.close()  # the browser tab goes away, silently: no more events would tell us
    await _until(lambda: not web.active)
    assert web.counters["client_disconnects"] == 1
    assert upstream.done() and upstream.cancelled()


async def test_stop_ends_open_streams_with_unavailable(mesh, http):
    server = await start_grpc_web(fd_settings.load(env={}), mesh.gateway, None, host="127.0.0.1", port=0)
    session = await visitor(http, server, mesh)
    conversation_id = await start_conversation(http, server, session.token)
    response, events = await open_stream(http, server.url, conversation_id, session.token, False)
    try:
        kind, _ = await events.next(timeout=15)
        assert kind == "event"
        stopping = asyncio.create_task(server.stop())
        kind, trailers = await events.next(timeout=15)
        assert kind == "trailers" and trailers["grpc-status"] == "14", trailers  # UNAVAILABLE: reconnect elsewhere
        await asyncio.wait_for(stopping, 15)
    finally:
        response.close()


# -- the web pages ---------------------------------------------------------------------------


@pytest.fixture
def dist(tmp_path):
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>widget</title><div id=app></div>")
    (root / "assets" / "app.js").write_text("console.log('hi')")
    (root / "assets" / "app.css").write_text("body{}")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / "assets" / "x.wasm").write_bytes(b"\0asm")
    (root / ".env").write_text("TOP-SECRET dotfile")
    (tmp_path / "secret.txt").write_text("TOP-SECRET outside")
    (root / "leak.txt").symlink_to(tmp_path / "secret.txt")
    return root


async def test_static_files(mesh, http, dist):
    server = await start_grpc_web(fd_settings.load(env={}), mesh.gateway, dist, host="127.0.0.1", port=0)
    try:
        expected = {
            "/": "text/html",
            "/index.html": "text/html",
            "/assets/app.js": "text/javascript",
            "/assets/app.css": "text/css",
            "/favicon.svg": "image/svg+xml",
            "/assets/x.wasm": "application/wasm",
            "/admin/conversations": "text/html",
        }  # a client-side route of the app: its index.html
        for path, ctype in expected.items():
            async with http.get(server.url + path) as r:
                assert r.status == 200, path
                assert r.headers["content-type"].split(";")[0] == ctype, path
                assert r.headers["x-content-type-options"] == "nosniff"
                body = await r.read()
                if ctype == "text/html":
                    assert b"<title>widget</title>" in body
        async with http.head(server.url + "/assets/app.js") as r:
            assert r.status == 200 and int(r.headers["content-length"]) == len("console.log('hi')")
        async with http.get(server.url + "/assets/missing.js") as r:
            assert r.status == 404 and r.headers["content-type"].startswith("text/html")
            assert "Not found" in await r.text()
    finally:
        await server.stop()


async def test_static_files_are_sent_compressed_when_the_build_made_copies(mesh, http, dist):
    import gzip

    script = "console.log('compressed');" * 100
    (dist / "assets" / "big.js").write_text(script)
    (dist / "assets" / "big.js.gz").write_bytes(gzip.compress(script.encode()))
    server = await start_grpc_web(fd_settings.load(env={}), mesh.gateway, dist, host="127.0.0.1", port=0)
    try:
        async with http.get(server.url + "/assets/big.js", headers={"Accept-Encoding": "gzip"}) as r:
            assert r.status == 200 and r.headers["content-encoding"] == "gzip"
            assert r.headers["content-type"].split(";")[0] == "text/javascript"
            assert int(r.headers["content-length"]) < len(script)
            assert (await r.text()) == script  # aiohttp's client decompresses
        async with http.get(server.url + "/assets/big.js", headers={"Accept-Encoding": "identity"}) as r:
            assert "content-encoding" not in r.headers and (await r.text()) == script
    finally:
        await server.stop()


async def _raw_get(port: int, target: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return int(data.split(b" ", 2)[1]), data


async def test_static_path_traversal_is_refused(mesh, dist):
    server = await start_grpc_web(fd_settings.load(env={}), mesh.gateway, dist, host="127.0.0.1", port=0)
    try:
        for target in (
            "/../secret.txt",
            "/assets/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/assets/%2e%2e/%2e%2e/secret.txt",
            "/..%2fsecret.txt",
            "/assets/..%2f..%2fsecret.txt",
            "/..%5csecret.txt",
            "/leak.txt",
            "/.env",
            "/%2eenv",
            "//etc/passwd",
            "/assets/app.js%00.html",
        ):
            status, data = await _raw_get(server.port, target)
            assert b"TOP-SECRET" not in data and b"root:" not in data, target
            # refused, or (no extension: a client-side route) the app's own index page
            assert status in (400, 404) or (status == 200 and b"<title>widget</title>" in data), (target, status)
    finally:
        await server.stop()


async def test_without_built_pages_a_small_index(web, http):
    async with http.get(web.url + "/") as r:
        assert r.status == 200 and "gRPC-web" in await r.text()
    async with http.get(web.url + "/widget.js") as r:
        assert r.status == 404


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


# -- the HTTP edge: page headers, slow and oversized requests ------------------------------------


async def test_pages_carry_a_content_security_policy_and_refuse_frames(mesh, dist, http):
    (dist / "admin").mkdir()
    (dist / "admin" / "index.html").write_text("<!doctype html><title>admin</title>")
    server = await start_grpc_web(fd_settings.load(env={}), mesh.gateway, dist, host="127.0.0.1", port=0)
    try:
        async with http.get(server.url + "/admin/conversations") as r:
            csp = r.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "'unsafe-eval'" not in csp
            assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        async with http.get(server.url + "/") as r:
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        async with http.get(server.url + "/assets/app.js") as r:
            assert r.headers["x-content-type-options"] == "nosniff"
    finally:
        await server.stop()


async def _raw(port: int, data: bytes, wait_s: float) -> tuple[bytes, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    started = time.monotonic()
    try:
        got = await asyncio.wait_for(reader.read(4096), wait_s)
    except TimeoutError:
        got = b"<still open>"
    writer.close()
    return got, time.monotonic() - started


async def test_slow_headers_and_a_body_that_never_comes_do_not_hold_the_connection(mesh):
    server = GrpcWebServer(mesh.gateway, None)
    server.keepalive_timeout_s = 1.0  # 15 s in production
    server.body_timeout_s = 1.0  # 30 s in production
    await server.start("127.0.0.1", 0)
    try:
        got, _ = await _raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n", wait_s=10)
        assert got == b"", got  # closed: the headers never ended
        announced = (
            b"POST /frontdesk.auth.v1.AuthService/WhoAmI HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/grpc-web+proto\r\nContent-Length: 41943040\r\n\r\nab"
        )
        got, _ = await _raw(server.port, announced, wait_s=10)
        assert b"grpc-status: 4" in got.lower() or b"grpc-status:4" in got.lower(), got  # DEADLINE_EXCEEDED
        too_big = (
            b"POST /frontdesk.auth.v1.AuthService/WhoAmI HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/grpc-web+proto\r\nContent-Length: 99999999999\r\n\r\n"
        )
        got, _ = await _raw(server.port, too_big, wait_s=10)
        assert got.startswith(b"HTTP/1.1 ") and b"<still open>" not in got, got
    finally:
        await server.stop()
