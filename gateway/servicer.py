"""The public gRPC services of the gateway. Each call has been authenticated and admitted by
gateway/access.py before it gets here (the tenant comes from the credentials). Most are
forwarded, as the `forwards` tables say, to the internal service that owns them with a signed
caller context and a deadline; sessions, sign-in and what AdminService manages (tenants, keys,
operators, AI settings, tools) are served here from the account store (gateway/service.py)."""

from __future__ import annotations

import json
import time

from frontdesk import ids
from frontdesk.ai_settings import (
    API_KEY_PURPOSE,
    BUILTIN_NAMES,
    DEFAULT_TIMEOUT_MS,
    TENANT_BACKENDS,
    check_http_tool,
    tool_secret_purpose,
    url_allowed,
)
from frontdesk.clock import ts_from_ms, ts_from_s
from frontdesk.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, rpc
from frontdesk.secretbox import SecretBox
from frontdesk.settings import Settings
from frontdesk.stores.base import Conflict, ToolRecord
from frontdesk_pb.admin.v1 import admin_pb2, admin_pb2_grpc
from frontdesk_pb.analytics.v1 import analytics_pb2_grpc, erasure_pb2_grpc
from frontdesk_pb.auth.v1 import auth_pb2, auth_pb2_grpc
from frontdesk_pb.chat.v1 import chat_pb2_grpc
from frontdesk_pb.inference.v1 import inference_pb2_grpc
from frontdesk_pb.knowledge.v1 import knowledge_pb2_grpc
from frontdesk_pb.speech.v1 import speech_pb2_grpc
from gateway.access import current_caller
from gateway.auth import ORIGIN_KEY
from gateway.copilot import Copilot
from gateway.credentials import new_widget_key
from gateway.datarights import DataRightsMethods
from gateway.forward import Forwarder, To, forwards
from gateway.service import Accounts
from gateway.status import system_status
from gateway.workspace import WorkspaceMethods


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


def _tenant_pb(t) -> admin_pb2.Tenant:
    return admin_pb2.Tenant(
        id=t.id,
        slug=t.slug,
        name=t.name,
        widget_key=t.widget_key,
        created_at=ts_from_ms(t.created_ms),
        greeting=t.greeting,
        allowed_origins=t.allowed_origins,
        auto_resolve_after_minutes=t.auto_resolve_minutes,
    )


def _operator_pb(o) -> admin_pb2.Operator:
    return admin_pb2.Operator(
        id=o.id, email=o.email, display_name=o.display_name, role=o.role, created_at=ts_from_ms(o.created_ms)
    )


def _key_pb(k) -> admin_pb2.ApiKey:
    key = admin_pb2.ApiKey(id=k.id, name=k.name, created_at=ts_from_ms(k.created_ms))
    if k.revoked_ms:
        key.revoked_at.CopyFrom(ts_from_ms(k.revoked_ms))
    return key


def _tool_pb(t) -> admin_pb2.HttpTool:
    return admin_pb2.HttpTool(
        name=t.name,
        description=t.description,
        parameters_schema=t.parameters_schema,
        url=t.url,
        method=t.method,
        timeout_ms=t.timeout_ms,
        has_secret=bool(t.secret_sealed),
    )


_AI_DEFAULTS = {
    "backend": "",
    "model": "",
    "temperature": 0.2,
    "max_tokens": 0,
    "answer_threshold": 0.0,
    "system_prompt": "",
    "enabled_tools": [],
    "base_url": "",
    "tool_choice": "",
    "requests_per_minute": 0,
}
MAX_TOOLS_PER_TENANT = 50
MAX_AUTO_RESOLVE_MINUTES = 30 * 24 * 60
MAX_SECRET_CHARS = 512


