"""Shared wire helpers and fixtures for the gRPC-web tests (test_grpcweb*.py).

Frames are built and parsed here by hand, independently of the translator's own helpers
(gateway.grpcweb). The fixtures `web` (a translator in front of the session's real mesh)
and `http` (an aiohttp client session) live here; each test module binds the ones it uses.
"""

from __future__ import annotations

import asyncio
import base64
import struct

import aiohttp
import pytest

from frontdesk import settings as fd_settings
from frontdesk_pb.auth.v1 import auth_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.events.v1 import events_pb2
from gateway.grpcweb import start_grpc_web

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
