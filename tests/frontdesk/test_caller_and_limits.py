import pytest

from frontdesk.caller import Caller, CallerCodec
from gateway.ratelimit import RateLimiter

pytestmark = pytest.mark.unit


def test_caller_context_roundtrip_and_forgery():
    codec = CallerCodec(b"s" * 32)
    caller = Caller(tenant_id="t_1", kind="visitor", subject="v_1", role="visitor")
    assert codec.decode(codec.encode(caller)) == caller
    other = CallerCodec(b"x" * 32)
    assert other.decode(codec.encode(caller)) is None
    raw, _, sig = codec.encode(caller).partition(".")
    forged = codec.encode(Caller(tenant_id="t_2", kind="visitor", subject="v_1", role="visitor")).split(".")[0]
    assert codec.decode(f"{forged}.{sig}") is None
    assert codec.decode(codec.encode(caller, now=0)) is None  # expired
    assert codec.decode("garbage") is None


def test_token_bucket_refills_and_reports_wait():
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") == 0.5
    assert limiter.acquire("b") == 0.0  # keys are independent
    now[0] += 0.5
    assert limiter.acquire("a") == 0.0
