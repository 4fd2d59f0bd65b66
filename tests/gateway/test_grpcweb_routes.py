"""gRPC-web: what is not a gRPC-web call of a served method (unknown paths and methods,
client-streaming methods) and a gateway that cannot be reached."""

from __future__ import annotations

from frontdesk_pb.auth.v1 import auth_pb2
from frontdesk_pb.speech.v1 import speech_pb2
from gateway.grpcweb import SERVED, GrpcWebServer
from launcher.supervisor import free_port
from tests.gateway import grpcweb_wire
from tests.gateway.grpcweb_wire import AUTH, CHAT, call, encode, headers_for

# the shared fixtures: bound here so that pytest finds them
web = grpcweb_wire.web
http = grpcweb_wire.http


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
