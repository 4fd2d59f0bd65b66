"""Store interfaces. Every method takes the tenant first; implementations key every
row and object by it, so one tenant can never read another's data by id."""

from __future__ import annotations

import abc
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.common.v1 import common_pb2 as common


class StoreUnavailable(Exception):
    """The backing store cannot be reached; callers answer UNAVAILABLE."""


class ConversationGone(LookupError):
    """A message was to be added to a conversation that is not (or no longer) stored: erased
    while a reply or notice for it was on its way. Nothing of the message is kept."""


class Conflict(Exception):
    """A uniqueness rule was violated (slug, email, ...)."""


@dataclass(frozen=True)
class OutboxEntry:
    tenant_id: str
    conversation_id: str
    message_id: str
    created_ms: int


# a conversation page token: "<updated ms>:<conversation id>" (both stores)
_TOKEN_MS_MAX = 2**53  # milliseconds: far past any real time, and exact in every store and language


def split_conversation_token(token: str) -> tuple[int, str]:
    """(updated ms, conversation id) of a list_conversations page token; ValueError (a
    caller's mistake) for anything a store did not hand out."""
    ms, _, cid = token.partition(":")
    if not ms.isdigit() or len(ms) > 16 or len(cid) > 64:
        raise ValueError("page_token is not valid")
    value = int(ms)
    if value >= _TOKEN_MS_MAX:
        raise ValueError("page_token is not valid")
    return value, cid


# the conversation fields update_conversation may change, on every store
UPDATABLE_FIELDS = frozenset(
    {
        "status",
        "assigned_operator_id",
        "handoff_reason",
        "rating",
        "snoozed_until_ms",
        "labels",
        "handoff_ms",
        "first_response_ms",
    }
)


