"""The embedded stores on SQLite (WAL mode), shared by the processes of one machine.

Each store owns one connection on one thread, so the asyncio loop never blocks on a
disk write or on another process holding the write lock. WAL with synchronous=NORMAL
survives any process crash (kill -9); a power cut may lose the last commits, which
is the embedded default's trade-off (the distributed deployment uses Scylla).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from frontdesk.clock import now_ms, ts_from_ms
from frontdesk.stores.base import (
    AccountStore,
    ApiKeyRecord,
    Conflict,
    LogStore,
    OperatorRecord,
    OutboxEntry,
    StoreUnavailable,
    TenantRecord,
    ToolCallEntry,
    ToolRecord,
    split_conversation_token,
)
from frontdesk_pb.common.v1 import common_pb2 as common


class _Database:
    def __init__(self, path: Path, schema: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sqlite-{path.stem}")
        self._path = path
        self._schema = schema
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(self._schema)
            self._conn = conn
        return self._conn

    async def run(self, fn, *args):
        def call():
            conn = self._connect()
            try:
                return fn(conn, *args)
            except sqlite3.OperationalError as err:
                raise StoreUnavailable(f"embedded store: {err}") from err

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def close(self) -> None:
        def shut():
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, shut)
        self._executor.shutdown(wait=True)


def _transaction(conn: sqlite3.Connection):
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""

    class _Tx:
        def __enter__(self):
            conn.execute("BEGIN IMMEDIATE")
            return conn

        def __exit__(self, exc_type, exc, tb):
            conn.execute("ROLLBACK" if exc_type else "COMMIT")
            return False

    return _Tx()


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
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conversations_by_activity ON conversations (tenant_id, updated_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS conversations_by_visitor ON conversations (tenant_id, visitor_id, updated_ms DESC, id DESC);
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
"""

_CONV_COLUMNS = "id, visitor_id, status, channel, created_ms, updated_ms, last_preview, assigned_operator_id, handoff_reason, rating, message_count, attributes"
_UPDATABLE = {"status", "assigned_operator_id", "handoff_reason", "rating"}


def _conversation(row) -> common.Conversation:
    (cid, visitor, status, channel, created, updated, preview, operator, reason, rating, count, attrs) = row
    return common.Conversation(
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
    )


_split_token = split_conversation_token


