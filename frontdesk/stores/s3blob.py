"""The distributed blob store on MinIO (any S3-compatible server), with the official
`minio` client: objects `tenant/<tenant id>/<key>` in one bucket.

- The bucket is created if missing: `await store.start()` does it eagerly (call it at
  service start-up to fail fast on bad credentials or an unreachable server); otherwise
  the first operation does it, once.
- `put()` streams. The minio client is synchronous, so the upload runs in a worker thread
  and reads through a file-like `_QueueReader` that pulls chunks from the caller's async
  iterator via a bounded queue (back-pressure: the source is never read further ahead
  than the queue). Size and sha256 are computed on the way. An object that fits in one
  part (`part_size`, default 8 MiB) is one PUT carrying its sha256; a bigger one is a
  multipart upload (`put_object(length=-1, part_size=...)`, one part in flight, so an
  upload holds about 3 x part_size of memory whatever the object size) whose sha256 is
  stamped afterwards by a server-side copy onto itself with the metadata replaced
  (S3 metadata is fixed when an upload starts, before the digest is known; MinIO only
  rewrites the metadata, no data is copied).
- Nothing is kept when a put fails: exceeding `max_bytes` (ValueError) or a failing
  source iterator stop the stream before any more is sent, the multipart upload is
  aborted (the minio client does it) and an object whose metadata stamp failed is
  removed. If the abort itself cannot reach the server, the incomplete upload is never
  visible as an object; MinIO drops it after its stale-upload expiry (24 h by default;
  on AWS S3 use a lifecycle rule AbortIncompleteMultipartUpload).
- `get()` streams the object in chunks of `chunk_size` (256 KiB), KeyError if missing.
- Connection failures and S3 errors other than NoSuchKey raise StoreUnavailable.

Object metadata: Content-Type, and `x-amz-meta-sha256` (hex digest of the bytes).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import io
import os
import threading
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.error import MinioException, S3Error
from minio.helpers import check_bucket_name

from frontdesk import logs
from frontdesk.stores.base import BlobStore, StoreUnavailable, blob_object_name

log = logs.get("frontdesk.stores.s3blob")

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3's minimum (except the last part)
MAX_PART_SIZE = 5 * 1024 * MiB
MAX_PRESIGN_S = 7 * 24 * 3600  # SigV4 presigned URLs live at most 7 days
SHA256_META = "sha256"  # stored as x-amz-meta-sha256


object_name = blob_object_name

_EOF = object()


class _Aborted(Exception):
    """Raised inside the upload thread to stop put_object (which then aborts the
    multipart upload, if one was started)."""


class _QueueReader:
    """A blocking, file-like reader for the upload thread over an asyncio.Queue filled on
    the event loop. `read(n)` returns exactly n bytes unless the stream ends (like a file),
    so the minio client gets a part in one call. Hashes and counts what it hands out."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue):
        self._loop = loop
        self._queue = queue
        self._pending = memoryview(b"")
        self._eof = False
        self._aborted = threading.Event()
        self.failure: BaseException | None = None  # why the pump stopped the stream
        self.size = 0
        self.digest = hashlib.sha256()

    def abort(self) -> None:
        self._aborted.set()

    def fail(self, error: BaseException) -> None:
        """Stop the upload at once (the chunks still queued are not sent) with `error`."""
        self.failure = error
        self._aborted.set()
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_EOF)  # wakes a reader waiting on an empty queue

    def _check(self) -> None:
        if self._aborted.is_set():
            raise _Aborted(f"upload stopped: {self.failure!r}" if self.failure else "upload aborted")

    def _next(self) -> Any:
        self._check()
        fut = asyncio.run_coroutine_threadsafe(self._queue.get(), self._loop)
        while True:
            try:
                item = fut.result(timeout=0.2)
                break
            except concurrent.futures.TimeoutError:
                if self._aborted.is_set():
                    fut.cancel()
                    self._check()
                if self._loop.is_closed():  # nobody will ever fill the queue
                    fut.cancel()
                    raise _Aborted("the event loop of the put() closed") from None
        self._check()
        return item

    def read(self, n: int = -1) -> bytes:
        pieces, got = [], 0  # views into the queued chunks: one copy, by the join
        while n is None or n < 0 or got < n:
            if not self._pending:
                if self._eof:
                    break
                item = self._next()
                if item is _EOF:
                    self._eof = True
                    break
                self._pending = memoryview(item)
            take = len(self._pending) if n is None or n < 0 else min(n - got, len(self._pending))
            piece = self._pending[:take]
            self.digest.update(piece)
            pieces.append(piece)
            got += take
            self._pending = self._pending[take:]
        self.size += got
        return b"".join(pieces)


