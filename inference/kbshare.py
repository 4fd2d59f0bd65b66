"""The knowledge base shared by every inference worker.

The source of truth of a tenant's knowledge base is in the shared stores, not on any
worker's disk:

- blob store `tenant/<tenant>/kb/snapshots/<version>-<nonce>.db`: the whole knowledge base
  at that version (entries, chunks *and their embeddings*, one SQLite file written by
  `KnowledgeBase.export_snapshot`) *and the answer policy's router trained on it* (inside
  the file, stamped with the generation it was trained for), so a worker that catches up
  loads it instead of embedding every chunk and training the router again;
- blob store `tenant/<tenant>/kb/uploads/<sha256>`: the original files (inference/ingestion.py);
- JetStream KV bucket `KNOWLEDGE_HEADS`, key `<tenant>`: the published head
  `{"version", "snapshot", "previous", "jobs"}`. Writers compare-and-set it on its KV
  revision, so two workers changing one tenant's knowledge at once never lose a change:
  the loser reloads the winner's version and applies its change again;
- blob store `tenant/<tenant>/kb/head.json`: a copy of the head, from which the KV key is
  rebuilt if NATS ever loses it.

Every worker keeps a cache: the version it *serves* (`Served`: a `KnowledgeBase` in
`<cache dir>/<tenant>/v/<version>-<nonce>/` with its router), never changed once served.
It brings it up to the head when it hears `frontdesk.<tenant>.kb.changed` (core NATS,
published after each new version) and, in case it missed that, when it uses the knowledge
base and has not checked the head for `check_interval_s`. A newer version is downloaded
and opened *beside* the served one, in a thread of its own (`loader`), with the router
that came in the snapshot (trained there only when that one is missing, stale or
incompatible), and then swapped in at once: questions (`serving`) keep being answered from
the version served until then, and never wait for a download or a training. A change
(`write`) is likewise applied to a copy beside the served version, its router trained
there, and the copy is published and swapped in. The two newest snapshots are kept, so a
worker still downloading the previous one finishes.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError

from frontdesk import bus, logs
from frontdesk.stores.base import BlobStore, StoreUnavailable
from inference.knowledge import AnswerPolicy, KnowledgeBase
from inference.knowledge.index import DB_NAME
from inference.knowledge.policy import prepare_router
from inference.knowledge.router import ROUTER_FILE, Router, router_bytes, router_from_bytes, save_router

log = logs.get("inference.kbshare")

HEAD_COPY = "kb/head.json"
SNAPSHOTS = "kb/snapshots"
JOBS_KEPT = 200  # ids of the latest ingestion jobs applied, kept in the head
MAX_SNAPSHOT_BYTES = 2 * 1024**3
_CHUNK = 1024 * 1024
ROUTER_ATTACHMENT = "router"  # the snapshot's attachment holding the trained router
LOADER_THREADS = 2  # tenants whose knowledge is loaded, changed or trained at once (each one call at a time)
MAX_ROUTER_BYTES = 900 * 1024**2  # under SQLite's 1e9-byte blob limit (a ~2,500-entry FAQ: ~800 MB)


@dataclass(frozen=True)
class Head:
    version: int
    snapshot: str
    previous: str = ""
    jobs: tuple[str, ...] = ()
    revision: int = 0  # of the KV entry; 0 = not in the KV (rebuilt from the copy)

    def value(self) -> bytes:
        return json.dumps(
            {"version": self.version, "snapshot": self.snapshot, "previous": self.previous, "jobs": list(self.jobs)}
        ).encode()

    @classmethod
    def parse(cls, data: bytes, revision: int = 0) -> Head:
        raw = json.loads(data)
        return cls(
            int(raw["version"]),
            str(raw["snapshot"]),
            str(raw.get("previous", "")),
            tuple(raw.get("jobs", ())),
            revision,
        )


class _Lost(Exception):
    """Another worker published first (compare-and-set failed)."""


@dataclass(frozen=True)
class Served:
    """One version of a tenant's knowledge base as questions use it, with its answer policy
    (router included). Never changed while served: changes and newer versions are prepared
    beside it and swapped in."""

    version: int  # the shared version; 0 = no published knowledge base (yet)
    kb: KnowledgeBase
    policy: AnswerPolicy
    trained_here: bool = False  # the router was trained by this worker (not loaded)


@dataclass
class _Tenant:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one catch-up or write at a time
    loading: asyncio.Lock = field(default_factory=asyncio.Lock)  # one loader call at a time
    checked_at: float = -1e9
    stale: bool = True
    served: Served | None = None
    refreshing: bool = False  # a background catch-up is scheduled or running


async def _file_chunks(path: Path):
    with open(path, "rb") as src:  # noqa: ASYNC230 - opening is instant; the reads go to a thread
        while chunk := await asyncio.to_thread(src.read, _CHUNK):
            yield chunk


def _raw_shared_version(directory: Path) -> int | None:
    """The shared version a cached knowledge base holds, without loading it (None: none)."""
    import sqlite3

    if not (directory / DB_NAME).is_file():
        return None
    try:
        db = sqlite3.connect(directory / DB_NAME, timeout=30)
        try:
            row = db.execute("SELECT value FROM meta WHERE key='shared_version'").fetchone()
            entries = db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return -1
    version = int(row[0]) if row else 0
    return version if version != 0 or entries else None


def _remove_kb_dir(directory: Path, tenant_root: Path) -> None:
    if directory == tenant_root:  # a cache of the layout before versions had directories
        for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", ROUTER_FILE):
            (directory / name).unlink(missing_ok=True)
    else:
        shutil.rmtree(directory, ignore_errors=True)


class KnowledgeShare:
    """The shared knowledge bases and this process's cache of them.

    `executor` runs the questions (reads of served versions); the share's own `loader`
    threads download, open, change and train, so questions never queue behind those, and
    one tenant's work never holds up another's (`_run`)."""

    def __init__(
        self, blobs: BlobStore, heads, cache_dir: Path, executor: Executor, nc=None, check_interval_s: float = 1.0
    ):
        self.blobs = blobs
        self.heads = heads  # the KNOWLEDGE_HEADS KV bucket
        self.cache_dir = Path(cache_dir)
        self.executor = executor
        self.loader = ThreadPoolExecutor(max_workers=LOADER_THREADS, thread_name_prefix="knowledge-load")
        self.nc = nc
        self.check_interval_s = check_interval_s
        self._tenants: dict[str, _Tenant] = {}
        self._tasks: set[asyncio.Task] = set()
        self._sub = None

    # ------------------------------------------------------------ the cache

    def kb(self, tenant_id: str) -> KnowledgeBase:
        """The tenant's served knowledge base (opened from the cache on first use; blocking:
        call it in a thread, or after `sync`/`serving`, which open it in the loader)."""
        return self._served_now(tenant_id).kb

    def _state(self, tenant_id: str) -> _Tenant:
        state = self._tenants.get(tenant_id)
        if state is None:
            state = self._tenants[tenant_id] = _Tenant()
        return state

    async def work(self, tenant_id: str, fn: Callable, *args) -> Any:
        """`fn(*args)` for the tenant in the loader threads (an upload's parsing, for one)."""
        return await self._run(tenant_id, fn, *args)

    async def _run(self, tenant_id: str, fn: Callable, *args) -> Any:
        """Background work (downloads, changes, training) of one tenant: in the loader threads,
        one call of a tenant at a time. So a tenant's long training (or a bad upload) holds one
        thread, and the other tenants' writes and loads go on in the others."""
        async with self._state(tenant_id).loading:
            done = asyncio.get_running_loop().run_in_executor(self.loader, fn, *args)
            try:
                return await asyncio.shield(done)
            except asyncio.CancelledError:
                await asyncio.wait([done])  # the thread ends before this tenant's next call starts
                raise

    def _tenant_dir(self, tenant_id: str) -> Path:
        return self.cache_dir / tenant_id

    def _new_dir(self, tenant_id: str, version: int) -> Path:
        path = self._tenant_dir(tenant_id) / "v" / f"{max(version, 0):010d}-{secrets.token_hex(4)}"
        path.mkdir(parents=True)
        return path

    def _open(self, directory: Path) -> KnowledgeBase:
        # a served version changes only through this share: no need to look for other writers
        return KnowledgeBase.open(directory, refresh_interval=float("inf"))

    def _served_now(self, tenant_id: str) -> Served:
        state = self._state(tenant_id)
        if state.served is None:
            state.served = self._restore(tenant_id)
        return state.served

    def _restore(self, tenant_id: str) -> Served:
        """The newest version in this process's cache directory (from before a restart),
        or an empty knowledge base (version 0). Blocking."""
        root = self._tenant_dir(tenant_id)
        candidates = [root] + (sorted((root / "v").iterdir()) if (root / "v").is_dir() else [])
        versions = {d: _raw_shared_version(d) for d in candidates}
        usable = [d for d, v in versions.items() if v is not None and v >= 0]
        best = max(usable, key=lambda d: (versions[d], d != root), default=None)
        for d, v in versions.items():
            if d != best and (v is not None or d != root):
                _remove_kb_dir(d, root)  # older, half-applied (-1) or empty leftovers
        kb = self._open(best if best is not None else self._new_dir(tenant_id, 0))
        router = None
        if len(kb):
            router, trained = prepare_router(kb)  # normally the router saved beside it
            if trained:
                log.info(
                    "knowledge.router_trained",
                    tenant=tenant_id,
                    version=kb.shared_version,
                    reason="restore",
                    seconds=round(router.train_seconds, 2),
                )
        return Served(max(kb.shared_version, 0), kb, AnswerPolicy(kb, router=router))

    def _swap(self, tenant_id: str, new: Served) -> None:
        """Serve `new` from now on; the old version is closed and removed after the reads
        already queued on it (the question executor runs them in order)."""
        state = self._state(tenant_id)
        old, state.served = state.served, new
        if old is not None and old.kb is not new.kb:
            root = self._tenant_dir(tenant_id)

            def retire(kb: KnowledgeBase = old.kb) -> None:
                kb.close()
                _remove_kb_dir(kb.directory, root)

            try:
                self.executor.submit(retire)
            except RuntimeError:  # shutting down
                retire()

    def _discard(self, tenant_id: str, kb: KnowledgeBase) -> None:
        kb.close()
        _remove_kb_dir(kb.directory, self._tenant_dir(tenant_id))

    async def serving(self, tenant_id: str) -> Served:
        """The version to answer a question from, at once: the one served. When the head
        may have moved on, a newer version is loaded in the background and swapped in when
        ready. Only a worker with nothing for this tenant yet waits for the first load."""
        state = self._state(tenant_id)
        served = state.served
        due = state.stale or time.monotonic() - state.checked_at >= self.check_interval_s
        if served is None or (served.version <= 0 and due and not state.lock.locked()):
            # nothing to answer from yet (a change under way, e.g. the first import, is not
            # waited for: until it is published there is no knowledge base)
            await self.sync(tenant_id)
            return state.served or await self._run(tenant_id, self._served_now, tenant_id)
        if due and not state.lock.locked() and not state.refreshing:
            self._refresh_soon(tenant_id)
        return served

    async def sync(self, tenant_id: str, force: bool = False) -> KnowledgeBase:
        """The tenant's knowledge base, at the published version (checked at most every
        `check_interval_s` unless a change was announced, or `force`); waits for a load."""
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
                        served = state.served
                        if force or served is None or served.version <= 0:
                            raise
                        # NATS or the blob store is away: answer from the cached version meanwhile
                        log.warning(
                            "knowledge.check_failed",
                            tenant=tenant_id,
                            version=served.version,
                            error=f"{type(err).__name__}: {err}",
                        )
                        return served.kb
                    except BaseException:
                        state.stale = True
                        raise
                    state.checked_at = checked
        served = state.served or await self._run(tenant_id, self._served_now, tenant_id)
        return served.kb

    async def _catch_up(self, tenant_id: str) -> None:
        served = await self._run(tenant_id, self._served_now, tenant_id)
        for _ in range(3):
            head = await self.head(tenant_id)
            if head is None:
                if served.version == 0 and len(served.kb):
                    # a knowledge base written before it was shared: publish it as version 1
                    router, _ = await self._run(tenant_id, prepare_router, served.kb)
                    published = await self._publish(tenant_id, served.kb, None, router=router)
                    self._swap(tenant_id, Served(published.version, served.kb, served.policy))
                    log.info("knowledge.migrated", tenant=tenant_id, entries=len(served.kb))
                elif served.version != 0:  # the head is gone (both copies): nothing is published
                    self._swap(tenant_id, await self._run(tenant_id, self._empty, tenant_id))
                return
            if served.version == head.version:
                return
            try:
                self._swap(tenant_id, await self._load(tenant_id, head))
                return
            except KeyError:
                continue  # that snapshot was replaced meanwhile: read the head again
        raise StoreUnavailable("the knowledge base keeps changing while it is loaded")

    def _empty(self, tenant_id: str) -> Served:
        kb = self._open(self._new_dir(tenant_id, 0))
        return Served(0, kb, AnswerPolicy(kb))

    async def _load(self, tenant_id: str, head: Head) -> Served:
        """The head's version opened beside the served one, router included: the one in the
        snapshot, or (missing, stale or incompatible) one trained here, in the loader."""
        started = time.perf_counter()
        directory = await self._run(tenant_id, self._new_dir, tenant_id, head.version)
        tmp = directory / f".snapshot-{secrets.token_hex(4)}.db"
        try:
            with open(tmp, "wb") as out:  # noqa: ASYNC230 - opening is instant; the writes go to a thread
                async for chunk in self.blobs.get(tenant_id, head.snapshot):
                    await asyncio.to_thread(out.write, chunk)
            served = await self._run(tenant_id, self._open_snapshot, tenant_id, directory, tmp, head.version)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        finally:
            tmp.unlink(missing_ok=True)
        log.info(
            "knowledge.loaded",
            tenant=tenant_id,
            version=head.version,
            entries=len(served.kb),
            router="trained" if served.trained_here else "loaded",
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return served

    def _open_snapshot(self, tenant_id: str, directory: Path, path: Path, version: int) -> Served:
        kb = self._open(directory)
        try:
            snapshot_generation, attachments = kb.load_snapshot(path, version)
            router = router_from_bytes(attachments.get(ROUTER_ATTACHMENT), snapshot_generation)
            trained = False
            if router is not None:
                router.generation = kb.generation  # the same content, under this cache's numbering
                save_router(router, kb.directory)
            elif len(kb):
                log.warning(
                    "knowledge.router_missing",
                    tenant=tenant_id,
                    version=version,
                    reason="absent" if ROUTER_ATTACHMENT not in attachments else "stale or incompatible",
                )
                router, trained = prepare_router(kb)
                log.info(
                    "knowledge.router_trained",
                    tenant=tenant_id,
                    version=version,
                    reason="load",
                    seconds=round(router.train_seconds, 2),
                )
            return Served(version, kb, AnswerPolicy(kb, router=router), trained)
        except BaseException:
            kb.close()
            raise

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

    async def write(
        self,
        tenant_id: str,
        change: Callable[[KnowledgeBase], Any],
        job_id: str = "",
        attempts: int = 8,
        stage: Callable[[str], None] | None = None,
    ) -> tuple[Any, Head | None]:
        """Apply `change(kb)` (run in the loader) to a copy of the tenant's knowledge base at
        the published version, train its router, publish both as the next version and serve
        it. With `job_id`, a job already in the head is not applied again: (None, head) is
        returned. The change must be idempotent: when another worker publishes first it runs
        again on that version. `stage("training")` is called before the router is trained."""
        state = self._state(tenant_id)
        async with state.lock:
            for _ in range(attempts):
                head = await self.head(tenant_id)
                if head is not None and job_id and job_id in head.jobs:
                    return None, head
                served = await self._run(tenant_id, self._served_now, tenant_id)
                if head is not None and served.version != head.version:
                    try:
                        served = await self._load(tenant_id, head)
                    except KeyError:
                        continue
                    self._swap(tenant_id, served)
                base = served if head is not None or served.version == 0 else None  # head lost: start empty
                work = await self._run(tenant_id, self._working_copy, tenant_id, base)
                try:
                    result = await self._run(tenant_id, change, work)
                    if stage is not None:
                        stage("training")
                    router, trained = await self._run(tenant_id, prepare_router, work)
                    if trained:
                        log.info(
                            "knowledge.router_trained",
                            tenant=tenant_id,
                            reason="write",
                            classes=len(router.classes),
                            seconds=round(router.train_seconds, 2),
                        )
                    if stage is not None:
                        stage("publishing")
                    published = await self._publish(tenant_id, work, head, job_id, router)
                except _Lost:
                    await self._run(tenant_id, self._discard, tenant_id, work)
                    continue
                except BaseException:
                    await asyncio.shield(self._run(tenant_id, self._discard, tenant_id, work))
                    state.stale = True
                    raise
                self._swap(tenant_id, Served(published.version, work, AnswerPolicy(work, router=router), trained))
                state.checked_at, state.stale = time.monotonic(), False
                return result, published
        raise StoreUnavailable("the knowledge base is being changed by others too often; try again")

    def _working_copy(self, tenant_id: str, base: Served | None) -> KnowledgeBase:
        """A copy of `base` (None: an empty knowledge base) to change, router file included
        (a change that changes nothing trains nothing)."""
        directory = self._new_dir(tenant_id, base.version + 1 if base else 1)
        if base is None or (base.version == 0 and not len(base.kb)):
            kb = self._open(directory)
        else:
            kb = base.kb.copy_to(directory, refresh_interval=float("inf"))
            if (base.kb.directory / ROUTER_FILE).is_file():
                shutil.copyfile(base.kb.directory / ROUTER_FILE, directory / ROUTER_FILE)
        kb.set_shared_version(-1)  # a crash from here leaves it to be discarded at restart
        return kb

    async def _publish(
        self, tenant_id: str, kb: KnowledgeBase, head: Head | None, job_id: str = "", router: Router | None = None
    ) -> Head:
        version = (head.version if head else 0) + 1
        key = f"{SNAPSHOTS}/{version:010d}-{secrets.token_hex(6)}.db"
        tmp = kb.directory / f".publish-{secrets.token_hex(4)}.db"
        attachments = None
        if router is not None:
            data = await self._run(tenant_id, router_bytes, router)
            if len(data) <= MAX_ROUTER_BYTES:
                attachments = {ROUTER_ATTACHMENT: data}
            else:  # SQLite's blob limit: published without it, a loading worker trains its own
                log.warning("knowledge.router_too_large", tenant=tenant_id, version=version, bytes=len(data))
            del data
        try:
            await self._run(tenant_id, kb.export_snapshot, tmp, attachments)
            await self.blobs.put(
                tenant_id, key, _file_chunks(tmp), content_type="application/vnd.sqlite3", max_bytes=MAX_SNAPSHOT_BYTES
            )
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
        await self._run(tenant_id, kb.set_shared_version, version)
        try:
            await self.blobs.put(
                tenant_id, HEAD_COPY, _one(new.value()), content_type="application/json", max_bytes=1024 * 1024
            )
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
            state = self._tenants.get(tenant_id)
            if state is None or state.served is None:
                return  # not cached here: it loads the newest version on first use anyway
            state.stale = True
            self._refresh_soon(tenant_id)

        self._sub = await self.nc.subscribe(bus.kb_changed_subject("*"), cb=on_notice)

    def _refresh_soon(self, tenant_id: str) -> None:
        state = self._state(tenant_id)
        state.refreshing = True
        task = asyncio.create_task(self._prefetch(tenant_id))
        self._tasks.add(task)

        def done(t: asyncio.Task) -> None:
            self._tasks.discard(t)
            state.refreshing = False

        task.add_done_callback(done)

    async def _prefetch(self, tenant_id: str) -> None:
        try:
            await self.sync(tenant_id)
        except Exception as err:  # noqa: BLE001 - the next use retries
            log.warning("knowledge.prefetch_failed", tenant=tenant_id, error=str(err))

    async def close(self) -> None:
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception as err:  # noqa: BLE001 - closing: the connection may be gone already
                log.debug("knowledge.unsubscribe_failed", error=str(err))
        for task in list(self._tasks):
            task.cancel()
        # cancelled on purpose: how each ended changes nothing now
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # a training under way is not waited for here (the event loop goes on); nothing of it
        # is published or served
        self.loader.shutdown(wait=False, cancel_futures=True)
        for state in self._tenants.values():
            if state.served is not None:
                state.served.kb.close()
        self._tenants.clear()


async def _one(data: bytes):
    yield data
