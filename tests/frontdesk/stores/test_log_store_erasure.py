"""LogStore.erase_conversation on both stores (GDPR erasure): the conversation and everything
stored with it are gone, nothing of another conversation or tenant is touched, and the
customer's words and id are found nowhere afterwards: not in any CQL table, not in the bytes
of the SQLite file or its write-ahead log."""

from __future__ import annotations

import pytest

from frontdesk import ids
from frontdesk.stores.base import ToolCallEntry
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from tests.frontdesk.stores.test_log_store_contract import A, B, add, new_conversation

WORD = "zyxwquux4711"  # the customer's words, unlike anything else stored
VISITOR = "v_01erasemeerasemeeraseme00"


def tool_call(job_id: str, arguments: str) -> ToolCallEntry:
    return ToolCallEntry(
        job_id=job_id,
        call_id="c1",
        tool="order_status",
        arguments=arguments,
        ok=True,
        error="",
        duration_ms=3.0,
        started_ms=1000,
        result_bytes=2,
        result_preview="{}",
    )


async def conversation_with_everything(store, tenant=A, visitor=VISITOR):
    conv = await new_conversation(store, tenant=tenant, visitor=visitor)
    question, _ = await store.append_message(
        tenant,
        common.Message(
            id=ids.new_id("message"), conversation_id=conv.id, role=common.ROLE_CUSTOMER, text=f"my order {WORD}"
        ),
        f"client:{WORD}",
        enqueue=True,
    )
    answer, _ = await add(store, conv, f"your order {WORD} ships today", tenant=tenant, role=common.ROLE_AI)
    await store.record_feedback(tenant, conv.id, answer.id, False, f"wrong {WORD}")
    await store.record_tool_call(tenant, conv.id, tool_call(question.id, f'{{"order":"{WORD}"}}'))
    await store.add_note(tenant, admin_pb2.Note(id=ids.new_id("message"), conversation_id=conv.id, text=f"note {WORD}"))
    await store.update_conversation(tenant, conv.id, labels=["vip"], assigned_operator_id="op_1")
    return conv


async def test_an_erased_conversation_leaves_nothing_and_touches_nothing_else(log_store, request, tmp_path):
    first = await conversation_with_everything(log_store)
    second = await conversation_with_everything(log_store)
    kept = await conversation_with_everything(log_store, visitor="v_01someoneelsesomeoneelse0")
    other_tenant = await conversation_with_everything(log_store, tenant=B)

    assert await log_store.erase_conversation(A, first.id) == 2
    assert await log_store.erase_conversation(A, second.id) == 2
    assert await log_store.erase_conversation(A, second.id) == 0  # again: nothing left, no error

    for conv in (first, second):
        assert await log_store.get_conversation(A, conv.id) is None
        assert await log_store.messages_after(A, conv.id, "") == []
        assert await log_store.list_feedback(A, conv.id) == []
        assert await log_store.list_notes(A, conv.id) == []
        assert await log_store.list_tool_calls(A, conv.id) == []
        assert await log_store.find_message(A, conv.id, dedupe_key=f"client:{WORD}") is None
    listed, _ = await log_store.list_conversations(A, visitor_id=VISITOR)
    assert listed == []
    hits, _ = await log_store.search_messages(A, [WORD])
    assert {c.id for c, _ in hits} == {kept.id}
    due = {e.conversation_id for e in await log_store.outbox_due(2**62)}
    assert first.id not in due and second.id not in due and kept.id in due
    # the rest is as it was
    assert len(await log_store.all_messages(A, kept.id)) == 2
    assert len(await log_store.all_messages(B, other_tenant.id)) == 2
    assert [c.id for c in (await log_store.list_conversations(B, visitor_id=VISITOR))[0]] == [other_tenant.id]
    assert [c.id for c, _ in (await log_store.search_messages(B, [WORD]))[0]] == [other_tenant.id] * 2

    # nothing of theirs anywhere: erase the two others too, then look at every stored byte
    await log_store.erase_conversation(A, kept.id)
    await log_store.erase_conversation(B, other_tenant.id)
    await log_store.after_erasure()
    if "cql" in request.node.callspec.id:
        leftovers = everything_in_the_keyspace(request)
    else:
        await log_store.close()
        leftovers = b"".join(p.read_bytes() for p in tmp_path.glob("logs.db*")).decode("latin-1")
    for erased in (WORD, VISITOR, first.id, second.id, kept.id, other_tenant.id):
        assert erased not in leftovers, erased


def everything_in_the_keyspace(request) -> str:
    admin, keyspace = request.getfixturevalue("cql_admin"), request.getfixturevalue("cql_keyspace")
    tables = [
        r["table_name"]
        for r in admin.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (keyspace,))
    ]
    assert "message_terms" in tables and "message_dedupe" in tables
    rows = [repr(row) for table in tables for row in admin.execute(f"SELECT * FROM {keyspace}.{table}")]
    return "\n".join(rows)


@pytest.mark.parametrize("tenant", [A])
async def test_erasing_a_missing_conversation_is_harmless(log_store, tenant):
    assert await log_store.erase_conversation(tenant, ids.new_id("conversation")) == 0


async def test_a_reply_landing_after_the_erasure_is_not_kept(log_store):
    """An AI reply, tool call or notice on its way while the conversation was erased finds it
    gone: nothing of it is stored, no search posting, no dedupe claim, no outbox entry."""
    from frontdesk.stores.base import ConversationGone

    conv = await conversation_with_everything(log_store)
    await log_store.erase_conversation(A, conv.id)
    late = common.Message(
        id=ids.new_id("message"), conversation_id=conv.id, role=common.ROLE_AI, text=f"late answer {WORD}"
    )
    with pytest.raises(ConversationGone):
        await log_store.append_message(A, late, "reply:late", enqueue=True)
    await log_store.record_tool_call(A, conv.id, tool_call("j", WORD))
    assert await log_store.messages_after(A, conv.id, "") == []
    assert await log_store.find_message(A, conv.id, dedupe_key="reply:late") is None
    assert await log_store.list_tool_calls(A, conv.id) == []
    assert (await log_store.search_messages(A, [WORD]))[0] == []
    assert conv.id not in {e.conversation_id for e in await log_store.outbox_due(2**62)}
