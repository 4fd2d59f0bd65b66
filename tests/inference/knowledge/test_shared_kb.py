"""The knowledge base shared by every worker (inference/kbshare.py) and ingestion as a job
(inference/ingestion.py), against a real nats-server with JetStream and both blob stores:
the embedded directory and a real MinIO (tools/servers/s3/run.py). Two "workers" here are
two KnowledgeShare objects with caches of their own, as two processes would have."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nats
import pytest
from minio import Minio

from frontdesk import bus
from frontdesk.settings import Settings
from frontdesk.stores.localblob import LocalBlobStore
from frontdesk.stores.s3blob import MinioBlobStore
from inference import ingestion
from inference.ingestion import IngestionJobs
from inference.kbshare import HEAD_COPY, KnowledgeShare
from inference.knowledge import FaqEntry
from inference.knowledge import index as kb_index
from inference.worker import IngestionWorker
from tests.inference.knowledge import FAQ

ROOT = Path(__file__).resolve().parents[3]
A = "t_01aaaaaaaaaaaaaaaaaaaaaaaa"
B = "t_01bbbbbbbbbbbbbbbbbbbbbbbb"


def _s3run():
    spec = importlib.util.spec_from_file_location(
        "frontdesk_tools_s3_run_kb", ROOT / "tools" / "servers" / "s3" / "run.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


s3run = _s3run()
pytestmark = pytest.mark.timeout(300 if (s3run.default_install_dir() / "installed.json").is_file() else 1500)


@pytest.fixture(scope="module")
def minio_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("minio")
    srv = s3run.start(data / "data")
    yield srv
    srv.stop()
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(params=["embedded", "minio"])
async def blobs(request, tmp_path):
    if request.param == "embedded":
        yield LocalBlobStore(tmp_path / "blobs")
        return
    srv = request.getfixturevalue("minio_server")
    store = MinioBlobStore(
        srv.endpoint, srv.access_key, srv.secret_key, f"fd-kb-{uuid.uuid4().hex[:16]}", region=srv.region
    )
    await store.start()
    store.server = srv
    yield store
    await store.close()


def object_names(blobs) -> list[str]:
    if isinstance(blobs, LocalBlobStore):
        return sorted(str(p.relative_to(blobs._root)) for p in blobs._root.rglob("*") if p.is_file())
    srv = blobs.server
    client = Minio(srv.endpoint, access_key=srv.access_key, secret_key=srv.secret_key, secure=False, region=srv.region)
    return sorted(o.object_name for o in client.list_objects(blobs.bucket, recursive=True))


@pytest.fixture
async def js(nats_server):
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await bus.ensure_streams(js, Settings())
    nc.js = js
    yield nc
    await nc.close()


@pytest.fixture
async def workers(js, blobs, tmp_path):
    """make(name) -> a KnowledgeShare with its own cache dir, on the shared stores."""
    made: list[tuple[KnowledgeShare, ThreadPoolExecutor]] = []
    heads = await bus.knowledge_heads(js.js, Settings())

    def make(name: str, nc=js, check_interval_s: float = 1.0) -> KnowledgeShare:
        executor = ThreadPoolExecutor(max_workers=1)
        share = KnowledgeShare(blobs, heads, tmp_path / f"cache-{name}", executor, nc, check_interval_s)
        made.append((share, executor))
        return share

    make.heads = heads
    yield make
    for share, executor in made:
        await share.close()
        executor.shutdown(wait=True)


async def until(predicate, timeout_s: float = 30):
    """Wait for a condition (not a timing assertion: only a bound on a hang)."""

    async def poll():
        while not await predicate():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout_s)


# -- the shared knowledge base ---------------------------------------------------------------
async def test_what_one_worker_publishes_another_loads_without_embedding_again(workers, blobs, monkeypatch):
    a, b = workers("a"), workers("b", nc=None, check_interval_s=0)
    _, head = await a.write(A, lambda kb: kb.upsert_faq(FAQ))
    assert head.version == 1

    def no_embedding(*args, **kwargs):
        raise AssertionError("the snapshot carries the embeddings: nothing is embedded again")

    monkeypatch.setattr(kb_index.embedding, "embed", no_embedding)
    kb_b = await b.sync(A)
    monkeypatch.undo()
    assert kb_b.shared_version == 1 and {e.id for e in kb_b.entries()} == {e.id for e in FAQ}
    assert kb_b.search("I forgot my password", 1)[0].entry_id == "reset-password"
    # everything it stored is under tenant A's prefix: the snapshot and the head's copy
    names = object_names(blobs)
    assert names and all(n.startswith(f"tenant/{A}/kb/") for n in names)
    assert f"tenant/{A}/{HEAD_COPY}" in names
    # tenant B has no knowledge base at all
    assert await b.head(B) is None and len(await b.sync(B)) == 0


async def test_a_worker_hears_the_notice_and_one_that_missed_it_checks_on_use(workers):
    a, listener, deaf = workers("a"), workers("listener"), workers("deaf", nc=None, check_interval_s=0)
    await listener.listen()
    await a.write(A, lambda kb: kb.upsert_faq(FAQ[:2]))
    assert len(await listener.sync(A)) == 2 and len(await deaf.sync(A)) == 2
    await a.write(A, lambda kb: kb.upsert_faq(FAQ[2:]))
    # the listener catches up on the notice, without being asked
    await until(lambda: asyncio.sleep(0, listener.kb(A).shared_version == 2))
    assert len(listener.kb(A)) == len(FAQ)
    # the deaf one still holds version 1 until it uses the knowledge base
    assert deaf.kb(A).shared_version == 1
    assert (await deaf.sync(A)).shared_version == 2 and len(deaf.kb(A)) == len(FAQ)


async def test_two_workers_writing_at_once_lose_no_change(workers, blobs):
    a, b, reader = workers("a"), workers("b"), workers("reader", nc=None, check_interval_s=0)
    await a.write(A, lambda kb: kb.upsert_faq(FAQ[:1]))
    await asyncio.gather(
        a.write(A, lambda kb: kb.upsert_faq(FAQ[1:3])),
        b.write(A, lambda kb: kb.upsert_faq(FAQ[3:])),
        b.write(A, lambda kb: kb.delete(FAQ[0].id)),
    )
    kb = await reader.sync(A)
    assert kb.shared_version == 4
    assert {e.id for e in kb.entries()} == {e.id for e in FAQ[1:]}
    # two snapshots are kept (the head's and the one before), older ones are deleted
    snapshots = [n for n in object_names(blobs) if "/kb/snapshots/" in n]
    assert len(snapshots) == 2


async def test_the_head_is_rebuilt_from_its_copy_in_the_blob_store(workers):
    a = workers("a")
    await a.write(A, lambda kb: kb.upsert_faq(FAQ[:2]))
    await workers.heads.purge(A)  # NATS lost the bucket's key
    fresh = workers("fresh", nc=None, check_interval_s=0)
    assert (await fresh.sync(A)).shared_version == 1 and len(fresh.kb(A)) == 2
    _, head = await a.write(A, lambda kb: kb.upsert_faq(FAQ[2:3]))
    assert head.version == 2 and head.revision > 0
    assert (await fresh.sync(A)).shared_version == 2 and len(fresh.kb(A)) == 3


# -- ingestion jobs --------------------------------------------------------------------------
def jsonl(n: int, bad_lines: tuple[int, ...] = ()) -> bytes:
    lines = []
    for i in range(1, n + 1):
        if i in bad_lines:
            lines.append('{"id": "broken", "question": ' if i % 2 else "not json at all")
        else:
            lines.append(
                json.dumps(
                    {
                        "id": f"q{i}",
                        "question": f"Question number {i} about topic {i % 17}?",
                        "answer": f"Answer {i}.",
                        "examples": [f"topic {i} phrasing"],
                    }
                )
            )
    return "\n".join(lines).encode()


async def test_an_ingestion_job_reports_progress_and_rejected_lines_and_finishes_once(js, workers):
    share = workers("worker")
    jobs = IngestionJobs(share.blobs)
    data = jsonl(1300, bad_lines=(7, 700))
    record = await jobs.submit(js.js, A, "big.jsonl", "application/x-ndjson", data)
    assert (record.state, record.done) == ("queued", 0)
    assert (await jobs.get(A, record.id)).state == "queued"
    seen = []
    saved = []  # every state the worker recorded, in order (not only those the poll below saw)
    save = jobs.save

    async def recording_save(tenant_id, rec):
        saved.append((rec.state, rec.done))
        await save(tenant_id, rec)

    jobs.save = recording_save
    stop = asyncio.Event()
    worker = IngestionWorker(share, jobs, js.js, ack_wait_s=30)
    task = asyncio.create_task(worker.run(stop))

    async def finished():
        rec = await jobs.get(A, record.id)
        seen.append((rec.state, rec.done, rec.total))
        return rec.state in ("done", "failed")

    await until(finished, 120)
    stop.set()
    await task
    final = await jobs.get(A, record.id)
    assert (final.state, final.done, final.total, final.error) == ("done", 1298, 1298, "")
    assert [line for line, _ in final.errors] == [7, 700] and final.rejected == 2
    order = {"queued": 0, "running": 1, "training": 2, "done": 3}
    assert [order[s] for s, _, _ in seen] == sorted(order[s] for s, _, _ in seen)
    assert [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)
    # the router is trained as part of the job, after every item is applied, and shown as such
    assert [s for s, _ in saved] == sorted((s for s, _ in saved), key=order.get)
    assert ("training", 1298) in saved and saved[-1] == ("done", 1298)
    head = await share.head(A)
    assert head.version == final.version == 1 and head.jobs == (record.id,)
    # the job's records are the tenant's own: another tenant or a made-up id finds nothing
    assert await jobs.get(B, record.id) is None
    assert await jobs.get(A, "ing_" + "0" * 32) is None and await jobs.get(A, "../" + record.id) is None


class Died(BaseException):
    """A worker process dying: nothing acks, naks or records anything after it."""


async def test_a_worker_dying_mid_ingestion_leaves_the_job_to_another_that_applies_it_once(js, workers, monkeypatch):
    monkeypatch.setattr(ingestion, "BATCH_ITEMS", 200)
    jobs = IngestionJobs(workers("x").blobs)
    record = await jobs.submit(js.js, A, "faq.jsonl", "", jsonl(1000))

    def die_midway(done: int) -> None:
        if done >= 400:
            raise Died()

    first = IngestionWorker(workers("first"), jobs, js.js, ack_wait_s=2, crash_after=die_midway)
    with pytest.raises(Died):
        await first.run(asyncio.Event())
    assert (await jobs.get(A, record.id)).state == "running"
    assert await workers("peek").head(A) is None  # nothing was published

    second_share = workers("second")
    stop = asyncio.Event()
    second = asyncio.create_task(IngestionWorker(second_share, jobs, js.js, ack_wait_s=2).run(stop))
    await until(lambda: _state_is(jobs, record.id, "done"), 120)
    stop.set()
    await second
    final = await jobs.get(A, record.id)
    assert (final.done, final.total, final.deliveries) == (1000, 1000, 2)
    head = await second_share.head(A)
    assert head.version == 1 and head.jobs == (record.id,)
    assert len(await workers("reader", nc=None, check_interval_s=0).sync(A)) == 1000


async def test_a_job_redelivered_after_it_was_published_is_not_imported_again(js, workers):
    share = workers("first")
    jobs = IngestionJobs(share.blobs)
    record = await jobs.submit(js.js, A, "faq.jsonl", "", jsonl(50))
    save = jobs.save

    async def die_before_recording_done(tenant_id, rec):
        if rec.state == "done":
            raise Died()
        await save(tenant_id, rec)

    jobs.save = die_before_recording_done
    with pytest.raises(Died):
        await IngestionWorker(share, jobs, js.js, ack_wait_s=2).run(asyncio.Event())
    jobs.save = save
    assert (await share.head(A)).version == 1
    stop = asyncio.Event()
    other = workers("second")
    task = asyncio.create_task(IngestionWorker(other, jobs, js.js, ack_wait_s=2).run(stop))
    await until(lambda: _state_is(jobs, record.id, "done"), 60)
    stop.set()
    await task
    head = await other.head(A)
    assert head.version == 1 and head.jobs == (record.id,)  # applied once
    assert (await jobs.get(A, record.id)).version == 1


async def test_an_unreadable_document_fails_its_job_with_the_reason(js, workers):
    share = workers("worker")
    jobs = IngestionJobs(share.blobs)
    record = await jobs.submit(js.js, A, "scan.pdf", "application/pdf", b"%PDF-1.4\nnot really a pdf\n%%EOF")
    stop = asyncio.Event()
    task = asyncio.create_task(IngestionWorker(share, jobs, js.js).run(stop))
    await until(lambda: _state_is(jobs, record.id, "failed"), 60)
    stop.set()
    await task
    final = await jobs.get(A, record.id)
    assert final.error.startswith("scan.pdf: ") and await share.head(A) is None


async def _state_is(jobs, job_id, state) -> bool:
    rec = await jobs.get(A, job_id)
    return rec is not None and rec.state == state


def test_an_entry_is_kept_apart_from_the_unpublished(tmp_path):
    """load_snapshot replaces the content and only ever raises the generation."""
    from inference.knowledge import KnowledgeBase

    src = KnowledgeBase.open(tmp_path / "src")
    src.upsert_faq(FAQ)
    src.export_snapshot(tmp_path / "snap.db")
    dst = KnowledgeBase.open(tmp_path / "dst")
    dst.upsert_faq([FaqEntry("local-only", "Q?", "A.")])
    before = dst.generation
    dst.load_snapshot(tmp_path / "snap.db", 7)
    assert dst.shared_version == 7 and dst.generation > before
    assert {e.id for e in dst.entries()} == {e.id for e in FAQ}
    src.close()
    dst.close()


async def test_one_tenants_long_knowledge_work_does_not_hold_up_anothers_write(workers, blobs):
    """A tenant whose upload takes long to read (a bad PDF, a huge FAQ) holds one loader thread;
    another tenant's write goes on meanwhile. Order, not time, is what is checked: tenant B's
    write finishes while tenant A's work is still running."""
    share = workers("a")
    started, release = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow_upload() -> str:  # runs in a loader thread until the test lets it go
        loop.call_soon_threadsafe(started.set)
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=120)
        return "read"

    slow = asyncio.create_task(share.work(A, slow_upload))
    await asyncio.wait_for(started.wait(), 30)
    _, head = await asyncio.wait_for(share.write(B, lambda kb: kb.upsert_faq(FAQ[:2])), 120)
    assert head.version == 1 and not slow.done()
    # and the same tenant's next call waits for its first: one at a time per tenant
    second = asyncio.create_task(share.work(A, lambda: "second"))
    await asyncio.sleep(0.2)
    assert not second.done()
    release.set()
    assert await slow == "read" and await second == "second"
