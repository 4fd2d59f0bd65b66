"""The knowledge base shared by every inference worker.

The source of truth of a tenant's knowledge base is in the shared stores, not on any
worker's disk:

- blob store `tenant/<tenant>/kb/snapshots/<version>-<nonce>.db`: the whole knowledge base
  at that version (entries, chunks *and their embeddings*, one SQLite file written by
  `KnowledgeBase.export_snapshot`), so a worker that catches up loads it instead of
  embedding every chunk again;
- blob store `tenant/<tenant>/kb/uploads/<sha256>`: the original files (inference/ingestion.py);
- JetStream KV bucket `KNOWLEDGE_HEADS`, key `<tenant>`: the published head
  `{"version", "snapshot", "previous", "jobs"}`. Writers compare-and-set it on its KV
  revision, so two workers changing one tenant's knowledge at once never lose a change:
  the loser reloads the winner's version and applies its change again;
- blob store `tenant/<tenant>/kb/head.json`: a copy of the head, from which the KV key is
  rebuilt if NATS ever loses it.

Every worker keeps a cache (`KnowledgeBase` in `<cache dir>/<tenant>/`) and brings it up
to the head when it hears `frontdesk.<tenant>.kb.changed` (core NATS, published after each
new version) and, in case it missed that, when it uses the knowledge base and has not
checked the head for `check_interval_s`. The two newest snapshots are kept, so a worker
still downloading the previous one finishes.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError

from frontdesk import bus, logs
from frontdesk.stores.base import BlobStore, StoreUnavailable
from inference.knowledge import KnowledgeBase

log = logs.get("inference.kbshare")

HEAD_COPY = "kb/head.json"
SNAPSHOTS = "kb/snapshots"
JOBS_KEPT = 200                    # ids of the latest ingestion jobs applied, kept in the head
MAX_SNAPSHOT_BYTES = 2 * 1024 ** 3
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Head:
    version: int
    snapshot: str
    previous: str = ""
    jobs: tuple[str, ...] = ()
    revision: int = 0              # of the KV entry; 0 = not in the KV (rebuilt from the copy)

    def value(self) -> bytes:
        return json.dumps({"version": self.version, "snapshot": self.snapshot, "previous": self.previous,
                           "jobs": list(self.jobs)}).encode()

    @classmethod
    def parse(cls, data: bytes, revision: int = 0) -> "Head":
        raw = json.loads(data)
        return cls(int(raw["version"]), str(raw["snapshot"]), str(raw.get("previous", "")),
                   tuple(raw.get("jobs", ())), revision)


class _Lost(Exception):
    """Another worker published first (compare-and-set failed)."""


@dataclass
class _Tenant:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    checked_at: float = -1e9
    stale: bool = True


async def _file_chunks(path: Path):
    with open(path, "rb") as src:
        while chunk := await asyncio.to_thread(src.read, _CHUNK):
            yield chunk


class KnowledgeShare:
    """The shared knowledge bases and this process's cache of them."""

    def __init__(self, blobs: BlobStore, heads, cache_dir: Path, executor: Executor, nc=None,
                 check_interval_s: float = 1.0):
        self.blobs = blobs
        self.heads = heads            # the KNOWLEDGE_HEADS KV bucket
        self.cache_dir = Path(cache_dir)
        self.executor = executor
        self.nc = nc
        self.check_interval_s = check_interval_s
        self._kbs: dict[str, KnowledgeBase] = {}
        self._tenants: dict[str, _Tenant] = {}
        self._tasks: set[asyncio.Task] = set()
        self._sub = None

    # ------------------------------------------------------------ the cache

    def kb(self, tenant_id: str) -> KnowledgeBase:
        """The tenant's cached knowledge base (opened on first use; blocking: call it in
        the executor, or after `sync`, which opens it there)."""
        kb = self._kbs.get(tenant_id)
        if kb is None:
            kb = self._kbs[tenant_id] = KnowledgeBase.open(self.cache_dir / tenant_id)
        return kb

    def _state(self, tenant_id: str) -> _Tenant:
        state = self._tenants.get(tenant_id)
        if state is None:
            state = self._tenants[tenant_id] = _Tenant()
        return state

    async def _run(self, fn: Callable, *args) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def sync(self, tenant_id: str, force: bool = False) -> KnowledgeBase:
        """The tenant's knowledge base, at the published version (checked at most every
        `check_interval_s` unless a change was announced, or `force`)."""
        state = self._state(tenant_id)
        if force or state.stale or time.monotonic() - state.checked_at >= self.check_interval_s:
            async with state.lock:
                if force or state.stale or time.monotonic() - state.checked_at >= self.check_interval_s:
                    state.stale = False
                    checked = time.monotonic()
                    try:
                        await self._catch_up(tenant_id)
                    except Exception as err:
                        state.stale = True
                        kb = self._kbs.get(tenant_id)
                        if force or kb is None or kb.shared_version <= 0:
                            raise
                        # NATS or the blob store is away: answer from the cached version meanwhile
                        log.warning("knowledge.check_failed", tenant=tenant_id, version=kb.shared_version,
                                    error=f"{type(err).__name__}: {err}")
                        return kb
                    except BaseException:
                        state.stale = True
                        raise
                    state.checked_at = checked
        kb = self._kbs.get(tenant_id)
        return kb if kb is not None else await self._run(self.kb, tenant_id)

    async def _catch_up(self, tenant_id: str) -> None:
        kb = await self._run(self.kb, tenant_id)
        for _ in range(3):
            head = await self.head(tenant_id)
            local = await self._run(lambda: kb.shared_version)
            if head is None:
                if local == 0 and len(kb):
                    # a knowledge base written before it was shared: publish it as version 1
                    await self._publish(tenant_id, kb, None)
                    log.info("knowledge.migrated", tenant=tenant_id, entries=len(kb))
                elif local != 0:
                    await self._run(_clear, kb)  # a first write that never published
                return
            if local == head.version:
                return
            try:
                await self._load(tenant_id, kb, head)
                return
            except KeyError:
                continue  # that snapshot was replaced meanwhile: read the head again
        raise StoreUnavailable("the knowledge base keeps changing while it is loaded")

    async def _load(self, tenant_id: str, kb: KnowledgeBase, head: Head) -> None:
        started = time.perf_counter()
        tmp = self.cache_dir / tenant_id / f".snapshot-{os.getpid()}-{secrets.token_hex(4)}.db"
        try:
            with open(tmp, "wb") as out:
                async for chunk in self.blobs.get(tenant_id, head.snapshot):
                    out.write(chunk)
            await self._run(kb.load_snapshot, tmp, head.version)
        finally:
            tmp.unlink(missing_ok=True)
        log.info("knowledge.loaded", tenant=tenant_id, version=head.version, entries=len(kb),
                 ms=round((time.perf_counter() - started) * 1000, 1))

    # ------------------------------------------------------------ the head

    async def head(self, tenant_id: str) -> Head | None:
        """The published head, or None when the tenant has no knowledge base yet."""
        try:
            entry = await self.heads.get(tenant_id)
            if entry.value:
                return Head.parse(entry.value, entry.revision)
        except (KeyNotFoundError, KeyDeletedError):
            pass
        try:  # the KV lost it (a NATS redeployed without its data): the copy in the blob store
            data = b"".join([c async for c in self.blobs.get(tenant_id, HEAD_COPY)])
        except KeyError:
            return None
        return Head.parse(data)

    # ------------------------------------------------------------ writes

    async def write(self, tenant_id: str, change: Callable[[KnowledgeBase], Any], job_id: str = "",
                    attempts: int = 8) -> tuple[Any, Head | None]:
        """Apply `change(kb)` (run in the executor) to the tenant's knowledge base at the
        published version and publish the result as the next version. With `job_id`, a
        job already in the head is not applied again: (None, head) is returned. The
        change must be idempotent: when another worker publishes first it runs again on
        that version."""
        state = self._state(tenant_id)
        async with state.lock:
            kb = await self._run(self.kb, tenant_id)
            for _ in range(attempts):
                head = await self.head(tenant_id)
                if head is not None and job_id and job_id in head.jobs:
                    return None, head
                local = await self._run(lambda: kb.shared_version)
                if head is not None and local != head.version:
                    try:
                        await self._load(tenant_id, kb, head)
                    except KeyError:
                        continue
                elif head is None and local == -1:
                    await self._run(_clear, kb)  # leftovers of a first write that never published
                await self._run(kb.set_shared_version, -1)  # a crash from here leaves it to reload
                try:
                    result = await self._run(change, kb)
                    published = await self._publish(tenant_id, kb, head, job_id)
                except _Lost:
                    continue
                except BaseException:
                    state.stale = True
                    raise
                state.checked_at, state.stale = time.monotonic(), False
                return result, published
        raise StoreUnavailable("the knowledge base is being changed by others too often; try again")

    async def _publish(self, tenant_id: str, kb: KnowledgeBase, head: Head | None, job_id: str = "") -> Head:
        version = (head.version if head else 0) + 1
        key = f"{SNAPSHOTS}/{version:010d}-{secrets.token_hex(6)}.db"
        tmp = self.cache_dir / tenant_id / f".publish-{os.getpid()}-{secrets.token_hex(4)}.db"
        try:
            await self._run(kb.export_snapshot, tmp)
            await self.blobs.put(tenant_id, key, _file_chunks(tmp), content_type="application/vnd.sqlite3",
                                 max_bytes=MAX_SNAPSHOT_BYTES)
        finally:
            tmp.unlink(missing_ok=True)
        jobs = ((head.jobs if head else ()) + ((job_id,) if job_id else ()))[-JOBS_KEPT:]
        new = Head(version, key, head.snapshot if head else "", jobs)
        try:
            if head is not None and head.revision:
                revision = await self.heads.update(tenant_id, new.value(), last=head.revision)
            else:
                revision = await self.heads.create(tenant_id, new.value())
        except KeyWrongLastSequenceError:
            await self._forget(tenant_id, key)
            raise _Lost() from None
        new = Head(new.version, new.snapshot, new.previous, new.jobs, revision)
        await self._run(kb.set_shared_version, version)
        try:
            await self.blobs.put(tenant_id, HEAD_COPY, _one(new.value()), content_type="application/json",
                                 max_bytes=1024 * 1024)
        except Exception as err:  # noqa: BLE001 - the KV holds the head; the copy is for disasters
            log.warning("knowledge.head_copy_failed", tenant=tenant_id, error=str(err))
        if head is not None and head.previous:
            await self._forget(tenant_id, head.previous)
        if self.nc is not None:
            try:
                await self.nc.publish(bus.kb_changed_subject(tenant_id), str(version).encode())
            except Exception as err:  # noqa: BLE001 - workers also check the head on use
                log.warning("knowledge.notice_failed", tenant=tenant_id, error=str(err))
        log.info("knowledge.published", tenant=tenant_id, version=version, entries=len(kb), job=job_id or None)
        return new

    async def _forget(self, tenant_id: str, key: str) -> None:
        try:
            await self.blobs.delete(tenant_id, key)
        except Exception as err:  # noqa: BLE001 - an orphan snapshot is only wasted space
            log.warning("knowledge.snapshot_delete_failed", tenant=tenant_id, key=key, error=str(err))

    # ------------------------------------------------------------ notices

    async def listen(self) -> None:
        """Hear every tenant's `kb.changed` notices; a cached tenant catches up at once."""
        if self.nc is None:
            return

        async def on_notice(msg) -> None:
            try:
                tenant_id = bus.tenant_of(msg.subject)
            except ValueError:
                return
            if tenant_id not in self._kbs:
                return  # not cached here: it loads the newest version on first use anyway
            self._state(tenant_id).stale = True
            task = asyncio.create_task(self._prefetch(tenant_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._sub = await self.nc.subscribe(bus.kb_changed_subject("*"), cb=on_notice)

    async def _prefetch(self, tenant_id: str) -> None:
        try:
            await self.sync(tenant_id)
        except Exception as err:  # noqa: BLE001 - the next use retries
            log.warning("knowledge.prefetch_failed", tenant=tenant_id, error=str(err))

    async def close(self) -> None:
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception:  # noqa: BLE001 - connection already closed
                pass
        for task in list(self._tasks):
            task.cancel()
        for kb in self._kbs.values():
            kb.close()
        self._kbs.clear()


async def _one(data: bytes):
    yield data


def _clear(kb: KnowledgeBase) -> None:
    for info in kb.entries():
        kb.delete(info.id)


async def open_share(settings, nc, executor: Executor, blobs: BlobStore | None = None) -> KnowledgeShare:
    """The share as the inference process (and the CLI) use it."""
    from frontdesk import stores

    js = nc.jetstream()
    heads = await bus.knowledge_heads(js, settings)
    if blobs is None:
        blobs = stores.open_blob_store(settings)
        await blobs.start()
    return KnowledgeShare(blobs, heads, cache_dir(settings), executor, nc)


_claimed: dict[Path, int] = {}


def cache_dir(settings) -> Path:
    """This process's cache directory: `knowledge_cache_dir` (default data_dir/knowledge),
    locked for the life of the process. A second worker started on the same data dir (the
    embedded scale-out) gets a directory of its own beside it: a cache is never shared
    between processes, since a half-applied change lives in it until it is published."""
    import fcntl

    base = Path(settings.knowledge_cache_dir) if settings.knowledge_cache_dir else settings.data_dir / "knowledge"
    for candidate in (base, *(base.with_name(f"{base.name}-{n}") for n in range(1, 64))):
        candidate = candidate.resolve()
        if candidate in _claimed:
            return candidate
        candidate.mkdir(parents=True, exist_ok=True)
        fd = os.open(candidate / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _claimed[candidate] = fd
        return candidate
    raise SystemExit(f"no free knowledge cache directory beside {base}")


async def seed_knowledge(settings, tenant_id: str, faqs) -> bool:
    """Publish `faqs` as the tenant's first knowledge base unless it has one (or an older
    local one that the first worker will publish); True when it seeded."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    from frontdesk import stores

    legacy = (Path(settings.knowledge_cache_dir) if settings.knowledge_cache_dir
              else settings.data_dir / "knowledge") / tenant_id
    if legacy.exists():
        return False
    nc = await bus.connect(settings, "seed")
    blobs = stores.open_blob_store(settings)
    await blobs.start()
    executor = ThreadPoolExecutor(max_workers=1)
    try:
        heads = await bus.knowledge_heads(nc.jetstream(), settings)
        with tempfile.TemporaryDirectory(prefix="frontdesk-seed-") as tmp:
            share = KnowledgeShare(blobs, heads, Path(tmp), executor, nc)
            try:
                if await share.head(tenant_id) is not None:
                    return False
                await share.write(tenant_id, lambda kb: kb.upsert_faq(faqs))
                return True
            finally:
                await share.close()
    finally:
        executor.shutdown(wait=True)
        await blobs.close()
        await nc.drain()
