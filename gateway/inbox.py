"""The operators' live inbox (AdminService.StreamInbox), served by the gateway from the
EVENTS stream.

Each inbox stream reads the tenant's domain events through an ordered JetStream consumer of
its own. The server filters it to the kinds an inbox shows. It starts at the client's cursor
(the stream sequence of the last event the client saw) or at the end of the stream. So a
client that reconnects misses nothing that happened while it was away. The inbox keeps no
state of its own: the events analytics reads are the record, kept for the stream's max age.
After the replay comes one `caught_up` event; a client loads its conversation list then, and
applies what follows."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from frontdesk import bus, logs, metrics
from frontdesk.errors import Unavailable
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.events.v1 import events_pb2 as ev

log = logs.get("gateway.inbox")

# domain event kind -> the InboxEvent field that carries it
SHOWN = {
    "conversation_started": "started",
    "handoff_requested": "handed_off",
    "message_received": "customer_message",
    "conversation_assigned": "assigned",
    "status_changed": "status_changed",
    "presence_changed": "presence",
}
QUEUE_LIMIT = 10_000  # events one slow client may lag; past it the stream ends and the client resumes by cursor


def to_inbox_event(cursor: int, event: ev.DomainEvent) -> admin_pb2.InboxEvent | None:
    """The inbox's view of a domain event; None for what an inbox does not show (an AI or
    agent message: the customer's are what the team waits on)."""
    kind = event.WhichOneof("kind")
    field = SHOWN.get(kind or "")
    if field is None:
        return None
    if kind == "message_received" and event.message_received.role not in (common.ROLE_CUSTOMER, 0):
        return None
    out = admin_pb2.InboxEvent(cursor=cursor, conversation_id=event.conversation_id, at=event.occurred_at)
    getattr(out, field).CopyFrom(getattr(event, kind))
    return out


def start_point(after_cursor: int | None, first_seq: int, last_seq: int) -> tuple[int, bool]:
    """Where a stream starts (a stream sequence) and whether the client must reload its list
    (the events after its cursor are gone: aged out, or the stream was recreated)."""
    if after_cursor is None:
        return last_seq + 1, False
    if after_cursor > last_seq or after_cursor + 1 < first_seq:
        return last_seq + 1, True
    return after_cursor + 1, False


async def stream(
    js: JetStreamContext, tenant_id: str, after_cursor: int | None, still_here=None
) -> AsyncIterator[admin_pb2.InboxEvent]:
    """`still_here`: called every bus.PRESENCE_SEEN_EVERY_S while the stream is open (an
    operator's presence stays fresh while their panel is open)."""
    keepalive = asyncio.create_task(_every(bus.PRESENCE_SEEN_EVERY_S, still_here)) if still_here else None
    try:
        async for event in _events(js, tenant_id, after_cursor):
            yield event
    finally:
        if keepalive is not None:
            keepalive.cancel()


async def _every(period_s: float, call) -> None:
    while True:
        try:
            await call()
        except Exception as err:  # noqa: BLE001 - a missed refresh is made up by the next one
            log.warning("inbox.presence_refresh_failed", error=str(err))
        await asyncio.sleep(period_s)


async def _events(
    js: JetStreamContext, tenant_id: str, after_cursor: int | None
) -> AsyncIterator[admin_pb2.InboxEvent]:
    info = await js.stream_info(bus.EVENTS_STREAM)
    start, reset = start_point(after_cursor, info.state.first_seq, info.state.last_seq)
    queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_LIMIT)
    lagging = False

    async def on_message(msg) -> None:
        nonlocal lagging
        if queue.full():
            lagging = True
            return
        meta = msg.metadata
        queue.put_nowait((meta.sequence.stream, meta.num_pending, msg.data))

    sub = await js.subscribe(
        bus.events_subject(tenant_id, ">"),
        stream=bus.EVENTS_STREAM,
        cb=on_message,
        ordered_consumer=True,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            filter_subjects=[bus.events_subject(tenant_id, kind) for kind in SHOWN],
        ),
    )

    def caught_up(cursor: int) -> admin_pb2.InboxEvent:
        return admin_pb2.InboxEvent(cursor=cursor, caught_up=admin_pb2.InboxCaughtUp(reset=reset))

    try:
        with metrics.OPEN_STREAMS.track_inprogress():
            # the replay ends with the message after which nothing was pending; with nothing
            # to replay at all, it ends at once (an event racing this check is simply live)
            replaying = bool((await sub.consumer_info()).num_pending) or not queue.empty()
            if not replaying:
                yield caught_up(start - 1)
            while True:
                seq, pending, data = await queue.get()
                if lagging:
                    raise Unavailable("the inbox fell behind this connection; reconnect with the last cursor")
                event = to_inbox_event(seq, ev.DomainEvent.FromString(data))
                if event is not None:
                    yield event
                if replaying and pending == 0:
                    replaying = False
                    yield caught_up(seq)
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
