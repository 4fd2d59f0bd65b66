"""The outbox: a message stored with its outbox entry but never published (the process
died in between, or NATS was away) is published by the sweeper, exactly once."""

from __future__ import annotations

import nats

from conversation.service import ConversationCore
from frontdesk import bus, ids
from frontdesk import settings as settings_mod
from frontdesk.caller import Caller
from frontdesk.publish import Publisher
from frontdesk.stores.sqlite import SqliteLogStore
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.inference.v1 import inference_pb2

TENANT = "t_01outboxtenant00000000000a"


async def test_sweeper_publishes_jobs_whose_publication_was_lost(nats_server, tmp_path):
    settings = settings_mod.load(env={}, data_dir=tmp_path, nats_url=nats_server.url)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await bus.ensure_streams(js, settings)
    store = SqliteLogStore(tmp_path / "logs.db")
    try:
        core = ConversationCore(store, Publisher(nc, js))
        caller = Caller(tenant_id=TENANT, kind="visitor", subject="v_1", role="visitor")
        conv = await core.start(caller, 0, {})
        # what a crash between the write and the publish leaves behind
        lost, _ = await store.append_message(
            TENANT,
            common.Message(
                id=ids.new_id("message"), conversation_id=conv.id, role=common.ROLE_CUSTOMER, text="anyone there?"
            ),
            enqueue=True,
        )
        # and a normal send, whose job is published at once
        sent, queued = await core.send_customer_message(caller, conv.id, "hello")
        assert queued

        assert await core.sweep_outbox(older_than_ms=0) == 0, "young entries are left to their publisher"
        assert await core.sweep_outbox(older_than_ms=2**62) == 1
        assert await core.sweep_outbox(older_than_ms=2**62) == 0, "a swept entry is gone"

        sub = await js.pull_subscribe(
            bus.jobs_subject(TENANT), durable=bus.tenant_consumer(TENANT), stream=bus.JOBS_STREAM
        )
        jobs = [inference_pb2.AiJob.FromString(m.data) for m in await sub.fetch(10, timeout=2)]
        assert sorted(j.message_id for j in jobs) == sorted([lost.id, sent.id])
        assert all(j.tenant_id == TENANT and j.conversation_id == conv.id for j in jobs)
    finally:
        await store.close()
        await nc.close()