@forwards(
    "conv",
    {
        "ListConversations": To("AdminListConversations"),
        "GetConversation": To("AdminGetConversation"),
        "ListMessages": To("AdminListMessages"),
        "TakeOver": To(),
        "SendAgentMessage": To(),
        "ReleaseConversation": To(),
        "CloseConversation": To(),
        "AddNote": To(),
        "GetAttachment": To(),
        "SetConversationStatus": To(),
        "SetConversationLabels": To(),
        "SearchConversations": To(),
    },
)
@forwards("inference", {"ListToolCalls": To()})
class AdminEdge(WorkspaceMethods, DataRightsMethods, admin_pb2_grpc.AdminServiceServicer):
    """AdminService: tenants, keys, operators, AI settings and tools are served here from
    the account store; conversations are the conversation service's, tool-call records the
    inference service's. Who may call what is gateway/access.py's table."""

    def __init__(
        self,
        accounts: Accounts,
        forwarder: Forwarder,
        inference: inference_pb2_grpc.InferenceServiceStub,
        nats_js,
        settings: Settings,
        knowledge: knowledge_pb2_grpc.KnowledgeServiceStub,
        analytics: analytics_pb2_grpc.AnalyticsServiceStub | None = None,
        erasure: erasure_pb2_grpc.AnalyticsErasureServiceStub | None = None,
    ):
        self.accounts = accounts
        self.analytics = analytics
        self.erasure = erasure
        self.copilot = Copilot(knowledge, forwarder.conv, accounts, inference)
        self.fwd = forwarder
        self.conv = forwarder.conv
        self.inference = inference
        self.js = nats_js
        self.settings = settings
        self.box = SecretBox.from_settings(settings)  # seals tenants' model keys and tool secrets

    @rpc
    async def StreamConversationEvents(self, request, context):
        async for event in self.fwd.events(request, context):
            yield event

    # -- tenants -----------------------------------------------------------------

    @rpc
    async def CreateTenant(self, request, context):
        tenant, owner, api_key = await self.accounts.create_tenant(
            request.slug, request.name, request.owner_email, request.owner_password
        )
        return admin_pb2.CreateTenantResponse(
            tenant=_tenant_pb(tenant),
            owner=_operator_pb(owner),
            api_key=api_key,
            identity_secret=tenant.identity_secret,
        )

    @rpc
    async def GetTenant(self, request, context):
        caller = current_caller()
        return _tenant_pb(await self.accounts.tenant(caller.tenant_id))

    @rpc
    async def UpdateTenant(self, request, context):
        caller = current_caller()
        tenant = await self.accounts.tenant(caller.tenant_id)
        if request.name:
            tenant.name = request.name.strip()[:200]
        if request.greeting:
            tenant.greeting = request.greeting[:500]
        if request.allowed_origins:
            tenant.allowed_origins = list(request.allowed_origins)
        if request.rotate_widget_key:
            tenant.widget_key = new_widget_key()
        if request.HasField("auto_resolve_after_minutes"):
            minutes = request.auto_resolve_after_minutes
            if not 0 <= minutes <= MAX_AUTO_RESOLVE_MINUTES:
                raise InvalidArgument(
                    f"auto_resolve_after_minutes must be 0 (never) to {MAX_AUTO_RESOLVE_MINUTES} (30 days)"
                )
            tenant.auto_resolve_minutes = minutes
        await self.accounts.store.update_tenant(tenant)
        return _tenant_pb(tenant)

    # -- API keys ----------------------------------------------------------------

    @rpc
    async def CreateApiKey(self, request, context):
        caller = current_caller()
        key, plaintext = await self.accounts.create_api_key(caller.tenant_id, request.name)
        return admin_pb2.CreateApiKeyResponse(key=_key_pb(key), plaintext=plaintext)

    @rpc
    async def ListApiKeys(self, request, context):
        caller = current_caller()
        return admin_pb2.ListApiKeysResponse(
            keys=[_key_pb(k) for k in await self.accounts.store.list_api_keys(caller.tenant_id)]
        )

    @rpc
    async def RevokeApiKey(self, request, context):
        caller = current_caller()
        return _key_pb(await self.accounts.revoke_api_key(caller.tenant_id, request.key_id))

    # -- operators ---------------------------------------------------------------

    @rpc
    async def CreateOperator(self, request, context):
        caller = current_caller()
        op = await self.accounts.create_operator(
            caller.tenant_id, request.email, request.display_name, request.role, request.password
        )
        return _operator_pb(op)

    @rpc
    async def ListOperators(self, request, context):
        caller = current_caller()
        return admin_pb2.ListOperatorsResponse(
            operators=[_operator_pb(o) for o in await self.accounts.store.list_operators(caller.tenant_id)]
        )

    @rpc
    async def UpdateOperator(self, request, context):
        op = await self.accounts.update_operator(
            current_caller(),
            request.operator_id,
            display_name=request.display_name,
            role=request.role,
            password=request.password,
            current_password=request.current_password,
        )
        return _operator_pb(op)

    @rpc
    async def DeleteOperator(self, request, context):
        caller = current_caller()
        await self.accounts.delete_operator(caller.tenant_id, request.operator_id)  # owners only (gateway.access)
        return admin_pb2.DeleteOperatorResponse()

    # -- AI settings ---------------------------------------------------------------

    @rpc
    async def GetAiSettings(self, request, context):
        caller = current_caller()
        tenant = await self.accounts.tenant(caller.tenant_id)
        return self._settings_pb(tenant.ai_settings)

    @rpc
    async def UpdateAiSettings(self, request, context):
        caller = current_caller()
        s = request.settings
        if s.temperature < 0 or s.temperature > 2:
            raise InvalidArgument("temperature must be between 0 and 2")
        if s.max_tokens < 0 or s.max_tokens > 4096:
            raise InvalidArgument("max_tokens must be between 0 (default) and 4096")
        if not 0 <= s.answer_threshold <= 1:
            raise InvalidArgument("answer_threshold must be between 0 and 1")
        if len(s.system_prompt) > 4000:
            raise InvalidArgument("system_prompt must be at most 4,000 characters")
        backend = s.backend.strip().lower()
        if backend == self.settings.backend:
            backend = ""  # the deployment's default, by name
        if backend and backend not in TENANT_BACKENDS:
            raise InvalidArgument(
                f"backend must be empty (the deployment's default) or one of {', '.join(TENANT_BACKENDS)}"
            )
        if len(s.model) > 200:
            raise InvalidArgument("model must be at most 200 characters")
        if not 0 <= s.requests_per_minute <= 1_000_000:
            raise InvalidArgument("requests_per_minute must be between 0 (no limit) and 1,000,000")
        if s.base_url:
            if not backend:
                raise InvalidArgument("base_url needs a backend (openai, anthropic or gemini)")
            if not url_allowed(s.base_url, self.settings.model_url_allowlist):
                raise InvalidArgument(
                    "base_url is not on this deployment's allowlist of model endpoints (FRONTDESK_MODEL_URL_ALLOWLIST)"
                )
        if backend in ("anthropic", "gemini") and not s.model.strip():
            raise InvalidArgument(f"backend {backend} needs a model name")
        if backend == "openai" and not s.base_url and not self.settings.openai_base_url:
            raise InvalidArgument("backend openai needs a base_url: this deployment has no OpenAI-compatible endpoint")
        if len(request.api_key) > MAX_SECRET_CHARS or request.api_key != request.api_key.strip():
            raise InvalidArgument(f"api_key must be at most {MAX_SECRET_CHARS} characters without surrounding spaces")
        if request.api_key and request.clear_api_key:
            raise InvalidArgument("give either api_key or clear_api_key, not both")
        tools = list(dict.fromkeys(t.strip() for t in s.enabled_tools if t.strip()))
        known = BUILTIN_NAMES | {t.name for t in await self.accounts.store.list_tools(caller.tenant_id)}
        unknown = [t for t in tools if t not in known]
        if unknown:
            raise InvalidArgument(f"enabled_tools names unknown tools: {', '.join(unknown)}")
        if s.tool_choice and s.tool_choice not in ("auto", "required") and s.tool_choice not in tools:
            raise InvalidArgument("tool_choice must be auto, required or the name of an enabled tool")
        tenant = await self.accounts.tenant(caller.tenant_id)
        sealed = tenant.ai_settings.get("api_key_sealed", "")
        if request.api_key:  # only a sealed copy is stored; the key is never returned
            sealed = self.box.seal(caller.tenant_id, API_KEY_PURPOSE, request.api_key)
        if request.clear_api_key:
            sealed = ""
        tenant.ai_settings = {
            "backend": backend,
            "model": s.model.strip(),
            "temperature": s.temperature,
            "max_tokens": s.max_tokens,
            "answer_threshold": s.answer_threshold,
            "system_prompt": s.system_prompt,
            "enabled_tools": tools,
            "base_url": s.base_url,
            "tool_choice": s.tool_choice,
            "requests_per_minute": s.requests_per_minute,
            "api_key_sealed": sealed,
        }
        await self.accounts.store.update_tenant(tenant)
        return self._settings_pb(tenant.ai_settings)

    @staticmethod
    def _settings_pb(stored: dict) -> admin_pb2.AiSettings:
        values = {**_AI_DEFAULTS, **{k: v for k, v in stored.items() if k in _AI_DEFAULTS}}
        return admin_pb2.AiSettings(has_api_key=bool(stored.get("api_key_sealed")), **values)

    # -- tools ---------------------------------------------------------------------------

    @rpc
    async def CreateTool(self, request, context):
        caller = current_caller()
        t = request.tool
        if len(request.signing_secret) > MAX_SECRET_CHARS:
            raise InvalidArgument(f"signing_secret must be at most {MAX_SECRET_CHARS} characters")
        try:
            parameters = json.loads(t.parameters_schema or '{"type": "object", "properties": {}}')
        except ValueError:
            raise InvalidArgument("parameters_schema is not valid JSON") from None
        allowlist = [e.strip() for e in self.settings.tool_url_allowlist.split(",") if e.strip()]
        if not allowlist:
            raise FailedPrecondition(
                "this deployment allows no tenant HTTP tools (FRONTDESK_TOOL_URL_ALLOWLIST is empty)"
            )
        try:  # the same checks the worker applies when it runs the tool
            tool = check_http_tool(
                t.name,
                t.description,
                parameters,
                url=t.url,
                allowlist=allowlist,
                method=t.method or "POST",
                timeout_ms=t.timeout_ms or DEFAULT_TIMEOUT_MS,
            )
        except ValueError as err:
            raise InvalidArgument(str(err)) from None
        if len(await self.accounts.store.list_tools(caller.tenant_id)) >= MAX_TOOLS_PER_TENANT:
            raise FailedPrecondition(f"a tenant may define at most {MAX_TOOLS_PER_TENANT} tools")
        record = ToolRecord(
            tenant_id=caller.tenant_id,
            name=tool.name,
            description=tool.description,
            parameters_schema=json.dumps(parameters, separators=(",", ":")),
            url=str(tool.url),
            method=tool.method,
            timeout_ms=tool.timeout_ms,
            created_ms=int(time.time() * 1000),
            secret_sealed=self.box.seal(caller.tenant_id, tool_secret_purpose(tool.name), request.signing_secret)
            if request.signing_secret
            else "",
        )
        try:
            await self.accounts.store.create_tool(record)
        except Conflict:
            raise AlreadyExists(f"a tool named {tool.name!r} already exists") from None
        return _tool_pb(record)

    @rpc
    async def ListTools(self, request, context):
        caller = current_caller()
        return admin_pb2.ListToolsResponse(
            tools=[_tool_pb(t) for t in await self.accounts.store.list_tools(caller.tenant_id)]
        )

    @rpc
    async def DeleteTool(self, request, context):
        caller = current_caller()
        if not await self.accounts.store.delete_tool(caller.tenant_id, request.name):
            raise NotFound("tool not found")
        tenant = await self.accounts.tenant(caller.tenant_id)
        enabled = tenant.ai_settings.get("enabled_tools") or []
        if request.name in enabled:  # a deleted tool is no longer offered, nor forced
            tenant.ai_settings["enabled_tools"] = [n for n in enabled if n != request.name]
            if tenant.ai_settings.get("tool_choice") == request.name:
                tenant.ai_settings["tool_choice"] = ""
            await self.accounts.store.update_tenant(tenant)
        return admin_pb2.DeleteToolResponse()

    # -- the audit log ----------------------------------------------------------------

    @rpc
    async def ListAuditLog(self, request, context):
        if not 0 <= request.page_size <= 500:
            raise InvalidArgument("page_size must be between 1 and 500 (0 = 100)")
        if request.page_token and not ids.is_id(request.page_token, "audit"):
            raise InvalidArgument("page_token is not valid")
        size = request.page_size or 100
        records = await self.accounts.store.list_audit(current_caller().tenant_id, size + 1, request.page_token)
        page = records[:size]
        return admin_pb2.ListAuditLogResponse(
            entries=[
                admin_pb2.AuditEntry(
                    id=r.id,
                    at=ts_from_ms(r.at_ms),
                    actor_kind=r.actor_kind,
                    actor_id=r.actor_id,
                    actor_name=r.actor_name,
                    actor_role=r.actor_role,
                    method=r.method,
                    target=r.target,
                    outcome=r.outcome,
                )
                for r in page
            ],
            next_page_token=page[-1].id if len(records) > size else "",
        )

    # -- system status ---------------------------------------------------------------

    @rpc
    async def GetSystemStatus(self, request, context):
        return await system_status(self.settings, self.js)
