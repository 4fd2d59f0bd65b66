"""Fair scheduling of queued work across tenants: AI jobs (inference/worker.py) and
transcriptions (speech/worker.py).

Each tenant's messages of a work-queue stream (`frontdesk.<tenant>.jobs`, `...speech`) are
read through a durable consumer of its own (created on first use, removed by the server
after an idle hour), and a worker takes tenants in turn: one message from each tenant that
has work, round and round. So a tenant that queues ten thousand questions (or a hundred
recordings) gets one turn per round like everyone else, instead of everyone waiting behind
its burst in one FIFO. A per-tenant cap on work in progress (per worker) keeps one tenant
from holding every slot while others wait; a tenant alone may use them all.

A worker learns where work is from a doorbell (`frontdesk.<tenant>.ready`, rung after each
message is published) and from a rescan of the stream's per-subject counts every second
(redeliveries, retries after a delay, missed doorbells).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from nats.js.errors import BadRequestError
from prometheus_client import Gauge

from frontdesk import bus, logs

log = logs.get("frontdesk.fair")

RESCAN_EVERY_S = 1.0
CONSUMER_IDLE_S = 3600.0


@dataclass(frozen=True)
class Queue:
    """One work-queue stream read tenant by tenant."""

    stream: str
    subject: Callable[[str], str]  # a tenant's subject ('*': every tenant's)
    consumer: Callable[[str], str]  # the durable consumer of a tenant's messages
    doorbell: Callable[[str], str]  # rung (core NATS) after a tenant's message is queued
    redelivery: bus.Redelivery
    ack_wait_s: float
    cap: int  # a tenant's messages in progress at once (per worker) while others wait
    queued: Gauge | None = None  # set to the stream's depth at each rescan


class TenantQueues:
    def __init__(self, nc: Client, js: JetStreamContext, queue: Queue):
        self.nc = nc
        self.js = js
        self.queue = queue
        self.active: dict[str, None] = {}  # tenants that may have work ready, in round-robin order
        self.running: Counter[str] = Counter()
        self._consumers: set[str] = set()
        self._wakeup = asyncio.Event()
        self._last_scan = 0.0
        self._doorbell: Subscription | None = None
        self._inbox = ""
        self._inbox_sub: Subscription | None = None
        self._replies: asyncio.Queue[Msg] = asyncio.Queue()
        self._pulls = 0

    async def start(self) -> None:
        self._doorbell = await self.nc.subscribe(self.queue.doorbell("*"), cb=self._on_ready)
        # one reply inbox for all pulls (they are made one at a time); a pulled message keeps
        # its stream subject, which the client's shared request mux cannot route
        self._inbox = self.nc.new_inbox()
        self._inbox_sub = await self.nc.subscribe(f"{self._inbox}.*", cb=self._on_reply)
        await self.rescan()

    async def close(self) -> None:
        for sub in (self._doorbell, self._inbox_sub):
            if sub is not None:
                await sub.unsubscribe()

    async def _on_reply(self, msg: Msg) -> None:
        self._replies.put_nowait(msg)

    async def _on_ready(self, msg: Msg) -> None:
        try:
            self.active.setdefault(bus.tenant_of(msg.subject), None)
        except ValueError:
            return
        self._wakeup.set()

    async def rescan(self) -> None:
        self._last_scan = time.monotonic()
        try:
            info = await self.js.stream_info(self.queue.stream, subjects_filter=self.queue.subject("*"))
        except Exception as err:  # noqa: BLE001 - NATS away: the next scan tries again
            log.warning("fair.rescan_failed", error=str(err))
            return
        if self.queue.queued is not None:
            self.queue.queued.set(info.state.messages or 0)
        for subject, count in (info.state.subjects or {}).items():
            if count:
                self.active.setdefault(bus.tenant_of(subject), None)

    async def _ensure_consumer(self, tenant_id: str) -> str:
        name = self.queue.consumer(tenant_id)
        if name not in self._consumers:
            config = self.queue.redelivery.consumer(
                self.queue.ack_wait_s,
                durable_name=name,
                filter_subject=self.queue.subject(tenant_id),
                deliver_policy=DeliverPolicy.ALL,
                max_ack_pending=10_000,
                inactive_threshold=CONSUMER_IDLE_S,
            )
            try:
                await self.js.add_consumer(self.queue.stream, config)
            except BadRequestError:
                pass  # created meanwhile by another worker
            self._consumers.add(name)
        return name

    async def _take_one(self, tenant_id: str) -> Msg | None:
        """A message of this tenant if one is ready now (a no-wait pull: never lingers)."""
        name = await self._ensure_consumer(tenant_id)
        api = f"$JS.API.CONSUMER.MSG.NEXT.{self.queue.stream}.{name}"
        self._pulls += 1
        reply_to = f"{self._inbox}.{self._pulls}"
        await self.nc.publish(api, json.dumps({"batch": 1, "no_wait": True}).encode(), reply=reply_to)
        deadline = time.monotonic() + 2
        while True:
            reply = await asyncio.wait_for(self._replies.get(), max(deadline - time.monotonic(), 0.01))
            status = (reply.headers or {}).get("Status")
            # a message comes on its stream subject: work is work whichever pull asked (the
            # caller reads its tenant from the subject); a status comes to the pull's own
            # reply subject, and a late one of an earlier pull says nothing about this one
            if not status or reply.subject == reply_to:
                break
        if status == "404" and "consumer" in (reply.headers or {}).get("Description", "").lower():
            self._consumers.discard(name)  # removed after being idle: create it again next time
            return None
        if status:
            return None  # 404 no messages / 408 timeout
        return reply

    async def next_job(self, stop: asyncio.Event) -> Msg | None:
        """The next message, taking the tenants with work in turn; None once stop is set."""
        while not stop.is_set():
            if time.monotonic() - self._last_scan > RESCAN_EVERY_S:
                await self.rescan()
            # tenants under their cap first; one at its cap only gets a turn when nobody
            # else has work (the cap shares slots, it must not leave them idle)
            order = sorted(self.active, key=lambda t: self.running[t] >= self.queue.cap)
            for tenant_id in order:
                self.active.pop(tenant_id, None)
                try:
                    msg = await self._take_one(tenant_id)
                except Exception as err:  # noqa: BLE001 - NATS away or slow: back off, rescan
                    log.warning("fair.pull_failed", tenant=tenant_id, error=str(err))
                    await asyncio.sleep(0.2)
                    continue
                if msg is not None:
                    owner = bus.tenant_of(msg.subject)  # a late reply may be another tenant's
                    self.active[tenant_id] = None  # back of the line: others go first next time
                    self.active.setdefault(owner, None)
                    self.running[owner] += 1
                    return msg
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), RESCAN_EVERY_S)
            except TimeoutError:
                pass
        return None

    def done(self, tenant_id: str) -> None:
        self.running[tenant_id] -= 1
        if self.running[tenant_id] <= 0:
            del self.running[tenant_id]
        self.active.setdefault(tenant_id, None)  # it may have more; a probe is cheap
        self._wakeup.set()
