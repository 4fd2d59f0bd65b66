"""Limits on the calls that need no credentials: signing in and minting visitor sessions.

Both are open doors (anyone may knock), so they are limited by what the caller cannot
change at will: the account being tried and the client's network address for sign-in; the
client's address and the widget key for visitor sessions (a new session per message would
otherwise walk around the per-visitor rate limit). Counts live in each gateway process;
a deployment with N gateways allows at most N times these (said in docs/security.md).

The client address is the gRPC peer, or the `x-forwarded-for` metadata when the peer is a
trusted proxy (the gateway's own gRPC-web translator on loopback, Envoy in production).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from frontdesk.errors import ResourceExhausted
from gateway.ratelimit import RateLimiter

# sign-in: this many failures in a row are free, then each further one doubles the wait
FREE_FAILURES = 5
FIRST_LOCK_S = 2.0
MAX_LOCK_S = 15 * 60.0
# an address trying many accounts (password spraying): a looser allowance of failures
ADDRESS_FREE_FAILURES = 20
_MAX_TRACKED = 100_000


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


def _retry(wait: float, what: str) -> ResourceExhausted:
    return ResourceExhausted(
        f"too many {what}; retry in {wait:.0f} s", trailers=(("retry-after", f"{max(wait, 0.001):.3f}"),)
    )


class LoginThrottle:
    """Exponential back-off per account (tenant slug + email, whether or not it exists: an
    unknown account must look like a known one) and per client address."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._accounts: OrderedDict[str, _Failures] = OrderedDict()
        self._addresses: OrderedDict[str, _Failures] = OrderedDict()

    @staticmethod
    def account_key(slug: str, email: str) -> str:
        return f"{slug.strip().lower()}\0{email.strip().lower()}"

    def check(self, account: str, address: str) -> None:
        """Raises RESOURCE_EXHAUSTED (with retry-after) while either is locked out."""
        now = self._clock()
        for table in (self._accounts, self._addresses):
            entry = table.get(account if table is self._accounts else address)
            if entry is not None and entry.locked_until > now:
                raise _retry(entry.locked_until - now, "failed sign-in attempts")

    def failed(self, account: str, address: str) -> None:
        now = self._clock()
        self._bump(self._accounts, account, FREE_FAILURES, now)
        if address:
            self._bump(self._addresses, address, ADDRESS_FREE_FAILURES, now)

    def succeeded(self, account: str) -> None:
        self._accounts.pop(account, None)

    def _bump(self, table: OrderedDict[str, _Failures], key: str, free: int, now: float) -> None:
        entry = table.pop(key, None) or _Failures()
        entry.count += 1
        if entry.count > free:
            entry.locked_until = now + min(MAX_LOCK_S, FIRST_LOCK_S * 2 ** (entry.count - free - 1))
        table[key] = entry  # most recent last
        while len(table) > _MAX_TRACKED:
            table.popitem(last=False)


class SessionMinting:
    """Visitor sessions per client address and per widget key (token buckets)."""

    def __init__(self, per_address_rate: float, per_address_burst: int, per_widget_rate: float, per_widget_burst: int):
        self._by_address = RateLimiter(per_address_rate, per_address_burst)
        self._by_widget = RateLimiter(per_widget_rate, per_widget_burst)

    def admit(self, widget_key: str, address: str) -> None:
        wait = max(
            self._by_address.acquire(address) if address else 0.0,
            self._by_widget.acquire(widget_key),
        )
        if wait > 0:
            raise _retry(wait, "new chat sessions from here")


def client_address(context, trusted_proxies: frozenset[str]) -> str:
    """The caller's IP address (without the port)."""
    peer = context.peer() or ""  # "ipv4:127.0.0.1:5000", "ipv6:[::1]:5000", "unix:..."
    kind, _, rest = peer.partition(":")
    if kind == "ipv6":
        host = rest.rsplit("]:", 1)[0].lstrip("[")
    elif kind == "ipv4":
        host = rest.rsplit(":", 1)[0]
    else:
        host = peer
    if host in trusted_proxies:
        for key, value in context.invocation_metadata() or ():
            if key == "x-forwarded-for" and value:
                return value.split(",")[-1].strip()[:64]  # the address the proxy itself saw
    return host
