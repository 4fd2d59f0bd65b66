"""Where the hourly aggregates live: an interface, the embedded SQLite store
(analytics/store_sqlite.py) and the CQL store for Scylla / Cassandra
(analytics/store_cql.py). The contract tests in tests/analytics run against both.

The one promise that makes analytics exactly-once in effect: `apply` records that an
event id was counted *in the same atomic step* as the aggregate change, so a
redelivered or duplicated event changes nothing, and a crash leaves either both or
neither.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime

from analytics.aggregate import Bucket
from frontdesk.settings import StartupError


@dataclass(frozen=True)
class MessageScore:
    """The sentiment of one customer message: kept per conversation, keyed by the
    message id, so writing it again (a duplicate event, a rebuild) changes nothing."""

    conversation_id: str
    message_id: str
    at_ms: int
    score_milli: int

    @property
    def day(self) -> str:
        return datetime.fromtimestamp(self.at_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


@dataclass
class ConversationScore:
    """One conversation's scored customer messages, summed (over a range, or its whole life)."""

    conversation_id: str
    messages: int = 0
    sum_milli: int = 0
    min_milli: int = 0
    last_ms: int = 0

    def add(self, score_milli: int, at_ms: int) -> ConversationScore:
        self.min_milli = score_milli if self.messages == 0 else min(self.min_milli, score_milli)
        self.messages += 1
        self.sum_milli += score_milli
        self.last_ms = max(self.last_ms, at_ms)
        return self

    @property
    def mean(self) -> float:
        return self.sum_milli / self.messages / 1000 if self.messages else 0.0


def sum_scores(rows) -> dict[str, ConversationScore]:
    """(conversation_id, message_id, at_ms, score_milli) rows -> per conversation; a
    message seen twice (in two day partitions) counts once."""
    seen: dict[tuple[str, str], tuple[int, int]] = {}
    for conversation_id, message_id, at_ms, score in rows:
        seen[(conversation_id, message_id)] = (int(at_ms), int(score))
    out: dict[str, ConversationScore] = {}
    for (conversation_id, _), (at_ms, score) in sorted(seen.items()):
        out.setdefault(conversation_id, ConversationScore(conversation_id)).add(score, at_ms)
    return out


class AnalyticsStore(ABC):
    @abstractmethod
    async def apply(
        self, tenant_id: str, event_id: str, hour: str, delta: Bucket, score: MessageScore | None = None
    ) -> bool:
        """Add `delta` to the tenant's `hour` bucket (YYYY-MM-DDTHH, UTC) unless `event_id`
        was applied before. True when applied now, False for a duplicate. `score` (a
        customer message's sentiment) is kept per conversation in any case: it is keyed
        by the message, so a duplicate rewrites the same value (and a rebuild fills in
        conversations counted before per-conversation sentiment existed)."""

    @abstractmethod
    async def put_score(self, tenant_id: str, score: MessageScore) -> None:
        """Keep one message's sentiment (what `apply` does with `score`), alone: the rebuild
        fills in messages whose events were counted before per-conversation sentiment existed."""

    @abstractmethod
    async def counted(self, tenant_id: str, event_id: str, from_hour: str, to_hour: str) -> bool:
        """Whether `event_id` was applied with an hour between the two (inclusive). The
        rebuild from the logs asks before applying an event whose exact hour it cannot
        know (the live copy may have landed an hour or a day apart)."""

    @abstractmethod
    async def conversation_scores(self, tenant_id: str, conversation_ids: list[str]) -> dict[str, ConversationScore]:
        """The whole-life sentiment of these conversations (absent: no scored message)."""

    @abstractmethod
    async def scores_in_range(self, tenant_id: str, from_day: str, to_day: str) -> dict[str, ConversationScore]:
        """Per conversation, its customer messages scored on these days (inclusive)."""

    @abstractmethod
    async def hours(self, tenant_id: str, from_hour: str, to_hour: str) -> dict[str, Bucket]:
        """The tenant's buckets from `from_hour` to `to_hour`, inclusive; hours without
        events are absent."""

    @abstractmethod
    async def drop_scores(self, tenant_id: str, conversation_ids: list[str]) -> int:
        """Forget the sentiment of these conversations' messages; how many scores there were."""

    @abstractmethod
    async def forget_events(self, tenant_id: str, conversation_ids: list[str], from_day: str, to_day: str) -> int:
        """Drop the records of counted events whose ids name these conversations, counted on
        these days (inclusive). Only once no copy of those events can come again (the
        erasure has deleted them from the stream): their record is what stops a recount."""

    @abstractmethod
    async def edit_hours(self, tenant_id: str, from_hour: str, to_hour: str, scrub) -> None:
        """Rewrite each stored bucket of these hours (inclusive) with `scrub(bucket)`, which
        edits it in place and returns (changed, *tally); a changed bucket is written back
        atomically (retried on a lost race with a fresh read) and then `scrub.written(*tally)`
        is called once (analytics/erasure.py)."""

    async def connect(self) -> None:  # noqa: B027 - optional hook: stores that connect lazily need nothing here
        """Connect and create tables now (otherwise on first use)."""

    @abstractmethod
    async def close(self) -> None: ...


def open_analytics_store(settings) -> AnalyticsStore:
    """The embedded default keeps aggregates in data_dir/analytics.db (its own SQLite file,
    so counting never waits on the conversation service's write lock); log_store=scylla
    keeps them in the CQL keyspace of the log store."""
    if settings.log_store == "embedded":
        from analytics.store_sqlite import SqliteAnalyticsStore

        return SqliteAnalyticsStore(settings.data_dir / "analytics.db")
    if settings.log_store == "scylla":
        from analytics.store_cql import CqlAnalyticsStore
        from frontdesk.stores import cql_options

        return CqlAnalyticsStore(**cql_options(settings))
    raise StartupError(f"unknown log store {settings.log_store!r} (known: embedded, scylla)")
