"""NATS subjects, JetStream streams and consumers: the one place they are named.

Every subject starts with the tenant (`frontdesk.<tenant>.…`):
- `frontdesk.<tenant>.jobs`              AI jobs (stream JOBS, work-queue retention, one
                                         durable consumer per tenant: frontdesk/fair.py)
- `frontdesk.<tenant>.ready`             doorbell after a job is queued (core NATS)
- `frontdesk.<tenant>.events.<kind>`     domain events (stream EVENTS) for analytics
- `frontdesk.<tenant>.conv.<conversation>` live conversation events (core NATS: token
  deltas are ephemeral; everything that matters is stored before it is announced)
- `frontdesk.<tenant>.kb.ingest`         knowledge-base ingestion jobs (stream KNOWLEDGE,
                                         work-queue retention, durable consumer `ingest`)
- `frontdesk.<tenant>.kb.changed`        a new version of the tenant's knowledge base was
                                         published (core NATS; KV bucket KNOWLEDGE_HEADS
                                         holds the version itself)
- `frontdesk.<tenant>.speech`            transcription jobs (stream SPEECH, work-queue
                                         retention, one durable consumer per tenant:
                                         frontdesk/fair.py)
- `frontdesk.<tenant>.speech_ready`      doorbell after a transcription job is queued (core NATS)
- `frontdesk.<tenant>.timers`            moments a conversation is looked at again (a snooze
                                         ends; stream TIMERS, work-queue retention, durable
                                         consumer `timers`, held back by nak delays until due)

Key-value buckets: KNOWLEDGE_HEADS (a tenant's published knowledge version, key = tenant) and
PRESENCE (operators' presence, key = `<tenant>.<operator>`).

Every queue consumer retries the same way (`Redelivery`): a failed message is redelivered
after a delay that doubles up to a ceiling, a fixed number of times in all; the last
failure is final (the consumer records it, tells whoever waits, and terms the message).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import nats
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from frontdesk import logs
from frontdesk.settings import Settings

log = logs.get("frontdesk.bus")

JOBS_STREAM = "JOBS"
EVENTS_STREAM = "EVENTS"
SPEECH_STREAM = "SPEECH"
KNOWLEDGE_STREAM = "KNOWLEDGE"
TIMERS_STREAM = "TIMERS"
TIMERS_CONSUMER = "timers"
KNOWLEDGE_CONSUMER = "ingest"
LEGACY_SPEECH_CONSUMER = "speech"  # the single all-tenant consumer of earlier versions
KNOWLEDGE_HEADS = "KNOWLEDGE_HEADS"  # KV bucket: one key per tenant, the published version
PRESENCE = "PRESENCE"  # KV bucket: one key per operator, `<tenant>.<operator>` (conversation/presence.py)
PRESENCE_SEEN_EVERY_S = 30.0  # the gateway refreshes a record this often while the operator's inbox is open
PRESENCE_STALE_AFTER_S = 90.0  # an online record not refreshed for this long counts as offline
ASSIGN_CONSUMER = "assign"  # durable consumer of handoffs on EVENTS (conversation/worker.py)
LEGACY_CONSUMER = "inference"
DUPLICATE_WINDOW_S = 120.0  # Nats-Msg-Id dedupe: a re-published job within this window is dropped


def jobs_subject(tenant_id: str) -> str:
    return f"frontdesk.{tenant_id}.jobs"


def ready_subject(tenant_id: str) -> str:
    """Doorbell rung after a job of the tenant is queued ('*' to hear every tenant's)."""
    return f"frontdesk.{tenant_id}.ready"


def tenant_consumer(tenant_id: str) -> str:
    """The durable JOBS consumer that hands out one tenant's jobs."""
    return f"jobs_{tenant_id}"


def conversation_subject(tenant_id: str, conversation_id: str) -> str:
    return f"frontdesk.{tenant_id}.conv.{conversation_id}"


def events_subject(tenant_id: str, kind: str) -> str:
    return f"frontdesk.{tenant_id}.events.{kind}"


def ingest_subject(tenant_id: str) -> str:
    """Knowledge-base ingestion jobs of a tenant ('*' for every tenant's)."""
    return f"frontdesk.{tenant_id}.kb.ingest"


def kb_changed_subject(tenant_id: str) -> str:
    """Announces a newly published knowledge-base version ('*' for every tenant's)."""
    return f"frontdesk.{tenant_id}.kb.changed"


def speech_subject(tenant_id: str) -> str:
    """Transcription jobs of a tenant ('*' for every tenant's)."""
    return f"frontdesk.{tenant_id}.speech"


def speech_ready_subject(tenant_id: str) -> str:
    """Doorbell rung after a transcription job of the tenant is queued ('*' for every tenant's)."""
    return f"frontdesk.{tenant_id}.speech_ready"


def speech_consumer(tenant_id: str) -> str:
    """The durable SPEECH consumer that hands out one tenant's transcription jobs."""
    return f"speech_{tenant_id}"


def timers_subject(tenant_id: str) -> str:
    return f"frontdesk.{tenant_id}.timers"


def presence_key(tenant_id: str, operator_id: str) -> str:
    return f"{tenant_id}.{operator_id}"


def tenant_of(subject: str) -> str:
    """The tenant a subject belongs to (second token)."""
    parts = subject.split(".")
    if len(parts) < 3 or parts[0] != "frontdesk":
        raise ValueError(f"not a frontdesk subject: {subject}")
    return parts[1]


@dataclass(frozen=True)
class Redelivery:
    """The one retry policy of every queue consumer (AI jobs, ingestion, transcription).

    A message that failed is nak'ed with `delay_s(deliveries)`: 2, 4, 8 ... seconds, at most
    `max_delay_s` (a rate-limited API that said when to come back is waited for longer, up
    to five minutes). After `max_deliver` deliveries in all the failure is final: JetStream
    itself stops redelivering (the consumer is created with the same max_deliver), so a
    message that always fails cannot loop forever even if its consumer dies mid-way."""

    max_deliver: int = 4
    max_delay_s: float = 30.0

    def delay_s(self, deliveries: int, retry_after_s: float = 0.0) -> float:
        delay = float(min(2 ** max(deliveries, 1), self.max_delay_s))
        if retry_after_s:
            delay = min(max(delay, retry_after_s), 300.0)
        return delay

    def is_final(self, deliveries: int) -> bool:
        return deliveries >= self.max_deliver

    def consumer(self, ack_wait_s: float, **options) -> ConsumerConfig:
        """The durable consumer's config: explicit acks, this policy's max_deliver."""
        return ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT, ack_wait=ack_wait_s, max_deliver=self.max_deliver, **options
        )


