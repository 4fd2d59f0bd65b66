"""Hourly aggregates in CQL (ScyllaDB, or Apache Cassandra in the tests).

One table, partitioned by tenant, day and shard:

  analytics_days ((tenant_id, day, shard), event_id)
      version bigint STATIC          the partition's aggregate version (a compare-and-set token)
      hours   map<int, text> STATIC  hour of the day -> Bucket.to_json()
      event_id                       one clustering row per counted event (its idempotency record)

Exactly once, with no crash window: counting an event is ONE conditional batch on one
partition (a Paxos round):

  INSERT (tenant, day, shard, event_id) IF NOT EXISTS     -- the event was not counted
  UPDATE SET version = v+1, hours[h] = merged IF version = v  -- nobody changed the aggregate

Cassandra and Scylla apply a conditional batch on one partition atomically: both
conditions hold and both writes land, or nothing does. So the idempotency record and
the counter change cannot be separated by a crash (the "LWT on the event id, then
update" design can: a process dying between the two loses the event forever, and
re-applying a counter increment is not safe). When the outcome is unknown (a CAS
timeout, the process dies mid-call), the event is simply processed again: the next
attempt reads at SERIAL consistency, which completes any in-flight Paxos round, and
finds its event id if the batch landed. A lost race on `version` re-reads and
retries.

Static columns make the aggregate and the event rows one partition; `shard` (the
event id's CRC32 mod `shards`, fixed for the life of a keyspace) spreads a busy
tenant's day over several partitions so concurrent consumers contend less. A range
read fetches days x shards partitions concurrently and merges their hours.

An event lands in the bucket of its own occurred_at, which every copy of it carries,
so duplicates always meet their first copy in the same partition. The event rows
expire after `seen_ttl_s` (35 days by default): far longer than the EVENTS stream keeps
an event (7 days), i.e. longer than any duplicate can arrive.

Per-conversation sentiment: two plain tables keyed by the message id, written before
the conditional batch (an upsert of the same values is idempotent, so a crash between
them only means the next attempt writes them again):

  analytics_conversation_sentiment ((tenant_id, conversation_id), message_id)   lookup by conversation
  analytics_sentiment_days ((tenant_id, day, shard), conversation_id, message_id) ranking over a range

(shard = CRC32 of the conversation id, so a busy tenant's day is spread out too.)
"""

from __future__ import annotations

import asyncio
import random
import zlib
from collections.abc import Iterable
from datetime import date, timedelta

from cassandra import ConsistencyLevel

