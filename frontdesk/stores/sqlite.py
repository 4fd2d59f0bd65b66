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
    UPDATABLE_FIELDS,
    ConversationGone,
    LogStore,
    OutboxEntry,
    ToolCallEntry,
    split_conversation_token,
)
from frontdesk.stores.search import message_terms
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
    handoff_ms INTEGER NOT NULL DEFAULT 0,
    first_response_ms INTEGER NOT NULL DEFAULT 0,
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
-- the conversation search: each searched message's words (frontdesk/stores/search.py) under
-- its tenant's token; column detail only (no positions: a search is words, not phrases)
CREATE VIRTUAL TABLE IF NOT EXISTS message_search USING fts5(
    tenant, terms, conversation_id UNINDEXED, message_id UNINDEXED, detail=column
);
CREATE TABLE IF NOT EXISTS notes (
    tenant_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    id TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (tenant_id, conversation_id, id)
) WITHOUT ROWID;
"""

_CONV_COLUMNS = (
    "id, visitor_id, status, channel, created_ms, updated_ms, last_preview, assigned_operator_id, handoff_reason, "
    "rating, message_count, attributes, snoozed_until_ms, labels, handoff_ms, first_response_ms"
)
# columns newer than the first version of the file (added when an older file is opened)
_ADDED_COLUMNS = (
    ("conversations", "snoozed_until_ms", "INTEGER NOT NULL DEFAULT 0"),
    ("conversations", "labels", "TEXT NOT NULL DEFAULT '[]'"),
    ("conversations", "handoff_ms", "INTEGER NOT NULL DEFAULT 0"),
    ("conversations", "first_response_ms", "INTEGER NOT NULL DEFAULT 0"),
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
        handoff,
        first_response,
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
    if handoff:
        conv.handed_off_at.CopyFrom(ts_from_ms(handoff))
    if first_response:
        conv.first_response_at.CopyFrom(ts_from_ms(first_response))
    return conv


_split_token = split_conversation_token
_SEARCH_VERSION = 1  # PRAGMA user_version once the messages of an older file are in the search


def _filters(table: str, *, status=0, assignee=None, label="", visitor_id="") -> tuple[list[str], list[object]]:
    """The conversation list's filters as SQL on `table` (a table name or an alias), and their values."""
    where: list[str] = []
    args: list[object] = []
    if label:
        where.append(f"EXISTS (SELECT 1 FROM json_each({table}.labels) WHERE value = ?)")
        args.append(label)
    if assignee is not None:
        where.append(f"{table}.assigned_operator_id=?")
        args.append(assignee)
    if visitor_id:
        where.append(f"{table}.visitor_id=?")
        args.append(visitor_id)
    if status:
        where.append(f"{table}.status=?")
        args.append(status)
    return where, args


def _tenant_token(tenant_id: str) -> str:
    """The tenant as one FTS5 word (hex: nothing in an id can split or collide)."""
    return tenant_id.encode().hex()


def _index_for_search(conn, tenant_id: str, message: common.Message) -> None:
    terms = message_terms(message)
    if terms:
        conn.execute(
            "INSERT INTO message_search (tenant, terms, conversation_id, message_id) VALUES (?,?,?,?)",
            (_tenant_token(tenant_id), " ".join(terms), message.conversation_id, message.id),
        )


def _index_older_messages(conn) -> None:
    """A file made before the search existed: put its messages in the search, once."""
    if conn.execute("PRAGMA user_version").fetchone()[0] >= _SEARCH_VERSION:
        return
    with transaction(conn):  # another process may be doing it at the same instant
        if conn.execute("PRAGMA user_version").fetchone()[0] >= _SEARCH_VERSION:
            return
        conn.execute("DELETE FROM message_search")
        for tenant_id, body in conn.execute("SELECT tenant_id, body FROM messages ORDER BY id").fetchall():
            _index_for_search(conn, tenant_id, common.Message.FromString(body))
        conn.execute(f"PRAGMA user_version={_SEARCH_VERSION}")


