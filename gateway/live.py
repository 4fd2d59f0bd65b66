"""Live conversation events, served by the gateway straight from NATS.

One NATS subscription per watched conversation per gateway process, shared by all its
local watchers (a customer's tabs, operators); each event is parsed once and handed to
every watcher's queue. Conversation is asked only once per stream (OpenStream: may
this caller watch, what is the status, what did they miss), so holding thousands of
open streams costs the gateway memory, not work elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from nats.aio.client import Client

from frontdesk import bus, ids, logs, metrics
from frontdesk.caller import Caller
from frontdesk.clock import now_ts
from frontdesk.errors import NotFound
from frontdesk_pb.events.v1 import events_pb2 as ev

log = logs.get("gateway.live")

QUEUE_LIMIT = 1_000  # events a slow watcher may lag behind before live deltas are dropped for it


class _Topic:
    def __init__(self):
        self.subscription = None
        self.queues: set[asyncio.Queue] = set()


class LiveHub:
    def __init__(self, nc: Client):
        self.nc = nc
        self._topics: dict[str, _Topic] = {}
        self._lock = asyncio.Lock()

    @property
    def watchers(self) -> int:
        return sum(len(t.queues) for t in self._topics.values())

    @contextlib.asynccontextmanager
    async def watch(self, tenant_id: str, conversation_id: str):
        # the id becomes part of a NATS subject: only a well-formed id may (no wildcards, no dots)
        if not ids.is_id(conversation_id, "conversation"):
            raise NotFound("conversation not found")
        subject = bus.conversation_subject(tenant_id, conversation_id)
        queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_LIMIT)
        async with self._lock:
            topic = self._topics.get(subject)
            if topic is None:
                topic = self._topics[subject] = _Topic()
                topic.subscription = await self.nc.subscribe(subject, cb=self._dispatcher(topic))
            topic.queues.add(queue)
        try:
            yield queue
        finally:
            async with self._lock:
                topic.queues.discard(queue)
                if not topic.queues:
                    del self._topics[subject]
                    if topic.subscription is not None:
                        with contextlib.suppress(Exception):
                            await topic.subscription.unsubscribe()

    @staticmethod
    def _dispatcher(topic: _Topic):
        async def on_message(msg) -> None:
            event = ev.ConversationEvent.FromString(msg.data)
            for queue in topic.queues:
                if queue.full():
                    continue  # a stalled watcher misses live deltas; stored messages are in history
                queue.put_nowait(event)

        return on_message


async def stream(
    hub: LiveHub, caller: Caller, conversation_id: str, after_message_id: str, open_stream
) -> AsyncIterator[ev.ConversationEvent]:
    """Subscribe, then ask conversation (authorization, status, missed messages), then
    replay, then the status snapshot, then live events without duplicates."""
    async with hub.watch(caller.tenant_id, conversation_id) as queue:
        opened = await open_stream()
        with metrics.OPEN_STREAMS.track_inprogress():
            async for event in _relay(queue, opened, conversation_id):
                yield event


async def _relay(queue: asyncio.Queue, opened, conversation_id: str) -> AsyncIterator[ev.ConversationEvent]:
    seen: set[str] = set()
    for msg in opened.missed:
        seen.add(msg.id)
        yield ev.ConversationEvent(conversation_id=conversation_id, at=msg.created_at, message=msg)
    # once a client has the status it is subscribed and sees everything that follows
    yield ev.ConversationEvent(
        conversation_id=conversation_id, at=now_ts(), status_changed=ev.StatusChanged(status=opened.conversation.status)
    )
    while True:
        event = await queue.get()
        if event.HasField("message") and event.message.id in seen:
            continue
        yield event
