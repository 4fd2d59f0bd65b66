"""Hourly aggregates in SQLite (the embedded default).

`apply` is one IMMEDIATE transaction: claim the event id in analytics_seen (INSERT OR
IGNORE), and only if the claim is new, read-merge-write the hour's aggregate. Both
commit together or not at all, so there is no window in which an event is counted but
not marked, or marked but not counted.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from analytics.aggregate import Bucket
from analytics.store import AnalyticsStore
from frontdesk.stores.sqlite import _Database, _transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS analytics_seen (
    tenant_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    hour TEXT NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS analytics_hours (
    tenant_id TEXT NOT NULL,
    hour TEXT NOT NULL,          -- YYYY-MM-DDTHH, UTC
    body TEXT NOT NULL,          -- Bucket.to_json()
    PRIMARY KEY (tenant_id, hour)
) WITHOUT ROWID;
"""


class SqliteAnalyticsStore(AnalyticsStore):
    def __init__(self, path: Path):
        self._db = _Database(Path(path), _SCHEMA)

    async def connect(self) -> None:
        await self._db.run(lambda conn: None)

    async def apply(self, tenant_id: str, event_id: str, hour: str, delta: Bucket) -> bool:
        def tx(conn: sqlite3.Connection) -> bool:
            with _transaction(conn):
                claimed = conn.execute("INSERT OR IGNORE INTO analytics_seen (tenant_id, event_id, hour) VALUES (?, ?, ?)",
                                       (tenant_id, event_id, hour)).rowcount
                if not claimed:
                    return False
                row = conn.execute("SELECT body FROM analytics_hours WHERE tenant_id = ? AND hour = ?",
                                   (tenant_id, hour)).fetchone()
                bucket = Bucket.from_json(row[0] if row else None).merge(delta)
                conn.execute("INSERT OR REPLACE INTO analytics_hours (tenant_id, hour, body) VALUES (?, ?, ?)",
                             (tenant_id, hour, bucket.to_json()))
                return True

        return await self._db.run(tx)

    async def hours(self, tenant_id: str, from_hour: str, to_hour: str) -> dict[str, Bucket]:
        def read(conn: sqlite3.Connection):
            return conn.execute("SELECT hour, body FROM analytics_hours WHERE tenant_id = ? AND hour BETWEEN ? AND ?",
                                (tenant_id, from_hour, to_hour)).fetchall()

        return {hour: Bucket.from_json(body) for hour, body in await self._db.run(read)}

    async def close(self) -> None:
        await self._db.close()
