"""What only the CQL stores have: bucketed partitions, the idempotent schema migration,
the behaviour when the server goes away, and the bookkeeping tables behind the recency
index, the outbox and the unique claims. Runs against the real Cassandra of
tests/frontdesk/stores/conftest.py (a second, short-lived one for the outage test)."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from frontdesk import ids
from frontdesk.stores.base import Conflict, OperatorRecord, StoreUnavailable, TenantRecord
from frontdesk.stores.cql import CqlAccountStore, CqlLogStore, CqlSession
from frontdesk.stores.sqlite import SqliteLogStore
from frontdesk_pb.common.v1 import common_pb2 as common
from tests.frontdesk.stores.conftest import cassandra_runner, start_cassandra

A = "t_01aaaaaaaaaaaaaaaaaaaaaaaa"
B = "t_01bbbbbbbbbbbbbbbbbbbbbbbb"
FAR_FUTURE = 2**62


def message(conv_id: str, text: str, role=common.ROLE_CUSTOMER) -> common.Message:
    return common.Message(id=ids.new_id("message"), conversation_id=conv_id, role=role, text=text)


async def all_pages(store, tenant, conv_id, limit):
    pages, token = [], ""
    while True:
        page, token = await store.list_messages(tenant, conv_id, limit=limit, page_token=token)
        pages.append(([m.id for m in page], token))
        if not token:
            return pages


async def test_a_long_conversation_spans_buckets_and_pages_like_the_embedded_store(cql_options, cql_admin, tmp_path):
    cql = CqlLogStore(**cql_options, message_bucket_ms=40)  # 40 ms buckets: many partitions, quickly
    embedded = SqliteLogStore(tmp_path / "logs.db")
    try:
        conv = common.Conversation(
            id=ids.new_id("conversation"), visitor_id="v_1", status=common.CONVERSATION_STATUS_AI
        )
        for store in (cql, embedded):
            await store.create_conversation(A, conv)
        sent = []
        for i in range(30):
            msg = message(conv.id, f"m{i}")
            msg.created_at.FromMilliseconds(int(time.time() * 1000))
            for store in (cql, embedded):
                await store.append_message(A, common.Message.FromString(msg.SerializeToString()))
            sent.append(msg.id)
            await asyncio.sleep(0.25 if i in (9, 19) else 0.012)  # two gaps leave empty buckets behind

        buckets = [
            r["bucket"]
            for r in cql_admin.execute(
                f"SELECT bucket FROM {cql_options['keyspace']}.message_buckets WHERE tenant_id=%s AND conversation_id=%s",
                (A, conv.id),
            )
        ]
        assert len(buckets) >= 6, buckets
        assert buckets == sorted(buckets, reverse=True)
        assert max(buckets) - min(buckets) + 1 > len(buckets)  # there are empty buckets between them

        for limit in (1, 3, 7, 30, 50):
            pages = await all_pages(cql, A, conv.id, limit)
            assert pages == await all_pages(embedded, A, conv.id, limit), limit
            assert [i for ids_, _ in reversed(pages) for i in ids_] == sent
        for after in ["", sent[0], sent[9], sent[10], sent[25], sent[-1]]:
            for limit in (1, 4, 500):
                got = [m.id for m in await cql.messages_after(A, conv.id, after, limit)]
                assert got == [m.id for m in await embedded.messages_after(A, conv.id, after, limit)]
        assert (await cql.find_message(A, conv.id, message_id=sent[0])).text == "m0"
        assert await cql.find_message(B, conv.id, message_id=sent[0]) is None
        assert (await cql.get_conversation(A, conv.id)).message_count == 30
    finally:
        await cql.close()
        await embedded.close()


async def test_the_schema_migration_is_idempotent(cql_options, cql_admin):
    keyspace = cql_options["keyspace"]
    first = CqlLogStore(**cql_options)
    conv = await first.create_conversation(A, common.Conversation(id=ids.new_id("conversation"), visitor_id="v_1"))
    await first.append_message(A, message(conv.id, "kept"), "client:1")
    await first.close()

    # connect again, twice at once, both stores on one shared session: IF NOT EXISTS everywhere
    session = CqlSession(**cql_options)
    logs, accounts = CqlLogStore(session=session), CqlAccountStore(session=session)
    again = CqlLogStore(**cql_options)
    try:
        await asyncio.gather(logs.connect(), accounts.connect(), again.connect(), logs.connect())
        assert (await logs.get_conversation(A, conv.id)).message_count == 1
        assert [m.text for m in (await again.list_messages(A, conv.id))[0]] == ["kept"]
        _, created = await again.append_message(A, message(conv.id, "dup"), "client:1")
        assert not created
        tables = {
            r["table_name"]
            for r in cql_admin.execute(
                "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (keyspace,)
            )
        }
        assert {
            "conversations",
            "conversation_index",
            "messages",
            "message_buckets",
            "message_dedupe",
            "outbox",
            "outbox_buckets",
            "outbox_lookup",
            "feedback",
            "tenants",
            "tenant_slugs",
            "tenant_widget_keys",
            "api_keys",
            "api_keys_by_tenant",
            "operators",
            "operator_emails",
        } <= tables
    finally:
        await logs.close()
        await accounts.close()  # the shared session: closing twice is harmless
        await session.close()
        await again.close()


async def test_store_unavailable_when_the_server_stops_and_nothing_half_written(tmp_path):
    data_dir = tmp_path / "cassandra"
    server = start_cassandra(data_dir)
    store = None
    try:
        options = {
            "contact_points": [server.contact_point],
            "keyspace": "fd_outage",
            "timeout_s": 2.0,
            "connect_timeout_s": 2.0,
            "reconnect_max_delay_s": 1.0,
        }
        store = CqlLogStore(**options)
        conv = await store.create_conversation(A, common.Conversation(id=ids.new_id("conversation"), visitor_id="v_1"))
        first, _ = await store.append_message(A, message(conv.id, "before"), "client:1", enqueue=True)
        server.stop()

        lost = message(conv.id, "during the outage")
        with pytest.raises(StoreUnavailable) as err:
            await store.append_message(A, lost, "client:2", enqueue=True)
        text = str(err.value)
        assert "CQL store unavailable" in text and server.contact_point in text, text
        for call in (
            store.get_conversation(A, conv.id),
            store.list_messages(A, conv.id),
            store.outbox_due(FAR_FUTURE),
            store.list_conversations(A),
        ):
            with pytest.raises(StoreUnavailable):
                await call
        fresh = CqlLogStore(**options)
        with pytest.raises(StoreUnavailable, match="CQL store unavailable .*while connecting"):
            await fresh.connect()
        await fresh.close()

        # same data dir, same ports: the old store reconnects by itself
        server = cassandra_runner().start(data_dir, server.port, storage_port=server.storage_port)
        deadline = time.monotonic() + 60
        while True:
            try:
                got = await store.get_conversation(A, conv.id)
                break
            except StoreUnavailable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
        assert got.message_count == 1 and got.last_message_preview == "before"
        assert [m.id for m in (await store.list_messages(A, conv.id))[0]] == [first.id]
        assert await store.find_message(A, conv.id, dedupe_key="client:2") is None
        assert [e.message_id for e in await store.outbox_due(FAR_FUTURE)] == [first.id]
        again, created = await store.append_message(A, lost, "client:2", enqueue=True)
        assert created and again.id == lost.id
        assert (await store.get_conversation(A, conv.id)).message_count == 2
    finally:
        if store is not None:
            await store.close()
        server.stop()


async def test_the_recency_index_stays_exact_under_concurrent_changes(cql_options):
    store = CqlLogStore(**cql_options, activity_bucket_ms=25, bucket_grace_s=0)  # cleanup on every read
    try:
        convs = [
            await store.create_conversation(
                A,
                common.Conversation(
                    id=ids.new_id("conversation"), visitor_id=f"v_{i % 2}", status=common.CONVERSATION_STATUS_AI
                ),
            )
            for i in range(3)
        ]
        statuses = [
            common.CONVERSATION_STATUS_AI,
            common.CONVERSATION_STATUS_HANDOFF,
            common.CONVERSATION_STATUS_HUMAN,
            common.CONVERSATION_STATUS_CLOSED,
        ]
        rng = random.Random(7)
        work = []
        for conv in convs:
            work += [store.update_conversation(A, conv.id, status=rng.choice(statuses)) for _ in range(6)]
            work += [store.append_message(A, message(conv.id, f"m{i}")) for i in range(6)]
        rng.shuffle(work)
        await asyncio.gather(*work)

        final = {c.id: await store.get_conversation(A, c.id) for c in convs}
        assert all(c.message_count == 6 for c in final.values())
        listed, _ = await store.list_conversations(A)
        assert [c.id for c in listed] == [
            c.id for c in sorted(final.values(), key=lambda c: (c.updated_at.ToMilliseconds(), c.id), reverse=True)
        ]
        for status in statuses:
            page, _ = await store.list_conversations(A, status=status)
            assert {c.id for c in page} == {cid for cid, c in final.items() if c.status == status}
        for visitor in ("v_0", "v_1"):
            for status in (0, *statuses):
                page, _ = await store.list_conversations(A, visitor_id=visitor, status=status)
                assert {c.id for c in page} == {
                    cid for cid, c in final.items() if c.visitor_id == visitor and (not status or c.status == status)
                }
        # paging one by one walks every conversation once, across activity buckets
        seen, token = [], ""
        while True:
            page, token = await store.list_conversations(A, limit=1, page_token=token)
            seen += [c.id for c in page]
            if not token:
                break
        assert seen == [c.id for c in listed]
        await asyncio.sleep(0.06)  # every bucket is now past its window: readers may forget empty ones
        for _ in range(2):
            first, token = await store.list_conversations(A, limit=1)
            assert [c.id for c in first] == [listed[0].id]
            rest, _ = await store.list_conversations(A, limit=1, page_token=token)
            assert [c.id for c in rest] == [listed[1].id]
            page, _ = await store.list_conversations(A, limit=10)
            assert [c.id for c in page] == [c.id for c in listed]
    finally:
        await store.close()


async def test_the_outbox_is_swept_oldest_first_across_buckets_shards_and_tenants(cql_options, cql_admin):
    store = CqlLogStore(**cql_options, outbox_bucket_ms=20, outbox_shards=3, bucket_grace_s=0)
    try:
        queued = []
        for i in range(8):
            tenant = (A, B)[i % 2]
            conv = await store.create_conversation(
                tenant, common.Conversation(id=ids.new_id("conversation"), visitor_id="v")
            )
            msg, _ = await store.append_message(tenant, message(conv.id, f"q{i}"), enqueue=True)
            queued.append((tenant, conv.id, msg.id))
            await asyncio.sleep(0.025)
        due = await store.outbox_due(FAR_FUTURE)
        assert [(e.tenant_id, e.conversation_id, e.message_id) for e in due] == queued
        assert [e.created_ms for e in due] == sorted(e.created_ms for e in due)
        assert [e.message_id for e in await store.outbox_due(FAR_FUTURE, limit=3)] == [q[2] for q in queued[:3]]
        assert [e.message_id for e in await store.outbox_due(due[4].created_ms)] == [q[2] for q in queued[:4]]
        for tenant, conv_id, msg_id in queued[:5]:
            await store.outbox_done(tenant, conv_id, msg_id)
        assert [e.message_id for e in await store.outbox_due(FAR_FUTURE)] == [q[2] for q in queued[5:]]
        for tenant, conv_id, msg_id in queued[5:]:
            await store.outbox_done(tenant, conv_id, msg_id)
        await asyncio.sleep(0.05)
        assert await store.outbox_due(FAR_FUTURE) == []  # and the empty buckets are forgotten
        left = list(cql_admin.execute(f"SELECT bucket FROM {cql_options['keyspace']}.outbox_buckets"))
        assert left == []
    finally:
        await store.close()


async def test_a_dedupe_claim_whose_writer_died_is_completed_by_the_next_append(cql_options, cql_admin):
    store = CqlLogStore(**cql_options, repair_after_s=0)
    try:
        conv = await store.create_conversation(A, common.Conversation(id=ids.new_id("conversation"), visitor_id="v"))
        orphan = message(conv.id, "claimed, then the writer died")
        orphan.created_at.FromMilliseconds(int(time.time() * 1000))
        cql_admin.execute(  # what a writer leaves when it dies right after its claim
            f"INSERT INTO {cql_options['keyspace']}.message_dedupe (tenant_id, conversation_id, dedupe_key, "
            "message_id, body, enqueue, claimed_ms) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (A, conv.id, "reply:job1", orphan.id, orphan.SerializeToString(), True, 1),
        )
        assert await store.find_message(A, conv.id, dedupe_key="reply:job1") is None  # not stored yet
        stored, created = await store.append_message(A, message(conv.id, "second try"), "reply:job1")
        assert not created and stored.id == orphan.id
        assert [m.text for m in (await store.list_messages(A, conv.id))[0]] == ["claimed, then the writer died"]
        assert (await store.find_message(A, conv.id, dedupe_key="reply:job1")).id == orphan.id
        assert (await store.get_conversation(A, conv.id)).message_count == 1
        assert [e.message_id for e in await store.outbox_due(FAR_FUTURE)] == [orphan.id]
    finally:
        await store.close()


def tenant(i: int, **changes) -> TenantRecord:
    return TenantRecord(
        **{
            "id": f"t_{i}",
            "slug": f"slug-{i}",
            "name": f"T{i}",
            "widget_key": f"wk_{i}",
            "identity_secret": "s",
            "created_ms": 1,
            **changes,
        }
    )


async def test_unique_claims_follow_updates_and_outlive_crashes(cql_options, cql_admin):
    accounts = CqlAccountStore(**cql_options, claim_grace_s=0)
    keyspace = cql_options["keyspace"]
    try:
        await accounts.create_tenant(tenant(1))
        await accounts.create_tenant(tenant(2))
        # rotating the widget key moves its claim
        await accounts.update_tenant(tenant(1, widget_key="wk_new", name="renamed"))
        assert (await accounts.find_tenant(widget_key="wk_new")).name == "renamed"
        assert await accounts.find_tenant(widget_key="wk_1") is None
        await accounts.create_tenant(tenant(3, widget_key="wk_1"))  # the old key is free again
        # another tenant's slug or key: Conflict, and nothing changes
        with pytest.raises(Conflict):
            await accounts.update_tenant(tenant(2, slug="slug-1"))
        with pytest.raises(Conflict):
            await accounts.update_tenant(tenant(2, slug="slug-2b", widget_key="wk_new"))
        assert (await accounts.get_tenant("t_2")).slug == "slug-2"
        assert await accounts.find_tenant(slug="slug-2b") is None
        await accounts.create_tenant(tenant(4, slug="slug-2b", widget_key="wk_4"))  # its claim was released
        # a claim left by a crash (owner never written) is taken over once old
        cql_admin.execute(
            f"INSERT INTO {keyspace}.tenant_slugs (slug, tenant_id, claimed_ms) VALUES ('ghost', 't_9', 1)"
        )
        assert await accounts.find_tenant(slug="ghost") is None
        await accounts.create_tenant(tenant(5, slug="ghost", widget_key="wk_5"))
        assert (await accounts.find_tenant(slug="ghost")).id == "t_5"
        # a deleted operator's email can be used again; a live one cannot
        op = OperatorRecord(
            id="op_1", tenant_id="t_1", email="a@x.io", display_name="A", role="owner", password_hash="h", created_ms=1
        )
        await accounts.create_operator(op)
        with pytest.raises(Conflict):
            await accounts.create_operator(OperatorRecord(**{**op.__dict__, "id": "op_2"}))
        await accounts.update_operator(OperatorRecord(**{**op.__dict__, "display_name": "Ann"}))
        assert (await accounts.find_operator_by_email("t_1", "a@x.io")).display_name == "Ann"
        await accounts.update_operator(OperatorRecord(**{**op.__dict__, "id": "op_missing"}))  # no-op, like SQLite
        assert await accounts.get_operator("t_1", "op_missing") is None
        assert await accounts.delete_operator("t_1", "op_1")
        assert not await accounts.delete_operator("t_1", "op_1")
        await accounts.create_operator(OperatorRecord(**{**op.__dict__, "id": "op_2"}))
        assert [o.id for o in await accounts.list_operators("t_1")] == ["op_2"]
    finally:
        await accounts.close()
