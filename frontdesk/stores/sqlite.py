"""The embedded log store on SQLite (WAL mode), shared by the processes of one machine (the
account store is in sqlite_accounts.py, the connection in sqlite_db.py).

Each store owns one connection on one thread, so the asyncio loop never blocks on a
disk write or on another process holding the write lock. WAL with synchronous=NORMAL
survives any process crash (kill -9); a power cut may lose the last commits, which
is the embedded default's trade-off (the distributed deployment uses Scylla).
"""

from __future__ import annotations

import json
from pathlib import Path

from frontdesk.clock import now_ms, ts_from_ms
from frontdesk.stores.base import (
    LogStore,
    OutboxEntry,
    ToolCallEntry,
    split_conversation_token,
)
from frontdesk.stores.sqlite_accounts import SqliteAccountStore
from frontdesk.stores.sqlite_db import Database, transaction
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.common.v1 import common_pb2 as common

__all__ = ["SqliteAccountStore", "SqliteLogStore"]


_LOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    visitor_id TEXT NOT NULL,
    status INTEGER NOT NULL,
    channel INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    last_preview TEXT NOT NULL DEFAULT '',
    assigned_operator_id TEXT NOT NULL DEFAULT '',
    handoff_reason TEXT NOT NULL DEFAULT '',
    rating INTEGER NOT NULL DEFAULT 0,
    message_count INTEGER NOT NULL DEFAULT 0,
    attributes TEXT NOT NULL DEFAULT '{}',
    snoozed_until_ms INTEGER NOT NULL DEFAULT 0,
    labels TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conversations_by_activity ON conversations (tenant_id, updated_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS conversations_by_visitor ON conversations (tenant_id, visitor_id, updated_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS conversations_by_assignee ON conversations (tenant_id, assigned_operator_id, updated_ms DESC, id DESC);
CREATE TABLE IF NOT EXISTS messages (
    tenant_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    id TEXT NOT NULL,
    dedupe_key TEXT,
    body BLOB NOT NULL,
    PRIMARY KEY (tenant_id, conversation_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_dedupe ON messages (tenant_id, conversation_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS outbox (
    tenant_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, conversation_id, message_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outbox_by_age ON outbox (created_ms);
CREATE TABLE IF NOT EXISTS feedback (
    tenant_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    comment TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, conversation_id, message_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tool_calls (
    tenant_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, conversation_id, job_id, call_id)
);
CREATE INDEX IF NOT EXISTS tool_calls_by_time ON tool_calls (tenant_id, conversation_id, started_ms);
CREATE TABLE IF NOT EXISTS notes (
    tenant_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    id TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (tenant_id, conversation_id, id)
) WITHOUT ROWID;
"""

_CONV_COLUMNS = "id, visitor_id, status, channel, created_ms, updated_ms, last_preview, assigned_operator_id, handoff_reason, rating, message_count, attributes, snoozed_until_ms, labels"
_UPDATABLE = {"status", "assigned_operator_id", "handoff_reason", "rating", "snoozed_until_ms", "labels"}
# columns newer than the first version of the file (added when an older file is opened)
_ADDED_COLUMNS = (
    ("conversations", "snoozed_until_ms", "INTEGER NOT NULL DEFAULT 0"),
    ("conversations", "labels", "TEXT NOT NULL DEFAULT '[]'"),
)


def _conversation(row) -> common.Conversation:
    (
        cid,
        visitor,
        status,
        channel,
        created,
        updated,
        preview,
        operator,
        reason,
        rating,
        count,
        attrs,
        snoozed,
        labels,
    ) = row
    conv = common.Conversation(
        id=cid,
        visitor_id=visitor,
        status=status,
        channel=channel,
        created_at=ts_from_ms(created),
        updated_at=ts_from_ms(updated),
        last_message_preview=preview,
        assigned_operator_id=operator,
        handoff_reason=reason,
        rating=rating,
        message_count=count,
        attributes=json.loads(attrs),
        labels=json.loads(labels),
    )
    if snoozed:
        conv.snoozed_until.CopyFrom(ts_from_ms(snoozed))
    return conv


_split_token = split_conversation_token


class SqliteLogStore(LogStore):
    def __init__(self, path: Path):
        self._db = Database(path, _LOG_SCHEMA, _ADDED_COLUMNS)

    async def create_conversation(self, tenant_id, conversation):
        created = conversation.created_at.ToMilliseconds() or now_ms()

        def op(conn):
            conn.execute(
                f"INSERT INTO conversations ({_CONV_COLUMNS}, tenant_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    conversation.id,
                    conversation.visitor_id,
                    conversation.status,
                    conversation.channel,
                    created,
                    created,
                    "",
                    "",
                    "",
                    0,
                    0,
                    json.dumps(dict(conversation.attributes)),
                    0,
                    "[]",
                    tenant_id,
                ),
            )

        await self._db.run(op)
        return await self.get_conversation(tenant_id, conversation.id)

    async def get_conversation(self, tenant_id, conversation_id):
        def op(conn):
            return conn.execute(
                f"SELECT {_CONV_COLUMNS} FROM conversations WHERE tenant_id=? AND id=?", (tenant_id, conversation_id)
            ).fetchone()

        row = await self._db.run(op)
        return _conversation(row) if row else None

    async def update_conversation(self, tenant_id, conversation_id, **changes):
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if "labels" in changes:
            changes = {**changes, "labels": json.dumps(sorted(changes["labels"]))}
        if changes:
            sets = ", ".join(f"{k}=?" for k in changes)

            def op(conn):
                conn.execute(
                    f"UPDATE conversations SET {sets}, updated_ms=max(updated_ms, ?) WHERE tenant_id=? AND id=?",
                    (*changes.values(), now_ms(), tenant_id, conversation_id),
                )

            await self._db.run(op)
        return await self.get_conversation(tenant_id, conversation_id)

    async def list_conversations(
        self, tenant_id, *, visitor_id="", status=0, assignee=None, label="", limit=50, page_token=""
    ):
        where, args = ["tenant_id=?"], [tenant_id]
        if label:
            where.append("EXISTS (SELECT 1 FROM json_each(conversations.labels) WHERE value = ?)")
            args.append(label)
        if assignee is not None:
            where.append("assigned_operator_id=?")
            args.append(assignee)
        if visitor_id:
            where.append("visitor_id=?")
            args.append(visitor_id)
        if status:
            where.append("status=?")
            args.append(status)
        if page_token:
            ms, cid = _split_token(page_token)
            where.append("(updated_ms < ? OR (updated_ms = ? AND id < ?))")
            args += [ms, ms, cid]

        def op(conn):
            return conn.execute(
                f"SELECT {_CONV_COLUMNS} FROM conversations WHERE {' AND '.join(where)} "
                "ORDER BY updated_ms DESC, id DESC LIMIT ?",
                (*args, limit + 1),
            ).fetchall()

        rows = await self._db.run(op)
        page = [_conversation(r) for r in rows[:limit]]
        token = f"{rows[limit - 1][5]}:{rows[limit - 1][0]}" if len(rows) > limit else ""
        return page, token

    async def append_message(self, tenant_id, message, dedupe_key="", *, enqueue=False):
        if not message.created_at.seconds:
            message.created_at.FromMilliseconds(now_ms())
        body = message.SerializeToString()
        preview = message.text[:140]

        def op(conn):
            with transaction(conn):
                if dedupe_key:
                    row = conn.execute(
                        "SELECT body FROM messages WHERE tenant_id=? AND conversation_id=? AND dedupe_key=?",
                        (tenant_id, message.conversation_id, dedupe_key),
                    ).fetchone()
                    if row:
                        return row[0], False
                conn.execute(
                    "INSERT INTO messages (tenant_id, conversation_id, id, dedupe_key, body) VALUES (?,?,?,?,?)",
                    (tenant_id, message.conversation_id, message.id, dedupe_key or None, body),
                )
                conn.execute(
                    "UPDATE conversations SET message_count=message_count+1, last_preview=?, updated_ms=max(updated_ms, ?) "
                    "WHERE tenant_id=? AND id=?",
                    (preview, message.created_at.ToMilliseconds(), tenant_id, message.conversation_id),
                )
                if enqueue:
                    conn.execute(
                        "INSERT INTO outbox (tenant_id, conversation_id, message_id, created_ms) VALUES (?,?,?,?)",
                        (tenant_id, message.conversation_id, message.id, now_ms()),
                    )
                return body, True

        stored, created = await self._db.run(op)
        return common.Message.FromString(stored), created

    async def find_message(self, tenant_id, conversation_id, *, message_id="", dedupe_key=""):
        column, value = ("id", message_id) if message_id else ("dedupe_key", dedupe_key)

        def op(conn):
            return conn.execute(
                f"SELECT body FROM messages WHERE tenant_id=? AND conversation_id=? AND {column}=?",
                (tenant_id, conversation_id, value),
            ).fetchone()

        row = await self._db.run(op)
        return common.Message.FromString(row[0]) if row else None

    async def list_messages(self, tenant_id, conversation_id, *, limit=50, page_token=""):
        def op(conn):
            if page_token:
                return conn.execute(
                    "SELECT id, body FROM messages WHERE tenant_id=? AND conversation_id=? AND id < ? ORDER BY id DESC LIMIT ?",
                    (tenant_id, conversation_id, page_token, limit + 1),
                ).fetchall()
            return conn.execute(
                "SELECT id, body FROM messages WHERE tenant_id=? AND conversation_id=? ORDER BY id DESC LIMIT ?",
                (tenant_id, conversation_id, limit + 1),
            ).fetchall()

        rows = await self._db.run(op)
        page = rows[:limit]
        token = page[-1][0] if len(rows) > limit else ""
        return [common.Message.FromString(body) for _, body in reversed(page)], token

    async def messages_after(self, tenant_id, conversation_id, after_id, limit=500):
        def op(conn):
            return conn.execute(
                "SELECT body FROM messages WHERE tenant_id=? AND conversation_id=? AND id > ? ORDER BY id LIMIT ?",
                (tenant_id, conversation_id, after_id, limit),
            ).fetchall()

        return [common.Message.FromString(r[0]) for r in await self._db.run(op)]

    async def outbox_due(self, older_than_ms, limit=100):
        def op(conn):
            return conn.execute(
                "SELECT tenant_id, conversation_id, message_id, created_ms FROM outbox WHERE created_ms < ? "
                "ORDER BY created_ms LIMIT ?",
                (older_than_ms, limit),
            ).fetchall()

        return [OutboxEntry(*row) for row in await self._db.run(op)]

    async def outbox_done(self, tenant_id, conversation_id, message_id):
        await self._db.run(
            lambda conn: conn.execute(
                "DELETE FROM outbox WHERE tenant_id=? AND conversation_id=? AND message_id=?",
                (tenant_id, conversation_id, message_id),
            )
        )

    async def outbox_done_many(self, entries):
        rows = list(entries)

        def op(conn):
            with transaction(conn):  # one commit for the batch
                conn.executemany("DELETE FROM outbox WHERE tenant_id=? AND conversation_id=? AND message_id=?", rows)

        if rows:
            await self._db.run(op)

    async def job_context(self, tenant_id, conversation_id, *, dedupe_key, history_limit):
        def op(conn):  # one hop to the store thread instead of three
            row = conn.execute(
                "SELECT body FROM messages WHERE tenant_id=? AND conversation_id=? AND dedupe_key=?",
                (tenant_id, conversation_id, dedupe_key),
            ).fetchone()
            if row:
                return row[0], None, []
            conv = conn.execute(
                f"SELECT {_CONV_COLUMNS} FROM conversations WHERE tenant_id=? AND id=?", (tenant_id, conversation_id)
            ).fetchone()
            if conv is None:
                return None, None, []
            bodies = conn.execute(
                "SELECT body FROM messages WHERE tenant_id=? AND conversation_id=? ORDER BY id DESC LIMIT ?",
                (tenant_id, conversation_id, history_limit),
            ).fetchall()
            return None, conv, bodies

        existing, conv, bodies = await self._db.run(op)
        if existing is not None:
            return common.Message.FromString(existing), None, []
        if conv is None:
            return None, None, []
        return None, _conversation(conv), [common.Message.FromString(b) for (b,) in reversed(bodies)]

    async def record_feedback(self, tenant_id, conversation_id, message_id, helpful, comment):
        def op(conn):
            conn.execute(
                "INSERT INTO feedback (tenant_id, conversation_id, message_id, helpful, comment, at_ms) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT (tenant_id, conversation_id, message_id) DO UPDATE SET helpful=excluded.helpful, comment=excluded.comment, at_ms=excluded.at_ms",
                (tenant_id, conversation_id, message_id, int(helpful), comment, now_ms()),
            )

        await self._db.run(op)

    async def record_tool_call(self, tenant_id, conversation_id, call):
        await self._db.run(
            lambda conn: conn.execute(
                "INSERT INTO tool_calls (tenant_id, conversation_id, job_id, call_id, started_ms, body) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT (tenant_id, conversation_id, job_id, call_id) DO UPDATE SET started_ms=excluded.started_ms, "
                "body=excluded.body",
                (tenant_id, conversation_id, call.job_id, call.call_id, call.started_ms, json.dumps(call.__dict__)),
            )
        )

    async def list_tool_calls(self, tenant_id, conversation_id, limit=100):
        rows = await self._db.run(
            lambda conn: conn.execute(
                "SELECT body FROM tool_calls WHERE tenant_id=? AND conversation_id=? "
                "ORDER BY started_ms DESC, job_id DESC, call_id DESC LIMIT ?",
                (tenant_id, conversation_id, limit),
            ).fetchall()
        )
        return [ToolCallEntry(**json.loads(r[0])) for r in reversed(rows)]

    async def add_note(self, tenant_id, note):
        await self._db.run(
            lambda conn: conn.execute(
                "INSERT INTO notes (tenant_id, conversation_id, id, body) VALUES (?,?,?,?)",
                (tenant_id, note.conversation_id, note.id, note.SerializeToString()),
            )
        )

    async def list_notes(self, tenant_id, conversation_id, limit=200):
        rows = await self._db.run(
            lambda conn: conn.execute(
                "SELECT body FROM notes WHERE tenant_id=? AND conversation_id=? ORDER BY id DESC LIMIT ?",
                (tenant_id, conversation_id, limit),
            ).fetchall()
        )
        return [admin_pb2.Note.FromString(r[0]) for r in reversed(rows)]

    async def close(self):
        await self._db.close()

    async def list_feedback(self, tenant_id, conversation_id):
        from frontdesk.stores.base import FeedbackEntry

        rows = await self._db.run(
            lambda conn: conn.execute(
                "SELECT message_id, helpful, at_ms FROM feedback WHERE tenant_id=? AND conversation_id=? ORDER BY message_id",
                (tenant_id, conversation_id),
            ).fetchall()
        )
        return [FeedbackEntry(message_id, bool(helpful), at_ms) for message_id, helpful, at_ms in rows]
