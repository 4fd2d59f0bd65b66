"""The contract every LogStore implementation must pass: the embedded SQLite store and the CQL
store on a real Cassandra (the `log_store` fixture, tests/frontdesk/stores/conftest.py)."""

from __future__ import annotations

import asyncio

import pytest

from frontdesk import ids
from frontdesk.stores.sqlite import SqliteLogStore
from frontdesk_pb.common.v1 import common_pb2 as common

A = "t_01aaaaaaaaaaaaaaaaaaaaaaaa"
B = "t_01bbbbbbbbbbbbbbbbbbbbbbbb"


async def new_conversation(store, tenant=A, visitor="v_1"):
    return await store.create_conversation(
        tenant,
        common.Conversation(
            id=ids.new_id("conversation"),
            visitor_id=visitor,
            status=common.CONVERSATION_STATUS_AI,
            attributes={"page": "/x"},
        ),
    )


async def add(store, conv, text, tenant=A, role=common.ROLE_CUSTOMER, dedupe=""):
    return await store.append_message(
        tenant, common.Message(id=ids.new_id("message"), conversation_id=conv.id, role=role, text=text), dedupe
    )


async def test_conversation_roundtrip_and_tenant_isolation(log_store):
    conv = await new_conversation(log_store)
    got = await log_store.get_conversation(A, conv.id)
    assert got.visitor_id == "v_1" and got.attributes["page"] == "/x" and got.created_at.seconds > 0
    assert await log_store.get_conversation(B, conv.id) is None
    assert await log_store.update_conversation(B, conv.id, status=common.CONVERSATION_STATUS_HUMAN) is None
    assert (await log_store.get_conversation(A, conv.id)).status == common.CONVERSATION_STATUS_AI


async def test_messages_are_ordered_and_paged_newest_page_first(log_store):
    conv = await new_conversation(log_store)
    for i in range(7):
        await add(log_store, conv, f"m{i}")
    page, token = await log_store.list_messages(A, conv.id, limit=3)
    assert [m.text for m in page] == ["m4", "m5", "m6"]
    page, token = await log_store.list_messages(A, conv.id, limit=3, page_token=token)
    assert [m.text for m in page] == ["m1", "m2", "m3"]
    page, token = await log_store.list_messages(A, conv.id, limit=3, page_token=token)
    assert [m.text for m in page] == ["m0"] and token == ""
    assert (await log_store.list_messages(B, conv.id))[0] == []


async def test_append_bumps_the_conversation(log_store):
    conv = await new_conversation(log_store)
    await add(log_store, conv, "hello there")
    got = await log_store.get_conversation(A, conv.id)
    assert got.message_count == 1 and got.last_message_preview == "hello there"


async def test_dedupe_key_stores_once(log_store):
    conv = await new_conversation(log_store)
    first, created1 = await add(log_store, conv, "answer", role=common.ROLE_AI, dedupe="reply:job1")
    second, created2 = await add(log_store, conv, "another answer", role=common.ROLE_AI, dedupe="reply:job1")
    assert created1 and not created2 and second.id == first.id and second.text == "answer"
    assert (await log_store.get_conversation(A, conv.id)).message_count == 1
    found = await log_store.find_message(A, conv.id, dedupe_key="reply:job1")
    assert found.id == first.id
    assert await log_store.find_message(B, conv.id, dedupe_key="reply:job1") is None


async def test_concurrent_duplicate_appends_store_one(log_store):
    conv = await new_conversation(log_store)
    results = await asyncio.gather(*(add(log_store, conv, f"try {i}", dedupe="reply:same") for i in range(10)))
    assert sum(created for _, created in results) == 1
    assert len({m.id for m, _ in results}) == 1


async def test_messages_after_a_cursor(log_store):
    conv = await new_conversation(log_store)
    stored = [(await add(log_store, conv, f"m{i}"))[0] for i in range(4)]
    after = await log_store.messages_after(A, conv.id, stored[1].id)
    assert [m.text for m in after] == ["m2", "m3"]
    assert [m.text for m in await log_store.messages_after(A, conv.id, "")] == ["m0", "m1", "m2", "m3"]


