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

from analytics.aggregate import Bucket


class AnalyticsStore(ABC):
    @abstractmethod
    async def apply(self, tenant_id: str, event_id: str, hour: str, delta: Bucket) -> bool:
        """Add `delta` to the tenant's `hour` bucket (YYYY-MM-DDTHH, UTC) unless `event_id`
        was applied before. True when applied now, False for a duplicate."""

    @abstractmethod
    async def hours(self, tenant_id: str, from_hour: str, to_hour: str) -> dict[str, Bucket]:
        """The tenant's buckets from `from_hour` to `to_hour`, inclusive; hours without
        events are absent."""

    async def connect(self) -> None:
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
    raise SystemExit(f"unknown log store {settings.log_store!r} (known: embedded, scylla)")
