"""The embedded blob store: files under data_dir/blobs/tenant/<tenant>/<key>.

Written to a temporary file and renamed into place only when complete, so a failed or
oversized upload leaves nothing behind."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from frontdesk.stores.base import BlobStore, blob_object_name

_CHUNK = 256 * 1024


class LocalBlobStore(BlobStore):
    def __init__(self, root: Path):
        self._root = root

    def _path(self, tenant_id: str, key: str) -> Path:
        return self._root / blob_object_name(tenant_id, key)

    async def put(self, tenant_id, key, chunks, *, content_type, max_bytes):
        path = self._path(tenant_id, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        digest, size = hashlib.sha256(), 0
        try:
            with open(tmp, "wb") as out:  # noqa: ASYNC230 - opening is instant; the writes go to a thread
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise ValueError(f"object is larger than the {max_bytes} byte limit")
                    digest.update(chunk)
                    await asyncio.to_thread(out.write, chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return size, digest.hexdigest()

    async def get(self, tenant_id, key):
        path = self._path(tenant_id, key)
        if not path.is_file():
            raise KeyError(key)
        with open(path, "rb") as src:  # noqa: ASYNC230 - opening is instant; the reads go to a thread
            while chunk := await asyncio.to_thread(src.read, _CHUNK):
                yield chunk

    async def delete(self, tenant_id, key):
        self._path(tenant_id, key).unlink(missing_ok=True)

    async def keys(self, tenant_id, prefix):
        folder = self._path(tenant_id, prefix.rstrip("/"))
        tenant_root = self._path(tenant_id, "x").parent

        def walk() -> list[str]:
            if not folder.is_dir():
                return []
            return sorted(
                str(p.relative_to(tenant_root))
                for p in folder.rglob("*")
                if p.is_file() and not p.name.startswith(".")  # not a partial upload
            )

        return await asyncio.to_thread(walk)
