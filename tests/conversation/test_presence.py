"""Presence and auto-assignment (conversation/presence.py) on a real nats-server (KV bucket,
domain events) and the embedded SQLite store: an operator no longer seen is made offline by
the sweep and their customers go to someone online; among operators with equal load, the
one assigned longest ago gets the next customer."""

from __future__ import annotations

import nats

from conversation import rules
from conversation.presence import Assigner, PresenceBook
from frontdesk import bus, ids
from frontdesk import settings as settings_mod
from frontdesk.clock import now_ms, ts_from_ms
from frontdesk.publish import Publisher
from frontdesk.stores.sqlite import SqliteLogStore
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.events.v1 import events_pb2 as ev

TENANT = "t_01presencetenant0000000000"
ONLINE = ev.PRESENCE_STATE_ONLINE
HANDOFF = common.CONVERSATION_STATUS_HANDOFF


async def mesh_parts(nats_server, tmp_path):
    settings = settings_mod.load(env={}, data_dir=tmp_path, nats_url=nats_server.url)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await bus.ensure_streams(js, settings)
    store = SqliteLogStore(tmp_path / "logs.db")
    pub = Publisher(nc, js)
    book = PresenceBook(await bus.presence_bucket(js, settings))
    return nc, store, pub, book, Assigner(store, pub, book)


async def waiting(store, pub) -> common.Conversation:
    conv = await store.create_conversation(
        TENANT,
        common.Conversation(id=ids.new_id("conversation"), visitor_id="v_1", status=common.CONVERSATION_STATUS_AI),
    )
    return await rules.hand_off(store, pub, TENANT, conv, "customer_request")


async def test_an_operator_not_seen_goes_offline_and_their_customer_goes_to_someone_online(nats_server, tmp_path):
    nc, store, pub, book, assigner = await mesh_parts(nats_server, tmp_path)
    try:
        await assigner.set_presence(TENANT, "op_gone", "Gone", ONLINE, 2)
        conv = await waiting(store, pub)
        assert await assigner.on_handoff(TENANT, conv.id) == "op_gone"
        # their panel vanished two minutes ago (no refresh since); another operator is here
        record, revision = await book.get(TENANT, "op_gone")
        assert record is not None
        record.seen_at.CopyFrom(ts_from_ms(now_ms() - 120_000))
        assert await book.put(TENANT, record, revision)
        await assigner.set_presence(TENANT, "op_here", "Here", ONLINE, 2)

        assert await assigner.sweep() == 1
        gone, _ = await book.get(TENANT, "op_gone")
        assert gone is not None and gone.state == ev.PRESENCE_STATE_OFFLINE
        moved = await store.get_conversation(TENANT, conv.id)
        assert moved is not None and moved.assigned_operator_id == "op_here" and moved.status == HANDOFF
        assert await assigner.sweep() == 0, "made offline once"
        # a refresh ("still here") of an offline operator does not bring them back
        again = await assigner.set_presence(TENANT, "op_gone", "", ev.PRESENCE_STATE_UNSPECIFIED, 0)
        assert again.state == ev.PRESENCE_STATE_OFFLINE
    finally:
        await store.close()
        await nc.close()


async def test_equal_load_goes_round_robin_and_nobody_free_leaves_it_queued(nats_server, tmp_path):
    nc, store, pub, book, assigner = await mesh_parts(nats_server, tmp_path)
    try:
        await assigner.set_presence(TENANT, "op_a", "A", ONLINE, 1)
        await assigner.set_presence(TENANT, "op_b", "B", ONLINE, 1)
        first = await waiting(store, pub)
        got_first = await assigner.on_handoff(TENANT, first.id)
        # the first customer is served and closed: both are free again, with equal load
        done = await store.get_conversation(TENANT, first.id)
        assert done is not None
        await rules.set_status(store, pub, TENANT, done, common.CONVERSATION_STATUS_CLOSED, got_first)
        second = await waiting(store, pub)
        got_second = await assigner.on_handoff(TENANT, second.id)
        assert {got_first, got_second} == {"op_a", "op_b"}, "the one assigned longest ago gets the next"
        third = await waiting(store, pub)
        got_third = await assigner.on_handoff(TENANT, third.id)
        fourth = await waiting(store, pub)
        assert await assigner.on_handoff(TENANT, fourth.id) == "", "both at capacity: it waits in the queue"
        assert got_third and got_third != got_second
        queued = await store.get_conversation(TENANT, fourth.id)
        assert queued is not None and queued.assigned_operator_id == "" and queued.status == HANDOFF
        # an operator who is away gets nothing new; one who comes back online takes the queue
        await assigner.set_presence(TENANT, got_third, "", ev.PRESENCE_STATE_AWAY, 0)
        await assigner.set_presence(TENANT, "op_c", "C", ONLINE, 3)
        taken = await store.get_conversation(TENANT, fourth.id)
        assert taken is not None and taken.assigned_operator_id == "op_c"
    finally:
        await store.close()
        await nc.close()
