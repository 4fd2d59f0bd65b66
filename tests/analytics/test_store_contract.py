"""The analytics store contract, against the embedded SQLite store and a real Cassandra
(standing in for Scylla): an event id counts once, however often and however
concurrently it is applied; buckets are per tenant and per hour."""

from __future__ import annotations

import asyncio
from datetime import datetime

from analytics.aggregate import Bucket
from analytics.store import MessageScore
from analytics.store_cql import CqlAnalyticsStore

A = "t_01aaaaaaaaaaaaaaaaaaaaaaaa"
B = "t_01bbbbbbbbbbbbbbbbbbbbbbbb"


def delta(**counters) -> Bucket:
    b = Bucket()
    for name, n in counters.items():
        b.add(name, n)
    return b


async def _close(*stores):
    for s in stores:
        await s.close()


async def test_an_event_counts_once(make_store):
    store = make_store()
    try:
        assert await store.apply(A, "received:m1", "2026-03-01T10", delta(questions=1)) is True
        assert await store.apply(A, "received:m1", "2026-03-01T10", delta(questions=1)) is False
        assert await store.apply(A, "received:m2", "2026-03-01T10", delta(questions=1)) is True
        hours = await store.hours(A, "2026-03-01T00", "2026-03-01T23")
        assert list(hours) == ["2026-03-01T10"]
        assert hours["2026-03-01T10"].counters == {"questions": 2}
    finally:
        await _close(store)


async def test_buckets_are_per_tenant_and_hour_and_ranges_are_inclusive(make_store):
    store = make_store()
    try:
        await store.apply(A, "e1", "2026-03-01T00", delta(questions=1))
        await store.apply(A, "e2", "2026-03-01T23", delta(questions=2))
        await store.apply(A, "e3", "2026-03-02T00", delta(questions=4))
        await store.apply(B, "e1", "2026-03-01T00", delta(questions=8))  # same id, other tenant: its own event
        got = await store.hours(A, "2026-03-01T00", "2026-03-01T23")
        assert {h: b.counters["questions"] for h, b in got.items()} == {"2026-03-01T00": 1, "2026-03-01T23": 2}
        got = await store.hours(A, "2026-03-01T23", "2026-03-02T00")
        assert {h: b.counters["questions"] for h, b in got.items()} == {"2026-03-01T23": 2, "2026-03-02T00": 4}
        got = await store.hours(B, "2026-02-01T00", "2026-04-01T00")
        assert {h: b.counters["questions"] for h, b in got.items()} == {"2026-03-01T00": 8}
        assert await store.hours(A, "2026-04-01T00", "2026-04-30T23") == {}
    finally:
        await _close(store)


async def test_concurrent_writers_and_duplicates_count_every_event_exactly_once(make_store):
    """Two clients (two analytics processes) apply the same 60 events at the same time,
    each event twice: every event counts once, none is lost to a race."""
    first, second = make_store(), make_store()
    try:
        events = [(f"ev:{i}", f"2026-03-01T{i % 3:02d}") for i in range(60)]
        jobs = [
            s.apply(A, eid, hour, delta(questions=1, tokens=i))
            for i, (eid, hour) in enumerate(events)
            for s in (first, second)
        ]
        results = await asyncio.gather(*jobs)
        assert sum(results) == 60
        hours = await first.hours(A, "2026-03-01T00", "2026-03-01T23")
        assert sum(b.counters["questions"] for b in hours.values()) == 60
        assert sum(b.counters.get("tokens", 0) for b in hours.values()) == sum(range(60))
        assert hours["2026-03-01T01"].counters["questions"] == 20
    finally:
        await _close(first, second)


async def test_histograms_and_lists_survive_the_round_trip(make_store):
    store = make_store()
    try:
        b = Bucket()
        b.observe("reply_ms", 120.0)
        b.group("backend", "echo\techo", replies=1, prompt_tokens=3)
        b.unanswered["how do i return a gift"] = 1
        b.negative.append([-700, "c_1", "m_1"])
        await store.apply(A, "r1", "2026-03-05T12", b)
        await store.apply(A, "r2", "2026-03-05T12", b)
        got = (await store.hours(A, "2026-03-05T12", "2026-03-05T12"))["2026-03-05T12"]
        assert got == Bucket().merge(b).merge(b)
        assert got.groups["backend"]["echo\techo"] == {"replies": 2, "prompt_tokens": 6}
        assert got.unanswered == {"how do i return a gift": 2}
    finally:
        await _close(store)


async def test_a_new_client_sees_what_another_counted(make_store):
    store = make_store()
    await store.apply(A, "x1", "2026-01-31T05", delta(ratings=1, rating_sum=4))
    await store.close()
    again = make_store()
    try:
        assert await again.apply(A, "x1", "2026-01-31T05", delta(ratings=1, rating_sum=4)) is False
        got = await again.hours(A, "2026-01-01T00", "2026-02-28T23")
        assert got["2026-01-31T05"].counters == {"ratings": 1, "rating_sum": 4}
    finally:
        await _close(again)


