"""The public gRPC services of the gateway (the admin service is in gateway/admin.py). Each
call has been authenticated and admitted by gateway/access.py before it gets here (the tenant
comes from the credentials); most are forwarded, as the tables say, to the internal service
that owns them with a signed caller context and a deadline."""

from __future__ import annotations

from frontdesk.clock import ts_from_s
from frontdesk.errors import rpc
from frontdesk_pb.analytics.v1 import analytics_pb2_grpc
from frontdesk_pb.auth.v1 import auth_pb2, auth_pb2_grpc
from frontdesk_pb.chat.v1 import chat_pb2_grpc
from frontdesk_pb.knowledge.v1 import knowledge_pb2_grpc
from frontdesk_pb.speech.v1 import speech_pb2_grpc
from gateway.access import current_caller
from gateway.accounts import Accounts
from gateway.auth import ORIGIN_KEY
from gateway.forward import Forwarder, To, forwards


def web_origin(context) -> str:
    """The page's Origin when the call came through the gRPC-web translator."""
    return next((v for k, v in context.invocation_metadata() or () if k == ORIGIN_KEY), "")


@forwards(
    "conv",
    {
        "StartConversation": To(),
        "SendMessage": To(),
        "ListMessages": To(),
        "ListConversations": To(),
        "GetConversation": To(),
        "SubmitFeedback": To(),
        "RateConversation": To(),
        "RequestHuman": To(),
        "UploadAttachment": To(),
        "GetAttachment": To(),
    },
)
class ChatEdge(chat_pb2_grpc.ChatServiceServicer):
    """ChatService: the customer's conversation, owned by the conversation service."""

    def __init__(self, forwarder: Forwarder):
        self.fwd = forwarder
        self.conv = forwarder.conv

    @rpc
    async def StreamEvents(self, request, context):
        async for event in self.fwd.events(request, context):
            yield event


class AuthEdge(auth_pb2_grpc.AuthServiceServicer):
    """Sessions and sign-in, served here from the account store."""

    def __init__(self, accounts: Accounts, forwarder: Forwarder):
        self.accounts = accounts
        self.fwd = forwarder

    @rpc
    async def CreateVisitorSession(self, request, context):
        token, visitor_id, verified, expires, tenant = await self.accounts.visitor_session(
            request.widget_key,
            request.previous_token,
            request.identity.external_id,
            request.identity.identity_hash,
            address=self.fwd.client_address(context),
            origin=web_origin(context),
        )
        return auth_pb2.CreateVisitorSessionResponse(
            token=token,
            visitor_id=visitor_id,
            expires_at=ts_from_s(expires),
            tenant_name=tenant.name,
            verified_identity=verified,
            greeting=tenant.greeting,
        )

    @rpc
    async def OperatorLogin(self, request, context):
        token, op, expires = await self.accounts.operator_login(
            request.tenant, request.email, request.password, address=self.fwd.client_address(context)
        )
        return auth_pb2.OperatorLoginResponse(
            token=token, expires_at=ts_from_s(expires), operator_id=op.id, role=op.role, display_name=op.display_name
        )

    @rpc
    async def WhoAmI(self, request, context):
        caller = current_caller()
        tenant = await self.accounts.tenant(caller.tenant_id)
        return auth_pb2.WhoAmIResponse(
            tenant_id=caller.tenant_id,
            tenant_name=tenant.name,
            kind=caller.kind,
            subject=caller.subject,
            role=caller.role,
        )


@forwards(
    "kb",
    {
        "UpsertFaqEntries": To(timeout_s=120),
        "ImportFile": To(timeout_s=300),
        "GetIngestionJob": To(),
        "ListEntries": To(),
        "DeleteEntry": To(),
        "Search": To(timeout_s=60),
        "RunEvaluation": To(timeout_s=600),
    },
)
class KnowledgeEdge(knowledge_pb2_grpc.KnowledgeServiceServicer):
    """KnowledgeService: an inference worker owns the tenant's knowledge base."""

    def __init__(self, forwarder: Forwarder, knowledge: knowledge_pb2_grpc.KnowledgeServiceStub):
        self.fwd = forwarder
        self.kb = knowledge


@forwards(
    "speech",
    {
        "SubmitAudio": To(timeout_s=60),  # decoding and checking a long recording takes a moment
        "SubmitAudioStream": To(timeout_s=120),
        "GetTranscription": To(),
    },
)
class SpeechEdge(speech_pb2_grpc.SpeechServiceServicer):
    """SpeechService: recordings go to the speech service (customers only)."""

    def __init__(self, forwarder: Forwarder, speech: speech_pb2_grpc.SpeechServiceStub):
        self.fwd = forwarder
        self.speech = speech


@forwards(
    "analytics",
    {
        "GetOverview": To(),
        "GetDailyStats": To(),
        "GetHourlyStats": To(),
        "GetTopUnanswered": To(),
        "GetSentiment": To(),
        # re-reads up to 7 days of the tenant's events (or a range of its logs): give it time
        "Backfill": To(timeout_s=300),
        "ListConversationSentiment": To(),
        "GetConversationSentiment": To(),
    },
)
class AnalyticsEdge(analytics_pb2_grpc.AnalyticsServiceServicer):
    """AnalyticsService: a tenant's operators (and API keys) read their own figures."""

    def __init__(self, forwarder: Forwarder, analytics: analytics_pb2_grpc.AnalyticsServiceStub):
        self.fwd = forwarder
        self.analytics = analytics
