"""Limits that protect model backends from the workers, however many there are.

A hosted API (OpenAI, Anthropic, Gemini, a shared vLLM behind a quota) allows so many
requests a minute per key. Each worker alone cannot keep to that once there are
several, so the count lives in NATS: a JetStream key-value bucket holds one counter per
(endpoint and key, minute), raised with compare-and-set, so every worker of the
deployment draws from the same allowance. A request over the allowance waits for the
next minute (the job stays held and heartbeated); past `max_wait_s` it fails as a
retryable BackendError and the job is retried later with backoff, like a 429.

Within one worker a semaphore also bounds the requests in flight to each backend (the
GPU's or the API's concurrency), on top of the worker's job slots.

Fixed minute windows: at most `per_minute` requests *start* in any calendar minute,
across all workers. Cheap (one KV read and one CAS write per request) and exact at
minute granularity; a burst can straddle two windows, which hosted APIs tolerate since
their own windows are not aligned with ours either.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BadRequestError, KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError

from frontdesk import logs
from inference.backends.base import Backend, BackendError, Delta, GenerationRequest, StreamStats

log = logs.get("inference.ratelimit")

BUCKET = "BACKEND_LIMITS"
WINDOW_S = 60.0
_CAS_ATTEMPTS = 20


async def open_bucket(js, replicas: int = 1):
    """The shared counters' bucket (created on first use; entries expire after two windows)."""
    try:
        return await js.key_value(BUCKET)
    except (NotFoundError, BadRequestError):
        return await js.create_key_value(
            KeyValueConfig(
                bucket=BUCKET,
                history=1,
                ttl=2 * WINDOW_S,
                storage=StorageType.FILE,
                replicas=replicas,
                description="requests per minute to each hosted model endpoint, shared by all workers",
            )
        )


def limiter_key(*parts: str) -> str:
    """A KV-safe, secret-free name for an endpoint and credential (the key itself is hashed)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


class SharedRateLimiter:
    """`await limiter.acquire()` before each request to the backend it guards."""

    def __init__(
        self, kv, key: str, per_minute: int, *, max_wait_s: float = 30.0, clock: Callable[[], float] = time.time
    ):
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.kv = kv
        self.key = key
        self.per_minute = per_minute
        self.max_wait_s = max_wait_s
        self.clock = clock

    async def try_acquire(self) -> float:
        """Takes one request from the current window's allowance: 0.0, or the seconds
        until the next window when the allowance is spent."""
        now = self.clock()
        window = int(now // WINDOW_S)
        name = f"{self.key}.{window}"
        for _ in range(_CAS_ATTEMPTS):
            try:
                entry = await self.kv.get(name)
                used, revision = int(entry.value or b"0"), entry.revision
            except KeyNotFoundError:
                used, revision = 0, None
            if used >= self.per_minute:
                return (window + 1) * WINDOW_S - now
            try:
                if revision is None:
                    await self.kv.create(name, b"1")
                else:
                    await self.kv.update(name, str(used + 1).encode(), last=revision)
                return 0.0
            except (KeyWrongLastSequenceError, BadRequestError):
                # another worker counted first (create of an existing key is a BadRequest): re-read
                await asyncio.sleep(random.uniform(0, 0.005))
        raise BackendError("model rate limiter is contended; retrying later", retryable=True, retry_after_s=1.0)

    async def acquire(self) -> None:
        deadline = time.monotonic() + self.max_wait_s
        while True:
            wait = await self.try_acquire()
            if wait <= 0:
                return
            left = deadline - time.monotonic()
            if left <= 0 or wait > left:
                raise BackendError(
                    f"this model's limit of {self.per_minute} requests a minute is reached",
                    retryable=True,
                    retry_after_s=wait,
                )
            log.debug("ratelimit.waiting", key=self.key, seconds=round(wait, 2))
            await asyncio.sleep(wait + random.uniform(0, 0.25))  # spread the next window's first requests


class LimitedBackend(Backend):
    """A backend behind the deployment-wide request rate and a per-worker concurrency cap."""

    def __init__(self, inner: Backend, limiter: SharedRateLimiter | None, concurrency: int = 0):
        self.inner = inner
        self.limiter = limiter
        self._slots = asyncio.Semaphore(concurrency) if concurrency > 0 else None
        self.name = inner.name
        self.model = inner.model
        self.supports_tools = inner.supports_tools
        self.can_write = inner.can_write

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def _admit(self) -> None:
        if self.limiter is not None:
            await self.limiter.acquire()

    def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        return self._open_stream(request, StreamStats())

    async def _open_stream(self, request: GenerationRequest, stats: StreamStats) -> AsyncIterator[Delta]:
        if self._slots is not None:
            await self._slots.acquire()
        try:
            await self._admit()
            iterator = self.inner._open_stream(request, stats)
            try:
                async for delta in iterator:
                    yield delta
            finally:
                aclose = getattr(iterator, "aclose", None)
                if aclose is not None:
                    await aclose()
        finally:
            if self._slots is not None:
                self._slots.release()

    async def complete_chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        **options,
    ) -> Any:
        if self._slots is not None:
            await self._slots.acquire()
        try:
            await self._admit()
            return await self.inner.complete_chat(messages, tools, tool_choice, **options)
        finally:
            if self._slots is not None:
                self._slots.release()


def guard(backend: Backend, kv, settings, *, per_minute: int, key_parts: Sequence[str]) -> Backend:
    """`backend` behind the shared per-minute allowance (when one is set and NATS is
    there) and the per-worker concurrency cap (FRONTDESK_BACKEND_CONCURRENCY); as is
    when neither applies."""
    limiter = None
    if per_minute > 0 and kv is not None:
        limiter = SharedRateLimiter(kv, limiter_key(*key_parts), per_minute, max_wait_s=settings.backend_limit_wait_s)
    if limiter is None and settings.backend_concurrency <= 0:
        return backend
    return LimitedBackend(backend, limiter, settings.backend_concurrency)
