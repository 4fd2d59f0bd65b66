"""Publishing what happened: live conversation events (core NATS, for streams that
are watching) and domain events (JetStream, for analytics; deduplicated by event id)."""

from __future__ import annotations

import asyncio

from nats.aio.client import Client
from nats.js import JetStreamContext

from frontdesk import bus, logs
from frontdesk.clock import now_ts
from frontdesk_pb.events.v1 import events_pb2 as ev

log = logs.get("frontdesk.publish")


class Publisher:
    def __init__(self, nc: Client, js: JetStreamContext):
        self.nc = nc
        self.js = js
        self._background: set[asyncio.Task] = set()

    async def flush(self) -> None:
        """Wait for background publications (graceful shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def live(self, tenant_id: str, conversation_id: str, **kind) -> None:
        """One ConversationEvent to whoever watches the conversation. Best effort by
        design: whatever matters is stored first and can be re-read from history."""
        event = ev.ConversationEvent(conversation_id=conversation_id, at=now_ts(), **kind)
        try:
            await self.nc.publish(bus.conversation_subject(tenant_id, conversation_id), event.SerializeToString())
        except Exception as err:  # noqa: BLE001 - a watcher missing a live event is not a failure
            log.warning("live.publish_failed", tenant=tenant_id, conversation=conversation_id, error=str(err))

    async def domain(self, tenant_id: str, conversation_id: str, event_id: str, **kind) -> None:
        """A DomainEvent on JetStream (the same event_id is stored once), published in the
        background: a request never waits on analytics, which can be backfilled from the logs."""
        (name,) = kind
        event = ev.DomainEvent(
            event_id=event_id, tenant_id=tenant_id, conversation_id=conversation_id, occurred_at=now_ts(), **kind
        )
        task = asyncio.create_task(self._publish_domain(tenant_id, name, event_id, event))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _publish_domain(self, tenant_id: str, name: str, event_id: str, event: ev.DomainEvent) -> None:
        try:
            await self.js.publish(
                bus.events_subject(tenant_id, name),
                event.SerializeToString(),
                headers={"Nats-Msg-Id": event_id},
                timeout=5,
            )
        except Exception as err:  # noqa: BLE001 - analytics can be backfilled from the logs
            log.warning("domain_event.publish_failed", tenant=tenant_id, kind=name, error=str(err))
