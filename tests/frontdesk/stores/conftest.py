"""Fixtures for the store tests: one real CQL server (Apache Cassandra 5.0, started by
tools/servers/cassandra/run.py) for the whole session, and a fresh keyspace per test.

Nothing is skipped: if Cassandra cannot be installed or started, every test that
needs it errors with the server's log tail."""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from pathlib import Path

import pytest

from frontdesk.stores.sqlite import SqliteLogStore

ROOT = Path(__file__).resolve().parents[3]
CASSANDRA_RUN = ROOT / "tools" / "servers" / "cassandra" / "run.py"


def cassandra_runner():
    """tools/servers/cassandra/run.py as a module (tools/ is not a package)."""
    name = "frontdesk_tools_cassandra_run"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, CASSANDRA_RUN)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def start_cassandra(data_dir: Path):
    """Install (cached under ~/.cache/frontdesk/servers) and start a Cassandra; returns
    the server (.host, .port, .contact_point, .stop())."""
    run = cassandra_runner()
    run.ensure_installed()
    started = time.monotonic()
    server = run.start(data_dir)
    server.setup_seconds = time.monotonic() - started
    return server


@pytest.fixture(scope="session")
def cql_server(tmp_path_factory):
    """One Cassandra for the whole test session, in a temporary directory."""
    server = start_cassandra(tmp_path_factory.mktemp("cassandra"))
    print(f"\ncassandra ready on {server.contact_point} in {server.setup_seconds:.1f}s", file=sys.stderr)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def cql_admin(cql_server):
    """A plain driver session for test housekeeping (dropping keyspaces, peeking at tables)."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
    from cassandra.query import dict_factory

    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()), row_factory=dict_factory, request_timeout=60
    )
    cluster = Cluster([cql_server.host], port=cql_server.port, execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    session = cluster.connect()
    yield session
    cluster.shutdown()


@pytest.fixture
def cql_keyspace(cql_admin):
    """A keyspace name no other test uses; dropped afterwards. The store creates it."""
    name = f"fdtest_{uuid.uuid4().hex[:16]}"
    yield name
    cql_admin.execute(f"DROP KEYSPACE IF EXISTS {name}")


@pytest.fixture
def cql_options(cql_server, cql_keyspace) -> dict:
    """Constructor options of CqlLogStore / CqlAccountStore for this test's keyspace."""
    return {"contact_points": [cql_server.contact_point], "keyspace": cql_keyspace, "timeout_s": 10.0}


@pytest.fixture(params=["embedded", "cql"])
async def log_store(request, tmp_path):
    """A LogStore of each kind: embedded SQLite, and CQL on this session's Cassandra."""
    if request.param == "cql":  # a real CQL server (above), a fresh keyspace
        from frontdesk.stores.cql import CqlLogStore

        store = CqlLogStore(**request.getfixturevalue("cql_options"))
    else:
        store = SqliteLogStore(tmp_path / "logs.db")
    yield store
    await store.close()
