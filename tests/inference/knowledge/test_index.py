from __future__ import annotations

import numpy as np
import pytest

from inference.knowledge import FaqEntry, KnowledgeBase, KnowledgeError
from inference.knowledge.bm25 import BM25Index, tokenize

pytestmark = pytest.mark.unit


def test_search_finds_faq_through_examples_and_returns_its_answer(kb):
    hits = kb.search("I lost my password", limit=3)
    assert hits[0].entry_id == "reset-password"
    assert hits[0].kind == "faq" and hits[0].chunk_id == "reset-password#0"
    assert hits[0].title == "How do I reset my password?"
    assert hits[0].text.startswith("Choose 'Forgot password'")
    assert len({h.entry_id for h in hits}) == len(hits) == 3  # one hit per entry
    assert hits[0].score >= hits[1].score >= hits[2].score


def test_documents_are_chunked_and_searchable(kb_with_guide):
    hits = kb_with_guide.search("where is my licence key", limit=2)
    assert hits[0].entry_id == "desktop-guide"
    assert "welcome email" in hits[0].text
    assert hits[0].title == "Desktop app guide — Installing the desktop app > Licence key"
    assert hits[0].url == "https://example.test/guide"
    assert kb_with_guide.search("proxy", kind="faq")[0].kind == "faq"
    info = {e.id: e for e in kb_with_guide.entries()}
    assert info["desktop-guide"].kind == "document" and info["desktop-guide"].chunks == 3
    assert info["refund"].examples == 5


def test_upsert_replaces_and_delete_removes(kb):
    kb.upsert_faq([FaqEntry("refund", "Can I get my money back?", "No refunds after 30 days.")])
    hit = kb.search("refund money back")[0]
    assert hit.entry_id == "refund" and hit.text == "No refunds after 30 days."
    assert kb.get("refund").examples == ()
    assert kb.delete("refund") is True
    assert kb.delete("refund") is False
    assert all(h.entry_id != "refund" for h in kb.search("refund money back", limit=10))
    assert kb.get("refund") is None


def test_index_survives_a_restart(tmp_path):
    directory = tmp_path / "t1"
    with KnowledgeBase.open(directory) as kb:
        kb.upsert_faq(
            [FaqEntry("ship", "Do you ship abroad?", "We ship to the EU and the UK.", ("international delivery",))]
        )
        kb.upsert_document("manual", "Manual", "# Battery\n\nCharge the battery for 4 hours before first use.")
        before = [(h.entry_id, round(h.score, 5)) for h in kb.search("how long to charge the battery")]
    with KnowledgeBase.open(directory) as again:
        assert len(again) == 2
        after = [(h.entry_id, round(h.score, 5)) for h in again.search("how long to charge the battery")]
        assert after == before
        assert again.search("international delivery")[0].entry_id == "ship"


def test_another_process_sees_changes_after_refresh(tmp_path):
    writer = KnowledgeBase.open(tmp_path / "shared")
    reader = KnowledgeBase.open(tmp_path / "shared", refresh_interval=0.0)
    writer.upsert_faq([FaqEntry("a", "What is A?", "A is the first letter.")])
    assert reader.search("first letter")[0].entry_id == "a"
    gen = reader.generation
    reader.upsert_faq([FaqEntry("b", "What is B?", "B is the second letter.")])
    writer.refresh(force=True)
    assert writer.search("second letter")[0].entry_id == "b"
    assert writer.generation == reader.generation == gen + 1
    writer.close()
    reader.close()


def test_many_updates_compact_the_index(tmp_path):
    with KnowledgeBase.open(tmp_path / "c") as kb:
        for round_ in range(4):
            kb.upsert_faq(
                [
                    FaqEntry(
                        f"e{i}",
                        f"Question {i} round {round_}?",
                        f"Answer {i}.",
                        tuple(f"phrasing {j} of {i}" for j in range(5)),
                    )
                    for i in range(150)
                ]
            )
        assert kb.row_count == 150 * 7
        assert kb.search("Question 7 round 3")[0].entry_id == "e7"


def test_bad_input_is_refused(kb):
    with pytest.raises(KnowledgeError):
        kb.upsert_document("has space", "t", "text")
    with pytest.raises(KnowledgeError) as err:
        kb.upsert_document("empty", "t", "   ")
    assert err.value.code == "empty"
    with pytest.raises(KnowledgeError):
        kb.upsert_faq([{"id": "x", "title": "a document", "text": "not an FAQ"}])


def test_upsert_file_extracts_html(kb):
    n = kb.upsert_file("returns", b"<h1>Returns</h1><p>Return unused items within 30 days.</p>", "returns.html")
    assert n == 1
    assert kb.search("return unused items")[0].entry_id == "returns"
    assert kb.get("returns").title == "Returns"


def test_empty_knowledge_base_searches_nothing(tmp_path):
    with KnowledgeBase.open(tmp_path / "empty") as kb:
        assert kb.search("anything") == [] and kb.entries() == []


def test_bm25_ranks_rare_terms_higher_and_normalises():
    index = BM25Index()
    index.add(0, "the card was declined at the shop")
    index.add(1, "my card arrived today")
    index.add(2, "exchange rate for euros")
    scores = index.scores("declined card", 3)
    assert scores.argmax() == 0 and 0 < scores.max() <= 1.0
    assert scores[2] == 0
    index.remove(0)
    index.compile()
    assert index.scores("declined", 3).max() == 0
    assert tokenize("Cards declined!") == ["card", "declin"]
    assert np.all(index.scores("", 3) == 0)
