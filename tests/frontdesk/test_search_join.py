"""The CQL search's leapfrog join (frontdesk/stores/cql/search.py) against a brute-force
answer, over postings held in a dict that answers the store's statements the way CQL does:
small chunks and a small read budget force every seek, bucket change and early page end."""

from __future__ import annotations

import random

import pytest

from frontdesk import ids
from frontdesk.stores.cql import search
from frontdesk.stores.search import message_terms, query_terms, snippet
from frontdesk_pb.common.v1 import common_pb2 as common

WORDS = ["order", "refund", "late", "bike", "frame", "blue", "vienna", "rates"]
TENANT = "t_01aaaaaaaaaaaaaaaaaaaaaaaa"


class Postings:
    def __init__(self):
        self.rows: dict[tuple, list[tuple[str, str]]] = {}
        self.buckets: set[int] = set()

    def add(self, message: common.Message) -> None:
        for name, params in search.posting_writes(TENANT, message):
            if name == "term_bucket_put":
                self.buckets.add(params[1])
            else:
                tenant, term, bucket, mid, cid = params
                self.rows.setdefault((tenant, term, bucket), []).append((mid, cid))

    async def query(self, name, *params):
        if name == "term_buckets":
            return [{"bucket": b} for b in sorted(self.buckets, reverse=True)]
        tenant, term, bucket, target, limit = params
        keep = (lambda m: m <= target) if name == "term_upto" else (lambda m: m < target)
        rows = sorted((r for r in self.rows.get((tenant, term, bucket), []) if keep(r[0])), reverse=True)
        return [{"message_id": m, "conversation_id": c} for m, c in rows[:limit]]


@pytest.mark.parametrize("seed", range(6))
async def test_the_join_pages_through_exactly_the_messages_with_every_word(monkeypatch, seed):
    monkeypatch.setattr(search, "CHUNK", 3)
    monkeypatch.setattr(search, "READ_BUDGET", 7)
    monkeypatch.setattr(search, "BUCKET_MS", 50_000)  # many buckets over the messages' times
    rng = random.Random(seed)
    store, messages = Postings(), []
    start = 1_800_000_000_000
    for i in range(300):
        text = " ".join(rng.sample(WORDS, rng.randint(1, 5)))
        message = common.Message(
            id=ids.new_id("message", now_ms=start + i * 1_000),
            conversation_id=f"c{i % 7}",
            role=common.ROLE_CUSTOMER,
            text=text,
        )
        store.add(message)
        messages.append(message)
    for query in ("order", "refund late", "bike frame blue", "vienna rates order late"):
        terms = query_terms(query)
        want = [m.id for m in reversed(messages) if set(terms) <= set(message_terms(m))]
        got, token, calls = [], "", 0
        while True:
            found, token = await search.candidates(store.query, TENANT, terms, token, 10)
            got += [mid for mid, _ in found]
            calls += 1
            assert calls < 500
            if not token:
                break
        assert got == want, query


def test_words_fold_case_and_accents_and_snippets_keep_the_match():
    message = common.Message(role=common.ROLE_CUSTOMER, text="Rückgabe: ORDER #1234, ça va? a_b")
    assert message_terms(message) == ["ruckgabe", "order", "1234", "ca", "va"]
    assert message_terms(common.Message(role=common.ROLE_SYSTEM, text="order")) == []
    with pytest.raises(ValueError, match="at least one word"):
        query_terms("?! -")
    with pytest.raises(ValueError, match="200 characters"):
        query_terms("x" * 201)
    long = "word " * 100 + "the refund arrived " + "more " * 100
    cut = snippet(long, ["refund"])
    assert "refund" in cut and len(cut) <= 162 and cut.startswith("…") and cut.endswith("…")
