"""Reading the domain events: the durable consumer that keeps aggregates current, and
the backfill that re-reads one tenant's events still held by the stream.

Delivery is at least once (explicit ack after the store write; a crash before the ack
redelivers), and the store applies an event id at most once, so every event counts
exactly once in effect. The tenant of an event is the one in its subject (JetStream
only accepts `frontdesk.<tenant>.events.<kind>` from services that authenticated the
caller); a payload naming another tenant is logged and counted under the subject's.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass

import nats.errors
from google.protobuf.message import DecodeError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import Counter

from analytics.aggregate import Sentiment, contribution, event_hour, message_score
from analytics.store import AnalyticsStore, MessageScore
from frontdesk import bus, logs
from frontdesk.stores.base import StoreUnavailable
from frontdesk_pb.events.v1 import events_pb2 as ev

log = logs.get("analytics.worker")

DURABLE = "analytics"
ALL_EVENTS = "frontdesk.*.events.>"
EVENTS_COUNTED = Counter("frontdesk_analytics_events_total", "Domain events read by analytics", ["outcome"])
_TENANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class Tally:
    scanned: int = 0
    applied: int = 0
    duplicates: int = 0
    skipped: int = 0
    conversations: int = 0  # the rebuild from the logs: conversations read

    def note(self, outcome: str) -> None:
        self.scanned += 1
        if outcome == "applied":
            self.applied += 1
        elif outcome == "duplicate":
            self.duplicates += 1
        else:
            self.skipped += 1


class EventCounter:
    """Turns one stored event into its hour's aggregate change, once."""

    def __init__(self, store: AnalyticsStore, sentiment: Sentiment | None):
        self.store = store
        self.sentiment = sentiment

    async def count(self, subject: str, data: bytes, stream_time_s: float, stream_seq: int) -> str:
        """applied, duplicate, ignored (a kind analytics does not count) or skipped (unreadable)."""
        try:
            tenant = bus.tenant_of(subject)
            event = ev.DomainEvent.FromString(data)
        except (ValueError, DecodeError) as err:
            log.warning("event.unreadable", subject=subject, seq=stream_seq, error=str(err))
            return "skipped"
        if event.tenant_id and event.tenant_id != tenant:
            log.warning("event.tenant_mismatch", subject=subject, payload_tenant=event.tenant_id, seq=stream_seq)
        # an event without an id is still counted once: its stream position names it
        return await self.count_event(tenant, event, stream_time_s, event.event_id or f"seq:{stream_seq}")

    async def count_event(self, tenant_id: str, event: ev.DomainEvent, fallback_time_s: float, event_id: str) -> str:
        """applied, duplicate or ignored. Used by the stream and by the rebuild from the logs."""
        score = message_score(event, self.sentiment)
        delta = contribution(event, None, score=score)
        if delta == type(delta)():
            return "ignored"
        hour = event_hour(event, fallback_time_s)
        applied = await self.store.apply(
            tenant_id, event_id, hour, delta, score=_scored(event, score, fallback_time_s * 1000)
        )
        return "applied" if applied else "duplicate"

    async def keep_score(self, tenant_id: str, event: ev.DomainEvent, fallback_ms: float) -> None:
        """Only the per-conversation sentiment of a customer message (its event was counted)."""
        scored = _scored(event, message_score(event, self.sentiment), fallback_ms)
        if scored is not None:
            await self.store.put_score(tenant_id, scored)


def _scored(event: ev.DomainEvent, score: int | None, fallback_ms: float) -> MessageScore | None:
    if score is None or not event.conversation_id or not event.message_received.message_id:
        return None
    at_ms = (
        event.occurred_at.ToMilliseconds()
        if event.HasField("occurred_at") and event.occurred_at.seconds
        else int(fallback_ms)
    )
    return MessageScore(event.conversation_id, event.message_received.message_id, at_ms, score)


async def _count_message(counter: EventCounter, msg) -> str:
    meta = msg.metadata
    return await counter.count(msg.subject, msg.data, meta.timestamp.timestamp(), meta.sequence.stream)


async def consume(
    js: JetStreamContext, counter: EventCounter, stop: asyncio.Event, batch: int = 100, ack_wait_s: float = 30.0
) -> None:
    """The durable consumer `analytics` on every tenant's events, until `stop`. Several
    analytics processes share it (each message goes to one of them). A new consumer
    starts at the beginning of the stream, so a first start counts the past 7 days."""
    config = ConsumerConfig(
        durable_name=DURABLE,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait_s,
        max_ack_pending=10_000,
        filter_subject=ALL_EVENTS,
    )
    sub = await js.pull_subscribe(ALL_EVENTS, durable=DURABLE, stream=bus.EVENTS_STREAM, config=config)
    log.info("consumer.started", durable=DURABLE)
    while not stop.is_set():
        try:
            messages = await sub.fetch(batch, timeout=1)
        except nats.errors.TimeoutError:
            continue
        except Exception as err:  # noqa: BLE001 - NATS restarting: keep trying, nothing is lost meanwhile
            log.warning("consumer.fetch_failed", error=str(err))
            await _pause(stop, 1.0)
            continue
        for msg in messages:
            try:
                outcome = await _count_message(counter, msg)
            except StoreUnavailable as err:
                # the store is away: hand the rest back for later and wait a little
                log.warning("consumer.store_unavailable", error=str(err))
                for pending in messages[messages.index(msg) :]:
                    with contextlib.suppress(Exception):
                        await pending.nak(delay=2)
                await _pause(stop, 2.0)
                break
            EVENTS_COUNTED.labels(outcome).inc()
            await msg.ack()
    with contextlib.suppress(Exception):
        await sub.unsubscribe()  # leaves the durable consumer on the server


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def backfill(js: JetStreamContext, counter: EventCounter, tenant_id: str, batch: int = 500) -> Tally:
    """Re-read every event of one tenant the EVENTS stream still holds (7 days) and count
    those not counted yet: after an outage of analytics or of its store, or to rebuild
    into a fresh store. Idempotent: running it twice changes nothing the second time."""
    if not _TENANT.match(tenant_id):
        raise ValueError(f"not a tenant id: {tenant_id!r}")
    tally = Tally()
    subject = bus.events_subject(tenant_id, ">")
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=60,
        inactive_threshold=60.0,
        filter_subject=subject,
    )
    sub = await js.pull_subscribe(subject, stream=bus.EVENTS_STREAM, config=config)  # ephemeral
    try:
        while True:
            try:
                messages = await sub.fetch(batch, timeout=2)
            except nats.errors.TimeoutError:
                return tally  # nothing (left) for this tenant
            for msg in messages:
                tally.note(await _count_message(counter, msg))
                await msg.ack()
            if messages[-1].metadata.num_pending == 0:
                return tally
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
