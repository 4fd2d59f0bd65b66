"""Auto-resolve (conversation/idle.py) on the embedded stores and a real nats-server: a quiet
conversation is resolved with a notice in the customer's language; one with recent activity,
one waiting for a person and one whose customer still waits for a reply are looked at again
later instead; a tenant without the setting is left alone."""

from __future__ import annotations

import nats
import pytest

from conversation.idle import MINUTE_MS, IdleResolver, TenantIdleTimes
from frontdesk import bus, ids
from frontdesk import settings as settings_mod
from frontdesk.clock import now_ms, ts_from_ms
from frontdesk.publish import Publisher
from frontdesk.stores.base import TenantRecord
from frontdesk.stores.sqlite import SqliteAccountStore, SqliteLogStore
from frontdesk_pb.common.v1 import common_pb2 as common

TENANT = "t_01idletenant000000000000000"
QUIET = "t_01quiettenant00000000000000"


@pytest.fixture
async def parts(nats_server, tmp_path):
    settings = settings_mod.load(env={}, data_dir=tmp_path, nats_url=nats_server.url)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await bus.ensure_streams(js, settings)
    store, accounts = SqliteLogStore(tmp_path / "logs.db"), SqliteAccountStore(tmp_path / "accounts.db")
    for tenant, minutes in ((TENANT, 60), (QUIET, 0)):
        await accounts.create_tenant(
            TenantRecord(tenant, f"slug-{minutes}", "", f"wk_{tenant}", "s", 0, auto_resolve_minutes=minutes)
        )
    timers: list[tuple[str, str, int]] = []

    async def queue(tenant_id, conversation_id, due_ms):
        timers.append((tenant_id, conversation_id, due_ms))

    resolver = IdleResolver(store, Publisher(nc, js), TenantIdleTimes(accounts), queue)
    yield store, resolver, timers
    await store.close()
    await accounts.close()
    await nc.close()


async def conversation(store, *, tenant=TENANT, status=common.CONVERSATION_STATUS_AI, quiet_for_ms, last_role):
    """A conversation whose last message (by `last_role`) was written `quiet_for_ms` ago."""
    at = now_ms() - quiet_for_ms
    conv = await store.create_conversation(
        tenant,
        common.Conversation(id=ids.new_id("conversation"), visitor_id="v_1", status=status, created_at=ts_from_ms(at)),
    )
    for role, text in ((common.ROLE_CUSTOMER, "Wo ist mein Paket?"), (last_role, "Es ist unterwegs.")):
        await store.append_message(
            tenant,
            common.Message(
                id=ids.new_id("message", now_ms=at),
                conversation_id=conv.id,
                role=role,
                text=text,
                created_at=ts_from_ms(at),
                language="de",
            ),
        )
    return conv


async def test_a_quiet_conversation_is_resolved_with_a_notice_in_its_language(parts):
    store, resolver, timers = parts
    conv = await conversation(store, quiet_for_ms=61 * MINUTE_MS, last_role=common.ROLE_AI)
    assert await resolver.check(TENANT, conv.id) == "resolved"
    got = await store.get_conversation(TENANT, conv.id)
    assert got.status == common.CONVERSATION_STATUS_CLOSED
    messages, _ = await store.list_messages(TENANT, conv.id)
    assert messages[-1].role == common.ROLE_SYSTEM and messages[-1].text.startswith("Wir haben dieses Gespräch")
    assert timers == []  # nothing more to look at; a customer's message reopens and re-arms it
    assert await resolver.check(TENANT, conv.id) == "done"


async def test_recent_activity_waiting_customers_and_the_teams_queue_are_looked_at_later(parts):
    store, resolver, timers = parts
    recent = await conversation(store, quiet_for_ms=10 * MINUTE_MS, last_role=common.ROLE_AI)
    assert await resolver.check(TENANT, recent.id) == "active"
    # due an hour after its last activity, not an hour from now
    quiet_since = (await store.get_conversation(TENANT, recent.id)).updated_at.ToMilliseconds()
    assert timers[-1] == (TENANT, recent.id, quiet_since + 60 * MINUTE_MS)
    owed = await conversation(store, quiet_for_ms=90 * MINUTE_MS, last_role=common.ROLE_CUSTOMER)
    assert await resolver.check(TENANT, owed.id) == "reply owed"
    pending = await conversation(
        store, status=common.CONVERSATION_STATUS_HANDOFF, quiet_for_ms=90 * MINUTE_MS, last_role=common.ROLE_AGENT
    )
    assert await resolver.check(TENANT, pending.id) == "with the team"
    for conv in (recent, owed, pending):
        assert (await store.get_conversation(TENANT, conv.id)).status != common.CONVERSATION_STATUS_CLOSED
    assert [t[1] for t in timers] == [recent.id, owed.id, pending.id]
    assert all(due > now_ms() for _, _, due in timers)


async def test_a_tenant_without_auto_resolve_is_left_alone_and_not_armed(parts):
    store, resolver, timers = parts
    conv = await conversation(store, tenant=QUIET, quiet_for_ms=90 * MINUTE_MS, last_role=common.ROLE_AI)
    assert await resolver.check(QUIET, conv.id) == "off"
    await resolver.arm(QUIET, conv.id)
    assert timers == []
    await resolver.arm(TENANT, conv.id)
    assert len(timers) == 1 and timers[0][2] > now_ms() + 59 * MINUTE_MS
