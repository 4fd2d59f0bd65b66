"""Auto-resolve: a conversation nobody has written in for the tenant's idle time is resolved,
with a notice to the customer (a new message reopens it, as any resolved conversation).

One timer per conversation, not one per message: a conversation is armed when it starts or
reopens; when the timer comes due the conversation is read, and if something happened since,
the timer is queued again for the last activity plus the idle time. Never resolved: one
waiting for a person (pending) or snoozed (the team chose its time), and one whose latest
message is the customer's (a reply is owed). Those are looked at again an idle time later.

The tenant's setting is read from the account store, cached for a short while, so a change
applies to conversations at their next check.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from conversation import rules
from frontdesk import ids, logs, texts
from frontdesk.clock import ms_of, now_ms, now_ts
from frontdesk.publish import Publisher
from frontdesk.stores.base import AccountStore, LogStore
from frontdesk_pb.common.v1 import common_pb2 as common

log = logs.get("conversation.idle")

Status = common.ConversationStatus
MINUTE_MS = 60_000
QueueTimer = Callable[[str, str, int], Awaitable[None]]  # (tenant, conversation, due ms)


class TenantIdleTimes:
    """Each tenant's auto-resolve time in ms (0 = never), from the account store, cached."""

    def __init__(self, accounts: AccountStore, ttl_s: float = 30.0):
        self.accounts = accounts
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, int]] = {}

    async def idle_ms(self, tenant_id: str) -> int:
        hit = self._cache.get(tenant_id)
        if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        tenant = await self.accounts.get_tenant(tenant_id)
        value = max(tenant.auto_resolve_minutes, 0) * MINUTE_MS if tenant is not None else 0
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[tenant_id] = (time.monotonic(), value)
        return value


class IdleResolver:
    def __init__(self, store: LogStore, pub: Publisher, idle_times: TenantIdleTimes, queue_timer: QueueTimer):
        self.store = store
        self.pub = pub
        self.idle_times = idle_times
        self.queue_timer = queue_timer  # an idle check of the conversation at a time

    async def arm(self, tenant_id: str, conversation_id: str) -> None:
        """At a start or a reopen: the first check, when the tenant resolves idle ones. Best
        effort: a conversation not armed (NATS or the store away) is only not auto-resolved."""
        try:
            idle = await self.idle_times.idle_ms(tenant_id)
            if idle:
                await self.queue_timer(tenant_id, conversation_id, now_ms() + idle)
        except Exception as err:  # noqa: BLE001 - never fails the customer's request
            log.warning("idle.not_armed", tenant=tenant_id, conversation=conversation_id, error=str(err))

    async def check(self, tenant_id: str, conversation_id: str) -> str:
        """A timer came due: resolve the conversation, look again later, or let it go. Says which."""
        conv = await self.store.get_conversation(tenant_id, conversation_id)
        if conv is None or conv.status == Status.CONVERSATION_STATUS_CLOSED:
            return "done"  # resolved meanwhile: a reopen arms a new timer
        idle = await self.idle_times.idle_ms(tenant_id)
        if not idle:
            return "off"
        now = now_ms()
        quiet_since = ms_of(conv.updated_at)
        if quiet_since + idle > now:
            await self.queue_timer(tenant_id, conversation_id, quiet_since + idle)
            return "active"
        if conv.status not in (Status.CONVERSATION_STATUS_AI, Status.CONVERSATION_STATUS_HUMAN):
            await self.queue_timer(tenant_id, conversation_id, now + idle)
            return "with the team"
        latest, _ = await self.store.list_messages(tenant_id, conversation_id, limit=1)
        if latest and latest[-1].role == common.ROLE_CUSTOMER:
            await self.queue_timer(tenant_id, conversation_id, now + idle)
            return "reply owed"
        language = next((m.language for m in reversed(latest) if m.language), "en")
        notice = common.Message(
            id=ids.new_id("message"),
            conversation_id=conversation_id,
            role=common.ROLE_SYSTEM,
            text=texts.text("resolved_idle", language),
            created_at=now_ts(),
            language=language,
        )
        stored, created = await self.store.append_message(tenant_id, notice, f"idle:{quiet_since}")
        if created:
            await self.pub.live(tenant_id, conversation_id, message=stored)
        await rules.set_status(self.store, self.pub, tenant_id, conv, Status.CONVERSATION_STATUS_CLOSED, "")
        log.info("conversation.auto_resolved", tenant=tenant_id, conversation=conversation_id, idle_ms=idle)
        return "resolved"