async def test_conversations_list_by_recency_with_filters_and_paging(log_store):
    convs = [await new_conversation(log_store, visitor=f"v_{i % 2}") for i in range(5)]
    await new_conversation(log_store, tenant=B)
    await asyncio.sleep(0.002)  # activity is kept to the millisecond
    await add(log_store, convs[0], "bump")  # most recent activity now
    page, token = await log_store.list_conversations(A, limit=2)
    assert page[0].id == convs[0].id and len(page) == 2 and token
    rest, token2 = await log_store.list_conversations(A, limit=10, page_token=token)
    assert len(rest) == 3 and token2 == ""
    assert {c.id for c in page + rest} == {c.id for c in convs}
    mine, _ = await log_store.list_conversations(A, visitor_id="v_1")
    assert {c.id for c in mine} == {convs[1].id, convs[3].id}
    await log_store.update_conversation(A, convs[2].id, status=common.CONVERSATION_STATUS_HANDOFF, handoff_reason="x")
    waiting, _ = await log_store.list_conversations(A, status=common.CONVERSATION_STATUS_HANDOFF)
    assert [c.id for c in waiting] == [convs[2].id] and waiting[0].handoff_reason == "x"


async def test_conversations_list_by_assignee_and_of_nobody(log_store):
    convs = [await new_conversation(log_store) for _ in range(4)]
    other = await new_conversation(log_store, tenant=B)
    waiting = common.CONVERSATION_STATUS_HANDOFF
    for c in convs[:3]:
        await log_store.update_conversation(A, c.id, status=waiting)
    await log_store.update_conversation(A, convs[0].id, assigned_operator_id="op_1")
    await log_store.update_conversation(A, convs[1].id, assigned_operator_id="op_1")
    await log_store.update_conversation(B, other.id, assigned_operator_id="op_1")  # another tenant's op_1
    mine, _ = await log_store.list_conversations(A, assignee="op_1")
    assert {c.id for c in mine} == {convs[0].id, convs[1].id}
    # reassigned: listed under the new owner only, paged like any list
    await log_store.update_conversation(A, convs[1].id, assigned_operator_id="op_2")
    mine, _ = await log_store.list_conversations(A, assignee="op_1")
    assert [c.id for c in mine] == [convs[0].id]
    first, token = await log_store.list_conversations(A, assignee="op_2", limit=1)
    assert [c.id for c in first] == [convs[1].id] and token == ""
    # the queue: waiting and nobody's
    queue, _ = await log_store.list_conversations(A, status=waiting, assignee="")
    assert [c.id for c in queue] == [convs[2].id]
    nobody, _ = await log_store.list_conversations(A, assignee="")
    assert {c.id for c in nobody} == {convs[2].id, convs[3].id}


async def test_feedback_is_recorded_per_message(log_store):
    conv = await new_conversation(log_store)
    msg, _ = await add(log_store, conv, "answer", role=common.ROLE_AI)
    await log_store.record_feedback(A, conv.id, msg.id, True, "")
    await log_store.record_feedback(A, conv.id, msg.id, False, "changed my mind")  # replaces, no error


async def test_outbox_entries_are_written_with_the_message_and_cleared(log_store):
    conv = await new_conversation(log_store)
    queued, _ = await log_store.append_message(
        A,
        common.Message(id=ids.new_id("message"), conversation_id=conv.id, role=common.ROLE_CUSTOMER, text="q"),
        "client:1",
        enqueue=True,
    )
    again, created = await log_store.append_message(
        A,
        common.Message(id=ids.new_id("message"), conversation_id=conv.id, role=common.ROLE_CUSTOMER, text="q"),
        "client:1",
        enqueue=True,
    )
    assert not created and again.id == queued.id
    await add(log_store, conv, "not queued")
    far_future = 2**62
    due = await log_store.outbox_due(far_future)
    assert [(e.tenant_id, e.conversation_id, e.message_id) for e in due] == [(A, conv.id, queued.id)]
    assert await log_store.outbox_due(0) == []  # nothing is older than the epoch
    await log_store.outbox_done(A, conv.id, queued.id)
    await log_store.outbox_done(A, conv.id, queued.id)  # idempotent
    assert await log_store.outbox_due(far_future) == []


