"""The rebuild from the stored logs, over a real embedded log store: the events it makes
(ids, kinds, what the logs cannot tell), what it adds to an empty or partly counted
store, its day range, and that running it again changes nothing. The mesh test
(test_mesh_rebuild.py) checks the ids against the ones the live services publish."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from analytics.aggregate import Sentiment
from analytics.rebuild import backfill_from_logs, events_of
from analytics.service import AnalyticsCore
from analytics.store_sqlite import SqliteAnalyticsStore
from analytics.worker import EventCounter
from frontdesk import ids
from frontdesk.stores.base import ToolCallEntry
from frontdesk.stores.sqlite import SqliteLogStore
from frontdesk.texts import HANDOFF_NOTICE
from frontdesk_pb.analytics.v1 import analytics_pb2 as pb
from frontdesk_pb.common.v1 import common_pb2 as common

A = "t_01aaaaaaaaaaaaaaaaaaaaaaaa"
B = "t_01bbbbbbbbbbbbbbbbbbbbbbbb"
# the log store stamps updates (ratings, feedback) with the real clock: the data is recent
NOW_MS = int(time.time() * 1000)
TODAY = datetime.fromtimestamp(NOW_MS / 1000, tz=UTC).date()
WEEK_START = TODAY - timedelta(days=6)
WEEK = pb.DateRange(from_day=WEEK_START.isoformat(), to_day=TODAY.isoformat())
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def sentiment():
    return Sentiment()


@pytest.fixture
async def stores(tmp_path, sentiment):
    logs = SqliteLogStore(tmp_path / "logs.db")
    analytics = SqliteAnalyticsStore(tmp_path / "analytics.db")
    yield logs, analytics, EventCounter(analytics, sentiment)
    await logs.close()
    await analytics.close()


async def conversation(logs, at_ms: int, tenant: str = A) -> common.Conversation:
    conv = common.Conversation(
        id=ids.new_id("conversation", now_ms=at_ms),
        visitor_id="v_1",
        status=common.CONVERSATION_STATUS_AI,
        channel=common.CHANNEL_WEB,
    )
    conv.created_at.FromMilliseconds(at_ms)
    return await logs.create_conversation(tenant, conv)


async def message(logs, conv, role, text: str, at_ms: int, dedupe: str = "", tenant: str = A, **fields):
    m = common.Message(id=ids.new_id("message", now_ms=at_ms), conversation_id=conv.id, role=role, text=text, **fields)
    m.created_at.FromMilliseconds(at_ms)
    stored, _ = await logs.append_message(tenant, m, dedupe)
    return stored


async def a_day_of_support(logs, at_ms: int, tenant: str = A):
    """What the services store for: a question answered (with a tool call), thumbs down,
    a rating of 2; a second question handed to a person who still has it."""
    conv = await conversation(logs, at_ms, tenant)
    q1 = await message(
        logs, conv, common.ROLE_CUSTOMER, "This is awful, my card was charged twice!", at_ms + 10, tenant=tenant
    )
    r1 = await message(
        logs,
        conv,
        common.ROLE_AI,
        "Refunds take 3 days.",
        at_ms + 1510,
        f"reply:{q1.id}",
        tenant=tenant,
        in_reply_to=q1.id,
        author_id="smollm2",
        citations=[common.Citation(source_id="kb_1")],
    )
    await logs.record_tool_call(
        tenant,
        conv.id,
        ToolCallEntry(
            job_id=q1.id,
            call_id="call_1",
            tool="search_knowledge_base",
            arguments="{}",
            ok=True,
            error="",
            duration_ms=12.0,
            started_ms=at_ms + 100,
        ),
    )
    await logs.record_feedback(tenant, conv.id, r1.id, False, "")
    await logs.update_conversation(tenant, conv.id, rating=2)
    other = await conversation(logs, at_ms + 2000, tenant)
    q2 = await message(logs, other, common.ROLE_CUSTOMER, "How do I close my account?", at_ms + 2010, tenant=tenant)
    notice = await message(
        logs, other, common.ROLE_SYSTEM, HANDOFF_NOTICE, at_ms + 2500, f"handoff:{q2.id}", tenant=tenant
    )
    await logs.update_conversation(
        tenant, other.id, status=common.CONVERSATION_STATUS_HANDOFF, handoff_reason="low_confidence"
    )
    return conv, other, q1, r1, q2, notice


async def test_the_logs_become_the_events_the_live_path_published(stores):
    logs, _, _ = stores
    conv, other, q1, r1, q2, notice = await a_day_of_support(logs, NOW_MS - 3600_000)
    first = {e.event.event_id: e.event for e in await events_of(logs, A, await logs.get_conversation(A, conv.id))}
    assert sorted(first) == sorted(
        [f"received:{q1.id}", f"reply:{q1.id}", f"feedback:{r1.id}:0", f"rating:{conv.id}:2", f"tool:{q1.id}:call_1"]
    )
    r = first[f"reply:{q1.id}"].reply_completed
    assert (r.reply_id, r.backend, r.model, r.total_ms, r.answered, list(r.cited_ids)) == (
        r1.id,
        "unknown",
        "smollm2",
        1500.0,
        True,
        ["kb_1"],
    )
    assert r.question == q1.text and r.prompt_tokens == 0  # tokens are not in the logs
    assert first[f"received:{q1.id}"].occurred_at.ToMilliseconds() == q1.created_at.ToMilliseconds()
    handed = {e.event.event_id: e.event for e in await events_of(logs, A, await logs.get_conversation(A, other.id))}
    h = handed[f"handoff:{notice.id}"].handoff_requested
    assert (h.reason, h.question) == ("low_confidence", q2.text)  # the reason a person still has it for


async def test_a_rebuild_adds_what_is_missing_once_and_only_in_its_range(stores):
    logs, analytics, counter = stores
    core = AnalyticsCore(analytics, lambda: TODAY)
    conv, other, q1, r1, q2, notice = await a_day_of_support(logs, NOW_MS - 3600_000)
    await a_day_of_support(logs, NOW_MS - 40 * DAY_MS)  # long ago: outside the range
    await a_day_of_support(logs, NOW_MS - 3600_000, B)  # another tenant

    # the live path counted the first question before the outage (same id: it is not counted again)
    live = await events_of(logs, A, await logs.get_conversation(A, conv.id))
    received = next(e for e in live if e.event.event_id == f"received:{q1.id}")
    received.event.occurred_at.FromMilliseconds(received.at_ms + 40)  # the live copy was stamped a bit later
    assert await counter.count_event(A, received.event, 0, received.event.event_id) == "applied"

    week = (WEEK_START, TODAY)
    tally = await backfill_from_logs(logs, counter, A, *week)
    # the old conversations were rated now, so they are read, but their messages are outside the range
    assert (tally.conversations, tally.scanned, tally.applied, tally.duplicates) == (4, 9, 8, 1)
    o = await core.overview(A, WEEK)
    # the old conversation's feedback and rating were given now (the store stamps them): in the range
    assert (o.questions, o.ai_answered, o.handed_off, o.not_helpful, o.ratings, o.satisfaction) == (2, 1, 1, 2, 2, 2.0)
    assert [(t.tool, t.calls) for t in o.tools] == [("search_knowledge_base", 1)]
    assert [(b.backend, b.model, b.replies) for b in o.backends] == [("unknown", "smollm2", 1)]
    assert [(r.name, r.count) for r in o.handoff_reasons] == [("low_confidence", 1)]
    assert o.reply.count == 1 and o.negative_messages == 1
    scores = await core.conversation_sentiment(A, [conv.id, other.id])
    assert [(c.conversation_id, c.label) for c in scores.conversations] == [
        (conv.id, "negative"),
        (other.id, "neutral"),
    ]
    unanswered = await core.top_unanswered(A, WEEK, 0)
    assert [q.question for q in unanswered.questions] == ["how do i close my account"]

    again = await backfill_from_logs(logs, counter, A, *week)
    assert (again.scanned, again.applied, again.duplicates) == (9, 0, 9)
    assert await core.overview(A, WEEK) == o
    assert (await core.overview(B, WEEK)).questions == 0

    since = TODAY - timedelta(days=60)
    older = await backfill_from_logs(logs, counter, A, since, TODAY)  # the old day too, now
    assert (older.applied, older.duplicates) == (5, 9)  # its question, reply, tool call, second question, handoff
    assert (await core.overview(A, pb.DateRange(from_day=since.isoformat(), to_day=TODAY.isoformat()))).questions == 4
