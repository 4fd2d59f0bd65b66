"""The queue consumers of an inference worker, both on the shared retry policy
(frontdesk.bus.Redelivery):

- `Worker`: AI jobs, tenants in turn (frontdesk/fair.py), a bounded number at a time, each
  answered by the Answerer (inference/service.py) and acked only after its reply is stored;
  the last delivery hands the conversation to a human instead of leaving it waiting.
- `IngestionWorker`: knowledge-base ingestion jobs (inference/ingestion.py has the jobs, what
  an upload becomes, and how it is applied), with progress, applied once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from nats.js import JetStreamContext

from frontdesk import bus, logs, metrics, tracing
from frontdesk.fair import Queue, TenantQueues
from frontdesk.publish import Publisher
from frontdesk.settings import Settings
from frontdesk.stores.base import ConversationGone, LogStore
from frontdesk_pb.inference.v1 import inference_pb2
from inference.backends.base import Backend, BackendError
from inference.grounding import Grounding
from inference.ingestion import (
    DONE,
    FAILED,
    MAX_ERRORS_KEPT,
    PROGRESS_EVERY_S,
    RUNNING,
    TRAINING,
    IngestionJobs,
    JobRecord,
    apply,
    plan,
)
from inference.kbshare import KnowledgeShare
from inference.knowledge import KnowledgeError
from inference.service import Answerer
from inference.tenants import BackendPool, TenantConfigs

log = logs.get("inference.worker")
ingestion_log = logs.get("inference.ingestion")


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
        queues = TenantQueues(
            self.pub.nc,
            self.js,
            Queue(
                stream=bus.JOBS_STREAM,
                subject=bus.jobs_subject,
                consumer=bus.tenant_consumer,
                doorbell=bus.ready_subject,
                redelivery=self.redelivery,
                ack_wait_s=self.settings.job_ack_wait_s,
                cap=self.settings.max_jobs_per_tenant,
                queued=metrics.JOBS_QUEUED,
            ),
        )
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
        except ConversationGone:  # erased while it was being answered: nothing to answer any more
            log.info("job.conversation_gone", tenant=tenant_id, job=job.job_id)
            metrics.JOBS.labels("conversation_gone").inc()
            await msg.ack()
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


class IngestionWorker:
    """Pulls ingestion jobs of every tenant (one at a time per process: embedding uses the
    cores) and applies them to the shared knowledge base."""

    def __init__(
        self,
        share: KnowledgeShare,
        jobs: IngestionJobs,
        js,
        *,
        ack_wait_s: float = 60.0,
        max_deliver: int = 4,
        crash_after=None,
    ):
        self.share = share
        self.jobs = jobs
        self.js = js
        self.ack_wait_s = ack_wait_s
        self.redelivery = bus.Redelivery(max_deliver=max_deliver)
        self._crash_after = crash_after  # tests: a callable(items done) that may raise to "die" mid-job

    async def run(self, stop: asyncio.Event) -> None:
        config = self.redelivery.consumer(self.ack_wait_s)
        await bus.work_through(
            self.js,
            bus.ingest_subject("*"),
            durable=bus.KNOWLEDGE_CONSUMER,
            stream=bus.KNOWLEDGE_STREAM,
            handle=self.handle,
            stop=stop,
            config=config,
        )

    async def handle(self, msg) -> None:
        tenant_id = bus.tenant_of(msg.subject)
        try:
            job_id = json.loads(msg.data)["job_id"]
        except (ValueError, KeyError, TypeError):
            await msg.term()
            return
        delivered = msg.metadata.num_delivered if msg.metadata else 1
        record = None
        try:
            record = await self.jobs.get(tenant_id, job_id)
            if record is None or record.state in (DONE, FAILED):
                await msg.ack()
                return
            await self._process(tenant_id, record, msg, delivered)
        except KnowledgeError as err:
            await self._finish(tenant_id, record, FAILED, f"{record.filename if record else job_id}: {err}")
            await msg.ack()
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - store or NATS trouble: a later delivery may succeed
            ingestion_log.warning("ingestion.retry", tenant=tenant_id, job=job_id, delivery=delivered, error=str(err))
            if self.redelivery.is_final(delivered):
                try:
                    await self._finish(tenant_id, record, FAILED, f"ingestion failed: {err}")
                except Exception as finish_err:  # noqa: BLE001 - the job ends anyway; its record may stay stale
                    ingestion_log.warning(
                        "ingestion.finish_failed", tenant=tenant_id, job=job_id, error=str(finish_err)
                    )
                await msg.term()
            else:
                await msg.nak(delay=self.redelivery.delay_s(delivered))

    async def _finish(self, tenant_id: str, record: JobRecord | None, state: str, error: str = "") -> None:
        if record is None:
            return
        record.state, record.error = state, error
        await self.jobs.save(tenant_id, record)
        ingestion_log.info(
            "ingestion.finished",
            tenant=tenant_id,
            job=record.id,
            state=state,
            done=record.done,
            total=record.total,
            rejected=record.rejected,
            error=error or None,
        )

    async def _process(self, tenant_id: str, record: JobRecord, msg, delivered: int) -> None:
        head = await self.share.head(tenant_id)
        if head is not None and record.id in head.jobs:  # published before a crash: only the record is behind
            record.done, record.version = record.total, head.version
            await self._finish(tenant_id, record, DONE)
            await msg.ack()
            return
        record.state, record.deliveries, record.done, record.error = RUNNING, delivered, 0, ""
        data = b"".join([c async for c in self.share.blobs.get(tenant_id, record.upload)])
        work = await self.share.work(tenant_id, plan, record, data)
        record.total = work.total
        record.rejected = len(work.errors)
        record.errors = work.errors[:MAX_ERRORS_KEPT]
        await self.jobs.save(tenant_id, record)
        if not work.total:  # every line was rejected: nothing to publish
            await self._finish(tenant_id, record, DONE)
            await msg.ack()
            return

        loop = asyncio.get_running_loop()
        done = [0]
        crash = self._crash_after

        def progress(items: int) -> None:
            done[0] = items
            if crash is not None:
                crash(items)

        saving: list[asyncio.Task] = []
        save_lock = asyncio.Lock()  # one record save at a time: a report never lands after "training"

        async def save_training() -> None:
            async with save_lock:
                await self.jobs.save(tenant_id, record)

        def stage(name: str) -> None:
            if name == "training":
                record.state, record.done = TRAINING, done[0]
                saving.append(loop.create_task(save_training()))

        async def report() -> None:
            saved, beat = 0, time.monotonic()
            while True:
                await asyncio.sleep(PROGRESS_EVERY_S)
                async with save_lock:
                    if done[0] != saved and record.state == RUNNING:
                        saved = record.done = done[0]
                        await self.jobs.save(tenant_id, record)
                if time.monotonic() - beat >= self.ack_wait_s / 3:
                    await msg.in_progress()
                    beat = time.monotonic()

        reporter = loop.create_task(report())
        try:
            _, published = await self.share.write(
                tenant_id, lambda kb: apply(kb, work, progress), job_id=record.id, stage=stage
            )
        finally:
            reporter.cancel()
            # the reporter only reports progress: how it ended changes nothing here
            await asyncio.gather(reporter, return_exceptions=True)
            for task in saving:  # the "training" record is saved before "done" overwrites it
                try:
                    await task
                except Exception as err:  # noqa: BLE001 - only a progress report
                    ingestion_log.info("ingestion.progress_not_saved", tenant=tenant_id, job=record.id, error=str(err))
        record.done = record.total
        record.version = published.version if published else 0
        await self._finish(tenant_id, record, DONE)
        await msg.ack()
