"""Hourly aggregates in SQLite (the embedded default).

`apply` is one IMMEDIATE transaction: claim the event id in analytics_seen (INSERT OR
IGNORE), and only if the claim is new, read-merge-write the hour's aggregate. Both
commit together or not at all, so there is no window in which an event is counted but
not marked, or marked but not counted. A customer message's sentiment goes into
analytics_sentiment in the same transaction (INSERT OR IGNORE by message id).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from analytics.aggregate import Bucket
from analytics.store import AnalyticsStore, ConversationScore, MessageScore
from frontdesk.stores.sqlite_db import Database, transaction

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
CREATE TABLE IF NOT EXISTS analytics_sentiment (
    tenant_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    day TEXT NOT NULL,           -- YYYY-MM-DD, UTC
    at_ms INTEGER NOT NULL,
    score INTEGER NOT NULL,      -- VADER compound x 1000
    PRIMARY KEY (tenant_id, conversation_id, message_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS analytics_sentiment_by_day ON analytics_sentiment (tenant_id, day);
"""

_MAX_IDS = 500


def _put_score(conn: sqlite3.Connection, tenant_id: str, score: MessageScore) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO analytics_sentiment (tenant_id, conversation_id, message_id, day, at_ms, score) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (tenant_id, score.conversation_id, score.message_id, score.day, score.at_ms, score.score_milli),
    )


class SqliteAnalyticsStore(AnalyticsStore):
    def __init__(self, path: Path):
        self._db = Database(Path(path), _SCHEMA)

    async def connect(self) -> None:
        await self._db.run(lambda conn: None)

    async def apply(
        self, tenant_id: str, event_id: str, hour: str, delta: Bucket, score: MessageScore | None = None
    ) -> bool:
        def tx(conn: sqlite3.Connection) -> bool:
            with transaction(conn):
                if score is not None:
                    _put_score(conn, tenant_id, score)
                claimed = conn.execute(
                    "INSERT OR IGNORE INTO analytics_seen (tenant_id, event_id, hour) VALUES (?, ?, ?)",
                    (tenant_id, event_id, hour),
                ).rowcount
                if not claimed:
                    return False
                row = conn.execute(
                    "SELECT body FROM analytics_hours WHERE tenant_id = ? AND hour = ?", (tenant_id, hour)
                ).fetchone()
                bucket = Bucket.from_json(row[0] if row else None).merge(delta)
                conn.execute(
                    "INSERT OR REPLACE INTO analytics_hours (tenant_id, hour, body) VALUES (?, ?, ?)",
                    (tenant_id, hour, bucket.to_json()),
                )
                return True

        return await self._db.run(tx)

    async def hours(self, tenant_id: str, from_hour: str, to_hour: str) -> dict[str, Bucket]:
        def read(conn: sqlite3.Connection):
            return conn.execute(
                "SELECT hour, body FROM analytics_hours WHERE tenant_id = ? AND hour BETWEEN ? AND ?",
                (tenant_id, from_hour, to_hour),
            ).fetchall()

        return {hour: Bucket.from_json(body) for hour, body in await self._db.run(read)}

    async def put_score(self, tenant_id: str, score: MessageScore) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                _put_score(conn, tenant_id, score)

        await self._db.run(tx)

    async def counted(self, tenant_id: str, event_id: str, from_hour: str, to_hour: str) -> bool:
        # analytics_seen is keyed by the event id alone: any hour finds it
        row = await self._db.run(
            lambda conn: conn.execute(
                "SELECT 1 FROM analytics_seen WHERE tenant_id = ? AND event_id = ?", (tenant_id, event_id)
            ).fetchone()
        )
        return row is not None

    @staticmethod
    def _scores(rows) -> dict[str, ConversationScore]:
        return {
            cid: ConversationScore(cid, messages=n, sum_milli=total, min_milli=low, last_ms=last)
            for cid, n, total, low, last in rows
        }

    async def conversation_scores(self, tenant_id: str, conversation_ids: list[str]) -> dict[str, ConversationScore]:
        ids = list(dict.fromkeys(conversation_ids))[:_MAX_IDS]
        if not ids:
            return {}

        def read(conn: sqlite3.Connection):
            return conn.execute(
                "SELECT conversation_id, count(*), sum(score), min(score), max(at_ms) FROM analytics_sentiment "
                f"WHERE tenant_id = ? AND conversation_id IN ({','.join('?' for _ in ids)}) GROUP BY conversation_id",
                (tenant_id, *ids),
            ).fetchall()

        return self._scores(await self._db.run(read))

    async def scores_in_range(self, tenant_id: str, from_day: str, to_day: str) -> dict[str, ConversationScore]:
        def read(conn: sqlite3.Connection):
            return conn.execute(
                "SELECT conversation_id, count(*), sum(score), min(score), max(at_ms) FROM analytics_sentiment "
                "WHERE tenant_id = ? AND day BETWEEN ? AND ? GROUP BY conversation_id",
                (tenant_id, from_day, to_day),
            ).fetchall()

        return self._scores(await self._db.run(read))

    async def drop_scores(self, tenant_id: str, conversation_ids: list[str]) -> int:
        def tx(conn: sqlite3.Connection) -> int:
            dropped = 0
            for start in range(0, len(conversation_ids), _MAX_IDS):
                chunk = conversation_ids[start : start + _MAX_IDS]
                dropped += conn.execute(
                    "DELETE FROM analytics_sentiment "
                    f"WHERE tenant_id = ? AND conversation_id IN ({','.join('?' for _ in chunk)})",
                    (tenant_id, *chunk),
                ).rowcount
            return dropped

        return await self._db.erase(tx)

    async def forget_events(self, tenant_id: str, conversation_ids: list[str], from_day: str, to_day: str) -> int:
        def tx(conn: sqlite3.Connection) -> int:
            return sum(
                conn.execute(
                    "DELETE FROM analytics_seen WHERE tenant_id = ? AND hour BETWEEN ? AND ? AND instr(event_id, ?) > 0",
                    (tenant_id, from_day, to_day + "T99", cid),
                ).rowcount
                for cid in conversation_ids
            )

        return await self._db.erase(tx)

    async def edit_hours(self, tenant_id: str, from_hour: str, to_hour: str, scrub) -> None:
        tallies = []

        def tx(conn: sqlite3.Connection) -> None:
            rows = conn.execute(
                "SELECT hour, body FROM analytics_hours WHERE tenant_id = ? AND hour BETWEEN ? AND ?",
                (tenant_id, from_hour, to_hour),
            ).fetchall()
            for hour, body in rows:
                bucket = Bucket.from_json(body)
                changed, *tally = scrub(bucket)
                if changed:
                    conn.execute(
                        "UPDATE analytics_hours SET body = ? WHERE tenant_id = ? AND hour = ?",
                        (bucket.to_json(), tenant_id, hour),
                    )
                    tallies.append(tally)

        await self._db.erase(tx)
        for tally in tallies:
            scrub.written(*tally)

    async def close(self) -> None:
        await self._db.close()
