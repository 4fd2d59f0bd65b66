"""The CQL search's walk over one word's postings, filtered by the signatures of the others
(frontdesk/stores/cql/search.py), against a brute-force answer, over postings held in a dict
that answers the store's statements the way CQL does: small chunks, a small read budget and
many month buckets force every chunk, bucket change and early page end. The store's check of
the message's own words (what a signature lets through by chance) is done here the same way."""

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
                tenant, term, bucket, mid, cid, sig = params
                self.rows.setdefault((tenant, term, bucket), []).append((mid, cid, sig))

    async def query(self, name, *params):
        if name == "term_buckets":
            return [{"bucket": b} for b in sorted(self.buckets, reverse=True)]
        assert name == "term_below"
        tenant, term, bucket, below, limit = params
        rows = sorted((r for r in self.rows.get((tenant, term, bucket), []) if r[0] < below), reverse=True)
        return [(m, c, sig) for m, c, sig in rows[:limit]]  # as CqlStore._q_tuples


@pytest.mark.parametrize("seed", range(6))
async def test_the_join_pages_through_exactly_the_messages_with_every_word(monkeypatch, seed):
    monkeypatch.setattr(search, "FIRST_CHUNK", 2)
    monkeypatch.setattr(search, "CHUNK", 8)
    monkeypatch.setattr(search, "SCAN_BUDGET", 20)
    monkeypatch.setattr(search, "SIG_BITS", 16)  # a small signature: many let through by chance
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
    words = {m.id: set(message_terms(m)) for m in messages}
    for query in ("order", "refund late", "bike frame blue", "vienna rates order late"):
        terms = query_terms(query)
        want = [m.id for m in reversed(messages) if set(terms) <= words[m.id]]
        got, token, calls = [], "", 0
        while True:
            found, token = await search.candidates(store.query, TENANT, terms, token, 10)
            assert len(found) <= 10
            got += [mid for mid, _ in found if set(terms) <= words[mid]]
            calls += 1
            assert calls < 500
            if not token:
                break
        assert got == want, query


async def test_the_signatures_let_few_others_through():
    rng = random.Random(11)
    store, words = Postings(), {}
    for i in range(2000):
        text = " ".join(rng.sample(WORDS, rng.randint(2, 6)))
        message = common.Message(
            id=ids.new_id("message", now_ms=1_800_000_000_000 + i),
            conversation_id="c1",
            role=common.ROLE_CUSTOMER,
            text=text,
        )
        store.add(message)
        words[message.id] = set(message_terms(message))
    terms = query_terms("bike frame blue")
    found, _ = await search.candidates(store.query, TENANT, terms, "", 2000)
    right = [mid for mid, _ in found if set(terms) <= words[mid]]
    assert len(right) == sum(set(terms) <= w for w in words.values()) > 0
    # a 256-bit signature with two bits a word: almost every candidate holds all three words
    assert len(found) - len(right) <= max(3, len(right) // 20), (len(found), len(right))


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
