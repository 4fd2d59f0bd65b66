"""Fixtures of the analytics tests: a real Cassandra (tools/servers/cassandra, the same
runner as tests/frontdesk/stores) for the CQL store's contract, started once for this folder's
store module and stopped after it, so it never overlaps the one tests/frontdesk/stores starts."""

from __future__ import annotations

import sys
import uuid

import pytest

from analytics.store_cql import CqlAnalyticsStore
from analytics.store_sqlite import SqliteAnalyticsStore
from tests.frontdesk.stores.conftest import start_cassandra


@pytest.fixture(scope="module")
def cql_server(tmp_path_factory):
    server = start_cassandra(tmp_path_factory.mktemp("cassandra"))
    print(f"\ncassandra ready on {server.contact_point} in {server.setup_seconds:.1f}s", file=sys.stderr)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cql_admin(cql_server):
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.query import dict_factory

    cluster = Cluster(
        [cql_server.host],
        port=cql_server.port,
        execution_profiles={EXEC_PROFILE_DEFAULT: ExecutionProfile(row_factory=dict_factory, request_timeout=60)},
    )
    session = cluster.connect()
    yield session
    cluster.shutdown()


@pytest.fixture
def cql_keyspace(cql_admin):
    name = f"fdan_{uuid.uuid4().hex[:16]}"
    yield name
    cql_admin.execute(f"DROP KEYSPACE IF EXISTS {name}")


@pytest.fixture(params=["sqlite", "cql"])
def make_store(request, tmp_path):
    """A factory: every call opens another client on the same data (another process, in effect)."""

    def make():
        if request.param == "sqlite":
            store = SqliteAnalyticsStore(tmp_path / "analytics.db")
        else:
            server = request.getfixturevalue("cql_server")
            keyspace = request.getfixturevalue("cql_keyspace")
            store = CqlAnalyticsStore([server.contact_point], keyspace=keyspace, timeout_s=20.0)
        return store

    return make  # each test closes its stores in its own event loop