class LogStore(abc.ABC):
    """Conversations, messages and feedback of every tenant."""

    @abc.abstractmethod
    async def create_conversation(self, tenant_id: str, conversation: common.Conversation) -> common.Conversation: ...

    @abc.abstractmethod
    async def get_conversation(self, tenant_id: str, conversation_id: str) -> common.Conversation | None: ...

    @abc.abstractmethod
    async def update_conversation(self, tenant_id: str, conversation_id: str, **changes) -> common.Conversation | None:
        """Change status, assigned_operator_id, handoff_reason or rating; None if missing."""

    async def change_conversation(self, tenant_id: str, conversation_id: str, **changes) -> common.Conversation:
        """update_conversation of a conversation the caller has just read: NotFound when it
        is gone meanwhile (erased), instead of a None that would fail later."""
        from frontdesk.errors import NotFound  # errors imports this module (StoreUnavailable)

        updated = await self.update_conversation(tenant_id, conversation_id, **changes)
        if updated is None:
            raise NotFound("conversation not found")
        return updated

    @abc.abstractmethod
    async def list_conversations(
        self,
        tenant_id: str,
        *,
        visitor_id: str = "",
        status: int = 0,
        assignee: str | None = None,
        label: str = "",
        limit: int = 50,
        page_token: str = "",
    ) -> tuple[list[common.Conversation], str]:
        """Most recently active first; returns (page, next_page_token). `assignee`: only the
        conversations of that operator ("" = of nobody; None = any); `label`: only those with it."""

    @abc.abstractmethod
    async def append_message(
        self, tenant_id: str, message: common.Message, dedupe_key: str = "", *, enqueue: bool = False
    ) -> tuple[common.Message, bool]:
        """Store a message (and bump its conversation). With a dedupe_key already used in
        that conversation, nothing is written and the stored message is returned with False.
        With enqueue, an outbox entry for its AI job is written atomically with it."""

    @abc.abstractmethod
    async def outbox_due(self, older_than_ms: int, limit: int = 100) -> list[OutboxEntry]:
        """Outbox entries (of every tenant) created before older_than_ms: AI jobs whose
        publication was not confirmed, oldest first. Only the outbox sweeper reads this."""

    @abc.abstractmethod
    async def outbox_done(self, tenant_id: str, conversation_id: str, message_id: str) -> None:
        """The job of this message is safely in JetStream; forget the entry (idempotent)."""

    async def outbox_done_many(self, entries: Sequence[tuple[str, str, str]]) -> None:
        """outbox_done for many (tenant, conversation, message) at once; stores override it
        to write them together."""
        for tenant_id, conversation_id, message_id in entries:
            await self.outbox_done(tenant_id, conversation_id, message_id)

    @abc.abstractmethod
    async def find_message(
        self, tenant_id: str, conversation_id: str, *, message_id: str = "", dedupe_key: str = ""
    ) -> common.Message | None: ...

    async def job_context(
        self, tenant_id: str, conversation_id: str, *, dedupe_key: str, history_limit: int
    ) -> tuple[common.Message | None, common.Conversation | None, list[common.Message]]:
        """What a worker reads before answering a job: the reply already stored under
        dedupe_key (a redelivery), else the conversation and its latest messages, oldest
        first. Stores override it to read them in one round trip."""
        existing = await self.find_message(tenant_id, conversation_id, dedupe_key=dedupe_key)
        if existing is not None:
            return existing, None, []
        conversation = await self.get_conversation(tenant_id, conversation_id)
        if conversation is None:
            return None, None, []
        history, _ = await self.list_messages(tenant_id, conversation_id, limit=history_limit)
        return None, conversation, history

    @abc.abstractmethod
    async def search_messages(
        self,
        tenant_id: str,
        terms: list[str],
        *,
        status: int = 0,
        assignee: str | None = None,
        label: str = "",
        limit: int = 20,
        page_token: str = "",
    ) -> tuple[list[tuple[common.Conversation, common.Message]], str]:
        """The tenant's messages that hold every one of `terms` (frontdesk/stores/search.py's
        words), newest first, each with its conversation (filtered like list_conversations),
        and the token of the next page ('' at the end). A page may be short while the token
        says more may follow: a call reads a bounded part of the index. ValueError for a
        token this store did not make."""

    @abc.abstractmethod
    async def list_messages(
        self, tenant_id: str, conversation_id: str, *, limit: int = 50, page_token: str = ""
    ) -> tuple[list[common.Message], str]:
        """The newest `limit` messages older than the token, oldest first, and the token
        for the page before them ('' when there is none)."""

    @abc.abstractmethod
    async def messages_after(
        self, tenant_id: str, conversation_id: str, after_id: str, limit: int = 500
    ) -> list[common.Message]:
        """Messages newer than after_id ('' = from the start), oldest first."""

    async def all_messages(self, tenant_id: str, conversation_id: str, page: int = 500) -> list[common.Message]:
        """Every message of a conversation, oldest first (messages_after, page by page)."""
        out: list[common.Message] = []
        after = ""
        while True:
            chunk = await self.messages_after(tenant_id, conversation_id, after, limit=page)
            out += chunk
            if len(chunk) < page:
                return out
            after = chunk[-1].id

    @abc.abstractmethod
    async def record_feedback(
        self, tenant_id: str, conversation_id: str, message_id: str, helpful: bool, comment: str
    ) -> None: ...

    @abc.abstractmethod
    async def record_tool_call(self, tenant_id: str, conversation_id: str, call: ToolCallEntry) -> None:
        """Keep one tool call of the AI for the admin; the same (job_id, call_id) again
        replaces it (a redelivered job), never adds a second."""

    @abc.abstractmethod
    async def list_tool_calls(self, tenant_id: str, conversation_id: str, limit: int = 100) -> list[ToolCallEntry]:
        """The conversation's latest `limit` tool calls, oldest first."""

    @abc.abstractmethod
    async def add_note(self, tenant_id: str, note: admin_pb2.Note) -> None:
        """Keep a private note of the team on a conversation. Notes live apart from the
        messages, so no read of messages (the customer's, the AI's history) can include one."""

    @abc.abstractmethod
    async def list_notes(self, tenant_id: str, conversation_id: str, limit: int = 200) -> list[admin_pb2.Note]:
        """The conversation's latest `limit` notes, oldest first."""

    @abc.abstractmethod
    async def erase_conversation(self, tenant_id: str, conversation_id: str) -> int:
        """Delete the conversation and everything stored with it (messages, the search's
        postings of their words, dedupe claims, outbox entries, feedback, tool calls, notes),
        for good; the number of messages it had (GDPR erasure: conversation/erase.py). A message
        appended to it afterwards raises ConversationGone and is not kept."""

    async def after_erasure(self) -> None:  # noqa: B027 - optional: stores with nothing to compact
        """Once the conversations of an erasure are erased: remove what deleted rows leave in the
        store's own structures (the embedded search index's segments)."""

    async def close(self) -> None:
        return None

    @abc.abstractmethod
    async def list_feedback(self, tenant_id: str, conversation_id: str) -> list[FeedbackEntry]:
        """The conversation's thumbs, the latest verdict per message, in message order
        (analytics rebuilds its feedback events from them)."""


