"""Erasing one customer's traces from analytics (AnalyticsErasureService.EraseConversations, called
by the gateway for AdminService.EraseCustomerData, before and after the conversation service
erases the conversations).

What analytics keeps that names a customer or repeats their words: the sentiment of each of
their messages (per conversation), their conversations' ids among an hour's most negative
messages, and their questions among an hour's unanswered ones. The first goes; the hours in
their conversations' spans are rewritten without the second and without their questions (if
another customer asked the very same words in those hours, that entry goes too: the list
errs short rather than keep this customer's words). Counters (questions, answers, ratings per
hour) stay: they name no one. Once the conversations' events are gone from the stream
(`events_gone`), the records of which of their events were counted go too where their ids
name the conversations (started:, status:, rated: ...); those keyed by a message or job id
name no one and stay until they expire with the rest.

Erasing twice changes nothing more than once, so the gateway can call it again after the
conversations are gone (what was counted in between) and a store may retry an hour after a
lost compare-and-set race.
"""

from __future__ import annotations

from datetime import UTC, datetime

from analytics.aggregate import Bucket, normalise_question
from analytics.store import AnalyticsStore
from frontdesk_pb.analytics.v1 import erasure_pb2

HOUR_MS = 3_600_000


def _hour(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H")


def hour_ranges(conversations) -> list[tuple[str, str]]:
    """The hours to look at, as ranges that do not overlap: each conversation's life, plus an
    hour for its last reply."""
    spans = sorted(
        (_hour(max(c.created_ms, 0)), _hour(max(c.updated_ms, c.created_ms, 0) + HOUR_MS)) for c in conversations
    )
    merged: list[tuple[str, str]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


class Scrub:
    """The rewrite of one hour: without these conversations' negative entries and without the
    customer's questions. Tallies what it removed, once per hour actually written."""

    def __init__(self, conversation_ids: set[str], texts: list[str]):
        self.conversations = conversation_ids
        self.asked = {q for q in (normalise_question(t) for t in texts) if q}
        self.unanswered = 0
        self.negative = 0

    def __call__(self, bucket: Bucket) -> tuple[bool, int, int]:
        """Edits the bucket; (changed, unanswered entries removed, negative entries removed)."""
        kept = [entry for entry in bucket.negative if entry[1] not in self.conversations]
        negative = len(bucket.negative) - len(kept)
        bucket.negative = kept
        asked = [q for q in bucket.unanswered if q in self.asked]
        for question in asked:
            del bucket.unanswered[question]
        return bool(negative or asked), len(asked), negative

    def written(self, unanswered: int, negative: int) -> None:
        self.unanswered += unanswered
        self.negative += negative


async def erase_conversations(
    store: AnalyticsStore, tenant_id: str, request: erasure_pb2.EraseConversationsRequest
) -> erasure_pb2.EraseConversationsResponse:
    ids = sorted({c.conversation_id for c in request.conversations if c.conversation_id})
    scores = await store.drop_scores(tenant_id, ids)
    scrub = Scrub(set(ids), list(request.customer_texts))
    for from_hour, to_hour in hour_ranges(request.conversations):
        await store.edit_hours(tenant_id, from_hour, to_hour, scrub)
        if request.events_gone:
            await store.forget_events(tenant_id, ids, from_hour[:10], to_hour[:10])
    return erasure_pb2.EraseConversationsResponse(
        sentiment_scores=scores, unanswered_questions=scrub.unanswered, negative_messages=scrub.negative
    )