def ms(day: str, hour: int) -> int:
    return int(datetime.fromisoformat(f"{day}T{hour:02d}:30:00+00:00").timestamp() * 1000)


async def test_sentiment_is_kept_per_conversation_once_per_message_and_per_tenant(make_store):
    store = make_store()
    try:

        def said(conv, msg, day, hour, score):
            return MessageScore(conv, msg, ms(day, hour), score)

        # conversation c1: two messages on two days; c2: one; the same message again (a
        # duplicate event, a rebuild) changes nothing
        assert (
            await store.apply(
                A, "received:m1", "2026-03-01T10", delta(questions=1), score=said("c1", "m1", "2026-03-01", 10, -800)
            )
            is True
        )
        assert (
            await store.apply(
                A, "received:m2", "2026-03-02T09", delta(questions=1), score=said("c1", "m2", "2026-03-02", 9, 200)
            )
            is True
        )
        assert (
            await store.apply(
                A, "received:m3", "2026-03-02T11", delta(questions=1), score=said("c2", "m3", "2026-03-02", 11, 500)
            )
            is True
        )
        assert (
            await store.apply(
                A, "received:m1", "2026-03-01T10", delta(questions=1), score=said("c1", "m1", "2026-03-01", 10, -800)
            )
            is False
        )
        await store.put_score(A, said("c2", "m3", "2026-03-02", 11, 500))  # rewriting is harmless
        await store.apply(
            B, "received:m9", "2026-03-01T10", delta(questions=1), score=said("c1", "m9", "2026-03-01", 10, -999)
        )  # another tenant, same conversation id

        whole = await store.conversation_scores(A, ["c1", "c2", "c-none"])
        assert sorted(whole) == ["c1", "c2"]
        c1 = whole["c1"]
        assert (c1.messages, c1.sum_milli, c1.min_milli, c1.last_ms) == (2, -600, -800, ms("2026-03-02", 9))
        assert c1.mean == -0.3
        assert (whole["c2"].messages, whole["c2"].mean) == (1, 0.5)
        # a range counts the messages of its days only
        day1 = await store.scores_in_range(A, "2026-03-01", "2026-03-01")
        assert list(day1) == ["c1"] and (day1["c1"].messages, day1["c1"].sum_milli) == (1, -800)
        both = await store.scores_in_range(A, "2026-03-01", "2026-03-02")
        assert {k: (v.messages, v.sum_milli) for k, v in both.items()} == {"c1": (2, -600), "c2": (1, 500)}
        assert await store.scores_in_range(A, "2026-03-03", "2026-03-31") == {}
        other = await store.conversation_scores(B, ["c1", "c2"])
        assert {k: v.sum_milli for k, v in other.items()} == {"c1": -999}
    finally:
        await _close(store)


async def test_counted_finds_an_event_in_any_hour_of_the_window(make_store):
    store = make_store()
    try:
        await store.apply(A, "rating:c1:4", "2026-03-02T23", delta(ratings=1))
        assert await store.counted(A, "rating:c1:4", "2026-03-01T00", "2026-03-03T05") is True
        assert await store.counted(A, "rating:c1:4", "2026-03-02T23", "2026-03-02T23") is True
        assert await store.counted(A, "rating:c1:5", "2026-03-01T00", "2026-03-03T05") is False
        assert await store.counted(B, "rating:c1:4", "2026-03-01T00", "2026-03-03T05") is False
    finally:
        await _close(store)


async def test_cql_the_event_record_and_the_aggregate_are_one_partition(cql_server, cql_keyspace, cql_admin):
    """What makes the CQL store exactly-once: the event's row and the aggregate it changed
    live in one partition and were written by one conditional batch."""
    store = CqlAnalyticsStore([cql_server.contact_point], keyspace=cql_keyspace, shards=2)
    try:
        for i in range(6):
            await store.apply(A, f"e{i}", "2026-03-01T10", delta(questions=1))
        rows = list(
            cql_admin.execute(
                f"SELECT tenant_id, day, shard, event_id, version, hours FROM {cql_keyspace}.analytics_days"
            )
        )
        events = sorted(r["event_id"] for r in rows if r["event_id"])
        assert events == [f"e{i}" for i in range(6)]
        per_partition = {}
        for r in rows:
            per_partition.setdefault((r["tenant_id"], r["day"], r["shard"]), []).append(r)
        assert len(per_partition) == 2  # both shards in use
        for members in per_partition.values():
            counted = len([r for r in members if r["event_id"]])
            version = members[0]["version"]
            assert version == counted  # one version step per event, no more
            assert Bucket.from_json(members[0]["hours"][10]).counters == {"questions": counted}
    finally:
        await store.close()
