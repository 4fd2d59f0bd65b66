"""The conversation search on CQL: a term index, so a search never scans a tenant's messages.

Each searched message writes one posting per distinct word into `message_terms`, partitioned
by (tenant, word, month) and clustered by message id, newest first. Each posting carries a
256-bit signature of all the message's words (a Bloom filter, two bits per word). A search
reads the first chunk of each word's postings, then walks the sparsest of those lists and
keeps the postings whose signature has the bits of every other word. What the signature lets
through by chance (well under 1% for short messages) is dropped when the message is read for
its snippet (the store checks its words). So a search costs one small read per word, then
growing chunks of one list, at most SCAN_BUDGET postings; past that the page ends early
with a token to go on.

Why not an external engine (Elasticsearch, OpenSearch): one more cluster to run for what a
support team searches (words in its own conversations, newest first) is not worth it; the
index lives in the same keyspace, is written with the message and tenant-scoped by key.
Postings are written before the message, so a crash between them leaves a posting with no
message, which a search skips.
"""

from __future__ import annotations

import asyncio
import time
import zlib

from frontdesk import ids
from frontdesk.stores.search import message_terms
from frontdesk_pb.common.v1 import common_pb2 as common

BUCKET_MS = 30 * 86_400_000  # one partition per word and ~month: bounded partitions
FIRST_CHUNK = 64  # postings of each word read first: enough for a page of a common word
CHUNK = 1024  # the most read at a time (chunks grow x4 from FIRST_CHUNK while a list is walked)
SCAN_BUDGET = 8192  # postings walked per call before the page ends early (bounds a page's time)
SIG_BITS = 256
_TOP = "~"  # sorts after every message id


def bucket_of(message_id: str) -> int:
    try:
        return ids.id_time_ms(message_id) // BUCKET_MS
    except (ValueError, IndexError):
        return 0


def _bits(term: str) -> tuple[int, int]:
    data = term.encode()
    return zlib.crc32(data) % SIG_BITS, zlib.adler32(data) % SIG_BITS


def signature(terms) -> int:
    """The Bloom filter of a set of words, as an integer."""
    sig = 0
    for term in terms:
        for bit in _bits(term):
            sig |= 1 << bit
    return sig


def posting_writes(tenant_id: str, message: common.Message) -> list[tuple[str, tuple]]:
    bucket = bucket_of(message.id)
    terms = message_terms(message)
    if not terms:
        return []
    sig = signature(terms).to_bytes(SIG_BITS // 8, "big")
    return [("term_bucket_put", (tenant_id, bucket))] + [
        ("term_put", (tenant_id, term, bucket, message.id, message.conversation_id, sig)) for term in terms
    ]


_BUCKETS_TTL_S = 60.0


async def _buckets(query, tenant_id: str, cache: dict | None) -> list[int]:
    """The tenant's posting months, newest first. Kept a while in `cache` once they include the
    current month: every new posting goes there, so the list cannot miss one."""
    hit = cache.get(tenant_id) if cache is not None else None
    if hit is not None and time.monotonic() - hit[0] < _BUCKETS_TTL_S:
        return hit[1]
    buckets = sorted((r["bucket"] for r in await query("term_buckets", tenant_id)), reverse=True)
    if cache is not None and buckets and buckets[0] >= int(time.time() * 1000) // BUCKET_MS:
        if len(cache) > 10_000:
            cache.clear()
        cache[tenant_id] = (time.monotonic(), buckets)
    return buckets


class _Postings:
    """One word's postings below a message id, across the tenant's buckets, newest first."""

    def __init__(self, query, tenant_id: str, term: str, buckets: list[int], below: str):
        self._query, self._tenant, self._term = query, tenant_id, term
        self._buckets = [b for b in buckets if below == _TOP or b <= bucket_of(below)]  # newest first
        self._below = below
        self._size = FIRST_CHUNK
        self.read = 0  # postings returned so far
        self.read_out = False  # every posting has been returned

    async def chunk(self) -> list[dict]:
        """The next postings (newest first); [] once read out."""
        while self._buckets:
            size = self._size
            rows = await self._query("term_below", self._tenant, self._term, self._buckets[0], self._below, size)
            # rows: (message_id, conversation_id, sig) tuples
            self._size = min(size * 4, CHUNK)
            self.read += len(rows)
            if len(rows) < size:
                self._buckets.pop(0)  # this bucket is read out below the cursor
            if rows:
                self._below = rows[-1][0]
                self.read_out = not self._buckets
                return rows
        self.read_out = True
        return []


async def candidates(
    query,
    tenant_id: str,
    terms: list[str],
    page_token: str,
    want: int,
    bucket_cache: dict | None = None,
    scan=None,
):
    """Up to `want` (message id, conversation id) that may hold every term, newest first
    (the caller checks the message's words: a signature can let a message through by chance),
    and the token to go on from ('' when the index is read out)."""
    if page_token and not ids.is_id(page_token, "message"):
        raise ValueError("page_token is not valid")
    buckets = await _buckets(query, tenant_id, bucket_cache)
    # `scan` runs the posting reads, rows as tuples (CqlStore._q_tuples); `query` the others
    lists = [_Postings(scan or query, tenant_id, t, buckets, page_token or _TOP) for t in terms]
    firsts = await asyncio.gather(*(p.chunk() for p in lists))
    if any(not rows for rows in firsts):
        return [], ""  # a word that is nowhere (below the cursor)
    # walk the sparsest list: one read out whole is the shortest; else the one whose first
    # postings reach furthest back in time
    driver = min(
        range(len(lists)),
        key=lambda i: (not lists[i].read_out, len(firsts[i]) if lists[i].read_out else 0, firsts[i][-1][0]),
    )
    postings, rows = lists[driver], firsts[driver]
    others = signature(t for i, t in enumerate(terms) if i != driver)
    found: list[tuple[str, str]] = []
    while True:
        # the next chunk is read while this one is filtered
        ahead = None if postings.read_out or postings.read >= SCAN_BUDGET else asyncio.ensure_future(postings.chunk())
        try:
            for message_id, conversation_id, sig_bytes in rows:
                sig = int.from_bytes(sig_bytes, "big") if sig_bytes else -1
                if sig & others == others:
                    found.append((message_id, conversation_id))
                    if len(found) == want:
                        return found, message_id
        finally:
            if ahead is not None and len(found) == want:
                ahead.cancel()
        if postings.read_out and ahead is None:
            return found, ""
        if ahead is None:
            return found, rows[-1][0]  # the scan budget is spent
        rows = await ahead
        if not rows:
            return found, ""


async def write_postings(store, tenant_id: str, message: common.Message) -> None:
    """The message's postings, concurrently (separate partitions: a batch would not help)."""
    writes = posting_writes(tenant_id, message)
    for start in range(0, len(writes), 64):
        await asyncio.gather(*(store._q(name, *params) for name, params in writes[start : start + 64]))
