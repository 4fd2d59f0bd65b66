"""The conversation service's queue consumers and sweep: conversations handed to the team are
assigned to an operator who is free (conversation/presence.py), operators no longer seen hand
theirs on, and snoozes end on time (TimerWorker).

Handoffs are read from the EVENTS stream through the durable consumer `assign`. It starts at
the events that come after it was created: it does not assign a deployment's past. Delivery
is at least once, and assigning is idempotent: a conversation that already has an owner, or is
no longer waiting, is left as it is."""

from __future__ import annotations

import asyncio
import contextlib

from google.protobuf.message import DecodeError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from conversation.presence import Assigner
from frontdesk import bus, logs
from frontdesk.clock import now_ms
from frontdesk_pb.conversation.v1 import conversation_pb2
from frontdesk_pb.events.v1 import events_pb2 as ev

log = logs.get("conversation.worker")

HANDOFFS = bus.events_subject("*", "handoff_requested")
SWEEP_EVERY_S = 15.0


class AssignmentWorker:
    def __init__(self, js: JetStreamContext, assigner: Assigner, redelivery: bus.Redelivery | None = None):
        self.js = js
        self.assigner = assigner
        self.redelivery = redelivery or bus.Redelivery()

    async def run(self, stop: asyncio.Event) -> None:
        await bus.work_through(
            self.js,
            HANDOFFS,
            durable=bus.ASSIGN_CONSUMER,
            stream=bus.EVENTS_STREAM,
            handle=self.handle,
            stop=stop,
            config=self.redelivery.consumer(30.0, deliver_policy=DeliverPolicy.NEW, filter_subject=HANDOFFS),
        )

    async def handle(self, msg) -> None:
        try:
            tenant_id = bus.tenant_of(msg.subject)
            event = ev.DomainEvent.FromString(msg.data)
        except (ValueError, DecodeError) as err:
            log.warning("assignment.unreadable", subject=msg.subject, error=str(err))
            await msg.term()
            return
        try:
            await self.assigner.on_handoff(tenant_id, event.conversation_id)
        except Exception as err:  # noqa: BLE001 - the store or NATS away: retried by the one policy
            deliveries = msg.metadata.num_delivered if msg.metadata else 1
            log.warning(
                "assignment.failed",
                tenant=tenant_id,
                conversation=event.conversation_id,
                deliveries=deliveries,
                error=str(err),
            )
            if self.redelivery.is_final(deliveries):
                await msg.term()  # it stays waiting, unassigned: whoever comes online next takes it
            else:
                await msg.nak(delay=self.redelivery.delay_s(deliveries))
            return
        await msg.ack()


class TimerWorker:
    """Snoozes that end, and idle checks (conversation/idle.py). A timer is held back with nak delays until it is due (at most
    HOLD_S at a time, so a consumer restarted meanwhile picks it up within that). It is
    delivered as often as that takes: this consumer has no delivery limit, because a lost
    timer would leave a conversation asleep for good."""

    HOLD_S = 3600.0
    RETRY_S = 5.0

    def __init__(self, js: JetStreamContext, on_timer):
        self.js = js
        self.on_timer = on_timer  # ConversationCore.on_timer(tenant_id, timer)

    async def run(self, stop: asyncio.Event) -> None:
        await bus.work_through(
            self.js,
            bus.timers_subject("*"),
            durable=bus.TIMERS_CONSUMER,
            stream=bus.TIMERS_STREAM,
            handle=self.handle,
            stop=stop,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30.0, max_deliver=-1),
        )

    async def handle(self, msg) -> None:
        try:
            tenant_id = bus.tenant_of(msg.subject)
            timer = conversation_pb2.ConversationTimer.FromString(msg.data)
        except (ValueError, DecodeError) as err:
            log.warning("timer.unreadable", subject=msg.subject, error=str(err))
            await msg.term()
            return
        wait_s = (timer.due_ms - now_ms()) / 1000
        if wait_s > 0:
            await msg.nak(delay=min(wait_s, self.HOLD_S))
            return
        try:
            await self.on_timer(tenant_id, timer)
        except Exception as err:  # noqa: BLE001 - the store away: the timer comes back shortly
            log.warning("timer.failed", tenant=tenant_id, conversation=timer.conversation_id, error=str(err))
            await msg.nak(delay=self.RETRY_S)
            return
        await msg.ack()


async def sweep_presence_forever(assigner: Assigner, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await assigner.sweep()
        except Exception as err:  # noqa: BLE001 - a failed sweep is retried on the next tick
            log.warning("presence.sweep_failed", error=str(err))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), SWEEP_EVERY_S)
