"""Process entry point of the conversation service."""

from __future__ import annotations

from frontdesk import bus, grpcutil, logs, stores
from frontdesk.caller import CallerCodec
from frontdesk.conversation.v1 import conversation_pb2, conversation_pb2_grpc
from frontdesk.publish import Publisher
from frontdesk.settings import Settings

from conversation.service import ConversationCore
from conversation.servicer import ConversationServicer

log = logs.get("conversation")
SERVICE_NAME = conversation_pb2.DESCRIPTOR.services_by_name["ConversationService"].full_name


async def serve(settings: Settings) -> None:
    store = stores.open_log_store(settings)
    nc = await bus.connect(settings, "conversation")
    js = nc.jetstream()
    await bus.ensure_streams(js, settings)
    core = ConversationCore(store, Publisher(nc, js), settings.max_message_chars)
    server = grpcutil.Server([SERVICE_NAME])
    conversation_pb2_grpc.add_ConversationServiceServicer_to_server(
        ConversationServicer(core, CallerCodec(settings.secret_bytes())), server.grpc)
    port = server.bind(settings.host, settings.conversation_port)
    stop = grpcutil.stop_event()
    await server.start()
    log.info("conversation.serving", address=f"{settings.host}:{port}")
    await stop.wait()
    log.info("conversation.stopping")
    await server.stop(grace_s=3)
    await nc.drain()
    await store.close()