@dataclass
class ToolCallEntry:
    """One function call the AI made while answering, as the admin reads it: no secret,
    the arguments and a preview of the result cut short."""

    job_id: str
    call_id: str
    tool: str
    arguments: str
    ok: bool
    error: str
    duration_ms: float
    started_ms: int
    result_bytes: int = 0
    result_preview: str = ""


@dataclass
class ToolRecord:
    """A tenant-defined HTTP tool. The signing secret is stored sealed (frontdesk.secretbox),
    never in the clear; parameters_schema is JSON text."""

    tenant_id: str
    name: str
    description: str
    parameters_schema: str
    url: str
    method: str
    timeout_ms: int
    created_ms: int
    secret_sealed: str = ""


@dataclass
class AuditRecord:
    """One action of the tenant's team (or an API key), as the gateway saw it: append-only."""

    tenant_id: str
    id: str  # time-ordered (frontdesk.ids): newest first is by id
    at_ms: int
    actor_kind: str  # operator, api_key
    actor_id: str
    actor_name: str
    actor_role: str
    method: str  # "AdminService.UpdateOperator"
    target: dict = field(default_factory=dict)  # what it named: ids, shortcut, role, status (never secrets)
    outcome: str = "ok"  # ok, or the gRPC status name (PERMISSION_DENIED, NOT_FOUND, ...)


@dataclass
class CannedResponseRecord:
    """A saved reply of a tenant's team, found by its shortcut (unique per tenant)."""

    tenant_id: str
    shortcut: str
    title: str
    text: str
    updated_ms: int
    updated_by: str = ""


@dataclass
class TenantRecord:
    id: str
    slug: str
    name: str
    widget_key: str
    identity_secret: str
    created_ms: int
    greeting: str = "Hi! How can we help you today?"
    allowed_origins: list[str] = field(default_factory=list)
    ai_settings: dict = field(default_factory=dict)
    auto_resolve_minutes: int = 0  # resolve a conversation idle this long (0 = never)


@dataclass
class ApiKeyRecord:
    id: str
    tenant_id: str
    name: str
    secret_hash: str
    created_ms: int
    revoked_ms: int = 0
    last_used_ms: int = 0


@dataclass
class OperatorRecord:
    id: str
    tenant_id: str
    email: str
    display_name: str
    role: str
    password_hash: str
    created_ms: int
    # raised when the password or role changes: tokens carry the epoch they were issued
    # in, and an older one is refused (gateway.auth), so those sessions end
    session_epoch: int = 0


