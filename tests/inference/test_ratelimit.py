"""The model-backend limits shared by every worker (inference/ratelimit.py), on a real
nats-server: two limiters on two connections stand for two worker processes."""

from __future__ import annotations

import asyncio

import nats
import pytest

from frontdesk.settings import Settings
from inference.backends.base import Backend, BackendError, ChatTurn, Delta, GenerationRequest
from inference.backends.echo import EchoBackend
from inference.ratelimit import WINDOW_S, LimitedBackend, SharedRateLimiter, guard, limiter_key, open_bucket


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def two_workers(nats_server):
    a = await nats.connect(nats_server.url)
    b = await nats.connect(nats_server.url)
    kv_a = await open_bucket(a.jetstream())
    kv_b = await open_bucket(b.jetstream())  # the second worker finds the bucket the first made
    yield kv_a, kv_b
    await a.close()
    await b.close()


async def test_the_allowance_is_shared_by_all_workers(two_workers):
    kv_a, kv_b = two_workers
    clock = Clock(1_000 * WINDOW_S + 10)  # 10 s into a minute
    key = limiter_key("openai", "https://api.example/v1", "key-1")
    a = SharedRateLimiter(kv_a, key, per_minute=5, clock=clock)
    b = SharedRateLimiter(kv_b, key, per_minute=5, clock=clock)
    waits = await asyncio.gather(*(limiter.try_acquire() for limiter in [a, b] * 6))
    assert sum(1 for w in waits if w == 0) == 5  # not 5 each: one allowance for the key
    assert all(w == pytest.approx(WINDOW_S - 10) for w in waits if w > 0)

    # another key (another tenant's API key) has its own allowance
    other = SharedRateLimiter(kv_b, limiter_key("openai", "https://api.example/v1", "key-2"), per_minute=5, clock=clock)
    assert await other.try_acquire() == 0

    clock.t += WINDOW_S  # the next minute
    assert await a.try_acquire() == 0


async def test_over_the_allowance_a_request_waits_or_fails_retryable(two_workers):
    kv_a, _ = two_workers
    clock = Clock(2_000 * WINDOW_S + 59.9)  # the window ends in 0.1 s
    limiter = SharedRateLimiter(kv_a, "waits", per_minute=1, max_wait_s=5, clock=clock)
    await limiter.acquire()

    async def later():
        await asyncio.sleep(0.05)
        clock.t += 0.2  # time moves on while it waits

    mover = asyncio.create_task(later())
    await limiter.acquire()  # waited for the next window instead of failing
    await mover

    impatient = SharedRateLimiter(kv_a, "fails", per_minute=1, max_wait_s=1, clock=Clock(3_000 * WINDOW_S))
    await impatient.acquire()
    with pytest.raises(BackendError) as err:
        await impatient.acquire()
    assert err.value.retryable and err.value.retry_after_s == pytest.approx(WINDOW_S)
    assert "1 requests a minute" in str(err.value)


async def test_a_limited_backend_counts_each_request(two_workers):
    kv_a, _ = two_workers
    limited = LimitedBackend(
        EchoBackend(), SharedRateLimiter(kv_a, "echo", per_minute=2, max_wait_s=0, clock=Clock(4_000 * WINDOW_S))
    )
    request = GenerationRequest(turns=(ChatTurn("user", "hello there"),), max_tokens=10)
    for _ in range(2):
        result = await limited.generate(request)
        assert "hello there" in result.text
    with pytest.raises(BackendError) as err:
        await limited.generate(request)
    assert err.value.retryable
    assert limited.name == "echo" and limited.model == EchoBackend().model


class Probe(Backend):
    """Counts requests in flight (a small fake of our own Backend interface)."""

    name = "probe"

    def __init__(self):
        self.now = 0
        self.most = 0

    async def stream(self, request):
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            for word in ("one", " two"):
                await asyncio.sleep(0.01)
                yield Delta(text=word)
        finally:
            self.now -= 1


async def test_concurrency_cap_per_worker():
    probe = Probe()
    settings = Settings(backend_concurrency=2)
    limited = guard(probe, None, settings, per_minute=0, key_parts=("probe",))
    assert isinstance(limited, LimitedBackend)
    request = GenerationRequest(turns=(ChatTurn("user", "hi"),), max_tokens=10)
    results = await asyncio.gather(*(limited.generate(request) for _ in range(6)))
    assert [r.text for r in results] == ["one two"] * 6
    assert probe.most == 2

    # nothing configured: the backend is used as it is
    assert guard(probe, None, Settings(), per_minute=0, key_parts=("probe",)) is probe


async def test_a_tenants_own_backend_gets_its_keys_allowance(two_workers):
    from frontdesk.secretbox import SecretBox
    from inference.tenants import BackendPool, TenantAi, parse_ai_settings

    kv_a, _ = two_workers
    settings = Settings(model_url_allowlist="http://127.0.0.1:9/")
    box = SecretBox.from_settings(Settings(secret="s" * 32))
    ai = parse_ai_settings(
        "t1",
        {"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1", "requests_per_minute": 3},
        [],
        box,
        "llamacpp",
    )
    assert ai.requests_per_minute == 3
    pool = BackendPool(EchoBackend(), settings, limits_kv=kv_a)
    try:
        backend = await pool.get(ai)
        assert isinstance(backend, LimitedBackend) and backend.limiter.per_minute == 3
        assert backend.name == "openai"
        # without a limit the tenant's backend is not wrapped
        plain = await pool.get(TenantAi(backend="openai", model="m2", base_url="http://127.0.0.1:9/v1"))
        assert not isinstance(plain, LimitedBackend)
    finally:
        await pool.close()