class SqliteLogStore(LogStore):
    def __init__(self, path: Path):
        self._db = _Database(path, _LOG_SCHEMA)

    async def create_conversation(self, tenant_id, conversation):
        created = conversation.created_at.ToMilliseconds() or now_ms()

        def op(conn):
            conn.execute(
                f"INSERT INTO conversations ({_CONV_COLUMNS}, tenant_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
        if changes:
            sets = ", ".join(f"{k}=?" for k in changes)

            def op(conn):
                conn.execute(
                    f"UPDATE conversations SET {sets}, updated_ms=max(updated_ms, ?) WHERE tenant_id=? AND id=?",
                    (*changes.values(), now_ms(), tenant_id, conversation_id),
                )

            await self._db.run(op)
        return await self.get_conversation(tenant_id, conversation_id)

    async def list_conversations(self, tenant_id, *, visitor_id="", status=0, limit=50, page_token=""):
        where, args = ["tenant_id=?"], [tenant_id]
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
            with _transaction(conn):
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
            with _transaction(conn):  # one commit for the batch
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


_ACCOUNT_SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    widget_key TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS api_keys_by_tenant ON api_keys (tenant_id);
CREATE TABLE IF NOT EXISTS operators (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    email TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
);
CREATE TABLE IF NOT EXISTS tools (
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
"""


class SqliteAccountStore(AccountStore):
    def __init__(self, path: Path):
        self._db = _Database(path, _ACCOUNT_SCHEMA)

    @staticmethod
    def _body(record) -> str:
        return json.dumps(record.__dict__)

    async def _insert(self, sql: str, args: tuple, what: str) -> None:
        def op(conn):
            try:
                conn.execute(sql, args)
            except sqlite3.IntegrityError as err:
                raise Conflict(f"{what} already exists") from err

        await self._db.run(op)

    async def _one(self, cls, sql: str, args: tuple):
        row = await self._db.run(lambda conn: conn.execute(sql, args).fetchone())
        return cls(**json.loads(row[0])) if row else None

    async def _many(self, cls, sql: str, args: tuple):
        rows = await self._db.run(lambda conn: conn.execute(sql, args).fetchall())
        return [cls(**json.loads(r[0])) for r in rows]

    async def create_tenant(self, tenant):
        await self._insert(
            "INSERT INTO tenants (id, slug, widget_key, body) VALUES (?,?,?,?)",
            (tenant.id, tenant.slug, tenant.widget_key, self._body(tenant)),
            f"tenant {tenant.slug!r}",
        )

    async def get_tenant(self, tenant_id):
        return await self._one(TenantRecord, "SELECT body FROM tenants WHERE id=?", (tenant_id,))

    async def find_tenant(self, *, slug="", widget_key=""):
        if slug:
            return await self._one(TenantRecord, "SELECT body FROM tenants WHERE slug=?", (slug,))
        return await self._one(TenantRecord, "SELECT body FROM tenants WHERE widget_key=?", (widget_key,))

    async def update_tenant(self, tenant):
        await self._db.run(
            lambda conn: conn.execute(
                "UPDATE tenants SET slug=?, widget_key=?, body=? WHERE id=?",
                (tenant.slug, tenant.widget_key, self._body(tenant), tenant.id),
            )
        )

    async def create_api_key(self, key):
        await self._insert(
            "INSERT INTO api_keys (id, tenant_id, body) VALUES (?,?,?)",
            (key.id, key.tenant_id, self._body(key)),
            "API key",
        )

    async def get_api_key(self, key_id):
        return await self._one(ApiKeyRecord, "SELECT body FROM api_keys WHERE id=?", (key_id,))

    async def list_api_keys(self, tenant_id):
        return await self._many(ApiKeyRecord, "SELECT body FROM api_keys WHERE tenant_id=? ORDER BY id", (tenant_id,))

    async def revoke_api_key(self, tenant_id, key_id, at_ms):
        key = await self._one(ApiKeyRecord, "SELECT body FROM api_keys WHERE id=? AND tenant_id=?", (key_id, tenant_id))
        if key is None:
            return None
        if not key.revoked_ms:
            key.revoked_ms = at_ms
            await self._db.run(
                lambda conn: conn.execute(
                    "UPDATE api_keys SET body=? WHERE id=? AND tenant_id=?", (self._body(key), key_id, tenant_id)
                )
            )
        return key

    async def create_operator(self, operator):
        await self._insert(
            "INSERT INTO operators (tenant_id, id, email, body) VALUES (?,?,?,?)",
            (operator.tenant_id, operator.id, operator.email.lower(), self._body(operator)),
            f"operator {operator.email!r}",
        )

    async def get_operator(self, tenant_id, operator_id):
        return await self._one(
            OperatorRecord, "SELECT body FROM operators WHERE tenant_id=? AND id=?", (tenant_id, operator_id)
        )

    async def find_operator_by_email(self, tenant_id, email):
        return await self._one(
            OperatorRecord, "SELECT body FROM operators WHERE tenant_id=? AND email=?", (tenant_id, email.lower())
        )

    async def list_operators(self, tenant_id):
        return await self._many(
            OperatorRecord, "SELECT body FROM operators WHERE tenant_id=? ORDER BY email", (tenant_id,)
        )

    async def update_operator(self, operator):
        await self._db.run(
            lambda conn: conn.execute(
                "UPDATE operators SET body=? WHERE tenant_id=? AND id=?",
                (self._body(operator), operator.tenant_id, operator.id),
            )
        )

    async def delete_operator(self, tenant_id, operator_id):
        cur = await self._db.run(
            lambda conn: conn.execute("DELETE FROM operators WHERE tenant_id=? AND id=?", (tenant_id, operator_id))
        )
        return cur.rowcount > 0

    async def create_tool(self, tool):
        await self._insert(
            "INSERT INTO tools (tenant_id, name, body) VALUES (?,?,?)",
            (tool.tenant_id, tool.name, self._body(tool)),
            f"tool {tool.name!r}",
        )

    async def list_tools(self, tenant_id):
        return await self._many(ToolRecord, "SELECT body FROM tools WHERE tenant_id=? ORDER BY name", (tenant_id,))

    async def delete_tool(self, tenant_id, name):
        cur = await self._db.run(
            lambda conn: conn.execute("DELETE FROM tools WHERE tenant_id=? AND name=?", (tenant_id, name))
        )
        return cur.rowcount > 0

    async def close(self):
        await self._db.close()