class AccountStore(abc.ABC):
    """Tenants and their credentials. Lookups by widget key, slug or API key id are the
    only ones without a tenant: they are how a caller's tenant is found."""

    @abc.abstractmethod
    async def create_tenant(self, tenant: TenantRecord) -> None: ...

    @abc.abstractmethod
    async def get_tenant(self, tenant_id: str) -> TenantRecord | None: ...

    @abc.abstractmethod
    async def find_tenant(self, *, slug: str = "", widget_key: str = "") -> TenantRecord | None: ...

    @abc.abstractmethod
    async def update_tenant(self, tenant: TenantRecord) -> None: ...

    @abc.abstractmethod
    async def create_api_key(self, key: ApiKeyRecord) -> None: ...

    @abc.abstractmethod
    async def get_api_key(self, key_id: str) -> ApiKeyRecord | None: ...

    @abc.abstractmethod
    async def list_api_keys(self, tenant_id: str) -> list[ApiKeyRecord]: ...

    @abc.abstractmethod
    async def revoke_api_key(self, tenant_id: str, key_id: str, at_ms: int) -> ApiKeyRecord | None: ...

    @abc.abstractmethod
    async def create_operator(self, operator: OperatorRecord) -> None: ...

    @abc.abstractmethod
    async def get_operator(self, tenant_id: str, operator_id: str) -> OperatorRecord | None: ...

    @abc.abstractmethod
    async def find_operator_by_email(self, tenant_id: str, email: str) -> OperatorRecord | None: ...

    @abc.abstractmethod
    async def list_operators(self, tenant_id: str) -> list[OperatorRecord]: ...

    @abc.abstractmethod
    async def update_operator(self, operator: OperatorRecord) -> None: ...

    @abc.abstractmethod
    async def delete_operator(self, tenant_id: str, operator_id: str) -> bool: ...

    @abc.abstractmethod
    async def create_tool(self, tool: ToolRecord) -> None:
        """Conflict when the tenant already has a tool of that name."""

    @abc.abstractmethod
    async def list_tools(self, tenant_id: str) -> list[ToolRecord]:
        """The tenant's tools, by name."""

    @abc.abstractmethod
    async def delete_tool(self, tenant_id: str, name: str) -> bool: ...

    @abc.abstractmethod
    async def save_canned_response(self, response: CannedResponseRecord) -> None:
        """Create it, or replace the tenant's response with the same shortcut."""

    @abc.abstractmethod
    async def list_canned_responses(self, tenant_id: str) -> list[CannedResponseRecord]:
        """The tenant's canned responses, by shortcut."""

    @abc.abstractmethod
    async def delete_canned_response(self, tenant_id: str, shortcut: str) -> bool:
        """False when the tenant has none with that shortcut."""

    @abc.abstractmethod
    async def append_audit(self, record: AuditRecord) -> None:
        """Store one audit record (never changed or deleted afterwards)."""

    @abc.abstractmethod
    async def list_audit(self, tenant_id: str, limit: int, before_id: str = "") -> list[AuditRecord]:
        """The tenant's audit records, newest first, older than `before_id` when given."""

    async def close(self) -> None:
        return None


_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,255}")
_TENANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # one path segment


def blob_object_name(tenant_id: str, key: str) -> str:
    """`tenant/<tenant_id>/<key>`, or ValueError: the one rule every blob store applies, so
    no key and no tenant id can leave its tenant's prefix. The key starts alphanumeric, has
    only [A-Za-z0-9._/-], at most 256 characters, no empty, `.` or `..` segment (`a//b`
    and `a/./b` would otherwise name the same file as `a/b`)."""
    if not isinstance(tenant_id, str) or not _TENANT_RE.fullmatch(tenant_id):
        raise ValueError(f"invalid tenant id {tenant_id!r}")
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        raise ValueError(f"invalid object key {key!r}")
    if any(segment in ("", ".", "..") for segment in key.split("/")):
        raise ValueError(f"invalid object key {key!r}: empty, '.' or '..' path segment")
    return f"tenant/{tenant_id}/{key}"


class BlobStore(abc.ABC):
    """Uploads, under keys that start with `tenant/<tenant id>/`."""

    @abc.abstractmethod
    async def put(
        self, tenant_id: str, key: str, chunks: AsyncIterator[bytes], *, content_type: str, max_bytes: int
    ) -> tuple[int, str]:
        """Store a stream; returns (size, sha256 hex). Nothing is kept if it fails or
        exceeds max_bytes (ValueError)."""

    @abc.abstractmethod
    def get(self, tenant_id: str, key: str) -> AsyncIterator[bytes]:
        """The object's bytes in chunks; KeyError if missing."""

    @abc.abstractmethod
    async def delete(self, tenant_id: str, key: str) -> None: ...

    @abc.abstractmethod
    async def keys(self, tenant_id: str, prefix: str) -> list[str]:
        """The tenant's keys that start with `prefix` (a folder: ends with '/'), sorted."""

    async def download_url(self, tenant_id: str, key: str, expires_s: int = 900) -> str | None:
        """A URL a browser can fetch the object from directly, or None: then stream it
        through get() (the embedded store)."""
        return None

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class FeedbackEntry:
    """One message's latest thumbs verdict, and when it was given."""

    message_id: str
    helpful: bool
    at_ms: int
