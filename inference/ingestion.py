"""Knowledge-base ingestion as a JetStream job with progress.

    ImportFile ──► blob  tenant/<t>/kb/uploads/<sha256>      (the original, stored once)
               ──► blob  tenant/<t>/kb/jobs/<job id>.json     (state queued)
               ──► JetStream  frontdesk.<t>.kb.ingest          (stream KNOWLEDGE, Nats-Msg-Id = job id)
               ◄── IngestionJob(state=queued)                  at once

    any worker ──► pulls (durable consumer `ingest`), state running, parses the upload,
                   rejected lines with their numbers, applies the entries in batches
                   (done/total saved every PROGRESS_EVERY_S), state training while the
                   answer policy's router is trained on the new content, publishes the
                   new version with its router (inference/kbshare.py, the job id goes
                   into the head), state done, ack.

A worker that dies mid-job leaves it unacked: JetStream redelivers it after `ack_wait` and
the next worker starts it again from the stored upload. The job id in the published head
makes the job apply once: a redelivery of a job that was published (the worker died
between publishing and acking) only marks it done. `GetIngestionJob` reads the job
record; its object name starts with the caller's tenant, so another tenant's job id is
simply not found.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from frontdesk import bus, logs
from frontdesk.stores.base import BlobStore
from inference.kbshare import KnowledgeShare
from inference.knowledge import KnowledgeBase, KnowledgeError, parse_faq_csv, parse_kb_jsonl
from inference.knowledge.documents import check_id, chunk_text, detect_format, extract_text

log = logs.get("inference.ingestion")

JOB_ID_RE = re.compile(r"^ing_[0-9a-f]{32}$")
ENTRY_FILES = (".jsonl", ".csv")
MAX_FILE_BYTES = 20 * 1024 * 1024
PROGRESS_EVERY_S = 0.5
BATCH_ITEMS = 2000  # FAQ entries or document chunks per batch between progress reports
MAX_ERRORS_KEPT = 1000  # rejected lines reported (the count is always exact)
QUEUED, RUNNING, TRAINING, DONE, FAILED = "queued", "running", "training", "done", "failed"
# TRAINING: every item is applied (done == total) and the router is being trained on the new
# content; the version is published (and customers answered from it) right after.


def new_job_id() -> str:
    return f"ing_{secrets.token_hex(16)}"


@dataclass
class JobRecord:
    id: str
    filename: str
    content_type: str
    upload: str  # blob key of the original
    size: int
    sha256: str
    state: str = QUEUED
    total: int = 0
    done: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    rejected: int = 0
    error: str = ""
    version: int = 0  # the knowledge-base version that holds the import
    deliveries: int = 0
    created_ms: int = 0
    updated_ms: int = 0

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, data: bytes) -> JobRecord:
        raw = json.loads(data)
        raw["errors"] = [tuple(e) for e in raw.get("errors", [])]
        return cls(**raw)


def document_id(filename: str) -> str:
    """The entry id of an uploaded document: its file name without the extension."""
    return check_id(Path(filename).stem or "upload")


def check_upload(filename: str, content_type: str, data: bytes) -> None:
    """What can be refused before queueing: KnowledgeError for an unknown format or a
    file name that makes no valid id. Unreadable content fails the job instead."""
    if Path(filename).suffix.lower() in ENTRY_FILES:
        return
    detect_format(filename, content_type, data)
    document_id(filename)


async def _one(data: bytes):
    yield data


class IngestionJobs:
    """Job records in the blob store, `tenant/<tenant>/kb/jobs/<job id>.json`."""

    def __init__(self, blobs: BlobStore):
        self.blobs = blobs

    async def get(self, tenant_id: str, job_id: str) -> JobRecord | None:
        if not JOB_ID_RE.match(job_id):
            return None
        try:
            data = b"".join([c async for c in self.blobs.get(tenant_id, f"kb/jobs/{job_id}.json")])
        except KeyError:
            return None
        return JobRecord.from_json(data)

    async def save(self, tenant_id: str, record: JobRecord) -> None:
        record.updated_ms = int(time.time() * 1000)
        await self.blobs.put(
            tenant_id,
            f"kb/jobs/{record.id}.json",
            _one(record.to_json()),
            content_type="application/json",
            max_bytes=16 * 1024 * 1024,
        )

    async def submit(self, js, tenant_id: str, filename: str, content_type: str, data: bytes) -> JobRecord:
        """Store the upload and the job record, queue the job; returns the queued record."""
        digest = hashlib.sha256(data).hexdigest()
        upload = f"kb/uploads/{digest}"
        await self.blobs.put(
            tenant_id, upload, _one(data), content_type=content_type or "application/octet-stream", max_bytes=len(data)
        )
        now = int(time.time() * 1000)
        record = JobRecord(
            id=new_job_id(),
            filename=filename,
            content_type=content_type,
            upload=upload,
            size=len(data),
            sha256=digest,
            created_ms=now,
        )
        await self.save(tenant_id, record)
        await js.publish(
            bus.ingest_subject(tenant_id),
            json.dumps({"job_id": record.id}).encode(),
            headers={"Nats-Msg-Id": record.id},
            timeout=5,
        )
        log.info("ingestion.queued", tenant=tenant_id, job=record.id, file=filename, bytes=len(data))
        return record


@dataclass
class _Plan:
    faqs: list
    documents: list  # [(DocumentRecord, chunk count)]
    total: int
    errors: list[tuple[int, str]]


def plan(record: JobRecord, data: bytes) -> _Plan:
    """Parse the upload: what to import, how many items (FAQ entries + document chunks),
    and the rejected lines. KnowledgeError when nothing can be read at all."""
    from inference.knowledge import DocumentRecord

    suffix = Path(record.filename).suffix.lower()
    if suffix in ENTRY_FILES:
        text = data.decode("utf-8", "replace")
        report = parse_kb_jsonl(text.splitlines()) if suffix == ".jsonl" else parse_faq_csv(text)
        docs = [(d, len(chunk_text(d.text))) for d in report.documents]
        return _Plan(
            list(report.faqs),
            docs,
            len(report.faqs) + sum(n for _, n in docs),
            [(e.line, e.message) for e in report.errors],
        )
    title, text = extract_text(data, record.filename, record.content_type)
    doc = DocumentRecord(document_id(record.filename), title or record.filename, text, "")
    chunks = len(chunk_text(text))
    return _Plan([], [(doc, chunks)], chunks, [])


def apply(kb: KnowledgeBase, work: _Plan, progress) -> int:
    """Upsert the plan into `kb` in batches, calling progress(items done so far)."""
    done = 0
    progress(0)
    for start in range(0, len(work.faqs), BATCH_ITEMS):
        batch = work.faqs[start : start + BATCH_ITEMS]
        kb.upsert_faq(batch)
        done += len(batch)
        progress(done)
    batch, items = [], 0
    for doc, chunks in work.documents:
        if len(doc.text.strip()) == 0:
            continue
        batch.append(doc)
        items += chunks
        if items >= BATCH_ITEMS:
            kb.upsert_documents(batch)
            done += items
            progress(done)
            batch, items = [], 0
    if batch:
        kb.upsert_documents(batch)
        done += items
        progress(done)
    return done


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
            log.warning("ingestion.retry", tenant=tenant_id, job=job_id, delivery=delivered, error=str(err))
            if self.redelivery.is_final(delivered):
                try:
                    await self._finish(tenant_id, record, FAILED, f"ingestion failed: {err}")
                except Exception as finish_err:  # noqa: BLE001 - the job ends anyway; its record may stay stale
                    log.warning("ingestion.finish_failed", tenant=tenant_id, job=job_id, error=str(finish_err))
                await msg.term()
            else:
                await msg.nak(delay=self.redelivery.delay_s(delivered))

    async def _finish(self, tenant_id: str, record: JobRecord | None, state: str, error: str = "") -> None:
        if record is None:
            return
        record.state, record.error = state, error
        await self.jobs.save(tenant_id, record)
        log.info(
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
        work = await self.share._run(plan, record, data)
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
                    log.info("ingestion.progress_not_saved", tenant=tenant_id, job=record.id, error=str(err))
        record.done = record.total
        record.version = published.version if published else 0
        await self._finish(tenant_id, record, DONE)
        await msg.ack()
