"""The log and account stores on ScyllaDB (or Apache Cassandra): CQL through `scylla-driver`.

Same interfaces and semantics as the embedded SQLite stores (`frontdesk.stores.sqlite`);
the contract tests in tests/stores run against both, the CQL one against a real server.

Tables (every key starts with the tenant, except the sweeper's outbox and the lookups
that find a caller's tenant: slug, widget key, API key id):

  conversations              ((tenant_id, id))                             one row per conversation, columns
  conversation_index         ((tenant_id, scope, bucket), updated_ms DESC, conversation_id DESC)
  conversation_index_buckets ((tenant_id, scope), bucket DESC)            buckets of the index in use
  messages                   ((tenant_id, conversation_id, bucket), id)    bucket = id time // message_bucket_ms
  message_buckets            ((tenant_id, conversation_id), bucket DESC)   buckets of a conversation in use
  message_dedupe             ((tenant_id, conversation_id, dedupe_key))    claimed with INSERT ... IF NOT EXISTS
  outbox                     ((bucket, shard), created_ms, tenant_id, conversation_id, message_id)
  outbox_buckets             ((shard), bucket)                             minute buckets holding entries
  outbox_lookup              ((tenant_id, conversation_id), message_id)    where an entry lives, for outbox_done
  feedback                   ((tenant_id, conversation_id), message_id)
  tool_calls                 ((tenant_id, conversation_id), job_id, call_id)   the AI's tool calls, for the admin
  tenants (id) · tenant_slugs (slug) · tenant_widget_keys (widget_key)    slug/key claimed by LWT
  api_keys (id) · api_keys_by_tenant ((tenant_id), id)
  operators ((tenant_id), id) · operator_emails ((tenant_id, email))      email claimed by LWT
  tools ((tenant_id), name)                                                tenant HTTP tools, created by LWT

Choices, briefly:

* Messages are stored as serialized protobuf blobs (like the SQLite store): they are
  written once and always read whole, nested fields (citations, attachments) need no
  CQL types, and a new proto field needs no ALTER TABLE. Conversations are columns:
  their fields are updated and compared individually.
* A message partition is (tenant, conversation, bucket) with bucket derived from the
  message id's time (ids are time-ordered), so a long conversation cannot grow one
  partition without bound; history paging walks the buckets listed in message_buckets
  backwards, messages_after walks them forwards.
* Every conversation change is a lightweight transaction conditioned on updated_ms,
  and every change moves updated_ms forward by at least 1 ms (max(old + 1, now); the
  SQLite store uses max(old, now)), so updated_ms is the row's version and
  message_count stays exact under concurrent appends. The recency index
  (conversation_index: scopes "all", "v:<visitor>", "s:<status>", day buckets) gets the
  entries of the new state *before* the LWT and loses those of the old state after it
  (with write timestamps derived from updated_ms, so a late or replayed write can never
  undo a newer one). A reader shows an entry only if it matches the conversation's
  current (updated_ms, status): entries left by a failed or interrupted change are
  skipped, and deleted once they are provably old.
* Dedupe: INSERT ... IF NOT EXISTS on (tenant, conversation, dedupe_key) holding the
  message body, so concurrent duplicates store exactly one message and a loser gets the
  winner's message. A claim whose message never got written (the writer died in between)
  is completed by the next append with that key once the claim is older than
  `repair_after_s`. The message, its bucket and its outbox entry are one logged batch.
* Uniqueness of slug, widget key and operator email: claim rows written with LWT; a
  lookup follows the claim and checks that the owner still has that value, so a claim
  left behind by a crash is harmless and is taken over once older than `claim_grace_s`.
* The outbox is partitioned by (minute bucket, shard) across tenants; outbox_buckets
  lists the buckets holding entries, so outbox_due reads a few partitions, oldest first.
  Bucket registry rows are removed only when found empty well after their time window
  (`bucket_grace_s`), with a delete timestamp at the end of that window, so that only
  writes made during the window are shadowed (see _registry_stamp). The outbox tables use gc_grace_seconds=3600: a resurrected entry
  only republishes a job, which JetStream's dedupe and the reply dedupe key absorb.

Differences from the SQLite store (its single transactions have no CQL equivalent):
* after the message batch, bumping the conversation is a second step; if the process
  dies or the store fails between them, the message is stored but the conversation's
  count/preview/updated_ms lag until its next change;
* a message id given twice without a dedupe key overwrites (ids are random; SQLite
  raises); a duplicate conversation id, or update_tenant to another tenant's slug or
  widget key, raises Conflict (SQLite: sqlite3.IntegrityError);
* a new API key is listed by tenant a moment after it can be fetched by id (two writes).
Bucket sizes and outbox_shards are fixed for the life of a keyspace.

The driver is callback based: `CqlSession.execute` turns `execute_async` futures into
asyncio futures with `loop.call_soon_threadsafe`, so the event loop never blocks on
CQL. Driver failures (no host, timeouts, unavailable replicas) become StoreUnavailable.
Connecting, creating the keyspace and tables (idempotent: IF NOT EXISTS) and preparing
every statement happen once, on first use, in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import cast

from cassandra import (
    ConsistencyLevel,
    CoordinationFailure,
    OperationTimedOut,
    Timeout,
    Unavailable,
    WriteTimeout,
    WriteType,
)
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.connection import ConnectionException
from cassandra.policies import DCAwareRoundRobinPolicy, ExponentialReconnectionPolicy, TokenAwarePolicy
from cassandra.protocol import IsBootstrappingErrorMessage, OverloadedErrorMessage
from cassandra.query import BatchStatement, BatchType, PreparedStatement, dict_factory

from frontdesk import ids
from frontdesk.clock import ts_from_ms
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

__all__ = ["CqlAccountStore", "CqlLogStore", "CqlSession"]

DAY_MS = 86_400_000
MINUTE_MS = 60_000
_MAX_MS = 2**63 - 1
_CAS_ATTEMPTS = 30

# Errors meaning "the cluster cannot answer now", as opposed to a bad statement.
_UNAVAILABLE = (
    NoHostAvailable,
    OperationTimedOut,
    Unavailable,
    Timeout,
    CoordinationFailure,
    ConnectionException,
    OverloadedErrorMessage,
    IsBootstrappingErrorMessage,
)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}\Z")
_OPTION = re.compile(r"^[A-Za-z0-9_.\-]+\Z")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _applied(rows: list[dict]) -> bool:
    return bool(rows) and bool(rows[0].get("[applied]"))


def _parse_contact_points(points: Iterable[str] | str, port: int) -> list[tuple[str, int]]:
    if isinstance(points, str):
        points = [p for p in points.split(",")]
    out = []
    for raw in points:
        point = raw.strip()
        if not point:
            continue
        if point.startswith("["):  # [ipv6]:port
            host, _, rest = point[1:].partition("]")
            out.append((host, int(rest[1:]) if rest.startswith(":") else port))
        elif point.count(":") == 1:
            host, _, p = point.partition(":")
            out.append((host, int(p)))
        else:
            out.append((point, port))
    if not out:
        raise ValueError("no CQL contact points given")
    return out


def _replication_cql(replication: Mapping[str, object]) -> str:
    items = dict(replication)
    if "class" not in items:
        raise ValueError("replication needs a 'class' (SimpleStrategy or NetworkTopologyStrategy)")
    for key, value in items.items():
        if not _OPTION.match(str(key)) or not _OPTION.match(str(value)):
            raise ValueError(f"bad replication option {key!r}: {value!r}")
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in items.items()) + "}"


def _consistency(level: str | int) -> int:
    if isinstance(level, int):
        return level
    try:
        return ConsistencyLevel.name_to_value[level.upper()]
    except KeyError:
        raise ValueError(f"unknown consistency level {level!r}") from None


def _resolve(loop: asyncio.AbstractEventLoop, future: asyncio.Future, result=None, error: BaseException | None = None):
    """Complete an asyncio future from a driver thread."""

    def settle():
        if not future.done():
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop is closed: nobody waits any more
        pass


class CqlSession:
    """One driver Cluster/Session, shared by the stores that use the same keyspace.

    contact_points: "host", "host:port" or "[v6addr]:port" strings (a list, or one
    comma-separated string); `port` applies to those without one. replication: the
    keyspace's replication map, e.g. {"class": "NetworkTopologyStrategy", "dc1": 3};
    SimpleStrategy with replication_factor 1 by default (development). consistency is
    used for every read and write (LOCAL_QUORUM by default), serial_consistency for
    lightweight transactions (LOCAL_SERIAL). timeout_s bounds each request.
    """

    def __init__(
        self,
        contact_points: Iterable[str] | str = ("127.0.0.1",),
        *,
        port: int = 9042,
        keyspace: str = "frontdesk",
        replication: Mapping[str, object] | None = None,
        local_dc: str | None = None,
        consistency: str | int = "LOCAL_QUORUM",
        serial_consistency: str | int = "LOCAL_SERIAL",
        timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        schema_timeout_s: float = 60.0,
        username: str = "",
        password: str = "",
        reconnect_max_delay_s: float = 10.0,
    ):
        if not _NAME.match(keyspace):
            raise ValueError(f"keyspace {keyspace!r}: letters, digits and _ only, starting with a letter, at most 48")
        self.contact_points = _parse_contact_points(contact_points, port)
        ports = {p for _, p in self.contact_points}
        if len(ports) > 1:
            # the driver reaches every node it discovers on one port (Cluster.port)
            raise ValueError(f"CQL contact points must share one port, got {sorted(ports)}")
        self.port = ports.pop()
        self.keyspace = keyspace
        self.replication = dict(replication or {"class": "SimpleStrategy", "replication_factor": 1})
        self._replication_cql = _replication_cql(self.replication)
        self.local_dc = local_dc
        self.consistency = _consistency(consistency)
        self.serial_consistency = _consistency(serial_consistency)
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.schema_timeout_s = schema_timeout_s
        self._auth = PlainTextAuthProvider(username=username, password=password) if username else None
        self._reconnect_max_delay_s = reconnect_max_delay_s
        self._cluster: Cluster | None = None
        self._session = None
        self._prepared: dict[str, dict[str, PreparedStatement]] = {}
        self._thread_lock = threading.Lock()
        self._closed = False

    # -- connecting -----------------------------------------------------------------

    @property
    def where(self) -> str:
        hosts = ",".join(f"{h}:{p}" for h, p in self.contact_points)
        return f"keyspace {self.keyspace} at {hosts}"

    def _connect_blocking(self) -> None:
        if self._session is not None:
            return
        if self._closed:
            raise StoreUnavailable(f"CQL store closed ({self.where})")
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=self.local_dc)),
            consistency_level=self.consistency,
            serial_consistency_level=self.serial_consistency,
            request_timeout=self.timeout_s,
            row_factory=dict_factory,
        )
        cluster = Cluster(
            contact_points=[host for host, _ in self.contact_points],
            port=self.port,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            connect_timeout=self.connect_timeout_s,
            control_connection_timeout=self.connect_timeout_s,
            reconnection_policy=ExponentialReconnectionPolicy(0.5, self._reconnect_max_delay_s),
            auth_provider=self._auth,
            max_schema_agreement_wait=int(self.schema_timeout_s),
        )
        try:
            session = cluster.connect()
            session.execute(
                f"CREATE KEYSPACE IF NOT EXISTS {self.keyspace} WITH replication = {self._replication_cql}",
                timeout=self.schema_timeout_s,
            )
        except _UNAVAILABLE as err:
            cluster.shutdown()
            raise StoreUnavailable(self.describe(err, "connecting")) from err
        except BaseException:
            cluster.shutdown()
            raise
        self._cluster, self._session = cluster, session

    def _ensure_blocking(
        self, name: str, schema: Sequence[str], statements: Mapping[str, str]
    ) -> dict[str, PreparedStatement]:
        with self._thread_lock:  # one migration at a time, even from several event loops
            if name in self._prepared:
                return self._prepared[name]
            self._connect_blocking()
            assert self._session is not None  # connected just above
            ks = self.keyspace
            try:
                for ddl in schema:
                    self._session.execute(ddl.format(ks=ks), timeout=self.schema_timeout_s)
                prepared = {key: self._session.prepare(cql.format(ks=ks)) for key, cql in statements.items()}
            except _UNAVAILABLE as err:
                raise StoreUnavailable(self.describe(err, f"creating the {name} tables")) from err
            self._prepared[name] = prepared
            return prepared

    async def ensure_schema(
        self, name: str, schema: Sequence[str], statements: Mapping[str, str]
    ) -> dict[str, PreparedStatement]:
        """Connect (once), create the tables of `schema` if missing and prepare
        `statements`; `{ks}` in either is the keyspace. Idempotent."""
        if name in self._prepared:
            return self._prepared[name]
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._ensure_blocking, name, schema, statements)

    # -- running statements ---------------------------------------------------------

    def describe(self, err: BaseException, doing: str = "") -> str:
        if isinstance(err, NoHostAvailable):
            errors = "; ".join(f"{host}: {type(e).__name__}: {e}" for host, e in (err.errors or {}).items())
            detail = (
                f"no CQL host could be reached ({errors})"
                if errors
                else "every CQL host is marked down (the driver keeps trying to reconnect)"
            )
        elif isinstance(err, OperationTimedOut):
            detail = f"no answer within {self.timeout_s:g}s ({err})"
        elif isinstance(err, Unavailable):
            detail = f"not enough replicas alive ({err})"
        elif isinstance(err, Timeout):
            detail = f"replicas did not answer in time ({type(err).__name__}: {err})"
        else:
            detail = f"{type(err).__name__}: {err}"
        return f"CQL store unavailable ({self.where}){' while ' + doing if doing else ''}: {detail}"

    async def execute(
        self, statement, params: Sequence | None = None, *, consistency: int | None = None, timeout: float | None = None
    ) -> list[dict]:
        """Run one statement (or batch) without blocking the loop; all result rows as dicts."""
        session = self._session
        if session is None:
            raise StoreUnavailable(f"CQL store not connected ({self.where})")
        if consistency is not None:
            if isinstance(statement, PreparedStatement):
                statement = statement.bind(params or ())
                params = None
            statement.consistency_level = consistency
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        rows: list[dict] = []
        try:
            response = session.execute_async(statement, params, timeout=timeout or self.timeout_s)
        except _UNAVAILABLE as err:
            raise StoreUnavailable(self.describe(err)) from err

        def on_page(page):
            try:
                if page:
                    rows.extend(page)
                if response.has_more_pages:
                    response.start_fetching_next_page()
                else:
                    _resolve(loop, future, rows)
            except Exception as exc:  # noqa: BLE001 - never leave the awaiting task hanging
                _resolve(loop, future, error=exc)

        def on_error(exc):
            _resolve(loop, future, error=exc)

        response.add_callbacks(on_page, on_error)
        try:
            return await future
        except _UNAVAILABLE as err:
            raise StoreUnavailable(self.describe(err)) from err

    def batch(self, logged: bool = True) -> BatchStatement:
        return BatchStatement(batch_type=BatchType.LOGGED if logged else BatchType.UNLOGGED)

    async def close(self) -> None:
        self._closed = True
        cluster, self._cluster, self._session = self._cluster, None, None
        self._prepared.clear()
        if cluster is not None:
            await asyncio.get_running_loop().run_in_executor(None, cluster.shutdown)


def _is_cas_timeout(err: StoreUnavailable) -> bool:
    cause = err.__cause__
    return isinstance(cause, WriteTimeout) and getattr(cause, "write_type", None) in (WriteType.CAS, "CAS")


class _CqlStore:
    _NAME = ""
    _SCHEMA: Sequence[str] = ()
    _STATEMENTS: Mapping[str, str] = {}

    def __init__(self, contact_points, session: CqlSession | None, options: dict):
        if session is not None and options:
            raise TypeError("pass connection options or a CqlSession, not both")
        self._cql = session or CqlSession(contact_points, **options)
        self._owns_session = session is None
        self._st: dict[str, PreparedStatement] | None = None

    async def connect(self) -> None:
        """Connect and migrate now (otherwise done on first use)."""
        await self._ready()

    async def _ready(self) -> dict[str, PreparedStatement]:
        if self._st is None:
            self._st = await self._cql.ensure_schema(self._NAME, self._SCHEMA, self._STATEMENTS)
        return self._st

    async def _q(self, name: str, *params, consistency: int | None = None) -> list[dict]:
        st = await self._ready()
        return await self._cql.execute(st[name], params, consistency=consistency)

    async def _lwt(self, name: str, *params, retry: bool = False) -> list[dict]:
        """A lightweight transaction. With retry, a CAS timeout (outcome unknown) is
        retried: only for statements whose caller recognises its own earlier success."""
        for attempt in range(3 if retry else 1):
            try:
                return await self._q(name, *params)
            except StoreUnavailable as err:
                if not retry or attempt == 2 or not _is_cas_timeout(err):
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _batch(self, entries: list[tuple[str, tuple]]) -> None:
        if not entries:
            return
        st = await self._ready()
        batch = self._cql.batch(logged=True)
        for name, params in entries:
            batch.add(st[name], params)
        await self._cql.execute(batch)

    async def close(self) -> None:
        if self._owns_session:
            await self._cql.close()


# =====================================================================================
# log store
# =====================================================================================

_LOG_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {ks}.conversations (
        tenant_id text, id text,
        visitor_id text, channel int, created_ms bigint, attributes map<text, text>,
        status int, updated_ms bigint, last_preview text, assigned_operator_id text, handoff_reason text,
        rating int, message_count int,
        PRIMARY KEY ((tenant_id, id)))""",
    """CREATE TABLE IF NOT EXISTS {ks}.conversation_index (
        tenant_id text, scope text, bucket bigint, updated_ms bigint, conversation_id text,
        PRIMARY KEY ((tenant_id, scope, bucket), updated_ms, conversation_id))
        WITH CLUSTERING ORDER BY (updated_ms DESC, conversation_id DESC)""",
    """CREATE TABLE IF NOT EXISTS {ks}.conversation_index_buckets (
        tenant_id text, scope text, bucket bigint,
        PRIMARY KEY ((tenant_id, scope), bucket)) WITH CLUSTERING ORDER BY (bucket DESC)""",
    """CREATE TABLE IF NOT EXISTS {ks}.messages (
        tenant_id text, conversation_id text, bucket bigint, id text, dedupe_key text, body blob,
        PRIMARY KEY ((tenant_id, conversation_id, bucket), id)) WITH CLUSTERING ORDER BY (id ASC)""",
    """CREATE TABLE IF NOT EXISTS {ks}.message_buckets (
        tenant_id text, conversation_id text, bucket bigint,
        PRIMARY KEY ((tenant_id, conversation_id), bucket)) WITH CLUSTERING ORDER BY (bucket DESC)""",
    """CREATE TABLE IF NOT EXISTS {ks}.message_dedupe (
        tenant_id text, conversation_id text, dedupe_key text,
        message_id text, body blob, enqueue boolean, claimed_ms bigint,
        PRIMARY KEY ((tenant_id, conversation_id, dedupe_key)))""",
    """CREATE TABLE IF NOT EXISTS {ks}.outbox (
        bucket bigint, shard int, created_ms bigint, tenant_id text, conversation_id text, message_id text,
        PRIMARY KEY ((bucket, shard), created_ms, tenant_id, conversation_id, message_id))
        WITH gc_grace_seconds = 3600""",
    """CREATE TABLE IF NOT EXISTS {ks}.outbox_buckets (
        shard int, bucket bigint, PRIMARY KEY ((shard), bucket)) WITH gc_grace_seconds = 3600""",
    """CREATE TABLE IF NOT EXISTS {ks}.outbox_lookup (
        tenant_id text, conversation_id text, message_id text, bucket bigint, shard int, created_ms bigint,
        PRIMARY KEY ((tenant_id, conversation_id), message_id)) WITH gc_grace_seconds = 3600""",
    """CREATE TABLE IF NOT EXISTS {ks}.feedback (
        tenant_id text, conversation_id text, message_id text, helpful boolean, comment text, at_ms bigint,
        PRIMARY KEY ((tenant_id, conversation_id), message_id))""",
    """CREATE TABLE IF NOT EXISTS {ks}.tool_calls (
        tenant_id text, conversation_id text, job_id text, call_id text, body text,
        PRIMARY KEY ((tenant_id, conversation_id), job_id, call_id))
        WITH CLUSTERING ORDER BY (job_id DESC, call_id ASC)""",
)

