"""The audit log: every change the tenant's team (or an API key) makes through the API, kept
per tenant and append-only, read by owners (AdminService.ListAuditLog).

It is written at the gateway, in the access interceptor (gateway/access.py): every call passes
there, so a new RPC that changes something is audited without a line of its own. Which calls
change something follows from their names: everything on AdminService, KnowledgeService and
AnalyticsService except reads (Get, List, Stream, Search, Summarize, Suggest). The record
keeps who, when, which RPC, the outcome, and what the request named: ids, shortcuts, roles,
statuses, emails. It never keeps passwords, keys, secrets, or text anyone wrote. Sign-ins to
the tenant (AuthService.OperatorLogin, failed ones too, with the email tried and the client
address) are written by gateway/service.py, where the tenant of the attempt is known."""

from __future__ import annotations

from google.protobuf.message import Message

from frontdesk import ids, logs
from frontdesk.caller import Caller, Kind
from frontdesk.clock import now_ms
from frontdesk.stores.base import AccountStore, AuditRecord
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.analytics.v1 import analytics_pb2
from frontdesk_pb.knowledge.v1 import knowledge_pb2

log = logs.get("gateway.audit")

_READS = ("Get", "List", "Stream", "Search", "Summarize", "Suggest")
_SERVICES = (
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"],
    knowledge_pb2.DESCRIPTOR.services_by_name["KnowledgeService"],
    analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"],
)
AUDITED: frozenset[str] = frozenset(
    f"/{service.full_name}/{method.name}"
    for service in _SERVICES
    for method in service.methods
    if not method.name.startswith(_READS) and method.name != "CreateTenant"  # the platform's, not a tenant's
)
# request fields worth keeping (besides every *_id); nothing else is read
_NAMED = frozenset(
    {
        "shortcut",
        "role",
        "status",
        "state",
        "email",
        "name",
        "slug",
        "label",
        "labels",
        "capacity",
        "backend",
        "model",
        "filename",
    }
)
_SECRET_WORDS = ("password", "secret", "key", "token", "text", "answer", "prompt")
MAX_VALUE_CHARS = 200


def target_of(request: Message, depth: int = 0) -> dict[str, str]:
    """The identifying fields the request set (one nested level), values cut to 200 characters."""
    out: dict[str, str] = {}
    for field, value in request.ListFields():
        name = field.name
        if any(word in name for word in _SECRET_WORDS) and not name.endswith("_id"):
            continue
        if field.message_type is not None:
            if depth == 0 and not field.is_repeated and not field.message_type.GetOptions().map_entry:
                for inner, inner_value in target_of(value, 1).items():
                    out[f"{name}.{inner}"] = inner_value
            continue
        if not (name.endswith("_id") or name in _NAMED):
            continue
        if field.is_repeated:
            value = ", ".join(str(v) for v in value)
        elif field.enum_type is not None:
            value = field.enum_type.values_by_number[value].name if value in field.enum_type.values_by_number else value
        out[name] = str(value)[:MAX_VALUE_CHARS]
    return out


class Auditor:
    def __init__(self, store: AccountStore):
        self.store = store

    async def record(self, caller: Caller, method: str, request: Message | None, outcome: str) -> None:
        """Best effort: a failed write is logged, and the call it records is not failed for it."""
        if caller.kind not in (Kind.OPERATOR, Kind.API_KEY):
            return
        try:
            entry = self._entry(caller, method, request, outcome)
            await self.store.append_audit(entry)
        except Exception as err:  # noqa: BLE001 - the action stands; the log line keeps what is known
            log.error("audit.write_failed", tenant=caller.tenant_id, method=method, outcome=outcome, error=str(err))

    @staticmethod
    def _entry(caller: Caller, method: str, request: Message | None, outcome: str) -> AuditRecord:
        _, service, name = method.split("/")
        at = now_ms()
        return AuditRecord(
            tenant_id=caller.tenant_id,
            id=ids.new_id("audit", now_ms=at),
            at_ms=at,
            actor_kind=str(caller.kind),
            actor_id=caller.subject,
            actor_name=caller.name,
            actor_role=caller.role,
            method=f"{service.rsplit('.', 1)[-1]}.{name}",
            target=target_of(request) if request is not None else {},
            outcome=outcome,
        )


def sign_in_record(tenant_id: str, op, email: str, address: str, outcome: str) -> AuditRecord:
    """A sign-in to the tenant (AuthService.OperatorLogin), failed ones too: who tried, from where.
    `op` is the operator the email belongs to, or None for an unknown email."""
    at = now_ms()
    return AuditRecord(
        tenant_id=tenant_id,
        id=ids.new_id("audit", now_ms=at),
        at_ms=at,
        actor_kind=str(Kind.OPERATOR),
        actor_id=op.id if op else "",
        actor_name=op.display_name if op else "",
        actor_role=op.role if op else "",
        method="AuthService.OperatorLogin",
        target={"email": email.strip()[:MAX_VALUE_CHARS], **({"address": address[:100]} if address else {})},
        outcome=outcome,
    )
