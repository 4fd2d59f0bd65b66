"""Erasing a customer's traces from analytics (analytics/erasure.py), on the embedded store and
a real Cassandra: their sentiment scores, their conversations among the most negative
messages and their questions among the unanswered ones go, in their conversations' hours
only; counters and everyone else's entries stay; a second erasure changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from analytics.aggregate import Bucket
from analytics.erasure import Scrub, erase_conversations, hour_ranges
from analytics.store import MessageScore
from frontdesk_pb.analytics.v1 import erasure_pb2
from tests.analytics.test_store_contract import A, B, _close


def ms(hour: str) -> int:
    return int(datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC).timestamp() * 1000)


def bucket(questions: int, unanswered: dict[str, int], negative: list[list]) -> Bucket:
    b = Bucket(unanswered=dict(unanswered), negative=[list(n) for n in negative])
    b.add("questions", questions)
    return b


def request(*conversations, texts=()) -> erasure_pb2.EraseConversationsRequest:
    out = erasure_pb2.EraseConversationsRequest(customer_texts=list(texts))
    for cid, start, end in conversations:
        out.conversations.add(conversation_id=cid, created_ms=ms(start), updated_ms=ms(end))
    return out


def test_the_hours_looked_at_are_each_conversations_life_plus_an_hour_merged():
    spans = request(("c1", "2026-03-01T10", "2026-03-01T11"), ("c2", "2026-03-01T12", "2026-03-01T12"))
    spans.conversations.add(conversation_id="c3", created_ms=ms("2026-03-05T08"), updated_ms=ms("2026-03-05T08"))
    assert hour_ranges(spans.conversations) == [("2026-03-01T10", "2026-03-01T13"), ("2026-03-05T08", "2026-03-05T09")]


def test_a_scrub_removes_the_customers_questions_and_negative_entries_only():
    scrub = Scrub({"c1"}, ["Where is my PARCEL?  ", "thanks"])
    b = bucket(5, {"where is my parcel": 3, "opening hours": 2}, [[-900, "c1", "m1"], [-800, "c9", "m9"]])
    changed, unanswered, negative = scrub(b)
    assert (changed, unanswered, negative) == (True, 1, 1)
    assert b.unanswered == {"opening hours": 2} and b.negative == [[-800, "c9", "m9"]]
    assert b.counters == {"questions": 5}
    assert scrub(b) == (False, 0, 0)  # twice: nothing more


async def test_a_customers_traces_go_and_nothing_else(make_store):
    store = make_store()
    try:
        inside, outside = "2026-03-01T10", "2026-03-02T10"
        theirs = bucket(4, {"my parcel 4711 is late": 1, "opening hours": 1}, [[-900, "c1", "m1"], [-700, "c8", "m8"]])
        await store.apply(A, "e1", inside, theirs)
        await store.apply(A, "e2", outside, bucket(1, {"my parcel 4711 is late": 1}, [[-950, "c1", "m3"]]))
        await store.apply(B, "e1", inside, theirs)
        for cid, mid, hour in (("c1", "m1", inside), ("c1", "m2", inside), ("c8", "m8", inside)):
            await store.put_score(A, MessageScore(cid, mid, ms(hour), -900))
        await store.put_score(B, MessageScore("c1", "m1", ms(inside), -900))

        erase = request(("c1", "2026-03-01T09", inside), texts=["My parcel 4711 is late!"])
        done = await erase_conversations(store, A, erase)
        assert (done.sentiment_scores, done.unanswered_questions, done.negative_messages) == (2, 1, 1)

        hours = await store.hours(A, "2026-03-01T00", "2026-03-02T23")
        assert hours[inside].unanswered == {"opening hours": 1}
        assert hours[inside].negative == [[-700, "c8", "m8"]]
        assert hours[inside].counters["questions"] == 4
        # outside the conversation's hours nothing is touched (it is not this conversation's)
        assert hours[outside].unanswered == {"my parcel 4711 is late": 1}
        assert await store.conversation_scores(A, ["c1"]) == {}
        assert set(await store.conversation_scores(A, ["c8"])) == {"c8"}
        assert "c1" not in await store.scores_in_range(A, "2026-03-01", "2026-03-01")
        # another tenant's figures are its own
        assert (await store.hours(B, inside, inside))[inside].unanswered == theirs.unanswered
        assert set(await store.conversation_scores(B, ["c1"])) == {"c1"}

        again = await erase_conversations(store, A, erase)
        assert (again.sentiment_scores, again.unanswered_questions, again.negative_messages) == (0, 0, 0)
    finally:
        await _close(store)