class SqliteLogStore(LogStore):
    def __init__(self, path: Path):
        self._db = Database(path, _LOG_SCHEMA, _ADDED_COLUMNS, upgrade=_index_older_messages)

    async def create_conversation(self, tenant_id, conversation):
        created = conversation.created_at.ToMilliseconds() or now_ms()

        def op(conn):
            conn.execute(
                f"INSERT INTO conversations ({_CONV_COLUMNS}, tenant_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
                    0,
                    0,
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
        unknown = set(changes) - UPDATABLE_FIELDS
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
        where, args = _filters("conversations", status=status, assignee=assignee, label=label, visitor_id=visitor_id)
        where.insert(0, "tenant_id=?")
        args.insert(0, tenant_id)
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
                bumped = conn.execute(
                    "UPDATE conversations SET message_count=message_count+1, last_preview=?, updated_ms=max(updated_ms, ?) "
                    "WHERE tenant_id=? AND id=?",
                    (preview, message.created_at.ToMilliseconds(), tenant_id, message.conversation_id),
                ).rowcount
                if not bumped:  # erased meanwhile: the transaction keeps nothing
                    raise ConversationGone(message.conversation_id)
                _index_for_search(conn, tenant_id, message)
                if enqueue:
                    conn.execute(
                        "INSERT INTO outbox (tenant_id, conversation_id, message_id, created_ms) VALUES (?,?,?,?)",
                        (tenant_id, message.conversation_id, message.id, now_ms()),
                    )
                return body, True

        stored, created = await self._db.run(op)
        return common.Message.FromString(stored), created

    async def search_messages(self, tenant_id, terms, *, status=0, assignee=None, label="", limit=20, page_token=""):
        if page_token and not (page_token.isascii() and page_token.isdigit() and len(page_token) <= 18):
            raise ValueError("page_token is not valid")
        match = " AND ".join([f'tenant : "{_tenant_token(tenant_id)}"', *(f'terms : "{t}"' for t in terms)])
        where: list[str] = ["message_search MATCH ?"]
        args: list[object] = [match]
        if page_token:
            where.append("message_search.rowid < ?")
            args.append(int(page_token))
        more, values = _filters("c", status=status, assignee=assignee, label=label)
        where += more
        args += values
        columns = ", ".join(f"c.{name.strip()}" for name in _CONV_COLUMNS.split(","))

        def op(conn):
            return conn.execute(
                f"SELECT {columns}, message_search.rowid, m.body FROM message_search "
                "JOIN conversations c ON c.tenant_id=? AND c.id=message_search.conversation_id "
                "JOIN messages m ON m.tenant_id=? AND m.conversation_id=message_search.conversation_id "
                f"AND m.id=message_search.message_id WHERE {' AND '.join(where)} "
                "ORDER BY message_search.rowid DESC LIMIT ?",
                (tenant_id, tenant_id, *args, limit + 1),
            ).fetchall()

        rows = await self._db.run(op)
        hits = [(_conversation(r[:-2]), common.Message.FromString(r[-1])) for r in rows[:limit]]
        return hits, str(rows[limit - 1][-2]) if len(rows) > limit else ""

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
                # only while the conversation is stored (not one erased while its tool ran)
                "INSERT INTO tool_calls (tenant_id, conversation_id, job_id, call_id, started_ms, body) "
                "SELECT ?,?,?,?,?,? WHERE EXISTS (SELECT 1 FROM conversations WHERE tenant_id=? AND id=?) "
                "ON CONFLICT (tenant_id, conversation_id, job_id, call_id) DO UPDATE SET started_ms=excluded.started_ms, "
                "body=excluded.body",
                (
                    tenant_id,
                    conversation_id,
                    call.job_id,
                    call.call_id,
                    call.started_ms,
                    json.dumps(call.__dict__),
                    tenant_id,
                    conversation_id,
                ),
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

    async def erase_conversation(self, tenant_id, conversation_id):
        def op(conn):
            where = (tenant_id, conversation_id)
            messages = conn.execute(
                "SELECT COUNT(*) FROM messages WHERE tenant_id=? AND conversation_id=?", where
            ).fetchone()[0]
            conn.execute(
                "DELETE FROM message_search WHERE rowid IN (SELECT rowid FROM message_search "
                "WHERE message_search MATCH ? AND conversation_id=?)",
                (f'tenant : "{_tenant_token(tenant_id)}"', conversation_id),
            )
            for table in ("messages", "outbox", "feedback", "tool_calls", "notes"):
                conn.execute(f"DELETE FROM {table} WHERE tenant_id=? AND conversation_id=?", where)  # noqa: S608
            conn.execute("DELETE FROM conversations WHERE tenant_id=? AND id=?", where)
            return messages

        return await self._db.erase(op)

    async def after_erasure(self):
        # the search index keeps deleted words in its segments until they are merged: merge
        # them all (once per erasure: it rewrites the whole index)
        await self._db.erase(
            lambda conn: conn.execute("INSERT INTO message_search (message_search) VALUES ('optimize')")
        )

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