class _Prefixed:
    """`head` then the rest of `reader` (the first part was read to choose single PUT vs
    multipart). Hands `head` itself over (no copy) when asked for at least that much,
    which is what put_object does: it asks for part_size + 1 bytes, len(head)."""

    def __init__(self, head: bytes, reader: _QueueReader):
        self._head: bytes | None = head
        self._reader = reader

    def read(self, n: int = -1) -> bytes:
        head = self._head
        if head is None:
            return self._reader.read(n)
        if n is None or n < 0:
            self._head = None
            return head + self._reader.read(-1)
        if n >= len(head):
            self._head = None
            return head if n == len(head) else head + self._reader.read(n - len(head))
        self._head = head[n:]
        return head[:n]


def _default_http_client(connect_timeout_s: float, read_timeout_s: float, pool_size: int) -> urllib3.PoolManager:
    # The minio client's own default, with shorter timeouts (5 min each there) and fewer
    # retries, so an unreachable server is reported in about a second, not six.
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s),
        maxsize=pool_size,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )


class MinioBlobStore(BlobStore):
    """BlobStore on MinIO / S3. See the module docstring for the guarantees."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        region: str | None = None,
        part_size: int = 8 * MiB,
        *,
        chunk_size: int = 256 * 1024,
        max_uploads: int = 8,
        queue_chunks: int = 8,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        http_client: urllib3.PoolManager | None = None,
    ):
        """endpoint: `host:port`. region: give it (MinIO's default is us-east-1) to spare the
        client a GetBucketLocation request. part_size: 5 MiB..5 GiB; objects up to it are one
        PUT. max_uploads: uploads streaming at once (each holds a worker thread); more wait.
        queue_chunks: source chunks buffered ahead of the upload thread."""
        check_bucket_name(bucket, strict=True)
        if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
            raise ValueError(f"part_size must be between {MIN_PART_SIZE} and {MAX_PART_SIZE} bytes, not {part_size}")
        self.endpoint = endpoint
        self.bucket = bucket
        self._region = region
        self._part_size = part_size
        self._chunk_size = chunk_size
        self._queue_chunks = queue_chunks
        self._http = http_client or _default_http_client(connect_timeout_s, read_timeout_s, max(10, max_uploads + 4))
        self._client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region, http_client=self._http
        )
        self._uploads = concurrent.futures.ThreadPoolExecutor(max_workers=max_uploads, thread_name_prefix="s3blob-put")
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()

    # -- errors -------------------------------------------------------------------------
    def _unavailable(self, what: str, name: str | None, exc: BaseException) -> StoreUnavailable:
        where = f"s3://{self.bucket}/{name}" if name else f"bucket {self.bucket}"
        if isinstance(exc, S3Error):
            detail = f"{exc.code}: {exc.message}"
        elif isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
            detail = f"{type(exc.reason).__name__}: {exc.reason}"
        else:
            detail = f"{type(exc).__name__}: {exc}"
        return StoreUnavailable(f"blob store unavailable: MinIO at {self.endpoint} failed to {what} {where} ({detail})")

    @staticmethod
    def _is_store_error(exc: BaseException) -> bool:
        return isinstance(exc, (MinioException, urllib3.exceptions.HTTPError, ConnectionError, TimeoutError))

    async def _run(self, what: str, name: str | None, fn: Callable, *args, missing_key: str | None = None, **kwargs):
        """fn(*args) in a worker thread; S3/connection errors become StoreUnavailable, and
        NoSuchKey a KeyError(missing_key) when given."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except S3Error as exc:
            if missing_key is not None and exc.code == "NoSuchKey":
                raise KeyError(missing_key) from None
            raise self._unavailable(what, name, exc) from exc
        except Exception as exc:
            if self._is_store_error(exc):
                raise self._unavailable(what, name, exc) from exc
            raise

    # -- bucket -------------------------------------------------------------------------
    def _ensure_bucket_sync(self) -> None:
        with self._bucket_lock:
            if self._bucket_ready:
                return
            if not self._client.bucket_exists(self.bucket):
                try:
                    self._client.make_bucket(self.bucket, location=self._region)
                except S3Error as exc:
                    if exc.code != "BucketAlreadyOwnedByYou":  # a concurrent start won the race
                        raise
                log.info("blobstore.bucket_created", bucket=self.bucket, endpoint=self.endpoint)
            self._bucket_ready = True

    async def _ensure_bucket(self) -> None:
        if not self._bucket_ready:
            await self._run("create", None, self._ensure_bucket_sync)

    async def start(self) -> None:
        """Create the bucket if missing (optional: the first operation does it otherwise)."""
        await self._ensure_bucket()

    async def close(self) -> None:
        self._uploads.shutdown(wait=False, cancel_futures=True)
        self._http.clear()

    # -- put ----------------------------------------------------------------------------
    async def put(self, tenant_id, key, chunks, *, content_type, max_bytes):
        name = object_name(tenant_id, key)
        if max_bytes < 0:
            raise ValueError(f"max_bytes must not be negative, not {max_bytes}")
        await self._ensure_bucket()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue(maxsize=self._queue_chunks)
        reader = _QueueReader(loop, queue)
        upload = self._uploads.submit(self._upload_sync, name, reader, content_type or "application/octet-stream")
        pump = asyncio.create_task(self._pump(chunks, queue, reader, max_bytes))
        try:
            size, sha, _etag = await asyncio.wrap_future(upload)
        except asyncio.CancelledError:
            reader.abort()
            pump.cancel()
            await self._after_cancel(name, upload)
            raise
        except BaseException as exc:
            reader.abort()
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
            if reader.failure is not None:  # too big, or the source failed
                if not isinstance(exc, _Aborted):  # ... and the abort could not reach the server
                    log.warning(
                        "blobstore.abort_failed", bucket=self.bucket, object=name, error=f"{type(exc).__name__}: {exc}"
                    )
                raise reader.failure from None
            if self._is_store_error(exc):
                error = self._unavailable("upload", name, exc)
                log.warning(
                    "blobstore.upload_failed",
                    bucket=self.bucket,
                    object=name,
                    error=str(error),
                    note="an incomplete multipart upload may remain until the server's stale-upload expiry",
                )
                raise error from exc
            raise
        await pump
        return size, sha

    async def _pump(
        self, chunks: AsyncIterator[bytes], queue: asyncio.Queue, reader: _QueueReader, max_bytes: int
    ) -> None:
        """Source -> queue on the event loop; stops reading the source at the first byte
        over max_bytes or at its first error, and tells the upload thread why."""
        size = 0
        try:
            async for chunk in chunks:
                if not isinstance(chunk, (bytes, bytearray, memoryview)):
                    raise TypeError(f"blob chunks must be bytes, not {type(chunk).__name__}")
                if not chunk:
                    continue
                size += len(chunk)
                if size > max_bytes:
                    reader.fail(ValueError(f"object is larger than the {max_bytes} byte limit"))
                    return
                await queue.put(bytes(chunk))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - the caller's iterator failed: the put fails with its error
            reader.fail(exc)
            return
        await queue.put(_EOF)

    def _upload_sync(self, name: str, reader: _QueueReader, content_type: str) -> tuple[int, str, str | None]:
        """(size, sha256, etag of the object written)."""
        head = reader.read(self._part_size + 1)
        if len(head) <= self._part_size:  # the whole object: one PUT with its digest
            sha = reader.digest.hexdigest()
            result = self._client.put_object(
                self.bucket, name, io.BytesIO(head), len(head), content_type=content_type, metadata={SHA256_META: sha}
            )
            return len(head), sha, result.etag
        source = _Prefixed(head, reader)
        del head  # the client holds one part at a time; don't keep the first one
        result = self._client.put_object(
            self.bucket,
            name,
            source,  # type: ignore[arg-type] # minio only calls read(size), which _Prefixed has
            -1,
            content_type=content_type,
            part_size=self._part_size,
            num_parallel_uploads=1,
        )
        size, sha = reader.size, reader.digest.hexdigest()
        try:  # S3 metadata is immutable: copy the object onto itself with the digest added
            stamped = self._client.copy_object(
                self.bucket,
                name,
                CopySource(self.bucket, name, match_etag=result.etag),
                metadata={"Content-Type": content_type, SHA256_META: sha},
                metadata_directive=REPLACE,
            )
        except S3Error as exc:
            if exc.code == "PreconditionFailed":  # a concurrent put replaced it: last writer wins
                return size, sha, None
            self._discard(name, result.etag or "")
            raise
        except Exception:
            self._discard(name, result.etag or "")
            raise
        return size, sha, stamped.etag

    def _discard(self, name: str, etag: str) -> None:
        """Best effort: remove the object we completed but could not finish (only if it
        is still ours: same ETag)."""
        try:
            if self._client.stat_object(self.bucket, name).etag == etag:
                self._client.remove_object(self.bucket, name)
        except Exception as exc:  # noqa: BLE001 - best-effort clean-up of an orphan, logged
            log.warning(
                "blobstore.discard_failed", bucket=self.bucket, object=name, error=f"{type(exc).__name__}: {exc}"
            )

    async def _after_cancel(self, name: str, upload: concurrent.futures.Future) -> None:
        """The put was cancelled: let the upload thread finish aborting; if it completed
        the object regardless, remove it."""
        if upload.cancelled():
            return
        try:
            _size, _sha, etag = await asyncio.shield(asyncio.wrap_future(upload))
        except asyncio.CancelledError:
            return
        except BaseException:  # noqa: BLE001 - whatever the upload died of, it kept nothing
            return
        if etag:
            await asyncio.to_thread(self._discard, name, etag)

    # -- get / delete / presign ---------------------------------------------------------
    async def get(self, tenant_id, key):
        name = object_name(tenant_id, key)
        await self._ensure_bucket()
        response = await self._run("read", name, self._client.get_object, self.bucket, name, missing_key=key)
        try:
            while chunk := await self._run("read", name, response.read, self._chunk_size):
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def delete(self, tenant_id, key):
        name = object_name(tenant_id, key)
        await self._ensure_bucket()
        await self._run("delete", name, self._client.remove_object, self.bucket, name)  # S3 delete is idempotent

    async def keys(self, tenant_id, prefix):
        folder = object_name(tenant_id, prefix.rstrip("/")) + "/"
        tenant_root = object_name(tenant_id, "x")[:-1]
        await self._ensure_bucket()

        def listing() -> list[str]:
            objects = self._client.list_objects(self.bucket, prefix=folder, recursive=True)
            return sorted(o.object_name[len(tenant_root) :] for o in objects)

        return await self._run("list", folder, listing)

    async def download_url(self, tenant_id: str, key: str, expires_s: int = 900) -> str:
        return await self.presigned_url(tenant_id, key, expires_s)

    async def presigned_url(self, tenant_id: str, key: str, expires_s: int = 900) -> str:
        """A GET URL for this object valid expires_s seconds (1 s .. 7 days), signed for
        this store's endpoint (the browser must reach that same host:port). KeyError if
        the object does not exist."""
        name = object_name(tenant_id, key)
        if not 1 <= expires_s <= MAX_PRESIGN_S:
            raise ValueError(f"expires_s must be between 1 and {MAX_PRESIGN_S}, not {expires_s}")
        await self._ensure_bucket()
        await self._run("stat", name, self._client.stat_object, self.bucket, name, missing_key=key)
        return await self._run(
            "presign", name, self._client.presigned_get_object, self.bucket, name, expires=timedelta(seconds=expires_s)
        )
