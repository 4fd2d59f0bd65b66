"""The JetStream job loop of an inference worker.

Per job: a reply already stored for it (a redelivery) is re-announced and acked;
otherwise tokens stream to the conversation's live subject, the reply is stored
idempotently (dedupe key `reply:<job id>`), `reply_completed` is published, and only
then is the job acked. Failures are retried with backoff by JetStream redelivery;
the last delivery hands the conversation to a human instead of leaving it waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from frontdesk.clock import now_ts
from nats.js import JetStreamContext

from frontdesk import bus, ids, logs, metrics
from frontdesk.common.v1 import common_pb2 as common
from frontdesk.events.v1 import events_pb2 as ev
from frontdesk.handoff import hand_off
from frontdesk.inference.v1 import inference_pb2
from frontdesk.publish import Publisher
from frontdesk.settings import Settings
from frontdesk.stores.base import LogStore
from inference.backends.base import Backend, ChatTurn, GenerationRequest
from inference.backends.echo import EchoBackend
from inference.fair import TenantQueues
from inference.grounding import Grounding, citations
from inference.pipeline import build_grounded_request, build_request

log = logs.get("inference.worker")


# streams a knowledge-base answer word by word, exactly as written
QUOTE = EchoBackend(model="knowledge-base", prefix="")


def retry_delay_s(deliveries: int) -> float:
    return float(min(2 ** deliveries, 30))


class DeltaBatcher:
    """Streams token deltas without flooding: the first one goes out at once (that is the
    latency a customer feels), later ones are merged while they arrive faster than
    COALESCE_S apart. A fast model sends a few larger deltas; a slow one sends each token."""

    COALESCE_S = 0.04

    def __init__(self, send):
        self._send = send
        self._buffer: list[str] = []
        self._last = 0.0
        self.index = 0
        self.first_at_ms = 0.0

    async def add(self, text: str) -> None:
        self._buffer.append(text)
        now = time.monotonic()
        if self.index == 0:
            self.first_at_ms = time.time() * 1000
        if self.index == 0 or now - self._last >= self.COALESCE_S:
            await self.flush(now)

    async def flush(self, now: float | None = None) -> None:
        if self._buffer:
            text, self._buffer = "".join(self._buffer), []
            await self._send(text, self.index)
            self.index += 1
            self._last = time.monotonic() if now is None else now


class Worker:
    def __init__(self, settings: Settings, store: LogStore, js: JetStreamContext, publisher: Publisher, backend: Backend,
                 grounding: Grounding | None = None):
        self.settings = settings
        self.store = store
        self.js = js
        self.pub = publisher
        self.backend = backend
        self.grounding = grounding
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
        deliveries = msg.metadata.num_delivered
        heartbeat = asyncio.create_task(self._keep_alive(msg))
        try:
            outcome = await self.answer(tenant_id, job)
            await msg.ack()
            metrics.JOBS.labels(outcome).inc()
        except Exception as err:  # noqa: BLE001 - every failure ends in a retry or a handoff
            metrics.JOBS.labels("dead_lettered" if deliveries >= self.settings.job_max_deliver else "retried").inc()
            if deliveries >= self.settings.job_max_deliver:
                log.error("job.dead_lettered", tenant=tenant_id, job=job.job_id, deliveries=deliveries, error=str(err))
                with contextlib.suppress(Exception):
                    await self.dead_letter(tenant_id, job, deliveries, err)
                await msg.term()
            else:
                log.warning("job.retry", tenant=tenant_id, job=job.job_id, deliveries=deliveries, error=str(err))
                await msg.nak(delay=retry_delay_s(deliveries))
        finally:
            heartbeat.cancel()

    async def _keep_alive(self, msg) -> None:
        """Tell JetStream the job is still being worked on, so a long answer is not redelivered."""
        while True:
            await asyncio.sleep(max(self.settings.job_ack_wait_s / 3, 1))
            with contextlib.suppress(Exception):
                await msg.in_progress()

    async def answer(self, tenant_id: str, job: inference_pb2.AiJob) -> str:
        """Answer one job; returns the outcome (answered, duplicate, skipped)."""
        dedupe = f"reply:{job.job_id}"
        existing = await self.store.find_message(tenant_id, job.conversation_id, dedupe_key=dedupe)
        if existing is not None:  # redelivered after the reply was stored: announce again, no second reply
            await self.pub.live(tenant_id, job.conversation_id, message=existing)
            return "duplicate"
        conv = await self.store.get_conversation(tenant_id, job.conversation_id)
        if conv is None or conv.status != common.CONVERSATION_STATUS_AI:
            log.info("job.skipped", tenant=tenant_id, job=job.job_id, reason="no longer handled by the AI")
            return "skipped"
        started = time.monotonic()
        enqueued_ms = job.enqueued_at.ToMilliseconds()
        queue_wait_ms = max(time.time() * 1000 - enqueued_ms, 0.0)
        history, _ = await self.store.list_messages(tenant_id, job.conversation_id, limit=20)
        reply_id = ids.new_id("message", after=job.message_id)
        await self.pub.live(tenant_id, job.conversation_id, typing=ev.Typing(role=common.ROLE_AI, active=True))
        deltas = DeltaBatcher(lambda text, index: self.pub.live(tenant_id, job.conversation_id, token=ev.TokenDelta(
            reply_id=reply_id, in_reply_to=job.message_id, text=text, index=index)))
        cited: list[common.Citation] = []
        author = self.backend.model
        if self.grounding is not None:
            decision = await self.grounding.decide(tenant_id, job.text, history)
            if decision.handoff:
                await hand_off(self.store, self.pub, tenant_id, conv, decision.reason, job.text[:500],
                               dedupe_key=f"handoff:{job.job_id}")
                log.info("reply.handed_off", tenant=tenant_id, conversation=job.conversation_id, job=job.job_id,
                         reason=decision.reason, confidence=round(decision.confidence, 3))
                return "handed_off"
            cited = citations(decision)
            if self.settings.grounded_generation:
                request = build_grounded_request(job.text, decision.passages, self.settings.max_reply_tokens)
                result = await self.backend.generate(request, on_delta=deltas.add)
            else:  # the knowledge base's own words, streamed like a model's
                author = QUOTE.model
                result = await QUOTE.generate(GenerationRequest(turns=(ChatTurn("user", decision.text),),
                                                                max_tokens=10_000), on_delta=deltas.add)
        else:
            request = build_request(history, job.message_id, self.settings.max_reply_tokens)
            result = await self.backend.generate(request, on_delta=deltas.add)
        await deltas.flush()
        first_token_ms = deltas.first_at_ms - enqueued_ms if deltas.first_at_ms else 0.0
        text = result.text.strip()
        if not text:
            raise RuntimeError("the model returned an empty reply")
        reply = common.Message(id=reply_id, conversation_id=job.conversation_id, role=common.ROLE_AI, text=text,
                               created_at=now_ts(), author_id=author, author_name="Assistant",
                               in_reply_to=job.message_id, citations=cited)
        stored, _ = await self.store.append_message(tenant_id, reply, dedupe)
        await self.pub.live(tenant_id, job.conversation_id, message=stored)  # also ends the typing indicator
        total_ms = time.time() * 1000 - enqueued_ms
        await self.pub.domain(tenant_id, job.conversation_id, dedupe, reply_completed=ev.ReplyCompleted(
            reply_id=stored.id, in_reply_to=job.message_id, backend=self.backend.name, model=self.backend.model,
            queue_wait_ms=queue_wait_ms, first_token_ms=first_token_ms, total_ms=total_ms,
            prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens, answered=True,
            cited_ids=[c.source_id for c in cited],
            question=job.text[:500]))
        log.info("reply.stored", tenant=tenant_id, conversation=job.conversation_id, job=job.job_id,
                 tokens=result.completion_tokens, ms=round((time.monotonic() - started) * 1000, 1))
        metrics.QUEUE_WAIT.observe(queue_wait_ms / 1000)
        if first_token_ms:
            metrics.FIRST_TOKEN.observe(first_token_ms / 1000)
        metrics.TOKENS.labels(self.backend.name, self.backend.model).inc(result.completion_tokens)
        metrics.GENERATION_SECONDS.labels(self.backend.name, self.backend.model).inc(result.total_ms / 1000)
        return "answered"

    async def dead_letter(self, tenant_id: str, job: inference_pb2.AiJob, deliveries: int, err: Exception) -> None:
        """The AI could not answer: a person takes over, and the admin sees why."""
        conv = await self.store.get_conversation(tenant_id, job.conversation_id)
        if conv is not None and conv.status == common.CONVERSATION_STATUS_AI:
            await hand_off(self.store, self.pub, tenant_id, conv, "ai_failure", job.text[:500],
                           dedupe_key=f"failed:{job.job_id}")
        await self.pub.domain(tenant_id, job.conversation_id, f"failed:{job.job_id}",
                              job_failed=ev.JobFailed(job_id=job.job_id, deliveries=deliveries, error=str(err)[:500]))
