"""The aggregation itself: what each event adds, exactly once, in its own hour, in any
order; percentiles over a range from summed histograms; the queries' ranges."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import numpy as np
import pytest

from analytics.aggregate import Bucket, Sentiment, bin_of, bin_value, contribution, normalise_question, percentile
from analytics.service import AnalyticsCore, parse_range
from analytics.store_sqlite import SqliteAnalyticsStore
from analytics.worker import EventCounter
from frontdesk.errors import InvalidArgument
from frontdesk_pb.analytics.v1 import analytics_pb2 as pb
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.events.v1 import events_pb2 as ev

pytestmark = pytest.mark.unit

A = "t_01aaaaaaaaaaaaaaaaaaaaaaaa"
B = "t_01bbbbbbbbbbbbbbbbbbbbbbbb"
NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC).timestamp()


@pytest.fixture(scope="module")
def sentiment():
    return Sentiment()


def event(event_id: str, at: float = NOW, tenant: str = A, conversation: str = "c_1", **kind) -> ev.DomainEvent:
    e = ev.DomainEvent(event_id=event_id, tenant_id=tenant, conversation_id=conversation, **kind)
    e.occurred_at.FromNanoseconds(int(at * 1e9))
    return e


def question(i: int, text: str = "where is my order", at: float = NOW) -> ev.DomainEvent:
    return event(
        f"received:m{i}",
        at,
        message_received=ev.MessageReceived(
            message_id=f"m{i}", role=common.ROLE_CUSTOMER, channel=common.CHANNEL_WEB, text=text
        ),
    )


def reply(i: int, first_ms: float, total_ms: float, at: float = NOW) -> ev.DomainEvent:
    return event(
        f"reply:m{i}",
        at,
        reply_completed=ev.ReplyCompleted(
            reply_id=f"r{i}",
            in_reply_to=f"m{i}",
            backend="echo",
            model="echo",
            first_token_ms=first_ms,
            total_ms=total_ms,
            queue_wait_ms=2.0,
            prompt_tokens=10,
            completion_tokens=5,
            answered=True,
        ),
    )


def subject(e: ev.DomainEvent, tenant: str = A) -> str:
    return f"frontdesk.{tenant}.events.{e.WhichOneof('kind')}"


@pytest.fixture
async def counted(tmp_path, sentiment):
    store = SqliteAnalyticsStore(tmp_path / "analytics.db")
    counter = EventCounter(store, sentiment)

    async def count(e: ev.DomainEvent, tenant: str = A, seq: int = 1) -> str:
        return await counter.count(subject(e, tenant), e.SerializeToString(), NOW, seq)

    count.store = store
    yield count
    await store.close()


# -- histograms ----------------------------------------------------------------------


def test_bins_cover_every_value_and_stand_for_it_within_six_percent():
    for ms in [1, 1.5, 9.99, 10, 123.4, 999, 5_000, 86_400_000 / 2]:
        assert abs(bin_value(bin_of(ms)) - ms) / ms < 0.061, ms
    assert bin_of(0) == bin_of(0.3) == bin_of(float("nan")) == 0
    assert bin_of(10**12) == bin_of(10**13)  # the last bin takes everything longer


def test_percentiles_of_summed_histograms_match_the_raw_values():
    """Two days measured separately; the range's p50/p99 from the summed histograms agree
    with the percentiles of all raw values, and the order of summing does not matter."""
    rng = np.random.default_rng(7)
    day1 = rng.lognormal(mean=5.0, sigma=0.6, size=3000)  # around 150 ms
    day2 = rng.lognormal(mean=6.5, sigma=0.4, size=1000)  # around 650 ms, a slow day
    buckets = []
    for values in (day1, day2):
        b = Bucket()
        for v in values:
            b.observe("reply_ms", float(v))
        buckets.append(b)
    merged = Bucket.total(buckets)
    assert merged == Bucket.total(reversed(buckets))
    everything = np.concatenate([day1, day2])
    for q in (0.5, 0.9, 0.99):
        exact = float(np.percentile(everything, q * 100, method="inverted_cdf"))
        got = percentile(merged.hists["reply_ms"], q)
        assert abs(got - exact) / exact < 0.07, (q, got, exact)
    # which averaging the two days' own percentiles would not give
    mean_of_p50s = sum(percentile(b.hists["reply_ms"], 0.5) for b in buckets) / 2
    assert abs(mean_of_p50s - float(np.percentile(everything, 50))) / float(np.percentile(everything, 50)) > 0.2
    assert percentile({}, 0.5) == 0.0


# -- what events add ---------------------------------------------------------------------


def test_each_kind_of_event_adds_its_own_figures(sentiment):
    b = Bucket()
    b.merge(contribution(question(1, "This is useless, my parcel never arrived!"), sentiment))
    b.merge(contribution(question(2, "Thanks, that was really helpful"), sentiment))
    b.merge(contribution(reply(1, 40.0, 300.0), sentiment))
    b.merge(
        contribution(
            event(
                "h1",
                handoff_requested=ev.HandoffRequested(reason="low_confidence", question="  Can I pay with   CRYPTO? "),
            ),
            sentiment,
        )
    )
    b.merge(
        contribution(
            event("h2", handoff_requested=ev.HandoffRequested(reason="customer_request", question="I want a human")),
            sentiment,
        )
    )
    b.merge(contribution(event("f1", feedback_given=ev.FeedbackGiven(message_id="r1", helpful=True)), sentiment))
    b.merge(contribution(event("f2", feedback_given=ev.FeedbackGiven(message_id="r2", helpful=False)), sentiment))
    b.merge(contribution(event("s1", conversation_rated=ev.ConversationRated(score=4)), sentiment))
    b.merge(contribution(event("s2", conversation_rated=ev.ConversationRated(score=9)), sentiment))  # out of range
    b.merge(
        contribution(event("t1", tool_called=ev.ToolCalled(tool="order_status", ok=False, duration_ms=80)), sentiment)
    )
    b.merge(
        contribution(
            event("x1", conversation_closed=ev.ConversationClosed(previous_status=common.CONVERSATION_STATUS_HUMAN)),
            sentiment,
        )
    )
    b.merge(
        contribution(
            event("x2", conversation_closed=ev.ConversationClosed(previous_status=common.CONVERSATION_STATUS_AI)),
            sentiment,
        )
    )
    b.merge(contribution(event("j1", job_failed=ev.JobFailed(job_id="m3", deliveries=4)), sentiment))
    c = b.counters
    assert c["questions"] == 2 and c["sentiment_n"] == 2
    assert c["negative"] == 1 and c["positive"] == 1
    assert b.negative[0][1:] == ["c_1", "m1"] and b.negative[0][0] < -50
    assert c["ai_answered"] == 1 and c["prompt_tokens"] == 10 and c["completion_tokens"] == 5
    assert b.hists["first_token_ms"] == {str(bin_of(40.0)): 1}
    assert c["handed_off"] == 2
    assert b.groups["handoff_reason"] == {"low_confidence": {"n": 1}, "customer_request": {"n": 1}}
    assert b.unanswered == {"can i pay with crypto": 1}  # asking for a person is not a knowledge gap
    assert (c["helpful"], c["not_helpful"]) == (1, 1)
    assert (c["ratings"], c["rating_sum"], c["rating_4"]) == (1, 4, 1)
    assert b.groups["tool"] == {"order_status": {"calls": 1, "errors": 1, "ms": 80}}
    assert (c["closed"], c["human_resolved"], c["ai_resolved"], c["jobs_failed"]) == (2, 1, 1, 1)
    assert b.groups["channel"] == {"web": {"n": 2}}


def test_questions_are_grouped_by_their_normal_form():
    assert (
        normalise_question("Where is my ORDER??") == normalise_question("  where is  my order") == "where is my order"
    )


def test_agent_and_system_messages_are_not_questions(sentiment):
    e = event("received:a1", message_received=ev.MessageReceived(message_id="a1", role=common.ROLE_AGENT, text="hi"))
    assert contribution(e, sentiment) == Bucket()


async def test_the_teams_times_per_operator_and_ratings_split_by_who_had_the_conversation(counted):
    events = [
        event("fr1", first_response=ev.FirstResponse(operator_id="op_a", wait_ms=60_000)),
        event("fr2", first_response=ev.FirstResponse(operator_id="op_a", wait_ms=120_000)),
        event("fr3", first_response=ev.FirstResponse(operator_id="op_b", wait_ms=30_000)),
        event(
            "cl1",
            conversation_closed=ev.ConversationClosed(
                previous_status=common.CONVERSATION_STATUS_HUMAN, operator_id="op_b", resolution_ms=600_000
            ),
        ),
        # the AI alone had it: no resolution time, nobody's figure
        event(
            "cl2",
            conversation_closed=ev.ConversationClosed(
                previous_status=common.CONVERSATION_STATUS_AI, operator_id="op_b", resolution_ms=0
            ),
        ),
        event("r1", conversation_rated=ev.ConversationRated(score=5)),
        event("r2", conversation_rated=ev.ConversationRated(score=4)),
        event("r3", conversation_rated=ev.ConversationRated(score=2, by_the_team=True)),
    ]
    for seq, e in enumerate(events):
        assert await counted(e, seq=seq) == "applied"
    o = await AnalyticsCore(counted.store, today=lambda: date(2026, 3, 10)).overview(A, pb.DateRange())
    assert o.first_response.count == 3 and 0.94 * 60_000 <= o.first_response.p50_ms <= 1.06 * 60_000
    assert o.resolution.count == 1 and (o.human_resolved, o.ai_resolved) == (1, 1)
    assert (o.ratings_ai, o.satisfaction_ai, o.ratings_team, o.satisfaction_team) == (2, 4.5, 1, 2.0)
    assert o.satisfaction == pytest.approx(11 / 3)
    assert [
        (s.operator_id, s.first_responses, s.mean_first_response_ms, s.resolved, s.mean_resolution_ms)
        for s in o.operators
    ] == [("op_a", 2, 90_000.0, 0, 0.0), ("op_b", 1, 30_000.0, 1, 600_000.0)]


# -- exactly once, in its own hour, any order -----------------------------------------------


async def test_a_duplicated_event_counts_once(counted):
    e = question(1)
    assert await counted(e) == "applied"
    assert await counted(e, seq=2) == "duplicate"  # the same event published again (a new stream message)
    assert await counted(e, seq=1) == "duplicate"  # redelivered
    hours = await counted.store.hours(A, "2026-03-10T00", "2026-03-10T23")
    assert hours["2026-03-10T15"].counters["questions"] == 1


async def test_a_late_event_lands_in_its_own_day_and_hour(counted):
    three_days_ago = NOW - 3 * 86400 - 5 * 3600  # 2026-03-07 10:30
    await counted(question(1))
    assert await counted(question(2, at=three_days_ago)) == "applied"
    hours = await counted.store.hours(A, "2026-03-01T00", "2026-03-10T23")
    assert {h: b.counters["questions"] for h, b in hours.items()} == {"2026-03-10T15": 1, "2026-03-07T10": 1}
    core = AnalyticsCore(counted.store, today=lambda: date(2026, 3, 10))
    daily = await core.daily(A, pb.DateRange(from_day="2026-03-06", to_day="2026-03-10"))
    assert [(d.day, d.questions) for d in daily.days] == [
        ("2026-03-06", 0),
        ("2026-03-07", 1),
        ("2026-03-08", 0),
        ("2026-03-09", 0),
        ("2026-03-10", 1),
    ]


async def test_out_of_order_and_repeated_delivery_give_the_same_aggregate(tmp_path, sentiment):
    events = [
        question(i, f"question {i} is terrible" if i % 3 else f"question {i}", at=NOW - i * 1800) for i in range(30)
    ]
    events += [reply(i, 10.0 + i, 100.0 + 7 * i, at=NOW - i * 1800 + 5) for i in range(30)]
    events += [
        event(f"fb{i}", at=NOW - i * 1800 + 9, feedback_given=ev.FeedbackGiven(helpful=i % 4 != 0)) for i in range(30)
    ]

    async def aggregate(order, name):
        store = SqliteAnalyticsStore(tmp_path / f"{name}.db")
        counter = EventCounter(store, sentiment)
        for seq, e in enumerate(order):
            await counter.count(subject(e), e.SerializeToString(), NOW, seq)
        try:
            return await store.hours(A, "2026-03-01T00", "2026-03-10T23")
        finally:
            await store.close()

    in_order = await aggregate(events, "ordered")
    shuffled = events + random.Random(3).sample(events, 40)  # plus 40 redeliveries
    random.Random(5).shuffle(shuffled)
    assert await aggregate(shuffled, "shuffled") == in_order
    assert sum(b.counters["questions"] for b in in_order.values()) == 30
    assert len(in_order) == 15  # 30 half-hour steps: 15 hours


async def test_the_tenant_is_the_one_in_the_subject(counted):
    forged = question(1)
    forged.tenant_id = B  # a payload naming another tenant
    assert await counted(forged, tenant=A) == "applied"
    assert await counted.store.hours(B, "2026-03-01T00", "2026-03-31T23") == {}
    assert (await counted.store.hours(A, "2026-03-10T15", "2026-03-10T15"))["2026-03-10T15"].counters["questions"] == 1


async def test_unreadable_and_uncounted_events_are_skipped_not_fatal(counted, sentiment):
    counter = EventCounter(counted.store, sentiment)
    assert await counter.count(f"frontdesk.{A}.events.x", b"\x08\x96\x01\xff", NOW, 1) == "skipped"
    assert await counter.count("nonsense", question(1).SerializeToString(), NOW, 1) == "skipped"
    assert (
        await counter.count(f"frontdesk.{A}.events.x", ev.DomainEvent(event_id="e").SerializeToString(), NOW, 1)
        == "ignored"
    )


# -- the queries ---------------------------------------------------------------------------


def test_ranges_default_to_thirty_days_and_bad_ones_are_refused():
    today = date(2026, 3, 10)
    assert parse_range(pb.DateRange(), today) == (date(2026, 2, 9), today)
    assert parse_range(pb.DateRange(from_day="2026-03-01", to_day="2026-03-01"), today) == (date(2026, 3, 1),) * 2
    for bad, message in [
        (pb.DateRange(from_day="March 1st"), "YYYY-MM-DD"),
        (pb.DateRange(from_day="2026-03-09", to_day="2026-03-01"), "after"),
        (pb.DateRange(from_day="2020-01-01", to_day="2026-03-01"), "at most 366"),
    ]:
        with pytest.raises(InvalidArgument, match=message):
            parse_range(bad, today)


async def test_overview_sums_the_range_and_reads_percentiles_from_the_histograms(counted):
    for i in range(100):
        await counted(question(i))
        await counted(reply(i, first_ms=20.0 + i, total_ms=100.0 + 10 * i))  # reply p50 ~ 600 ms, p99 ~ 1090 ms
    for i, helpful in enumerate([True, True, True, False]):
        await counted(event(f"fb{i}", feedback_given=ev.FeedbackGiven(helpful=helpful)))
    for score in (5, 4, 3):
        await counted(event(f"rate{score}", conversation_rated=ev.ConversationRated(score=score)))
    await counted(event("late", at=NOW - 40 * 86400, feedback_given=ev.FeedbackGiven(helpful=False)))  # outside
    core = AnalyticsCore(counted.store, today=lambda: date(2026, 3, 10))
    o = await core.overview(A, pb.DateRange())
    assert (o.from_day, o.to_day) == ("2026-02-09", "2026-03-10")
    assert (o.questions, o.ai_answered, o.prompt_tokens, o.completion_tokens) == (100, 100, 1000, 500)
    assert o.accuracy == pytest.approx(0.75) and (o.helpful, o.not_helpful) == (3, 1)
    assert o.satisfaction == pytest.approx(4.0) and list(o.rating_counts) == [0, 0, 1, 1, 1]
    assert o.reply.count == 100
    assert abs(o.reply_p50_ms - 590) / 590 < 0.07 and abs(o.reply_p99_ms - 1080) / 1080 < 0.07
    assert abs(o.first_token_p50_ms - 69) / 69 < 0.07
    assert [(b.backend, b.model, b.replies) for b in o.backends] == [("echo", "echo", 100)]
    hourly = await core.hourly(A, pb.DateRange(from_day="2026-03-10", to_day="2026-03-10"))
    assert len(hourly.hours) == 24 and hourly.hours[15].hour == "2026-03-10T15" and hourly.hours[15].questions == 100
    with pytest.raises(InvalidArgument, match="at most 31"):
        await core.hourly(A, pb.DateRange(from_day="2026-01-01", to_day="2026-03-10"))
    with pytest.raises(InvalidArgument, match="limit"):
        await core.top_unanswered(A, pb.DateRange(), 500)