async def test_outbox_entries_are_cleared_many_at_a_time(log_store):
    conv = await new_conversation(log_store)
    other = await new_conversation(log_store, tenant=B)
    queued = []
    for i, (tenant, c) in enumerate([(A, conv), (A, conv), (B, other)]):
        m, _ = await log_store.append_message(
            tenant,
            common.Message(id=ids.new_id("message"), conversation_id=c.id, role=common.ROLE_CUSTOMER, text=f"q{i}"),
            enqueue=True,
        )
        queued.append((tenant, c.id, m.id))
    await log_store.outbox_done_many(queued[:2] + [(B, conv.id, queued[0][2])])  # a wrong tenant clears nothing
    assert [(e.tenant_id, e.conversation_id, e.message_id) for e in await log_store.outbox_due(2**62)] == [queued[2]]
    await log_store.outbox_done_many([])


async def test_job_context_reads_reply_conversation_and_history_at_once(log_store):
    conv = await new_conversation(log_store)
    for i in range(5):
        await add(log_store, conv, f"m{i}")
    existing, got, history = await log_store.job_context(A, conv.id, dedupe_key="reply:j1", history_limit=3)
    assert existing is None and got.id == conv.id and [m.text for m in history] == ["m2", "m3", "m4"]
    reply, _ = await add(log_store, conv, "the answer", role=common.ROLE_AI, dedupe="reply:j1")
    existing, got, history = await log_store.job_context(A, conv.id, dedupe_key="reply:j1", history_limit=3)
    assert existing.id == reply.id and got is None and history == []
    # another tenant sees neither the conversation nor the reply
    assert await log_store.job_context(B, conv.id, dedupe_key="reply:j1", history_limit=3) == (None, None, [])


async def test_tool_calls_are_kept_per_conversation_oldest_first_and_replaced_on_redelivery(log_store):
    from frontdesk.stores.base import ToolCallEntry

    conv = await new_conversation(log_store)
    other = await new_conversation(log_store)
    job1, job2 = ids.new_id("message"), ids.new_id("message")

    def entry(job, call, started, ok=True):
        return ToolCallEntry(
            job_id=job,
            call_id=call,
            tool="order_status",
            arguments='{"order":"A-17"}',
            ok=ok,
            error="" if ok else "timed out",
            duration_ms=12.5,
            started_ms=started,
            result_bytes=20,
            result_preview='{"status":"shipped"}',
        )

    await log_store.record_tool_call(A, conv.id, entry(job1, "call_a", 1000))
    await log_store.record_tool_call(A, conv.id, entry(job1, "call_b", 1001, ok=False))
    await log_store.record_tool_call(A, conv.id, entry(job2, "call_a", 2000))
    await log_store.record_tool_call(A, conv.id, entry(job1, "call_a", 1000))  # redelivered: replaces, no second
    calls = await log_store.list_tool_calls(A, conv.id)
    assert [(c.job_id, c.call_id) for c in calls] == [(job1, "call_a"), (job1, "call_b"), (job2, "call_a")]
    assert calls[1].ok is False and calls[1].error == "timed out" and calls[0].arguments == '{"order":"A-17"}'
    assert [c.job_id for c in await log_store.list_tool_calls(A, conv.id, limit=1)] == [job2]
    assert await log_store.list_tool_calls(B, conv.id) == []  # another tenant sees nothing
    assert await log_store.list_tool_calls(A, other.id) == []


async def test_feedback_is_listed_per_conversation_latest_verdict_only(log_store):
    conv = await new_conversation(log_store)
    other = await new_conversation(log_store)
    first, _ = await add(log_store, conv, "answer one", role=common.ROLE_AI)
    second, _ = await add(log_store, conv, "answer two", role=common.ROLE_AI)
    await log_store.record_feedback(A, conv.id, first.id, True, "")
    await log_store.record_feedback(A, conv.id, second.id, True, "")
    await log_store.record_feedback(A, conv.id, second.id, False, "changed my mind")  # the latest verdict wins
    listed = await log_store.list_feedback(A, conv.id)
    assert [(f.message_id, f.helpful) for f in listed] == [(first.id, True), (second.id, False)]
    assert all(f.at_ms > 0 for f in listed)
    assert await log_store.list_feedback(A, other.id) == []
    assert await log_store.list_feedback(B, conv.id) == []  # another tenant sees nothing