async def connect(settings: Settings, name: str) -> Client:
    async def on_error(err: Exception) -> None:
        log.warning("nats.error", client=name, error=f"{type(err).__name__}: {err}")

    async def on_disconnect() -> None:
        log.warning("nats.disconnected", client=name)

    async def on_reconnect() -> None:
        log.info("nats.reconnected", client=name)

    return await nats.connect(
        servers=settings.nats_servers,
        name=name,
        max_reconnect_attempts=-1,  # ride out a nats-server restart
        reconnect_time_wait=0.5,
        connect_timeout=5,
        error_cb=on_error,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
    )


async def ensure_streams(js: JetStreamContext, settings: Settings) -> None:
    """Create or update the streams and the inference consumer (idempotent)."""
    streams = [
        StreamConfig(
            name=JOBS_STREAM,
            subjects=["frontdesk.*.jobs"],
            retention=RetentionPolicy.WORK_QUEUE,  # a job is gone once a worker acks it
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_S,
            max_msgs_per_subject=1_000_000,
            discard=DiscardPolicy.NEW,  # a full queue refuses new jobs instead of dropping old ones
        ),
        StreamConfig(
            name=EVENTS_STREAM,
            subjects=["frontdesk.*.events.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_S,
            max_age=7 * 24 * 3600.0,
        ),
    ]
    streams.append(
        StreamConfig(
            name=SPEECH_STREAM,
            subjects=["frontdesk.*.speech"],
            retention=RetentionPolicy.WORK_QUEUE,  # transcription jobs (speech/service.py)
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_S,
            discard=DiscardPolicy.NEW,
        )
    )
    streams.append(
        StreamConfig(
            name=KNOWLEDGE_STREAM,
            subjects=[ingest_subject("*")],
            retention=RetentionPolicy.WORK_QUEUE,  # ingestion jobs (inference/ingestion.py)
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_S,  # Nats-Msg-Id = job id
            discard=DiscardPolicy.NEW,
        )
    )
    streams.append(
        StreamConfig(
            name=TIMERS_STREAM,
            subjects=[timers_subject("*")],
            retention=RetentionPolicy.WORK_QUEUE,  # conversation/worker.py
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_S,
            discard=DiscardPolicy.NEW,
        )
    )
    for config in streams:
        config.num_replicas = settings.stream_replicas  # 3 on a NATS cluster: a node may fail
        try:
            await js.stream_info(str(config.name))
            await js.update_stream(config)
        except NotFoundError:
            await js.add_stream(config)
    # jobs and transcriptions are read through one consumer per tenant (frontdesk/fair.py);
    # a work-queue stream allows no overlapping consumer, so the single all-tenant one of
    # earlier versions is removed
    for stream, legacy in ((JOBS_STREAM, LEGACY_CONSUMER), (SPEECH_STREAM, LEGACY_SPEECH_CONSUMER)):
        try:
            await js.delete_consumer(stream, legacy)
        except NotFoundError:
            pass


async def knowledge_heads(js: JetStreamContext, settings: Settings):
    """The KV bucket of published knowledge-base versions (key = tenant id), created on
    first use; writers compare-and-set it (inference/kbshare.py)."""
    from nats.js.api import KeyValueConfig
    from nats.js.errors import BucketNotFoundError

    try:
        return await js.key_value(KNOWLEDGE_HEADS)
    except (BucketNotFoundError, NotFoundError):
        return await js.create_key_value(
            KeyValueConfig(
                bucket=KNOWLEDGE_HEADS, history=1, storage=StorageType.FILE, replicas=settings.stream_replicas
            )
        )


async def work_through(
    js: JetStreamContext,
    subject: str,
    *,
    durable: str,
    stream: str,
    handle: Callable[[object], Awaitable[None]],
    stop: asyncio.Event,
    config=None,
) -> None:
    """A worker's loop over a durable work-queue consumer, one message at a time, until
    `stop`: idle fetches time out quietly, a NATS outage is waited out, and the pull
    subscription is closed at the end (an open pull request would hold up the
    connection's drain). `handle` acks, naks or terms each message."""
    sub = await js.pull_subscribe(subject, durable=durable, stream=stream, config=config)
    try:
        while not stop.is_set():
            try:
                msgs = await sub.fetch(1, timeout=1)
            except nats.errors.TimeoutError:
                continue
            except Exception as err:  # noqa: BLE001 - NATS restarting: nothing is lost meanwhile
                log.warning("bus.fetch_failed", durable=durable, error=str(err))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
                continue
            for msg in msgs:
                await handle(msg)
    finally:
        await sub.unsubscribe()


async def presence_bucket(js: JetStreamContext, settings: Settings):
    """The KV bucket of operators' presence, created on first use (conversation/presence.py)."""
    from nats.js.api import KeyValueConfig
    from nats.js.errors import BucketNotFoundError

    try:
        return await js.key_value(PRESENCE)
    except (BucketNotFoundError, NotFoundError):
        return await js.create_key_value(
            KeyValueConfig(bucket=PRESENCE, history=1, storage=StorageType.FILE, replicas=settings.stream_replicas)
        )
