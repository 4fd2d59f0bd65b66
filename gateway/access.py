"""Who may call what: one table for every public RPC, enforced by one interceptor.

Every RPC the gateway serves has a rule here: which kinds of credential may call it and,
for staff, the least role. The interceptor authenticates the caller (rate limits
included), checks the rule against the caller's *current* role (read from the account
store, not from the token: see Authenticator) and hands the Caller to the servicer through
a context variable. An RPC without a rule is refused, so a new RPC cannot be served
unguarded by accident (tests/gateway/test_access.py checks the table covers every method
of the public protos).

Roles: owner > admin > agent.
- agents work conversations (read, take over, reply, release, close) and read knowledge,
  analytics and status;
- admins also manage the knowledge base, AI settings, tools and the tenant's settings;
- owners also manage API keys and operators.
API keys are for integrations: admin powers, never an owner's (they cannot mint keys or
touch operators). An operator may always edit their own name and password
(UpdateOperator; Accounts.update_operator holds those rules).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from dataclasses import dataclass

import grpc

from frontdesk.caller import Caller, Kind
from frontdesk.errors import PermissionDenied, ServiceError, abort_with
from gateway.audit import AUDITED

VISITOR, OPERATOR, API_KEY = Kind.VISITOR, Kind.OPERATOR, Kind.API_KEY
PLATFORM = "platform"  # the deployment's own admin credential (CreateTenant); never forwarded
ROLE_RANK = {"agent": 1, "admin": 2, "owner": 3}
# what an API key's role counts as (see the module docstring)
API_KEY_ROLE = "admin"


@dataclass(frozen=True)
class Rule:
    kinds: frozenset[str]  # empty: no credentials needed
    least_role: str = ""  # for staff (operators, API keys): agent, admin or owner

    def allows_role(self, caller: Caller) -> bool:
        if not self.least_role or caller.kind not in (OPERATOR, API_KEY):
            return True
        if caller.kind == API_KEY and self.least_role == "owner":
            return False
        return ROLE_RANK.get(caller.role, 0) >= ROLE_RANK[self.least_role]


PUBLIC = Rule(frozenset())
CUSTOMER = Rule(frozenset({VISITOR, API_KEY}))  # an API key may also act as a customer channel
SIGNED_IN = Rule(frozenset({VISITOR, OPERATOR, API_KEY}))
AGENT = Rule(frozenset({OPERATOR, API_KEY}), "agent")
ADMIN = Rule(frozenset({OPERATOR, API_KEY}), "admin")
OWNER = Rule(frozenset({OPERATOR}), "owner")
OPERATOR_SELF = Rule(frozenset({OPERATOR}), "agent")  # own profile, or others' as an owner
PLATFORM_ONLY = Rule(frozenset({PLATFORM}))

_CHAT = "frontdesk.chat.v1.ChatService"
_AUTH = "frontdesk.auth.v1.AuthService"
_ADMIN = "frontdesk.admin.v1.AdminService"
_KB = "frontdesk.knowledge.v1.KnowledgeService"
_SPEECH = "frontdesk.speech.v1.SpeechService"
_ANALYTICS = "frontdesk.analytics.v1.AnalyticsService"


def _rules(service: str, rule: Rule, *methods: str) -> dict[str, Rule]:
    return {f"/{service}/{m}": rule for m in methods}


RULES: dict[str, Rule] = {
    **_rules(_AUTH, PUBLIC, "CreateVisitorSession", "OperatorLogin"),
    **_rules(_AUTH, SIGNED_IN, "WhoAmI"),
    **_rules(
        _CHAT,
        CUSTOMER,
        "StartConversation",
        "SendMessage",
        "ListMessages",
        "ListConversations",
        "GetConversation",
        "StreamEvents",
        "SubmitFeedback",
        "RateConversation",
        "RequestHuman",
        "UploadAttachment",
        "GetAttachment",
    ),
    **_rules(_SPEECH, CUSTOMER, "SubmitAudio", "SubmitAudioStream", "GetTranscription"),
    **_rules(_KB, AGENT, "ListEntries", "Search", "GetIngestionJob"),
    **_rules(_KB, ADMIN, "UpsertFaqEntries", "ImportFile", "DeleteEntry", "RunEvaluation"),
    **_rules(
        _ANALYTICS,
        AGENT,
        "GetOverview",
        "GetDailyStats",
        "GetHourlyStats",
        "GetTopUnanswered",
        "GetSentiment",
        "ListConversationSentiment",
        "GetConversationSentiment",
    ),
    **_rules(_ANALYTICS, ADMIN, "Backfill"),
    **_rules(_ADMIN, PLATFORM_ONLY, "CreateTenant"),
    **_rules(
        _ADMIN,
        AGENT,
        "GetTenant",
        "ListOperators",
        "ListConversations",
        "GetConversation",
        "ListMessages",
        "StreamConversationEvents",
        "TakeOver",
        "SendAgentMessage",
        "ReleaseConversation",
        "CloseConversation",
        "AddNote",
        "GetAttachment",
        "GetSystemStatus",
        "ListCannedResponses",
        "StreamInbox",
        "AssignConversation",
        "SetPresence",
        "SummarizeConversation",
        "SuggestReplies",
        "SearchConversations",
        "SetConversationStatus",
        "SetConversationLabels",
    ),
    **_rules(
        _ADMIN,
        ADMIN,
        "UpdateTenant",
        "GetAiSettings",
        "UpdateAiSettings",
        "CreateTool",
        "ListTools",
        "DeleteTool",
        "ListToolCalls",
        "SaveCannedResponse",
        "DeleteCannedResponse",
        "ExportCustomerData",
        "EraseCustomerData",
    ),
    **_rules(
        _ADMIN, OWNER, "CreateApiKey", "ListApiKeys", "RevokeApiKey", "CreateOperator", "DeleteOperator", "ListAuditLog"
    ),
    **_rules(_ADMIN, OPERATOR_SELF, "UpdateOperator"),
}

# served by every server without credentials
_OPEN_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

_current: contextvars.ContextVar[Caller] = contextvars.ContextVar("frontdesk_gateway_caller")


def current_caller() -> Caller:
    """The authenticated caller of the RPC being served (set by AccessInterceptor)."""
    try:
        return _current.get()
    except LookupError:  # a servicer of a PUBLIC rpc asked, or the interceptor is missing
        raise PermissionDenied("this call has no authenticated caller") from None


def wrong_kind(kind: str, rule: Rule) -> str:
    if rule.kinds == {PLATFORM}:
        return "only the platform operator of this deployment may do this"
    if VISITOR in rule.kinds and kind == OPERATOR:
        return "this API is for customers; operators use AdminService"
    if rule.kinds == {OPERATOR}:
        return "this needs an operator's sign-in (API keys cannot manage keys or operators)"
    if OPERATOR in rule.kinds:
        return "this API is for operators and API keys"
    return "these credentials cannot call this API"


def check(caller: Caller, rule: Rule) -> None:
    if caller.kind not in rule.kinds:
        raise PermissionDenied(wrong_kind(caller.kind, rule))
    if not rule.allows_role(caller):
        if caller.kind == API_KEY:
            raise PermissionDenied("API keys cannot do this: it needs an owner's sign-in")
        raise PermissionDenied(f"needs the {rule.least_role} role or higher (you are {caller.role})")


class AccessInterceptor(grpc.aio.ServerInterceptor):
    """Authenticates and authorizes every call before its servicer runs, and writes the audit
    record of every call that changes something (gateway/audit.py), refused ones included."""

    def __init__(self, authenticate, auditor=None):
        # authenticate(metadata, kinds) -> Caller (raises ServiceError); see gateway.auth
        self._authenticate = authenticate
        self._auditor = auditor

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_OPEN_SERVICES):
            return handler
        rule = RULES.get(method)
        if rule is PUBLIC:
            return handler
        auditor = self._auditor if method in AUDITED else None
        if auditor is not None and (handler.unary_unary is not None or handler.unary_stream is not None):
            return _audited(handler, rule, self._authenticate, auditor, method)
        return _guarded(handler, rule, self._authenticate)


async def _admit(rule: Rule | None, authenticate, context) -> Caller:
    if rule is None:
        raise PermissionDenied("this RPC has no access rule and is not served")
    caller = await authenticate(context.invocation_metadata(), rule.kinds)
    check(caller, rule)
    return caller


def _outcome(context) -> str:
    try:
        code = context.code()
    except Exception:  # noqa: BLE001 - a context without a code: the call failed somehow
        code = None
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "ERROR" if code is None else str(code)


async def _admit_audited(rule: Rule | None, authenticate, auditor, method: str, request, context) -> Caller:
    """Admitted, or refused with a record when the caller is signed in but not allowed."""
    caller: Caller | None = None
    try:
        if rule is None:
            raise PermissionDenied("this RPC has no access rule and is not served")
        caller = await authenticate(context.invocation_metadata(), rule.kinds)
        check(caller, rule)
    except ServiceError as err:
        if caller is not None:  # signed in, but not allowed: worth a record
            await auditor.record(caller, method, request, "PERMISSION_DENIED")
        await abort_with(context, err)
    assert caller is not None  # abort_with raised otherwise
    _current.set(caller)
    return caller


def _audited(handler, rule: Rule | None, authenticate, auditor, method: str):
    """A call that changes something (or hands data out: an export): admitted, run, then
    recorded with its outcome. Unary and server-streaming; a stream is recorded when it ends."""
    if handler.unary_unary is not None:
        inner = handler.unary_unary

        async def unary_unary(request, context):
            caller = await _admit_audited(rule, authenticate, auditor, method, request, context)
            try:
                response = await inner(request, context)
            except BaseException:
                await auditor.record(caller, method, request, _outcome(context))
                raise
            await auditor.record(caller, method, request, "ok")
            return response

        return handler._replace(unary_unary=unary_unary)
    inner_stream = handler.unary_stream

    async def unary_stream(request, context):
        caller = await _admit_audited(rule, authenticate, auditor, method, request, context)
        try:
            async for item in _served_stream(inner_stream, request, context):
                yield item
        except GeneratorExit:  # the caller went away mid-stream: nothing may be awaited here
            _background(auditor.record(caller, method, request, "CANCELLED"))
            raise
        except BaseException:
            await auditor.record(caller, method, request, _outcome(context))
            raise
        await auditor.record(caller, method, request, "ok")

    return handler._replace(unary_stream=unary_stream)


_pending: set[asyncio.Task] = set()


def _background(coroutine) -> None:
    task = asyncio.ensure_future(coroutine)
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def _served_stream(inner, request, context):
    """What a server-streaming handler yields, or nothing for one that writes with context.write."""
    result = inner(request, context)
    if inspect.isasyncgen(result):
        async for item in result:
            yield item
    else:
        await result


def _guarded(handler, rule: Rule | None, authenticate):
    """The handler with the admission check in front of its behaviour."""
    if handler.unary_unary is not None:
        inner = handler.unary_unary

        async def unary_unary(request, context):
            try:
                _current.set(await _admit(rule, authenticate, context))
            except ServiceError as err:
                await abort_with(context, err)
            return await inner(request, context)

        return handler._replace(unary_unary=unary_unary)
    if handler.unary_stream is not None:
        inner_stream = handler.unary_stream

        async def unary_stream(request, context):
            try:
                _current.set(await _admit(rule, authenticate, context))
            except ServiceError as err:
                await abort_with(context, err)
            async for item in _served_stream(inner_stream, request, context):
                yield item

        return handler._replace(unary_stream=unary_stream)
    if handler.stream_unary is not None:
        inner_client_stream = handler.stream_unary

        async def stream_unary(request_iterator, context):
            try:
                _current.set(await _admit(rule, authenticate, context))
            except ServiceError as err:
                await abort_with(context, err)
            return await inner_client_stream(request_iterator, context)

        return handler._replace(stream_unary=stream_unary)
    inner_bidi = handler.stream_stream

    async def stream_stream(request_iterator, context):
        try:
            _current.set(await _admit(rule, authenticate, context))
        except ServiceError as err:
            await abort_with(context, err)
        async for item in inner_bidi(request_iterator, context):
            yield item

    return handler._replace(stream_stream=stream_stream)
