"""Process entry point of the conversation service."""

from __future__ import annotations

import asyncio
import contextlib
import time

from conversation.attachments import Attachments
from conversation.idle import TenantIdleTimes
from conversation.presence import Assigner, PresenceBook
from conversation.service import ConversationCore
from conversation.servicer import ConversationServicer
from conversation.worker import AssignmentWorker, TimerWorker, sweep_presence_forever
from frontdesk import bus, busmetrics, grpcutil, logs, metrics, stores
from frontdesk.caller import CallerCodec
from frontdesk.publish import Publisher
from frontdesk.settings import Settings
from frontdesk_pb.conversation.v1 import conversation_pb2, conversation_pb2_grpc

log = logs.get("conversation")
SERVICE_NAME = conversation_pb2.DESCRIPTOR.services_by_name["ConversationService"].full_name


OUTBOX_GRACE_MS = 5_000  # an entry younger than this is probably being published right now
SWEEP_EVERY_S = 2.0


async def sweep_outbox_forever(core: ConversationCore, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await core.sweep_outbox(int(time.time() * 1000) - OUTBOX_GRACE_MS)
        except Exception as err:  # noqa: BLE001 - a failed sweep is retried on the next tick
            log.warning("outbox.sweep_failed", error=str(err))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), SWEEP_EVERY_S)


async def serve(settings: Settings) -> None:
    metrics.serve(settings.metrics_port, settings.host)
    store = stores.open_log_store(settings)
    nc = await bus.connect(settings, "conversation")
    js = nc.jetstream()
    await bus.ensure_streams(js, settings)
    publisher = Publisher(nc, js)
    blobs = stores.open_blob_store(settings)
    await blobs.start()
    assigner = Assigner(store, publisher, PresenceBook(await bus.presence_bucket(js, settings)))
    accounts = stores.open_account_store(settings)  # each tenant's auto-resolve time
    core = ConversationCore(
        store,
        publisher,
        settings.max_message_chars,
        Attachments(blobs, settings.max_attachment_bytes),
        assigner,
        TenantIdleTimes(accounts),
    )
    server = grpcutil.Server([SERVICE_NAME])
    conversation_pb2_grpc.add_ConversationServiceServicer_to_server(
        ConversationServicer(core, CallerCodec(settings.secret_bytes())), server.grpc
    )
    port = server.bind(settings.host, settings.conversation_port)
    stop = grpcutil.stop_event()
    await server.start()
    sweeper = asyncio.create_task(sweep_outbox_forever(core, stop))
    assigning = asyncio.create_task(AssignmentWorker(js, assigner).run(stop))
    presence_sweeper = asyncio.create_task(sweep_presence_forever(assigner, stop))
    timers = asyncio.create_task(TimerWorker(js, core.on_timer).run(stop))
    # queue depth and lag on /metrics (Grafana's queue panels, alerts on a growing backlog)
    watcher = asyncio.create_task(busmetrics.watch(js, (bus.JOBS_STREAM, bus.EVENTS_STREAM, bus.SPEECH_STREAM), stop))
    log.info("conversation.serving", address=f"{settings.host}:{port}")
    await stop.wait()
    log.info("conversation.stopping")
    await sweeper
    await assigning
    await presence_sweeper
    await timers
    await watcher
    await server.stop()
    await core.outbox.flush()
    await publisher.flush()
    await nc.drain()
    await store.close()
    await accounts.close()
    await blobs.close()