async def test_notes_are_kept_apart_from_messages_oldest_first_and_per_tenant(log_store):
    from frontdesk_pb.admin.v1 import admin_pb2

    conv = await new_conversation(log_store)
    other = await new_conversation(log_store)
    written = []
    for text in ("first", "second", "third"):
        note = admin_pb2.Note(id=ids.new_id("note"), conversation_id=conv.id, author_id="op_1", text=text)
        await log_store.add_note(A, note)
        written.append(note)
    assert [n.text for n in await log_store.list_notes(A, conv.id)] == ["first", "second", "third"]
    assert [n.text for n in await log_store.list_notes(A, conv.id, limit=2)] == ["second", "third"]
    assert (await log_store.list_notes(A, conv.id))[0] == written[0]
    assert await log_store.list_notes(A, other.id) == []
    assert await log_store.list_notes(B, conv.id) == []  # another tenant: nothing, as for a missing one
    # a note is not a message: the conversation, its history and its count are untouched
    messages, _ = await log_store.list_messages(A, conv.id)
    assert messages == [] and (await log_store.get_conversation(A, conv.id)).message_count == 0


async def test_a_snooze_time_is_kept_and_cleared(log_store):
    conv = await new_conversation(log_store)
    until = 1_900_000_000_000
    snoozed = await log_store.update_conversation(
        A, conv.id, status=common.CONVERSATION_STATUS_SNOOZED, snoozed_until_ms=until
    )
    assert snoozed is not None and snoozed.snoozed_until.ToMilliseconds() == until
    again = await log_store.get_conversation(A, conv.id)
    assert again is not None and again.status == common.CONVERSATION_STATUS_SNOOZED
    assert again.snoozed_until.ToMilliseconds() == until
    woken = await log_store.update_conversation(
        A, conv.id, status=common.CONVERSATION_STATUS_HANDOFF, snoozed_until_ms=0
    )
    assert woken is not None and not woken.HasField("snoozed_until")


async def test_labels_are_kept_sorted_and_listed_by_label(log_store):
    convs = [await new_conversation(log_store) for _ in range(3)]
    other = await new_conversation(log_store, tenant=B)
    labelled = await log_store.update_conversation(A, convs[0].id, labels=["vip", "refund"])
    assert labelled is not None and list(labelled.labels) == ["refund", "vip"]
    await log_store.update_conversation(A, convs[1].id, labels=["refund"])
    await log_store.update_conversation(B, other.id, labels=["refund"])  # another tenant's
    refunds, _ = await log_store.list_conversations(A, label="refund")
    assert {c.id for c in refunds} == {convs[0].id, convs[1].id}
    # a label taken off: no longer listed under it
    await log_store.update_conversation(A, convs[0].id, labels=["vip"])
    refunds, _ = await log_store.list_conversations(A, label="refund")
    assert [c.id for c in refunds] == [convs[1].id]
    vip, _ = await log_store.list_conversations(A, label="vip", status=common.CONVERSATION_STATUS_AI)
    assert [c.id for c in vip] == [convs[0].id]
    cleared = await log_store.update_conversation(A, convs[0].id, labels=[])
    assert cleared is not None and list(cleared.labels) == []
    assert (await log_store.list_conversations(A, label="vip"))[0] == []


async def search(store, query, tenant=A, **filters):
    from frontdesk.stores.search import query_terms

    hits, token = await store.search_messages(tenant, query_terms(query), **filters)
    return [message.text for _, message in hits], token