_CONV_MUTABLE = "status, updated_ms, last_preview, assigned_operator_id, handoff_reason, rating, message_count"

_LOG_STATEMENTS = {
    "conv_get": "SELECT * FROM {ks}.conversations WHERE tenant_id = ? AND id = ?",
    "conv_create": (
        "INSERT INTO {ks}.conversations (tenant_id, id, visitor_id, channel, created_ms, attributes, "
        + _CONV_MUTABLE
        + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
    ),
    "conv_cas": (
        "UPDATE {ks}.conversations SET status = ?, updated_ms = ?, last_preview = ?, assigned_operator_id = ?, "
        "handoff_reason = ?, rating = ?, message_count = ? WHERE tenant_id = ? AND id = ? IF updated_ms = ?"
    ),
    "index_put": (
        "INSERT INTO {ks}.conversation_index (tenant_id, scope, bucket, updated_ms, conversation_id) "
        "VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?"
    ),
    "index_drop": (
        "DELETE FROM {ks}.conversation_index USING TIMESTAMP ? "
        "WHERE tenant_id = ? AND scope = ? AND bucket = ? AND updated_ms = ? AND conversation_id = ?"
    ),
    "index_scan": (
        "SELECT updated_ms, conversation_id FROM {ks}.conversation_index "
        "WHERE tenant_id = ? AND scope = ? AND bucket = ? AND (updated_ms, conversation_id) < (?, ?) LIMIT ?"
    ),
    "index_bucket_put": (
        "INSERT INTO {ks}.conversation_index_buckets (tenant_id, scope, bucket) VALUES (?, ?, ?) USING TIMESTAMP ?"
    ),
    "index_bucket_drop": (
        "DELETE FROM {ks}.conversation_index_buckets USING TIMESTAMP ? WHERE tenant_id = ? AND scope = ? AND bucket = ?"
    ),
    "index_buckets_desc": (
        "SELECT bucket FROM {ks}.conversation_index_buckets WHERE tenant_id = ? AND scope = ? AND bucket <= ? LIMIT ?"
    ),
    "msg_put": (
        "INSERT INTO {ks}.messages (tenant_id, conversation_id, bucket, id, dedupe_key, body) VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "msg_get": "SELECT body FROM {ks}.messages WHERE tenant_id = ? AND conversation_id = ? AND bucket = ? AND id = ?",
    "msg_before": (
        "SELECT id, body FROM {ks}.messages WHERE tenant_id = ? AND conversation_id = ? AND bucket = ? AND id < ? "
        "ORDER BY id DESC LIMIT ?"
    ),
    "msg_newest": (
        "SELECT id, body FROM {ks}.messages WHERE tenant_id = ? AND conversation_id = ? AND bucket = ? "
        "ORDER BY id DESC LIMIT ?"
    ),
    "msg_after": (
        "SELECT body FROM {ks}.messages WHERE tenant_id = ? AND conversation_id = ? AND bucket = ? AND id > ? "
        "ORDER BY id ASC LIMIT ?"
    ),
    "msg_bucket_put": "INSERT INTO {ks}.message_buckets (tenant_id, conversation_id, bucket) VALUES (?, ?, ?)",
    "msg_buckets_desc": (
        "SELECT bucket FROM {ks}.message_buckets WHERE tenant_id = ? AND conversation_id = ? AND bucket <= ? LIMIT ?"
    ),
    "msg_buckets_asc": (
        "SELECT bucket FROM {ks}.message_buckets WHERE tenant_id = ? AND conversation_id = ? AND bucket >= ? "
        "ORDER BY bucket ASC LIMIT ?"
    ),
    "dedupe_claim": (
        "INSERT INTO {ks}.message_dedupe (tenant_id, conversation_id, dedupe_key, message_id, body, enqueue, claimed_ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
    ),
    "dedupe_get": (
        "SELECT message_id, body, enqueue, claimed_ms FROM {ks}.message_dedupe "
        "WHERE tenant_id = ? AND conversation_id = ? AND dedupe_key = ?"
    ),
    "outbox_put": (
        "INSERT INTO {ks}.outbox (bucket, shard, created_ms, tenant_id, conversation_id, message_id) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "outbox_drop": (
        "DELETE FROM {ks}.outbox WHERE bucket = ? AND shard = ? AND created_ms = ? AND tenant_id = ? "
        "AND conversation_id = ? AND message_id = ?"
    ),
    "outbox_scan": (
        "SELECT created_ms, tenant_id, conversation_id, message_id FROM {ks}.outbox "
        "WHERE bucket = ? AND shard = ? AND created_ms < ? LIMIT ?"
    ),
    "outbox_lookup_put": (
        "INSERT INTO {ks}.outbox_lookup (tenant_id, conversation_id, message_id, bucket, shard, created_ms) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "outbox_lookup_get": (
        "SELECT bucket, shard, created_ms FROM {ks}.outbox_lookup WHERE tenant_id = ? AND conversation_id = ? "
        "AND message_id = ?"
    ),
    "outbox_lookup_drop": "DELETE FROM {ks}.outbox_lookup WHERE tenant_id = ? AND conversation_id = ? AND message_id = ?",
    "outbox_bucket_put": "INSERT INTO {ks}.outbox_buckets (shard, bucket) VALUES (?, ?) USING TIMESTAMP ?",
    "outbox_bucket_drop": "DELETE FROM {ks}.outbox_buckets USING TIMESTAMP ? WHERE shard = ? AND bucket = ?",
    "outbox_buckets": "SELECT bucket FROM {ks}.outbox_buckets WHERE shard = ? AND bucket <= ?",
    "feedback_put": (
        "INSERT INTO {ks}.feedback (tenant_id, conversation_id, message_id, helpful, comment, at_ms) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "tool_call_put": (
        "INSERT INTO {ks}.tool_calls (tenant_id, conversation_id, job_id, call_id, body) VALUES (?, ?, ?, ?, ?)"
    ),
    # job ids are message ids, which are time-ordered: the newest jobs come first
    "tool_calls": "SELECT body FROM {ks}.tool_calls WHERE tenant_id = ? AND conversation_id = ? LIMIT ?",
    "feedback_list": "SELECT message_id, helpful, at_ms FROM {ks}.feedback WHERE tenant_id = ? AND conversation_id = ?",
}

_UPDATABLE = {"status", "assigned_operator_id", "handoff_reason", "rating"}


def _conversation(row: dict) -> common.Conversation:
    return common.Conversation(
        id=row["id"],
        visitor_id=row["visitor_id"] or "",
        status=cast(common.ConversationStatus, row["status"] or 0),
        channel=cast(common.Channel, row["channel"] or 0),
        created_at=ts_from_ms(row["created_ms"] or 0),
        updated_at=ts_from_ms(row["updated_ms"] or 0),
        last_message_preview=row["last_preview"] or "",
        assigned_operator_id=row["assigned_operator_id"] or "",
        handoff_reason=row["handoff_reason"] or "",
        rating=row["rating"] or 0,
        message_count=row["message_count"] or 0,
        attributes=dict(row["attributes"] or {}),
    )


_split_token = split_conversation_token


def _scopes(visitor_id: str, status: int) -> list[str]:
    return ["all", f"v:{visitor_id}", f"s:{status}"]


class CqlLogStore(_CqlStore, LogStore):
    """Conversations, messages, outbox and feedback in CQL.

    `CqlLogStore(["10.0.0.1:9042", ...], keyspace="frontdesk", consistency="LOCAL_QUORUM",
    replication={"class": "NetworkTopologyStrategy", "dc1": 3}, timeout_s=5)`, or
    `CqlLogStore(session=shared_cql_session)`. Bucket sizes are fixed for the life of a
    keyspace: changing one later hides what was written under the old one.
    """

    _NAME = "log"
    _SCHEMA = _LOG_SCHEMA
    _STATEMENTS = _LOG_STATEMENTS

    def __init__(
        self,
        contact_points: Iterable[str] | str = ("127.0.0.1",),
        *,
        session: CqlSession | None = None,
        message_bucket_ms: int = DAY_MS,
        activity_bucket_ms: int = DAY_MS,
        outbox_bucket_ms: int = MINUTE_MS,
        outbox_shards: int = 4,
        bucket_grace_s: float = 600.0,
        repair_after_s: float = 120.0,
        **options,
    ):
        super().__init__(contact_points, session, options)
        self.message_bucket_ms = message_bucket_ms
        self.activity_bucket_ms = activity_bucket_ms
        self.outbox_bucket_ms = outbox_bucket_ms
        self.outbox_shards = outbox_shards
        self.bucket_grace_ms = int(bucket_grace_s * 1000)
        self.repair_after_ms = int(repair_after_s * 1000)

    # -- buckets --------------------------------------------------------------------

    def _message_bucket(self, message_id: str) -> int:
        try:
            return ids.id_time_ms(message_id) // self.message_bucket_ms
        except (ValueError, IndexError):  # not one of our ids: the first bucket
            return 0

    def _registry_stamp(self, ms: int) -> int:
        """Write timestamp of a bucket registry row for a bucket entry at `ms`. A registry
        row is dropped (found empty, `bucket_grace` after its window) with the timestamp of
        the window's end: a write for a recent time stays inside its window and is shadowed
        by that drop, one into a long-gone bucket (a backdated change) carries a later
        timestamp and survives it."""
        return max(ms, _now_ms() - max(self.bucket_grace_ms // 2, 1000)) * 1000

    def _activity_bucket(self, ms: int) -> int:
        return ms // self.activity_bucket_ms

    def _shard(self, tenant_id: str, conversation_id: str) -> int:
        return zlib.crc32(f"{tenant_id}/{conversation_id}".encode()) % self.outbox_shards

    async def _buckets(self, name: str, key: tuple, start: int, *, chunk: int = 32, descending: bool = True):
        """Yield the registered buckets of a partition from `start`, newest (or oldest) first."""
        while True:
            rows = await self._q(name, *key, start, chunk)
            for row in rows:
                yield row["bucket"]
            if len(rows) < chunk:
                return
            start = rows[-1]["bucket"] + (-1 if descending else 1)

    # -- conversations ----------------------------------------------------------------

    async def _row(self, tenant_id: str, conversation_id: str, serial: bool = False) -> dict | None:
        rows = await self._q(
            "conv_get", tenant_id, conversation_id, consistency=self._cql.serial_consistency if serial else None
        )
        row = rows[0] if rows else None
        return row if row is not None and row.get("created_ms") is not None else None

    def _index_puts(self, tenant_id: str, conversation_id: str, visitor_id: str, status: int, updated_ms: int):
        bucket, stamp = self._activity_bucket(updated_ms), updated_ms * 1000
        out: list[tuple[str, tuple]] = []
        for scope in _scopes(visitor_id, status):
            out.append(("index_put", (tenant_id, scope, bucket, updated_ms, conversation_id, stamp)))
            out.append(("index_bucket_put", (tenant_id, scope, bucket, self._registry_stamp(updated_ms))))
        return out

    def _index_drops(
        self, tenant_id: str, conversation_id: str, visitor_id: str, status: int, updated_ms: int, at_ms: int
    ):
        bucket = self._activity_bucket(updated_ms)
        return [
            ("index_drop", (at_ms * 1000, tenant_id, scope, bucket, updated_ms, conversation_id))
            for scope in _scopes(visitor_id, status)
        ]

    async def create_conversation(self, tenant_id, conversation):
        created = conversation.created_at.ToMilliseconds() or _now_ms()
        row = {
            "tenant_id": tenant_id,
            "id": conversation.id,
            "visitor_id": conversation.visitor_id,
            "channel": conversation.channel,
            "created_ms": created,
            "attributes": dict(conversation.attributes),
            "status": conversation.status,
            "updated_ms": created,
            "last_preview": "",
            "assigned_operator_id": "",
            "handoff_reason": "",
            "rating": 0,
            "message_count": 0,
        }
        # index first: if we die after it, the entry is skipped (no such conversation)
        await self._batch(
            self._index_puts(tenant_id, conversation.id, conversation.visitor_id, conversation.status, created)
        )
        rows = await self._lwt(
            "conv_create",
            tenant_id,
            conversation.id,
            row["visitor_id"],
            row["channel"],
            created,
            row["attributes"],
            row["status"],
            created,
            "",
            "",
            "",
            0,
            0,
        )
        if not _applied(rows):
            raise Conflict(f"conversation {conversation.id!r} already exists")
        return _conversation(row)

    async def get_conversation(self, tenant_id, conversation_id):
        row = await self._row(tenant_id, conversation_id)
        return _conversation(row) if row else None

    async def _change(self, tenant_id: str, conversation_id: str, apply) -> dict | None:
        """Compare-and-set loop on updated_ms. `apply(new_row)` edits the copy and returns
        the activity time it wants; the new updated_ms is max(old + 1, that)."""
        row = await self._row(tenant_id, conversation_id)
        for _ in range(_CAS_ATTEMPTS):
            if row is None:
                return None
            new = dict(row)
            wanted = apply(new)
            new["updated_ms"] = max(row["updated_ms"] + 1, wanted)
            await self._batch(
                self._index_puts(tenant_id, conversation_id, new["visitor_id"], new["status"], new["updated_ms"])
            )
            rows = await self._lwt(
                "conv_cas",
                new["status"],
                new["updated_ms"],
                new["last_preview"],
                new["assigned_operator_id"],
                new["handoff_reason"],
                new["rating"],
                new["message_count"] or 0,
                tenant_id,
                conversation_id,
                row["updated_ms"],
            )
            if _applied(rows):
                await self._batch(
                    self._index_drops(
                        tenant_id,
                        conversation_id,
                        row["visitor_id"],
                        row["status"],
                        row["updated_ms"],
                        new["updated_ms"],
                    )
                )
                return new
            row = await self._row(tenant_id, conversation_id, serial=True)
        raise StoreUnavailable(
            f"CQL store unavailable ({self._cql.where}): conversation {conversation_id} "
            f"changed by too many writers at once; try again"
        )

    async def update_conversation(self, tenant_id, conversation_id, **changes):
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if not changes:
            return await self.get_conversation(tenant_id, conversation_id)

        def apply(new):
            new.update(changes)
            return _now_ms()

        row = await self._change(tenant_id, conversation_id, apply)
        return _conversation(row) if row else None

    async def list_conversations(self, tenant_id, *, visitor_id="", status=0, limit=50, page_token=""):
        before = _split_token(page_token) if page_token else (_MAX_MS, "")
        scope = f"v:{visitor_id}" if visitor_id else (f"s:{status}" if status else "all")
        want = limit + 1
        found: list[dict] = []
        stale: list[tuple] = []
        now = _now_ms()
        top = self._activity_bucket(min(before[0], _MAX_MS - 1))
        async for bucket in self._buckets("index_buckets_desc", (tenant_id, scope), top):
            cursor, seen = before, False
            while len(found) < want:
                chunk = want - len(found) + 8
                entries = await self._q("index_scan", tenant_id, scope, bucket, cursor[0], cursor[1], chunk)
                if not entries:
                    break
                seen = True
                rows = await asyncio.gather(*(self._row(tenant_id, e["conversation_id"]) for e in entries))
                for entry, row in zip(entries, rows, strict=False):
                    if row is None:  # an interrupted create (or one in flight): nothing to show
                        continue
                    if entry["updated_ms"] != row["updated_ms"]:
                        if entry["updated_ms"] < row["updated_ms"]:  # provably old: clean it up
                            stale.append(
                                (
                                    row["updated_ms"] * 1000,
                                    tenant_id,
                                    scope,
                                    bucket,
                                    entry["updated_ms"],
                                    entry["conversation_id"],
                                )
                            )
                        continue
                    if (status and row["status"] != status) or (visitor_id and row["visitor_id"] != visitor_id):
                        continue  # (an entry written by a create that lost to an existing id)
                    found.append(row)
                    if len(found) == want:
                        break
                last = entries[-1]
                cursor = (last["updated_ms"], last["conversation_id"])
                if len(entries) < chunk:
                    break
            whole = not page_token or bucket < top  # the scan was not cut by the token
            if whole and not seen and (bucket + 1) * self.activity_bucket_ms < now - self.bucket_grace_ms:
                await self._drop_quietly(
                    "index_bucket_drop", (bucket + 1) * self.activity_bucket_ms * 1000, tenant_id, scope, bucket
                )
            if len(found) >= want:
                break
        if stale:
            await self._drop_quietly_many([("index_drop", s) for s in stale])
        page = found[:limit]
        token = f"{page[-1]['updated_ms']}:{page[-1]['id']}" if len(found) > limit and page else ""
        return [_conversation(r) for r in page], token

    async def _drop_quietly(self, name: str, *params) -> None:
        try:
            await self._q(name, *params)
        except StoreUnavailable:
            pass  # housekeeping only: the next reader tries again

    async def _drop_quietly_many(self, entries) -> None:
        try:
            await self._batch(entries)
        except StoreUnavailable:
            pass

    # -- messages ---------------------------------------------------------------------

    def _message_writes(self, tenant_id: str, message: common.Message, body: bytes, dedupe_key: str, enqueue: bool):
        bucket = self._message_bucket(message.id)
        cid = message.conversation_id
        out = [
            ("msg_put", (tenant_id, cid, bucket, message.id, dedupe_key or None, body)),
            ("msg_bucket_put", (tenant_id, cid, bucket)),
        ]
        if enqueue:
            created = _now_ms()
            obucket, shard = created // self.outbox_bucket_ms, self._shard(tenant_id, cid)
            out += [
                ("outbox_put", (obucket, shard, created, tenant_id, cid, message.id)),
                ("outbox_lookup_put", (tenant_id, cid, message.id, obucket, shard, created)),
                ("outbox_bucket_put", (shard, obucket, self._registry_stamp(created))),
            ]
        return out

    async def _bump(self, tenant_id: str, message: common.Message) -> None:
        preview = message.text[:140]
        at = message.created_at.ToMilliseconds()

        def apply(new):
            new["message_count"] = (new["message_count"] or 0) + 1
            new["last_preview"] = preview
            return at

        await self._change(tenant_id, message.conversation_id, apply)

    async def append_message(self, tenant_id, message, dedupe_key="", *, enqueue=False):
        if not message.created_at.seconds:
            message.created_at.FromMilliseconds(_now_ms())
        body = message.SerializeToString()
        if dedupe_key:
            rows = await self._lwt(
                "dedupe_claim",
                tenant_id,
                message.conversation_id,
                dedupe_key,
                message.id,
                body,
                enqueue,
                _now_ms(),
                retry=True,
            )
            if not _applied(rows) and rows[0].get("message_id") != message.id:
                return await self._existing(tenant_id, message.conversation_id, dedupe_key, rows[0]), False
        await self._batch(self._message_writes(tenant_id, message, body, dedupe_key, enqueue))
        await self._bump(tenant_id, message)
        return common.Message.FromString(body), True

    async def _existing(self, tenant_id: str, conversation_id: str, dedupe_key: str, claim: dict) -> common.Message:
        """The message that holds a dedupe key. If its writer died between the claim and
        the message (the claim is old, the message missing), finish that write now."""
        stored = common.Message.FromString(claim["body"])
        if _now_ms() - (claim.get("claimed_ms") or 0) >= self.repair_after_ms:
            if await self._message(tenant_id, conversation_id, stored.id) is None:
                await self._batch(
                    self._message_writes(tenant_id, stored, claim["body"], dedupe_key, bool(claim.get("enqueue")))
                )
                await self._bump(tenant_id, stored)
        return stored

    async def _message(self, tenant_id: str, conversation_id: str, message_id: str) -> common.Message | None:
        rows = await self._q("msg_get", tenant_id, conversation_id, self._message_bucket(message_id), message_id)
        return common.Message.FromString(rows[0]["body"]) if rows else None

    async def find_message(self, tenant_id, conversation_id, *, message_id="", dedupe_key=""):
        if message_id:
            return await self._message(tenant_id, conversation_id, message_id)
        rows = await self._q("dedupe_get", tenant_id, conversation_id, dedupe_key)
        if not rows:
            return None
        # only a stored message counts: a claim whose message is not written yet (or
        # never was) answers None, and the caller's append settles it
        return await self._message(tenant_id, conversation_id, rows[0]["message_id"])

    async def list_messages(self, tenant_id, conversation_id, *, limit=50, page_token=""):
        want = limit + 1
        rows: list[dict] = []
        top = self._message_bucket(page_token) if page_token else _MAX_MS
        async for bucket in self._buckets("msg_buckets_desc", (tenant_id, conversation_id), top):
            if page_token:
                got = await self._q("msg_before", tenant_id, conversation_id, bucket, page_token, want - len(rows))
            else:
                got = await self._q("msg_newest", tenant_id, conversation_id, bucket, want - len(rows))
            rows += got
            if len(rows) >= want:
                break
        page = rows[:limit]
        token = page[-1]["id"] if len(rows) > limit and page else ""
        return [common.Message.FromString(r["body"]) for r in reversed(page)], token

    async def messages_after(self, tenant_id, conversation_id, after_id, limit=500):
        out: list[common.Message] = []
        if limit <= 0:
            return out
        start = self._message_bucket(after_id) if after_id else -_MAX_MS
        async for bucket in self._buckets("msg_buckets_asc", (tenant_id, conversation_id), start, descending=False):
            got = await self._q("msg_after", tenant_id, conversation_id, bucket, after_id, limit - len(out))
            out += [common.Message.FromString(r["body"]) for r in got]
            if len(out) >= limit:
                break
        return out

    # -- outbox -----------------------------------------------------------------------

    async def outbox_due(self, older_than_ms, limit=100):
        out: list[OutboxEntry] = []
        if limit <= 0:
            return out
        last_bucket = (older_than_ms - 1) // self.outbox_bucket_ms
        shards = range(self.outbox_shards)
        registered: dict[int, list[int]] = {}
        for shard, rows in zip(
            shards,
            await asyncio.gather(*(self._q("outbox_buckets", shard, last_bucket) for shard in shards)),
            strict=False,
        ):
            for row in rows:
                registered.setdefault(row["bucket"], []).append(shard)
        now = _now_ms()
        for bucket in sorted(registered):
            in_use = registered[bucket]
            found = await asyncio.gather(
                *(self._q("outbox_scan", bucket, shard, older_than_ms, limit - len(out)) for shard in in_use)
            )
            end_ms = (bucket + 1) * self.outbox_bucket_ms
            if end_ms <= older_than_ms and end_ms < now - self.bucket_grace_ms:  # the scan covered all of it
                for shard, rows in zip(in_use, found, strict=False):
                    if not rows:
                        await self._drop_quietly("outbox_bucket_drop", end_ms * 1000, shard, bucket)
            rows = sorted(
                (r for shard_rows in found for r in shard_rows),
                key=lambda r: (r["created_ms"], r["tenant_id"], r["conversation_id"], r["message_id"]),
            )
            out += [OutboxEntry(r["tenant_id"], r["conversation_id"], r["message_id"], r["created_ms"]) for r in rows]
            if len(out) >= limit:
                break
        return out[:limit]

    async def outbox_done_many(self, entries):
        await asyncio.gather(
            *(self.outbox_done(t, c, m) for t, c, m in entries)
        )  # concurrent, not a batch: many partitions

    async def job_context(self, tenant_id, conversation_id, *, dedupe_key, history_limit):
        # the three reads at once: one round trip of latency instead of three
        existing, conversation, (history, _) = await asyncio.gather(
            self.find_message(tenant_id, conversation_id, dedupe_key=dedupe_key),
            self.get_conversation(tenant_id, conversation_id),
            self.list_messages(tenant_id, conversation_id, limit=history_limit),
        )
        if existing is not None:
            return existing, None, []
        if conversation is None:
            return None, None, []
        return None, conversation, history

    async def outbox_done(self, tenant_id, conversation_id, message_id):
        rows = await self._q("outbox_lookup_get", tenant_id, conversation_id, message_id)
        if not rows:
            return
        where = rows[0]
        await self._batch(
            [
                (
                    "outbox_drop",
                    (where["bucket"], where["shard"], where["created_ms"], tenant_id, conversation_id, message_id),
                ),
                ("outbox_lookup_drop", (tenant_id, conversation_id, message_id)),
            ]
        )

    async def record_feedback(self, tenant_id, conversation_id, message_id, helpful, comment):
        await self._q("feedback_put", tenant_id, conversation_id, message_id, bool(helpful), comment, _now_ms())

    async def record_tool_call(self, tenant_id, conversation_id, call):
        await self._q("tool_call_put", tenant_id, conversation_id, call.job_id, call.call_id, json.dumps(call.__dict__))

    async def list_tool_calls(self, tenant_id, conversation_id, limit=100):
        calls = [
            ToolCallEntry(**json.loads(r["body"]))
            for r in await self._q("tool_calls", tenant_id, conversation_id, limit)
        ]
        return sorted(calls, key=lambda c: (c.started_ms, c.job_id, c.call_id))

    async def list_feedback(self, tenant_id, conversation_id):
        from frontdesk.stores.base import FeedbackEntry

        rows = await self._q("feedback_list", tenant_id, conversation_id)
        return [FeedbackEntry(r["message_id"], bool(r["helpful"]), r["at_ms"] or 0) for r in rows]


# =====================================================================================
# account store
# =====================================================================================

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
}


def _body(record) -> str:
    return json.dumps(record.__dict__)


class CqlAccountStore(_CqlStore, AccountStore):
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
        rows = await self._lwt(f"{kind}_claim", *key, owner, _now_ms(), retry=True)
        if _applied(rows):
            return "new"
        current = rows[0]
        if current.get(owner_col) == owner:
            return "ours"
        if _now_ms() - (current.get("claimed_ms") or 0) < self.claim_grace_ms or await holds(current.get(owner_col)):
            return None
        rows = await self._lwt(f"{kind}_takeover", owner, _now_ms(), *key, current.get(owner_col))
        return "new" if _applied(rows) else None

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
        if not _applied(rows):
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
        if not _applied(rows):
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
        if not _applied(rows):
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
        if not _applied(rows):
            return False
        await self._release("email", (tenant_id, row["email"]), operator_id)
        return True

    # -- tools --------------------------------------------------------------------------------

    async def create_tool(self, tool):
        if not _applied(await self._lwt("tool_create", tool.tenant_id, tool.name, _body(tool))):
            raise Conflict(f"tool {tool.name!r} already exists")

    async def list_tools(self, tenant_id):
        return sorted(
            (ToolRecord(**json.loads(r["body"])) for r in await self._q("tools", tenant_id) if r.get("body")),
            key=lambda t: t.name,
        )

    async def delete_tool(self, tenant_id, name):
        return _applied(await self._lwt("tool_delete", tenant_id, name))
