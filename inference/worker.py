"""The JetStream job loop of an inference worker: tenants' jobs in turn (inference/fair.py),
a bounded number at a time, each answered by the Answerer (inference/service.py) and acked
only after its reply is stored. Failures are retried on the shared policy
(frontdesk.bus.Redelivery); the last delivery hands the conversation to a human instead of
leaving it waiting.
"""

from __future__ import annotations

import asyncio
import contextlib

from nats.js import JetStreamContext

from frontdesk import bus, logs, metrics, tracing
from frontdesk.publish import Publisher
from frontdesk.settings import Settings
from frontdesk.stores.base import LogStore
from frontdesk_pb.inference.v1 import inference_pb2
from inference.backends.base import Backend, BackendError
from inference.fair import TenantQueues
from inference.grounding import Grounding
from inference.service import Answerer
from inference.tenants import BackendPool, TenantConfigs

log = logs.get("inference.worker")


class Worker:
    """Takes jobs and hands each to an Answerer built from the same arguments."""

    def __init__(
        self,
        settings: Settings,
        store: LogStore,
        js: JetStreamContext,
        publisher: Publisher,
        backend: Backend,
        grounding: Grounding | None = None,
        *,
        tenants: TenantConfigs | None = None,
        backends: BackendPool | None = None,
        knowledge: Grounding | None = None,
    ):
        self.settings = settings
        self.js = js
        self.pub = publisher
        self.backend = backend
        self.answerer = Answerer(
            settings, store, publisher, backend, grounding, tenants=tenants, backends=backends, knowledge=knowledge
        )
        self.redelivery = bus.Redelivery(max_deliver=settings.job_max_deliver)
        self.in_flight: set[asyncio.Task] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Take jobs, tenants in turn, until stop is set; then finish (drain) the jobs in hand."""
        queues = TenantQueues(self.pub.nc, self.js, self.settings)
        await queues.start()
        slots = asyncio.Semaphore(self.settings.worker_concurrency)
        log.info("worker.started", backend=self.backend.name, model=self.backend.model)
        while not stop.is_set():
            await slots.acquire()
            msg = await queues.next_job(stop)
            if msg is None:
                slots.release()
                break
            tenant_id = msg.subject.split(".")[1] if msg.subject.count(".") >= 2 else ""
            task = asyncio.create_task(self._handle(msg))
            self.in_flight.add(task)

            def finished(t, tenant_id=tenant_id):
                self.in_flight.discard(t)
                slots.release()
                queues.done(tenant_id)

            task.add_done_callback(finished)
        if self.in_flight:
            log.info("worker.draining", jobs=len(self.in_flight))
            await asyncio.gather(*self.in_flight, return_exceptions=True)
        await queues.close()
        await self.answerer.close()

    async def _handle(self, msg) -> None:
        try:
            tenant_id = bus.tenant_of(msg.subject)
            job = inference_pb2.AiJob.FromString(msg.data)
        except Exception as err:  # noqa: BLE001 - a malformed job can never succeed
            log.error("job.malformed", subject=msg.subject, error=str(err))
            await msg.term()
            return
        if job.tenant_id != tenant_id:
            log.error("job.tenant_mismatch", subject=msg.subject)
            await msg.term()
            return
        # the job continues the trace of the SendMessage that queued it (traceparent header)
        with tracing.consumer_span(
            "inference.job",
            msg.headers,
            **{
                "frontdesk.tenant_id": tenant_id,
                "frontdesk.conversation_id": job.conversation_id,
                "frontdesk.message_id": job.message_id,
                "messaging.message.delivery_count": msg.metadata.num_delivered,
            },
        ) as span:
            await self._run(msg, tenant_id, job, span)

    async def _run(self, msg, tenant_id: str, job, span) -> None:
        deliveries = msg.metadata.num_delivered
        heartbeat = asyncio.create_task(self._keep_alive(msg))
        try:
            outcome = await self.answerer.answer(tenant_id, job)
            await msg.ack()
            metrics.JOBS.labels(outcome).inc()
            span.set_attribute("frontdesk.outcome", outcome)
        except Exception as err:  # noqa: BLE001 - every failure ends in a retry or a handoff
            span.record_exception(err)
            # a permanent backend error (a wrong API key, an unknown model) fails the same way every time
            final = self.redelivery.is_final(deliveries) or (isinstance(err, BackendError) and not err.retryable)
            metrics.JOBS.labels("dead_lettered" if final else "retried").inc()
            if final:
                log.error("job.dead_lettered", tenant=tenant_id, job=job.job_id, deliveries=deliveries, error=str(err))
                with contextlib.suppress(Exception):
                    await self.answerer.dead_letter(tenant_id, job, deliveries, err)
                await msg.term()
            else:
                log.warning("job.retry", tenant=tenant_id, job=job.job_id, deliveries=deliveries, error=str(err))
                # a rate-limited API may have said when to come back
                retry_after = err.retry_after_s if isinstance(err, BackendError) else 0.0
                await msg.nak(delay=self.redelivery.delay_s(deliveries, retry_after or 0.0))
        finally:
            heartbeat.cancel()

    async def _keep_alive(self, msg) -> None:
        """Tell JetStream the job is still being worked on, so a long answer is not redelivered."""
        while True:
            await asyncio.sleep(max(self.settings.job_ack_wait_s / 3, 1))
            with contextlib.suppress(Exception):
                await msg.in_progress()
