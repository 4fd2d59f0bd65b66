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

The consumer is `IngestionWorker` in inference/worker.py. A worker that dies mid-job leaves
it unacked: JetStream redelivers it after `ack_wait` and the next worker starts it again from
the stored upload. The job id in the published head
makes the job apply once: a redelivery of a job that was published (the worker died
between publishing and acking) only marks it done. `GetIngestionJob` reads the job
record; its object name starts with the caller's tenant, so another tenant's job id is
simply not found.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from frontdesk import bus, logs
from frontdesk.stores.base import BlobStore
from inference.knowledge import KnowledgeBase, parse_faq_csv, parse_kb_jsonl
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
