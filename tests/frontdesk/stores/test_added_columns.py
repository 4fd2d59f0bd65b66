"""A store opened on data written by an older version gains the columns added since (the
conversation's snooze time and labels), on SQLite and on a real CQL server, and keeps what was there."""

from __future__ import annotations

import sqlite3

from frontdesk.stores.sqlite import SqliteLogStore
from frontdesk_pb.common.v1 import common_pb2 as common

TENANT = "t_01addedcolumns00000000000a"

OLD_SQLITE = """
CREATE TABLE conversations (
    tenant_id TEXT NOT NULL, id TEXT NOT NULL, visitor_id TEXT NOT NULL, status INTEGER NOT NULL,
    channel INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
    last_preview TEXT NOT NULL DEFAULT '', assigned_operator_id TEXT NOT NULL DEFAULT '',
    handoff_reason TEXT NOT NULL DEFAULT '', rating INTEGER NOT NULL DEFAULT 0,
    message_count INTEGER NOT NULL DEFAULT 0, attributes TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, id)) WITHOUT ROWID;
INSERT INTO conversations (tenant_id, id, visitor_id, status, channel, created_ms, updated_ms)
VALUES ('t_01addedcolumns00000000000a', 'c_old', 'v_1', 2, 1, 1000, 1000);
"""

OLD_CQL = """CREATE TABLE {ks}.conversations (
    tenant_id text, id text, visitor_id text, channel int, created_ms bigint, attributes map<text, text>,
    status int, updated_ms bigint, last_preview text, assigned_operator_id text, handoff_reason text,
    rating int, message_count int, PRIMARY KEY ((tenant_id, id)))"""


async def test_an_older_sqlite_file_gains_the_snooze_and_label_columns(tmp_path):
    path = tmp_path / "logs.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SQLITE)
    store = SqliteLogStore(path)
    try:
        old = await store.get_conversation(TENANT, "c_old")
        assert old is not None and old.status == common.CONVERSATION_STATUS_HANDOFF
        assert not old.HasField("snoozed_until")
        snoozed = await store.update_conversation(
            TENANT, "c_old", status=common.CONVERSATION_STATUS_SNOOZED, snoozed_until_ms=5_000, labels=["vip"]
        )
        assert snoozed is not None and snoozed.snoozed_until.ToMilliseconds() == 5_000
        assert list(snoozed.labels) == ["vip"]
    finally:
        await store.close()


async def test_an_older_cql_keyspace_gains_the_snooze_and_label_columns(cql_admin, cql_keyspace, cql_options):
    from frontdesk.stores.cql import CqlLogStore

    cql_admin.execute(
        f"CREATE KEYSPACE {cql_keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
    )
    cql_admin.execute(OLD_CQL.format(ks=cql_keyspace))
    cql_admin.execute(
        f"INSERT INTO {cql_keyspace}.conversations (tenant_id, id, visitor_id, channel, created_ms, attributes, "
        "status, updated_ms, last_preview, assigned_operator_id, handoff_reason, rating, message_count) "
        f"VALUES ('{TENANT}', 'c_old', 'v_1', 1, 1000, {{}}, 2, 1000, '', '', '', 0, 0)"
    )
    store = CqlLogStore(**cql_options)
    try:
        old = await store.get_conversation(TENANT, "c_old")
        assert old is not None and old.status == common.CONVERSATION_STATUS_HANDOFF
        snoozed = await store.update_conversation(
            TENANT, "c_old", status=common.CONVERSATION_STATUS_SNOOZED, snoozed_until_ms=5_000, labels=["vip"]
        )
        assert snoozed is not None and snoozed.snoozed_until.ToMilliseconds() == 5_000
        assert list(snoozed.labels) == ["vip"]
        # and a second opening finds the column there (nothing added twice)
        await store.close()
        store = CqlLogStore(**cql_options)
        again = await store.get_conversation(TENANT, "c_old")
        assert again is not None and again.snoozed_until.ToMilliseconds() == 5_000
    finally:
        await store.close()
