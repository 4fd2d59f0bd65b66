"""The conversation search on CQL: a term index, so a search never scans a tenant's messages.

Each searched message writes one posting per distinct word into `message_terms`, partitioned
by (tenant, word, month) and clustered by message id, newest first. A search with several
words is a leapfrog join of their posting lists: take the newest candidate of one list, seek
every other list to it (`message_id <= candidate`); where one lands lower, that becomes the
next candidate. Each seek reads a chunk of one partition, so a call costs a few reads per
word and hit, bounded by READ_BUDGET; past it the page ends early with a token to go on.

Why not an external engine (Elasticsearch, OpenSearch): one more cluster to run for what a
support team searches (words in its own conversations, newest first) is not worth it; the
index lives in the same keyspace, is written with the message and tenant-scoped by key.
Postings are written before the message, so a crash between them leaves a posting with no
message, which a search skips.
"""

from __future__ import annotations

import asyncio
import re

from frontdesk import ids
from frontdesk.stores.search import message_terms
from frontdesk_pb.common.v1 import common_pb2 as common

BUCKET_MS = 30 * 86_400_000  # one partition per word and ~month: bounded partitions
CHUNK = 64  # postings read per seek
READ_BUDGET = 200  # posting reads per call before the page ends early
_TOP = "~"  # sorts after every message id
_TOKEN = re.compile(r"[ix]:m_[0-9a-hjkmnp-tv-z]{26}")


def bucket_of(message_id: str) -> int:
    try:
        return ids.id_time_ms(message_id) // BUCKET_MS
    except (ValueError, IndexError):
        return 0


def posting_writes(tenant_id: str, message: common.Message) -> list[tuple[str, tuple]]:
    bucket = bucket_of(message.id)
    terms = message_terms(message)
    if not terms:
        return []
    return [("term_bucket_put", (tenant_id, bucket))] + [
        ("term_put", (tenant_id, term, bucket, message.id, message.conversation_id)) for term in terms
    ]


class _Postings:
    """One word's postings across the tenant's buckets, newest first, read in chunks."""

    def __init__(self, query, tenant_id: str, term: str, buckets: list[int]):
        self._query, self._tenant, self._term = query, tenant_id, term
        self._buckets = buckets  # newest first
        self._at = 0  # index into _buckets
        self._rows: list[dict] = []
        self._i = 0
        self._bucket_read_out = False  # the chunk in _rows was the bucket's last
        self.reads = 0

    async def seek(self, target: str, *, strict: bool) -> dict | None:
        """The newest posting with message id <= target (< with strict), or None."""
        while True:
            rows, i = self._rows, self._i
            while i < len(rows) and (rows[i]["message_id"] > target or (strict and rows[i]["message_id"] == target)):
                i += 1
            self._i = i
            if i < len(rows):
                return rows[i]
            if self._rows and self._bucket_read_out:
                self._at += 1  # this bucket has nothing at or below target
                self._rows, self._bucket_read_out = [], False
            while self._at < len(self._buckets) and target != _TOP and self._buckets[self._at] > bucket_of(target):
                self._at += 1  # a bucket newer than the target holds only newer postings
            if self._at >= len(self._buckets):
                return None
            statement = "term_below" if strict else "term_upto"
            self._rows = await self._query(statement, self._tenant, self._term, self._buckets[self._at], target, CHUNK)
            self._i, self.reads = 0, self.reads + 1
            self._bucket_read_out = len(self._rows) < CHUNK
            if not self._rows:
                self._at += 1
                self._bucket_read_out = False


async def candidates(query, tenant_id: str, terms: list[str], page_token: str, want: int):
    """Up to `want` (message id, conversation id) holding every term, newest first, and the
    token to go on from ('' when the index is read out)."""
    if page_token and not _TOKEN.fullmatch(page_token):
        raise ValueError("page_token is not valid")
    buckets = sorted((r["bucket"] for r in await query("term_buckets", tenant_id)), reverse=True)
    # longer words first: usually the rarer, so the join starts from the shorter list
    lists = [_Postings(query, tenant_id, t, buckets) for t in sorted(terms, key=len, reverse=True)]
    target, strict = (page_token[2:], page_token[0] == "x") if page_token else (_TOP, False)
    found: list[tuple[str, str]] = []
    while len(found) < want:
        if sum(p.reads for p in lists) >= READ_BUDGET:
            return found, f"{'x' if strict else 'i'}:{target}"
        head = await lists[0].seek(target, strict=strict)
        if head is None:
            return found, ""
        candidate, behind = head["message_id"], None
        for postings in lists[1:]:
            other = await postings.seek(candidate, strict=False)
            if other is None:
                return found, ""
            if other["message_id"] != candidate:
                behind = other["message_id"]
                break
        if behind is None:
            found.append((candidate, head["conversation_id"]))
            target, strict = candidate, True
        else:
            target, strict = behind, False
    return found, f"x:{found[-1][0]}" if found else ""


async def write_postings(store, tenant_id: str, message: common.Message) -> None:
    """The message's postings, concurrently (separate partitions: a batch would not help)."""
    writes = posting_writes(tenant_id, message)
    for start in range(0, len(writes), 64):
        await asyncio.gather(*(store._q(name, *params) for name, params in writes[start : start + 64]))