from analytics.aggregate import Bucket
from analytics.store import AnalyticsStore, ConversationScore, MessageScore, sum_scores
from frontdesk.stores.base import StoreUnavailable
from frontdesk.stores.cql import CqlSession, CqlStore, is_cas_timeout
from frontdesk.stores.cql.session import applied

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {ks}.analytics_days (
        tenant_id text, day text, shard int, event_id text,
        version bigint STATIC, hours map<int, text> STATIC,
        PRIMARY KEY ((tenant_id, day, shard), event_id))""",
    """CREATE TABLE IF NOT EXISTS {ks}.analytics_conversation_sentiment (
        tenant_id text, conversation_id text, message_id text, at_ms bigint, score int,
        PRIMARY KEY ((tenant_id, conversation_id), message_id))""",
    """CREATE TABLE IF NOT EXISTS {ks}.analytics_sentiment_days (
        tenant_id text, day text, shard int, conversation_id text, message_id text, at_ms bigint, score int,
        PRIMARY KEY ((tenant_id, day, shard), conversation_id, message_id))""",
)
_STATEMENTS = {
    "read": "SELECT version, hours FROM {ks}.analytics_days WHERE tenant_id = ? AND day = ? AND shard = ? LIMIT 1",
    "seen": "SELECT event_id FROM {ks}.analytics_days WHERE tenant_id = ? AND day = ? AND shard = ? AND event_id = ?",
    "create": "INSERT INTO {ks}.analytics_days (tenant_id, day, shard, version) VALUES (?, ?, ?, 0) IF NOT EXISTS",
    "claim": "INSERT INTO {ks}.analytics_days (tenant_id, day, shard, event_id) VALUES (?, ?, ?, ?) IF NOT EXISTS USING TTL ?",
    "bump": "UPDATE {ks}.analytics_days SET version = ?, hours[?] = ? WHERE tenant_id = ? AND day = ? AND shard = ? IF version = ?",
    "score_put": (
        "INSERT INTO {ks}.analytics_conversation_sentiment (tenant_id, conversation_id, message_id, at_ms, "
        "score) VALUES (?, ?, ?, ?, ?)"
    ),
    "score_day_put": (
        "INSERT INTO {ks}.analytics_sentiment_days (tenant_id, day, shard, conversation_id, message_id, "
        "at_ms, score) VALUES (?, ?, ?, ?, ?, ?, ?)"
    ),
    "scores": (
        "SELECT conversation_id, message_id, at_ms, score FROM {ks}.analytics_conversation_sentiment "
        "WHERE tenant_id = ? AND conversation_id = ?"
    ),
    "scores_day": (
        "SELECT conversation_id, message_id, at_ms, score FROM {ks}.analytics_sentiment_days "
        "WHERE tenant_id = ? AND day = ? AND shard = ?"
    ),
    # erasure (analytics/erasure.py)
    "rewrite": (
        "UPDATE {ks}.analytics_days SET version = ?, hours = hours + ? WHERE tenant_id = ? AND day = ? AND shard = ? "
        "IF version = ?"
    ),
    "event_ids": "SELECT event_id FROM {ks}.analytics_days WHERE tenant_id = ? AND day = ? AND shard = ?",
    "event_drop": "DELETE FROM {ks}.analytics_days WHERE tenant_id = ? AND day = ? AND shard = ? AND event_id = ?",
    "scores_drop": "DELETE FROM {ks}.analytics_conversation_sentiment WHERE tenant_id = ? AND conversation_id = ?",
    "score_days_drop": (
        "DELETE FROM {ks}.analytics_sentiment_days WHERE tenant_id = ? AND day = ? AND shard = ? AND conversation_id = ?"
    ),
}
_MAX_IDS = 500
_ATTEMPTS = 50


def _days(from_day: str, to_day: str) -> list[str]:
    start, end = date.fromisoformat(from_day), date.fromisoformat(to_day)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


class CqlAnalyticsStore(CqlStore, AnalyticsStore):
    """`CqlAnalyticsStore(contact_points, keyspace=..., ...)` (the CqlSession options), or
    `CqlAnalyticsStore(session=shared_session)`."""

    _NAME = "analytics"
    _SCHEMA = _SCHEMA
    _STATEMENTS = _STATEMENTS

    def __init__(
        self,
        contact_points: Iterable[str] | str = ("127.0.0.1",),
        *,
        session: CqlSession | None = None,
        shards: int = 4,
        seen_ttl_s: int = 35 * 86_400,
        **options,
    ):
        super().__init__(contact_points, session, options)
        if shards < 1:
            raise ValueError("shards must be at least 1")
        self.shards = shards
        self.seen_ttl_s = int(seen_ttl_s)

    def _shard(self, event_id: str) -> int:
        return zlib.crc32(event_id.encode()) % self.shards

    async def _serial(self, name: str, *params) -> list[dict]:
        # SERIAL reads complete any Paxos round in flight, so an unknown earlier outcome becomes known
        return await self._q(name, *params, consistency=ConsistencyLevel.LOCAL_SERIAL)

    async def apply(
        self, tenant_id: str, event_id: str, hour: str, delta: Bucket, score: MessageScore | None = None
    ) -> bool:
        day, hour_of_day = hour[:10], int(hour[11:13])
        shard = self._shard(event_id)
        key = (tenant_id, day, shard)
        st = await self._ready()
        if score is not None:  # idempotent upserts, before the batch: a crash in between just writes them again
            await self.put_score(tenant_id, score)
        for attempt in range(_ATTEMPTS):
            try:
                if await self._serial("seen", *key, event_id):
                    return False
                rows = await self._serial("read", *key)
                if not rows or rows[0]["version"] is None:
                    await self._q("create", *key)  # version 0: a condition needs a value to compare
                    continue
                version = rows[0]["version"]
                merged = Bucket.from_json((rows[0]["hours"] or {}).get(hour_of_day)).merge(delta)
                batch = self._cql.batch(logged=True)
                batch.add(st["claim"], (*key, event_id, self.seen_ttl_s))
                batch.add(st["bump"], (version + 1, hour_of_day, merged.to_json(), *key, version))
                result = await self._cql.execute(batch)
                if result and result[0].get("[applied]"):
                    return True
                # a condition failed: another writer counted this event or moved the version; look again
            except StoreUnavailable as err:
                if not is_cas_timeout(err) or attempt == _ATTEMPTS - 1:
                    raise
            await asyncio.sleep(random.uniform(0.002, 0.02) * min(attempt + 1, 10))  # spread racing writers
        raise StoreUnavailable(f"analytics: could not count event {event_id} after {_ATTEMPTS} contended attempts")

    async def hours(self, tenant_id: str, from_hour: str, to_hour: str) -> dict[str, Bucket]:
        await self._ready()
        keys = [(tenant_id, day, shard) for day in _days(from_hour[:10], to_hour[:10]) for shard in range(self.shards)]
        results = await asyncio.gather(*(self._q("read", *key) for key in keys))
        out: dict[str, Bucket] = {}
        for (_, day, _), rows in zip(keys, results, strict=False):
            for hour_of_day, body in ((rows[0]["hours"] or {}) if rows else {}).items():
                hour = f"{day}T{hour_of_day:02d}"
                if from_hour <= hour <= to_hour:
                    out.setdefault(hour, Bucket()).merge(Bucket.from_json(body))
        return out

    async def put_score(self, tenant_id: str, score: MessageScore) -> None:
        s = score
        await self._batch(
            [
                ("score_put", (tenant_id, s.conversation_id, s.message_id, s.at_ms, s.score_milli)),
                (
                    "score_day_put",
                    (
                        tenant_id,
                        s.day,
                        self._shard(s.conversation_id),
                        s.conversation_id,
                        s.message_id,
                        s.at_ms,
                        s.score_milli,
                    ),
                ),
            ]
        )

    async def counted(self, tenant_id: str, event_id: str, from_hour: str, to_hour: str) -> bool:
        shard = self._shard(event_id)
        found = await asyncio.gather(
            *(self._serial("seen", tenant_id, day, shard, event_id) for day in _days(from_hour[:10], to_hour[:10]))
        )
        return any(found)

    async def conversation_scores(self, tenant_id: str, conversation_ids: list[str]) -> dict[str, ConversationScore]:
        ids = list(dict.fromkeys(conversation_ids))[:_MAX_IDS]
        results = await asyncio.gather(*(self._q("scores", tenant_id, cid) for cid in ids))
        return sum_scores(
            (r["conversation_id"], r["message_id"], r["at_ms"], r["score"]) for rows in results for r in rows
        )

    async def scores_in_range(self, tenant_id: str, from_day: str, to_day: str) -> dict[str, ConversationScore]:
        keys = [(tenant_id, day, shard) for day in _days(from_day, to_day) for shard in range(self.shards)]
        results = await asyncio.gather(*(self._q("scores_day", *key) for key in keys))
        return sum_scores(
            (r["conversation_id"], r["message_id"], r["at_ms"], r["score"]) for rows in results for r in rows
        )

    async def drop_scores(self, tenant_id: str, conversation_ids: list[str]) -> int:
        dropped = 0
        for cid in conversation_ids:
            rows = await self._q("scores", tenant_id, cid)
            days = {MessageScore(cid, r["message_id"], r["at_ms"] or 0, 0).day for r in rows}
            await asyncio.gather(
                *(self._q("score_days_drop", tenant_id, day, self._shard(cid), cid) for day in sorted(days))
            )
            await self._q("scores_drop", tenant_id, cid)
            dropped += len(rows)
        return dropped

    async def forget_events(self, tenant_id: str, conversation_ids: list[str], from_day: str, to_day: str) -> int:
        wanted = set(conversation_ids)
        dropped = 0
        for day in _days(from_day, to_day):
            for shard in range(self.shards):
                rows = await self._q("event_ids", tenant_id, day, shard)
                named = [r["event_id"] for r in rows if r["event_id"] and any(c in r["event_id"] for c in wanted)]
                await asyncio.gather(*(self._q("event_drop", tenant_id, day, shard, e) for e in named))
                dropped += len(named)
        return dropped

    async def edit_hours(self, tenant_id: str, from_hour: str, to_hour: str, scrub) -> None:
        for day in _days(from_hour[:10], to_hour[:10]):
            for shard in range(self.shards):
                await self._edit_partition(tenant_id, day, shard, from_hour, to_hour, scrub)

    async def _edit_partition(self, tenant_id, day, shard, from_hour, to_hour, scrub) -> None:
        key = (tenant_id, day, shard)
        for attempt in range(_ATTEMPTS):
            try:
                rows = await self._serial("read", *key)
                if not rows or rows[0]["version"] is None:
                    return
                changes, tallies = {}, []
                for hour_of_day, body in (rows[0]["hours"] or {}).items():
                    if not from_hour <= f"{day}T{hour_of_day:02d}" <= to_hour:
                        continue
                    bucket = Bucket.from_json(body)
                    changed, *tally = scrub(bucket)
                    if changed:
                        changes[hour_of_day] = bucket.to_json()
                        tallies.append(tally)
                if not changes:
                    return
                version = rows[0]["version"]
                if applied(await self._q("rewrite", version + 1, changes, *key, version)):
                    for tally in tallies:
                        scrub.written(*tally)
                    return
            except StoreUnavailable as err:
                if not is_cas_timeout(err) or attempt == _ATTEMPTS - 1:
                    raise
            await asyncio.sleep(random.uniform(0.002, 0.02) * min(attempt + 1, 10))
        raise StoreUnavailable(f"analytics: could not rewrite {day} after {_ATTEMPTS} contended attempts")
