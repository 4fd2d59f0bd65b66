"""Setting up the shared knowledge base in a process: the share an inference worker (and the
CLI) opens, the cache directory it claims for its lifetime, and the first knowledge base of a
new tenant (the demo's) published before any worker runs."""

from __future__ import annotations

import os
from concurrent.futures import Executor
from pathlib import Path

from frontdesk import bus
from frontdesk.settings import StartupError
from frontdesk.stores.base import BlobStore
from inference.kbshare import KnowledgeShare


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
    raise StartupError(f"no free knowledge cache directory beside {base}")


async def seed_knowledge(settings, tenant_id: str, faqs) -> bool:
    """Publish `faqs` as the tenant's first knowledge base unless it has one (or an older
    local one that the first worker will publish); True when it seeded."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    from frontdesk import stores

    legacy = (
        Path(settings.knowledge_cache_dir) if settings.knowledge_cache_dir else settings.data_dir / "knowledge"
    ) / tenant_id
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
