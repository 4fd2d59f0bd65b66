"""Process entry point of the gateway."""

from __future__ import annotations

from frontdesk import bus, grpcutil, logs, metrics, stores
from frontdesk.caller import CallerCodec
from frontdesk.settings import Settings
from frontdesk_pb.admin.v1 import admin_pb2, admin_pb2_grpc
from frontdesk_pb.analytics.v1 import analytics_pb2, analytics_pb2_grpc, erasure_pb2_grpc
from frontdesk_pb.auth.v1 import auth_pb2, auth_pb2_grpc
from frontdesk_pb.chat.v1 import chat_pb2, chat_pb2_grpc
from frontdesk_pb.conversation.v1 import conversation_pb2_grpc
from frontdesk_pb.inference.v1 import inference_pb2_grpc
from frontdesk_pb.knowledge.v1 import knowledge_pb2, knowledge_pb2_grpc
from frontdesk_pb.speech.v1 import speech_pb2, speech_pb2_grpc
from gateway.abuse import SessionMinting
from gateway.access import AccessInterceptor
from gateway.audit import Auditor
from gateway.auth import Authenticator
from gateway.credentials import TokenSigner
from gateway.forward import Forwarder
from gateway.grpcweb import local_target, start_grpc_web
from gateway.live import LiveHub
from gateway.service import Accounts
from gateway.servicer import AdminEdge, AnalyticsEdge, AuthEdge, ChatEdge, KnowledgeEdge, SpeechEdge

log = logs.get("gateway")

SERVICES = [
    chat_pb2.DESCRIPTOR.services_by_name["ChatService"].full_name,
    auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name,
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
    knowledge_pb2.DESCRIPTOR.services_by_name["KnowledgeService"].full_name,
    speech_pb2.DESCRIPTOR.services_by_name["SpeechService"].full_name,
    analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name,
]


async def serve(settings: Settings) -> None:
    metrics.serve(settings.metrics_port, settings.host)
    secret = settings.secret_bytes()
    account_store = stores.open_account_store(settings)
    signer = TokenSigner(secret)
    minting = SessionMinting(
        settings.session_rate_per_address,
        settings.session_burst_per_address,
        settings.session_rate_per_widget,
        settings.session_burst_per_widget,
    )
    accounts = Accounts(account_store, signer, minting=minting)
    auth = Authenticator(settings, account_store, signer)
    accounts.on_operator_changed = auth.forget_operator
    nc = await bus.connect(settings, "gateway")
    channel = grpcutil.channel(settings.conversation_target)
    forwarder = Forwarder(
        settings, auth, CallerCodec(secret), conversation_pb2_grpc.ConversationServiceStub(channel), LiveHub(nc)
    )
    # every public RPC is authenticated and authorized here, by gateway.access's table
    server = grpcutil.Server(SERVICES, interceptors=[AccessInterceptor(auth.authenticate, Auditor(account_store))])
    chat_pb2_grpc.add_ChatServiceServicer_to_server(ChatEdge(forwarder), server.grpc)
    auth_pb2_grpc.add_AuthServiceServicer_to_server(AuthEdge(accounts, forwarder), server.grpc)
    inference_channel = grpcutil.channel(settings.inference_target)
    knowledge_pb2_grpc.add_KnowledgeServiceServicer_to_server(
        KnowledgeEdge(forwarder, knowledge_pb2_grpc.KnowledgeServiceStub(inference_channel)), server.grpc
    )
    speech_channel = grpcutil.channel(settings.speech_target)
    speech_pb2_grpc.add_SpeechServiceServicer_to_server(
        SpeechEdge(forwarder, speech_pb2_grpc.SpeechServiceStub(speech_channel)), server.grpc
    )
    analytics_channel = grpcutil.channel(settings.analytics_target)
    analytics = analytics_pb2_grpc.AnalyticsServiceStub(analytics_channel)
    analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(AnalyticsEdge(forwarder, analytics), server.grpc)
    admin_pb2_grpc.add_AdminServiceServicer_to_server(
        AdminEdge(
            accounts,
            forwarder,
            inference_pb2_grpc.InferenceServiceStub(inference_channel),
            nc.jetstream(),
            settings,
            knowledge_pb2_grpc.KnowledgeServiceStub(inference_channel),
            analytics,
            erasure_pb2_grpc.AnalyticsErasureServiceStub(analytics_channel),
        ),
        server.grpc,
    )
    port = server.bind(settings.host, settings.gateway_port)
    stop = grpcutil.stop_event()
    # browsers: gRPC-web (and the built web pages) translated onto our own gRPC port
    web = await start_grpc_web(settings, local_target(settings.host, port)) if settings.web_port else None
    await server.start()
    log.info("gateway.serving", address=f"{settings.host}:{port}", web=web.url if web else "off")
    await stop.wait()
    log.info("gateway.stopping")
    if web is not None:
        await web.stop()  # open browser streams end with UNAVAILABLE and reconnect elsewhere
    await server.stop()
    await channel.close()
    await inference_channel.close()
    await speech_channel.close()
    await analytics_channel.close()
    await nc.drain()
    await account_store.close()
