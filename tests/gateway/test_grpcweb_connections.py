"""gRPC-web connections: a browser that disconnects, a translator that stops with streams
open, and slow or oversized requests that must not hold a connection."""

from __future__ import annotations

import asyncio
import struct
import time

from frontdesk import settings as fd_settings
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.events.v1 import events_pb2
from gateway.grpcweb import GrpcWebServer, start_grpc_web
from tests.gateway import grpcweb_wire
from tests.gateway.grpcweb_wire import BINARY, CHAT, encode, open_stream, start_conversation, visitor

# the shared fixtures: bound here so that pytest finds them
web = grpcweb_wire.web
http = grpcweb_wire.http


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


# -- the HTTP edge: slow and oversized requests -----------------------------------------------


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
