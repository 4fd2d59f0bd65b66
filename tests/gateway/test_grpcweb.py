"""gRPC-web in the gateway process: raw HTTP/1.1 requests, in binary and text modes,
through the translator to the real mesh (`frontdesk run` with NATS, conversation and an
echo inference worker): sessions, conversations, streamed events, authentication, rate
limits, deadlines and malformed requests. The wire helpers are in grpcweb_wire.py; the
other topics are in test_grpcweb_*.py. (tests/e2e/test_roles.py imports AUTH and call
from here.)"""

from __future__ import annotations

import base64
import struct
import time

from frontdesk_pb.auth.v1 import auth_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from tests.gateway import grpcweb_wire
from tests.gateway.grpcweb_wire import (
    AUTH,
    CHAT,
    MODES,
    Reply,
    call,
    encode,
    headers_for,
    open_stream,
    start_conversation,
    visitor,
)

# the shared fixtures: bound here so that pytest finds them
web = grpcweb_wire.web
http = grpcweb_wire.http


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
