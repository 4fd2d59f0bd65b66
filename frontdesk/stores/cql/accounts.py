"""The account store on CQL: tenants, API keys, operators, tools and canned responses; unique
slugs, widget keys and emails claimed with lightweight transactions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from frontdesk import ids
from frontdesk.clock import now_ms
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
from frontdesk.stores.cql.session import CqlSession, CqlStore, applied

_ACCOUNT_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS {ks}.tenants (id text PRIMARY KEY, slug text, widget_key text, body text)",
    "CREATE TABLE IF NOT EXISTS {ks}.tenant_slugs (slug text PRIMARY KEY, tenant_id text, claimed_ms bigint)",
    "CREATE TABLE IF NOT EXISTS {ks}.tenant_widget_keys (widget_key text PRIMARY KEY, tenant_id text, claimed_ms bigint)",
    "CREATE TABLE IF NOT EXISTS {ks}.api_keys (id text PRIMARY KEY, tenant_id text, body text)",
    """CREATE TABLE IF NOT EXISTS {ks}.api_keys_by_tenant (
        tenant_id text, id text, body text, PRIMARY KEY ((tenant_id), id))""",
    """CREATE TABLE IF NOT EXISTS {ks}.operators (
        tenant_id text, id text, email text, body text, PRIMARY KEY ((tenant_id), id))""",
    """CREATE TABLE IF NOT EXISTS {ks}.operator_emails (
        tenant_id text, email text, operator_id text, claimed_ms bigint, PRIMARY KEY ((tenant_id, email)))""",
    """CREATE TABLE IF NOT EXISTS {ks}.tools (
        tenant_id text, name text, body text, PRIMARY KEY ((tenant_id), name))""",
    # a partition per tenant and month (a busy team's years of actions stay in bounded partitions)
    """CREATE TABLE IF NOT EXISTS {ks}.audit_log (
        tenant_id text, month int, id text, body text, PRIMARY KEY ((tenant_id, month), id))
        WITH CLUSTERING ORDER BY (id DESC)""",
    """CREATE TABLE IF NOT EXISTS {ks}.canned_responses (
        tenant_id text, shortcut text, body text, PRIMARY KEY ((tenant_id), shortcut))""",
)

# claim kinds: table, key columns, owner column
_CLAIMS = {
    "slug": ("tenant_slugs", ("slug",), "tenant_id"),
    "widget": ("tenant_widget_keys", ("widget_key",), "tenant_id"),
    "email": ("operator_emails", ("tenant_id", "email"), "operator_id"),
}


def _claim_statements() -> dict[str, str]:
    out = {}
    for kind, (table, keys, owner) in _CLAIMS.items():
        where = " AND ".join(f"{k} = ?" for k in keys)
        out[f"{kind}_claim"] = (
            f"INSERT INTO {{ks}}.{table} ({', '.join(keys)}, {owner}, claimed_ms) "
            f"VALUES ({', '.join('?' for _ in keys)}, ?, ?) IF NOT EXISTS"
        )
        out[f"{kind}_takeover"] = f"UPDATE {{ks}}.{table} SET {owner} = ?, claimed_ms = ? WHERE {where} IF {owner} = ?"
        out[f"{kind}_release"] = f"DELETE FROM {{ks}}.{table} WHERE {where} IF {owner} = ?"
        out[f"{kind}_get"] = f"SELECT {owner} FROM {{ks}}.{table} WHERE {where}"
    return out


_ACCOUNT_STATEMENTS = {
    **_claim_statements(),
    "tenant_create": "INSERT INTO {ks}.tenants (id, slug, widget_key, body) VALUES (?, ?, ?, ?) IF NOT EXISTS",
    "tenant_get": "SELECT slug, widget_key, body FROM {ks}.tenants WHERE id = ?",
    "tenant_update": "UPDATE {ks}.tenants SET slug = ?, widget_key = ?, body = ? WHERE id = ? IF EXISTS",
    "key_create": "INSERT INTO {ks}.api_keys (id, tenant_id, body) VALUES (?, ?, ?) IF NOT EXISTS",
    "key_get": "SELECT tenant_id, body FROM {ks}.api_keys WHERE id = ?",
    "key_update": "UPDATE {ks}.api_keys SET body = ? WHERE id = ? IF EXISTS",
    "key_by_tenant_put": "INSERT INTO {ks}.api_keys_by_tenant (tenant_id, id, body) VALUES (?, ?, ?)",
    "keys_by_tenant": "SELECT body FROM {ks}.api_keys_by_tenant WHERE tenant_id = ?",
    "operator_create": "INSERT INTO {ks}.operators (tenant_id, id, email, body) VALUES (?, ?, ?, ?) IF NOT EXISTS",
    "operator_get": "SELECT email, body FROM {ks}.operators WHERE tenant_id = ? AND id = ?",
    "operator_update": "UPDATE {ks}.operators SET body = ? WHERE tenant_id = ? AND id = ? IF EXISTS",
    "operator_delete": "DELETE FROM {ks}.operators WHERE tenant_id = ? AND id = ? IF EXISTS",
    "operators": "SELECT email, body FROM {ks}.operators WHERE tenant_id = ?",
    "tool_create": "INSERT INTO {ks}.tools (tenant_id, name, body) VALUES (?, ?, ?) IF NOT EXISTS",
    "tool_delete": "DELETE FROM {ks}.tools WHERE tenant_id = ? AND name = ? IF EXISTS",
    "tools": "SELECT body FROM {ks}.tools WHERE tenant_id = ?",
    # a save replaces the response of that shortcut: a plain upsert, no LWT needed
    "audit_append": "INSERT INTO {ks}.audit_log (tenant_id, month, id, body) VALUES (?, ?, ?, ?)",
    "audit_page": "SELECT body FROM {ks}.audit_log WHERE tenant_id = ? AND month = ? AND id < ? LIMIT ?",
    "canned_save": "INSERT INTO {ks}.canned_responses (tenant_id, shortcut, body) VALUES (?, ?, ?)",
    "canned_delete": "DELETE FROM {ks}.canned_responses WHERE tenant_id = ? AND shortcut = ? IF EXISTS",
    "canned": "SELECT body FROM {ks}.canned_responses WHERE tenant_id = ?",
}


AUDIT_MONTHS_READ = 36  # how far back one page of the audit log looks


def _month(ms: int) -> int:
    t = time.gmtime(ms / 1000)
    return t.tm_year * 100 + t.tm_mon


def _body(record) -> str:
    return json.dumps(record.__dict__)


class CqlAccountStore(CqlStore, AccountStore):
    """Tenants, API keys and operators in CQL; same constructor options as CqlLogStore.

    Rows that are created with a lightweight transaction are also changed with one
    (IF EXISTS): mixing Paxos and plain writes on one row can order them wrongly.
    """

    _NAME = "accounts"
    _SCHEMA = _ACCOUNT_SCHEMA
    _STATEMENTS = _ACCOUNT_STATEMENTS

    def __init__(
        self,
        contact_points: Iterable[str] | str = ("127.0.0.1",),
        *,
        session: CqlSession | None = None,
        claim_grace_s: float = 60.0,
        **options,
    ):
        super().__init__(contact_points, session, options)
        self.claim_grace_ms = int(claim_grace_s * 1000)

    # -- claims (unique values) -----------------------------------------------------------

    async def _claim(self, kind: str, key: tuple, owner: str, holds) -> str | None:
        """'new' or 'ours' when `owner` holds the value now, None when another does.
        A claim is taken over only when old and its owner no longer has that value
        (`holds(owner)` is False): a crash left it behind."""
        _table, _keys, owner_col = _CLAIMS[kind]
        rows = await self._lwt(f"{kind}_claim", *key, owner, now_ms(), retry=True)
        if applied(rows):
            return "new"
        current = rows[0]
        if current.get(owner_col) == owner:
            return "ours"
        if now_ms() - (current.get("claimed_ms") or 0) < self.claim_grace_ms or await holds(current.get(owner_col)):
            return None
        rows = await self._lwt(f"{kind}_takeover", owner, now_ms(), *key, current.get(owner_col))
        return "new" if applied(rows) else None

    async def _release(self, kind: str, key: tuple, owner: str) -> None:
        await self._lwt(f"{kind}_release", *key, owner)

    async def _owner(self, kind: str, key: tuple) -> str | None:
        _table, _keys, owner_col = _CLAIMS[kind]
        rows = await self._q(f"{kind}_get", *key)
        return rows[0][owner_col] if rows else None

    # -- tenants --------------------------------------------------------------------------

    async def _tenant_row(self, tenant_id: str | None) -> dict | None:
        if not tenant_id:
            return None
        rows = await self._q("tenant_get", tenant_id)
        return rows[0] if rows and rows[0].get("body") else None

    def _holds(self, field: str, value: str):
        async def holds(tenant_id):
            row = await self._tenant_row(tenant_id)
            return row is not None and row[field] == value

        return holds

    async def create_tenant(self, tenant):
        slug = await self._claim("slug", (tenant.slug,), tenant.id, self._holds("slug", tenant.slug))
        if slug is None:
            raise Conflict(f"tenant {tenant.slug!r} already exists")
        widget = await self._claim(
            "widget", (tenant.widget_key,), tenant.id, self._holds("widget_key", tenant.widget_key)
        )
        if widget is None:
            if slug == "new":
                await self._release("slug", (tenant.slug,), tenant.id)
            raise Conflict(f"tenant {tenant.slug!r} already exists")
        rows = await self._lwt("tenant_create", tenant.id, tenant.slug, tenant.widget_key, _body(tenant))
        if not applied(rows):
            existing = rows[0]
            if slug == "new" and existing.get("slug") != tenant.slug:
                await self._release("slug", (tenant.slug,), tenant.id)
            if widget == "new" and existing.get("widget_key") != tenant.widget_key:
                await self._release("widget", (tenant.widget_key,), tenant.id)
            raise Conflict(f"tenant {tenant.slug!r} already exists")

    async def get_tenant(self, tenant_id):
        row = await self._tenant_row(tenant_id)
        return TenantRecord(**json.loads(row["body"])) if row else None

    async def find_tenant(self, *, slug="", widget_key=""):
        kind, field, value = ("slug", "slug", slug) if slug else ("widget", "widget_key", widget_key)
        if not value:
            return None
        row = await self._tenant_row(await self._owner(kind, (value,)))
        if row is None or row[field] != value:  # a claim left behind: not this tenant's any more
            return None
        return TenantRecord(**json.loads(row["body"]))

    async def update_tenant(self, tenant):
        old = await self._tenant_row(tenant.id)
        if old is None:
            return
        claimed: list[tuple[str, str]] = []
        for kind, field, value in (("slug", "slug", tenant.slug), ("widget", "widget_key", tenant.widget_key)):
            if value == old[field]:
                continue
            got = await self._claim(kind, (value,), tenant.id, self._holds(field, value))
            if got is None:
                for k, v in claimed:
                    await self._release(k, (v,), tenant.id)
                what = f"tenant {tenant.slug!r}" if kind == "slug" else "widget key"
                raise Conflict(f"{what} already exists")
            if got == "new":
                claimed.append((kind, value))
        await self._lwt("tenant_update", tenant.slug, tenant.widget_key, _body(tenant), tenant.id)
        if tenant.slug != old["slug"]:
            await self._release("slug", (old["slug"],), tenant.id)
        if tenant.widget_key != old["widget_key"]:
            await self._release("widget", (old["widget_key"],), tenant.id)

    # -- API keys ---------------------------------------------------------------------------

    async def create_api_key(self, key):
        rows = await self._lwt("key_create", key.id, key.tenant_id, _body(key))
        if not applied(rows):
            raise Conflict("API key already exists")
        await self._q("key_by_tenant_put", key.tenant_id, key.id, _body(key))

    async def get_api_key(self, key_id):
        rows = await self._q("key_get", key_id)
        return ApiKeyRecord(**json.loads(rows[0]["body"])) if rows and rows[0].get("body") else None

    async def list_api_keys(self, tenant_id):
        return [ApiKeyRecord(**json.loads(r["body"])) for r in await self._q("keys_by_tenant", tenant_id)]

    async def revoke_api_key(self, tenant_id, key_id, at_ms):
        rows = await self._q("key_get", key_id)
        if not rows or rows[0].get("tenant_id") != tenant_id or not rows[0].get("body"):
            return None
        key = ApiKeyRecord(**json.loads(rows[0]["body"]))
        if not key.revoked_ms:
            key.revoked_ms = at_ms
            await self._lwt("key_update", _body(key), key_id)
            await self._q("key_by_tenant_put", tenant_id, key_id, _body(key))
        return key

    # -- operators ----------------------------------------------------------------------------

    async def _operator_row(self, tenant_id: str, operator_id: str | None) -> dict | None:
        if not operator_id:
            return None
        rows = await self._q("operator_get", tenant_id, operator_id)
        return rows[0] if rows and rows[0].get("body") else None

    async def create_operator(self, operator):
        email = operator.email.lower()

        async def holds(operator_id):
            row = await self._operator_row(operator.tenant_id, operator_id)
            return row is not None and row["email"] == email

        claim = await self._claim("email", (operator.tenant_id, email), operator.id, holds)
        if claim is None:
            raise Conflict(f"operator {operator.email!r} already exists")
        rows = await self._lwt("operator_create", operator.tenant_id, operator.id, email, _body(operator))
        if not applied(rows):
            if claim == "new" and rows[0].get("email") != email:
                await self._release("email", (operator.tenant_id, email), operator.id)
            raise Conflict(f"operator {operator.email!r} already exists")

    async def get_operator(self, tenant_id, operator_id):
        row = await self._operator_row(tenant_id, operator_id)
        return OperatorRecord(**json.loads(row["body"])) if row else None

    async def find_operator_by_email(self, tenant_id, email):
        email = email.lower()
        row = await self._operator_row(tenant_id, await self._owner("email", (tenant_id, email)))
        if row is None or row["email"] != email:
            return None
        return OperatorRecord(**json.loads(row["body"]))

    async def list_operators(self, tenant_id):
        rows = sorted(await self._q("operators", tenant_id), key=lambda r: r["email"] or "")
        return [OperatorRecord(**json.loads(r["body"])) for r in rows if r.get("body")]

    async def update_operator(self, operator):
        # like the SQLite store: the record changes, the email it is found by does not
        await self._lwt("operator_update", _body(operator), operator.tenant_id, operator.id)

    async def delete_operator(self, tenant_id, operator_id):
        row = await self._operator_row(tenant_id, operator_id)
        if row is None:
            return False
        rows = await self._lwt("operator_delete", tenant_id, operator_id)
        if not applied(rows):
            return False
        await self._release("email", (tenant_id, row["email"]), operator_id)
        return True

    # -- tools --------------------------------------------------------------------------------

    async def create_tool(self, tool):
        if not applied(await self._lwt("tool_create", tool.tenant_id, tool.name, _body(tool))):
            raise Conflict(f"tool {tool.name!r} already exists")

    async def list_tools(self, tenant_id):
        return sorted(
            (ToolRecord(**json.loads(r["body"])) for r in await self._q("tools", tenant_id) if r.get("body")),
            key=lambda t: t.name,
        )

    async def delete_tool(self, tenant_id, name):
        return applied(await self._lwt("tool_delete", tenant_id, name))

    # -- canned responses -----------------------------------------------------------------------

    async def save_canned_response(self, response):
        await self._q("canned_save", response.tenant_id, response.shortcut, _body(response))

    async def list_canned_responses(self, tenant_id):
        rows = await self._q("canned", tenant_id)  # clustered by shortcut: already in order
        return [CannedResponseRecord(**json.loads(r["body"])) for r in rows if r.get("body")]

    async def delete_canned_response(self, tenant_id, shortcut):
        return applied(await self._lwt("canned_delete", tenant_id, shortcut))

    # -- the audit log ---------------------------------------------------------------------------

    async def append_audit(self, record):
        await self._q("audit_append", record.tenant_id, _month(record.at_ms), record.id, _body(record))

    async def list_audit(self, tenant_id, limit, before_id=""):
        """Newest first: the month of `before_id` (or this one) and then earlier months, back
        to AUDIT_MONTHS_READ."""
        found: list[AuditRecord] = []
        start = _month(ids.id_time_ms(before_id)) if before_id else _month(now_ms())
        year, month = divmod(start, 100)
        for _ in range(AUDIT_MONTHS_READ):
            rows = await self._q("audit_page", tenant_id, year * 100 + month, before_id or "\uffff", limit - len(found))
            found += [AuditRecord(**json.loads(r["body"])) for r in rows if r.get("body")]
            if len(found) >= limit:
                break
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return found
