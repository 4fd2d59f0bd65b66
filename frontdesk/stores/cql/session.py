"""The CQL session every CQL store shares: the driver's cluster, prepared statements, asyncio
bridging, retries of lightweight transactions, and the base class of the stores."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterable, Mapping, Sequence

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
from cassandra.query import BatchStatement, BatchType, PreparedStatement, dict_factory, tuple_factory

from frontdesk.stores.base import (
    StoreUnavailable,
)

TUPLES = "tuples"  # the execution profile whose rows are tuples
DAY_MS = 86_400_000
MINUTE_MS = 60_000
MAX_MS = 2**63 - 1
CAS_ATTEMPTS = 30

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


def applied(rows: list[dict]) -> bool:
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

        def profile(rows) -> ExecutionProfile:
            return ExecutionProfile(
                load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=self.local_dc)),
                consistency_level=self.consistency,
                serial_consistency_level=self.serial_consistency,
                request_timeout=self.timeout_s,
                row_factory=rows,
            )

        cluster = Cluster(
            contact_points=[host for host, _ in self.contact_points],
            port=self.port,
            # rows as dicts; TUPLES for scans of many small rows (the search's postings): no dict per row
            execution_profiles={EXEC_PROFILE_DEFAULT: profile(dict_factory), TUPLES: profile(tuple_factory)},
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
        self,
        name: str,
        schema: Sequence[str],
        statements: Mapping[str, str],
        added_columns: Sequence[tuple[str, str, str]] = (),
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
                for table, column, kind in added_columns:  # a keyspace made by an older version
                    present = {
                        row["column_name"]
                        for row in self._session.execute(
                            "SELECT column_name FROM system_schema.columns WHERE keyspace_name = %s AND table_name = %s",
                            (ks, table),
                            timeout=self.schema_timeout_s,
                        )
                    }
                    if column not in present:
                        self._session.execute(
                            f"ALTER TABLE {ks}.{table} ADD {column} {kind}", timeout=self.schema_timeout_s
                        )
                prepared = {key: self._session.prepare(cql.format(ks=ks)) for key, cql in statements.items()}
            except _UNAVAILABLE as err:
                raise StoreUnavailable(self.describe(err, f"creating the {name} tables")) from err
            self._prepared[name] = prepared
            return prepared

    async def ensure_schema(
        self,
        name: str,
        schema: Sequence[str],
        statements: Mapping[str, str],
        added_columns: Sequence[tuple[str, str, str]] = (),
    ) -> dict[str, PreparedStatement]:
        """Connect (once), create the tables of `schema` if missing and prepare
        `statements`; `{ks}` in either is the keyspace. Idempotent."""
        if name in self._prepared:
            return self._prepared[name]
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._ensure_blocking, name, schema, statements, added_columns)

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
        self,
        statement,
        params: Sequence | None = None,
        *,
        consistency: int | None = None,
        timeout: float | None = None,
        profile: str | None = None,
    ) -> list:
        """Run one statement (or batch) without blocking the loop; all result rows as dicts
        (as tuples with profile=TUPLES)."""
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
            response = session.execute_async(
                statement, params, timeout=timeout or self.timeout_s, execution_profile=profile or EXEC_PROFILE_DEFAULT
            )
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


def is_cas_timeout(err: StoreUnavailable) -> bool:
    cause = err.__cause__
    return isinstance(cause, WriteTimeout) and getattr(cause, "write_type", None) in (WriteType.CAS, "CAS")


class CqlStore:
    _NAME = ""
    _SCHEMA: Sequence[str] = ()
    _ADDED_COLUMNS: Sequence[tuple[str, str, str]] = ()  # (table, column, CQL type) newer than the table
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
            self._st = await self._cql.ensure_schema(self._NAME, self._SCHEMA, self._STATEMENTS, self._ADDED_COLUMNS)
        return self._st

    async def _q(self, name: str, *params, consistency: int | None = None) -> list[dict]:
        st = await self._ready()
        return await self._cql.execute(st[name], params, consistency=consistency)

    async def _q_tuples(self, name: str, *params) -> list[tuple]:
        """_q with rows as tuples in the statement's column order (long scans of small rows)."""
        st = await self._ready()
        return await self._cql.execute(st[name], params, profile=TUPLES)

    async def _lwt(self, name: str, *params, retry: bool = False) -> list[dict]:
        """A lightweight transaction. With retry, a CAS timeout (outcome unknown) is
        retried: only for statements whose caller recognises its own earlier success."""
        for attempt in range(3 if retry else 1):
            try:
                return await self._q(name, *params)
            except StoreUnavailable as err:
                if not retry or attempt == 2 or not is_cas_timeout(err):
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
