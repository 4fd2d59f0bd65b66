"""The embedded account store on SQLite: tenants, API keys, operators, tools, canned responses."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from frontdesk.stores.base import (
    AccountStore,
    ApiKeyRecord,
    AuditRecord,
    CannedResponseRecord,
    Conflict,
    OperatorRecord,
    TenantRecord,
    ToolRecord,
)
from frontdesk.stores.sqlite_db import Database

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
CREATE TABLE IF NOT EXISTS audit_log (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE IF NOT EXISTS canned_responses (
    tenant_id TEXT NOT NULL,
    shortcut TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, shortcut)
);
"""


class SqliteAccountStore(AccountStore):
    def __init__(self, path: Path):
        self._db = Database(path, _ACCOUNT_SCHEMA)

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

    async def save_canned_response(self, response):
        await self._db.run(
            lambda conn: conn.execute(
                "INSERT INTO canned_responses (tenant_id, shortcut, body) VALUES (?,?,?) "
                "ON CONFLICT (tenant_id, shortcut) DO UPDATE SET body=excluded.body",
                (response.tenant_id, response.shortcut, self._body(response)),
            )
        )

    async def list_canned_responses(self, tenant_id):
        return await self._many(
            CannedResponseRecord,
            "SELECT body FROM canned_responses WHERE tenant_id=? ORDER BY shortcut",
            (tenant_id,),
        )

    async def delete_canned_response(self, tenant_id, shortcut):
        cur = await self._db.run(
            lambda conn: conn.execute(
                "DELETE FROM canned_responses WHERE tenant_id=? AND shortcut=?", (tenant_id, shortcut)
            )
        )
        return cur.rowcount > 0

    async def append_audit(self, record):
        await self._db.run(
            lambda conn: conn.execute(
                "INSERT INTO audit_log (tenant_id, id, body) VALUES (?,?,?)",
                (record.tenant_id, record.id, self._body(record)),
            )
        )

    async def list_audit(self, tenant_id, limit, before_id=""):
        return await self._many(
            AuditRecord,
            "SELECT body FROM audit_log WHERE tenant_id=? AND id < ? ORDER BY id DESC LIMIT ?",
            (tenant_id, before_id or "\uffff", limit),
        )

    async def close(self):
        await self._db.close()
