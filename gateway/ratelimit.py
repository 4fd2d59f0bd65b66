"""Token-bucket rate limits, per tenant and per caller, inside one gateway process.

A limit answers with how long to wait, which the gateway returns as
RESOURCE_EXHAUSTED with a `retry-after` trailer (seconds)."""

from __future__ import annotations

import time


class RateLimiter:
    def __init__(self, rate: float, burst: int, max_keys: int = 100_000, clock=time.monotonic):
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)

    def acquire(self, key: str, cost: float = 1.0) -> float:
        """0 if allowed (the tokens are taken), else seconds until it would be."""
        now = self._clock()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= cost:
            self._buckets[key] = (tokens - cost, now)
            if len(self._buckets) > self._max_keys:
                self._evict(now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (cost - tokens) / self.rate

    def _evict(self, now: float) -> None:
        """Drop buckets that have refilled completely: they hold no state worth keeping."""
        full_after = self.burst / self.rate
        for key in [k for k, (_, last) in self._buckets.items() if now - last > full_after]:
            del self._buckets[key]