async def test_search_finds_every_word_newest_first_within_the_tenant(log_store):
    first, second = await new_conversation(log_store), await new_conversation(log_store)
    other = await new_conversation(log_store, tenant=B)
    await add(log_store, first, "My order 1234 has not arrived")
    await add(log_store, first, "Sorry, order 1234 ships tomorrow", role=common.ROLE_AGENT)
    await add(log_store, second, "Wo ist meine Rücksendung? Order 1234", role=common.ROLE_CUSTOMER)
    await add(log_store, second, "a person will reply shortly: order 1234", role=common.ROLE_SYSTEM)
    await add(log_store, other, "order 1234 of tenant B", tenant=B)
    texts, _ = await search(log_store, "ORDER 1234")
    # newest first; the platform's own notice and the other tenant's message are not found
    assert texts == [
        "Wo ist meine Rücksendung? Order 1234",
        "Sorry, order 1234 ships tomorrow",
        "My order 1234 has not arrived",
    ]
    assert (await search(log_store, "rucksendung"))[0] == ["Wo ist meine Rücksendung? Order 1234"]
    assert (await search(log_store, "arrived tomorrow"))[0] == []  # every word, in one message
    assert (await search(log_store, "order", tenant=B))[0] == ["order 1234 of tenant B"]
    hits, _ = await log_store.search_messages(A, ["arrived"])
    assert [(c.id, m.role) for c, m in hits] == [(first.id, common.ROLE_CUSTOMER)]


async def test_search_pages_and_filters_like_the_conversation_list(log_store):
    convs = [await new_conversation(log_store) for _ in range(3)]
    for i, conv in enumerate(convs):
        for j in range(4):
            await add(log_store, conv, f"refund request {i}.{j}")
    await log_store.update_conversation(A, convs[1].id, status=common.CONVERSATION_STATUS_HUMAN, labels=["vip"])
    await log_store.update_conversation(A, convs[2].id, assigned_operator_id="op_1")
    seen, token = [], ""
    for _ in range(10):
        texts, token = await search(log_store, "refund", limit=5, page_token=token)
        seen += texts
        if not token:
            break
    assert seen == [f"refund request {i}.{j}" for i in (2, 1, 0) for j in (3, 2, 1, 0)]
    assert (await search(log_store, "refund", status=common.CONVERSATION_STATUS_HUMAN))[0] == [
        f"refund request 1.{j}" for j in (3, 2, 1, 0)
    ]
    assert (await search(log_store, "refund", label="vip"))[0] == [f"refund request 1.{j}" for j in (3, 2, 1, 0)]
    assert (await search(log_store, "refund", assignee="op_1"))[0] == [f"refund request 2.{j}" for j in (3, 2, 1, 0)]
    nobodys, _ = await search(log_store, "refund", assignee="")
    assert nobodys == [f"refund request {i}.{j}" for i in (1, 0) for j in (3, 2, 1, 0)]
    with pytest.raises(ValueError):
        await log_store.search_messages(A, ["refund"], page_token="99999999999999999999x")


async def test_an_embedded_file_from_before_the_search_is_indexed_when_opened(tmp_path):
    import sqlite3

    store = SqliteLogStore(tmp_path / "logs.db")
    conv = await new_conversation(store)
    await add(store, conv, "the blue bike is lovely")
    await store.close()
    old = sqlite3.connect(tmp_path / "logs.db")  # as a file made before the search existed
    old.executescript("DROP TABLE message_search; PRAGMA user_version=0;")
    old.close()
    store = SqliteLogStore(tmp_path / "logs.db")
    assert (await search(store, "blue bike"))[0] == ["the blue bike is lovely"]
    await add(store, conv, "a blue bell")
    assert (await search(store, "blue"))[0] == ["a blue bell", "the blue bike is lovely"]
    await store.close()


async def test_the_teams_turn_is_kept_on_the_conversation(log_store):
    conv = await new_conversation(log_store)
    assert not conv.HasField("handed_off_at") and not conv.HasField("first_response_at")
    got = await log_store.update_conversation(A, conv.id, handoff_ms=1_800_000_000_000, first_response_ms=0)
    assert got.handed_off_at.ToMilliseconds() == 1_800_000_000_000 and not got.HasField("first_response_at")
    got = await log_store.update_conversation(A, conv.id, first_response_ms=1_800_000_060_000)
    assert got.first_response_at.ToMilliseconds() == 1_800_000_060_000
    assert (await log_store.get_conversation(A, conv.id)).handed_off_at.ToMilliseconds() == 1_800_000_000_000
    listed, _ = await log_store.list_conversations(A)
    assert listed[0].first_response_at.ToMilliseconds() == 1_800_000_060_000
    cleared = await log_store.update_conversation(A, conv.id, handoff_ms=0, first_response_ms=0)
    assert not cleared.HasField("handed_off_at") and not cleared.HasField("first_response_at")
