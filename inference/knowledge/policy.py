"""The answer policy: understand the message, retrieve, then decide between answering
from the knowledge base, a short small-talk reply, and handing off to a person.

1. The language of the message (``language.detect``; the conversation's for a message too
   short to tell), for every fixed text sent back and for a model writing the answer.
2. Small talk (``smalltalk.classify``: greetings, thanks, goodbyes, "are you a bot?"):
   a short friendly reply, the tenant's own greeting for a greeting; never a handoff.
3. The customer asks for a person (``handoff.asks_for_person``): hand off,
   ``customer_request``. The customer is upset or in a hurry (``frustration``): hand off,
   ``frustrated``.
4. Empty knowledge base: hand off, ``no_knowledge``.
5. The router (``router.py``) scores the question (a greeting in front of it set aside)
   against the tenant's FAQ entries, its documents and generic background text; a short
   follow-up ("and how long does it take?") is also scored together with the customer's
   previous message, and the clearer reading wins. Best entry below the tenant's
   out-of-scope line: hand off, ``out_of_scope``. Best FAQ entry not clearly ahead of the
   second: hand off, ``low_confidence``. Documents win but no passage scores
   ``document_min_score``: hand off, ``low_confidence``.
6. Otherwise answer. The text is the knowledge base's own: an FAQ entry's answer verbatim,
   or the most relevant sentences of the best document passage, quoted. Nothing is
   invented, so the offline default (SmolLM2-135M) never writes facts; a capable model may
   write the answer from ``Decision.passages`` (all retrieved passages, best first).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from frontdesk.texts import text as fixed_text

from . import embedding, frustration, language, smalltalk
from .handoff import asks_for_person
from .index import FaqEntry, Hit, KnowledgeBase
from .router import Router, RouterScores, load_router, save_router, train_router

ANSWER = "answer"
HANDOFF = "handoff"

ANSWERED = "answered"
SMALL_TALK = "small_talk"
FRUSTRATED = "frustrated"
CUSTOMER_REQUEST = "customer_request"
OUT_OF_SCOPE = "out_of_scope"
LOW_CONFIDENCE = "low_confidence"
NO_KNOWLEDGE = "no_knowledge"
EMPTY_QUESTION = "empty_question"

HANDOFF_TEXT = {
    FRUSTRATED: "I'm sorry about this. I'm bringing in a member of our team.",
    CUSTOMER_REQUEST: "Of course, I'm connecting you with a member of our team.",
    OUT_OF_SCOPE: "That's not something I can answer here, so I'm passing you to a member of our team.",
    LOW_CONFIDENCE: "I'm not sure I have the right answer to that, so I'm bringing in a member of our team.",
    NO_KNOWLEDGE: "I'm connecting you with a member of our team, who can help with that.",
    EMPTY_QUESTION: "Could you tell me a bit more about what you need?",
}

# A document passage is quoted only when it matches the question better than
# DOCUMENT_BACKGROUND_QUANTILE of the generic background questions match their best passage
# in this tenant's documents (calibrated per tenant when the router is trained: documents
# come without questions, so generic questions are the data), and never under the floor.
DOCUMENT_BACKGROUND_QUANTILE = 0.99
DOCUMENT_MIN_SCORE_FLOOR = 0.1
ANSWER_SENTENCES = 3
# a message this short, or one that starts like a follow-up ("and ...", "what about ..."),
# is also read together with the customer's previous message
SHORT_FOLLOW_UP_WORDS = 6
_FOLLOW_UP = re.compile(
    r"^(?:and|but|also|so|what\s+about|how\s+about|and\s+what|und|aber|auch|y|pero|tambi[eé]n|et|mais|aussi|"
    r"e|ma)\b|\b(?:it|that|this|those|them|there|one|es|das|dies|eso|esto|ello|[çc]a|cela|celui)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Thresholds:
    """``None`` takes the router's per-tenant calibrated value."""

    oos: float | None = None
    margin: float | None = None
    document: float | None = None


@dataclass(frozen=True)
class Citation:
    entry_id: str
    title: str
    score: float
    chunk_id: str = ""
    url: str = ""


@dataclass(frozen=True)
class Decision:
    kind: str  # "answer" | "handoff"
    text: str  # the reply: KB content, or a handoff message
    reason: str  # "answered" or a handoff reason code
    confidence: float = 0.0  # 0..1
    citations: tuple[Citation, ...] = ()
    passages: tuple[Hit, ...] = ()  # retrieved passages, best first, for a model prompt
    scores: dict = field(default_factory=dict)  # diagnostics (router and retrieval scores)
    language: str = ""  # the customer's language (ISO 639-1), for texts and a writing model

    @property
    def handoff(self) -> bool:
        return self.kind == HANDOFF


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip() for p in parts if p.strip()]


def quote_passage(question: str, passage: str, max_sentences: int = ANSWER_SENTENCES) -> str:
    """The ``max_sentences`` sentences of ``passage`` closest to the question, in their
    original order (a short passage is quoted whole)."""
    sentences = _sentences(passage)
    if len(sentences) <= max_sentences:
        return " ".join(sentences)
    vectors = embedding.embed(sentences)
    q = embedding.embed_one(question)
    best = sorted(np.argsort(-(vectors @ q))[:max_sentences])
    return " ".join(sentences[i] for i in best)


def _document_threshold(kb: KnowledgeBase, router: Router) -> float:
    lines = router.background
    if not lines:
        return DOCUMENT_MIN_SCORE_FLOOR
    vectors = embedding.embed(lines)
    best = [
        max((h.score for h in kb.search(line, 1, kind="document", query_vector=v)), default=0.0)
        for line, v in zip(lines, vectors, strict=False)
    ]
    return max(DOCUMENT_MIN_SCORE_FLOOR, float(np.quantile(best, DOCUMENT_BACKGROUND_QUANTILE)))


def train_for(kb: KnowledgeBase) -> Router:
    """Train (and calibrate) the router for the knowledge base's current content. The
    knowledge base must not change meanwhile (the router is stamped with its generation)."""
    generation = kb.generation
    passages = kb.document_passages()
    titles = [e.title for e in kb.entries() if e.kind == "document"]
    router = train_router(
        kb.faq_phrasings(),
        passages,
        titles,
        generation,
        answers=kb.faq_answers(),
        vectors=kb.faq_row_vectors(),
        cache=kb.cached_vectors,
    )
    router.calibration.document_threshold = _document_threshold(kb, router) if passages else None
    return router


def prepare_router(kb: KnowledgeBase) -> tuple[Router, bool]:
    """The router for the knowledge base's current generation: the one saved beside it,
    or one trained now (and saved). Returns (router, trained)."""
    router = load_router(kb.directory, kb.generation)
    if router is not None:
        return router, False
    router = train_for(kb)
    save_router(router, kb.directory)
    return router, True


class AnswerPolicy:
    def __init__(
        self, kb: KnowledgeBase, thresholds: Thresholds | None = None, retrieve: int = 5, router: Router | None = None
    ):
        self.kb = kb
        self.thresholds = thresholds or Thresholds()
        self.retrieve = retrieve
        self._router: Router | None = router
        self._lock = threading.Lock()

    # ------------------------------------------------------------ router lifecycle

    def router(self) -> Router:
        """The router for the knowledge base's current generation: the one in memory, the
        one saved beside the knowledge base, or a freshly trained (and saved) one. Shared
        knowledge bases (inference/kbshare.py) come with theirs, trained by the writer of
        the version; training here is the fallback of a local directory."""
        generation = self.kb.generation
        router = self._router
        if router is not None and router.generation == generation:
            return router
        with self._lock:
            generation = self.kb.generation
            if self._router is not None and self._router.generation == generation:
                return self._router
            self._router, _ = prepare_router(self.kb)
            return self._router

    def prepare(self) -> Router:
        """Train now (after ingestion) rather than on the next question."""
        return self.router()

    # ------------------------------------------------------------ decisions

    def _handoff(
        self,
        reason: str,
        confidence: float = 0.0,
        passages: Sequence[Hit] = (),
        scores: dict | None = None,
        lang: str = "",
    ) -> Decision:
        return Decision(HANDOFF, HANDOFF_TEXT[reason], reason, confidence, (), tuple(passages), scores or {}, lang)

    def decide(
        self,
        question: str,
        history: Sequence[str] = (),
        *,
        greeting: str = "",
        tenant_name: str = "",
        default_language: str = language.DEFAULT,
    ) -> Decision:
        """``history``: the customer's earlier messages, oldest first. ``greeting``: the
        tenant's own (the reply to a greeting); ``tenant_name``: who the assistant is."""
        question = " ".join((question or "").split())
        if not question:
            return self._handoff(EMPTY_QUESTION)
        lang = language.detect(question, list(history), default_language)
        texts_lang = language.texts_language(lang)
        kind = smalltalk.classify(question)
        if kind is not None:
            lang = smalltalk.language_of(question) or lang
            texts_lang = language.texts_language(lang)
            if kind == smalltalk.GREETING and greeting and texts_lang == language.DEFAULT:
                reply = greeting
            else:
                reply = fixed_text(kind, texts_lang, name=tenant_name)
            return Decision(ANSWER, reply, SMALL_TALK, 1.0, (), (), {"small_talk": kind}, lang)
        if asks_for_person(question):
            return self._handoff(CUSTOMER_REQUEST, 1.0, lang=lang)
        if frustration.is_frustrated(question, lang):
            return self._handoff(FRUSTRATED, 1.0, lang=lang)
        if len(self.kb) == 0:
            return self._handoff(NO_KNOWLEDGE, lang=lang)
        query = smalltalk.strip_greeting(question)
        alone = self._retrieve(query, lang)
        if not history or not (len(query.split()) <= SHORT_FOLLOW_UP_WORDS or _FOLLOW_UP.search(query)):
            return alone
        together = self._retrieve(query, lang, context=history[-1])
        follow_up = bool(_FOLLOW_UP.search(query))
        if together.handoff:
            return alone
        if alone.handoff or follow_up or together.confidence > alone.confidence:
            return dataclasses.replace(together, scores={**together.scores, "follow_up": True})
        return alone

    def _retrieve(self, query: str, lang: str, context: str = "") -> Decision:
        """The decision for ``query``; with ``context`` (the customer's previous message)
        the question is read both alone and together with it, and the entries are ranked
        by both readings (a follow-up keeps the topic but asks something new)."""
        router = self.router()
        english = router.uses_english_model(lang)
        texts = [query, f"{context} {query}"] if context else [query]
        vectors = embedding.embed(texts)
        vectors_en = embedding.embed_en(texts) if english else None
        readings = [(t, vectors[i], vectors_en[i] if vectors_en is not None else None) for i, t in enumerate(texts)]
        scores = router.score_readings(readings)
        query, vector = texts[-1], vectors[-1]
        hits = self.kb.search(query, limit=self.retrieve, query_vector=vector)
        t = self.thresholds
        cal = router.calibration
        oos_threshold = cal.oos_threshold if t.oos is None else t.oos
        margin_threshold = cal.margin_threshold if t.margin is None else t.margin
        diag = _diagnostics(scores, hits, oos_threshold, margin_threshold)
        if scores is None or scores.top is None:
            return self._handoff(LOW_CONFIDENCE, 0.0, hits, diag, lang)
        confidence = router.confidence(scores)
        diag["confidence"] = round(confidence, 4)
        doc_threshold = t.document if t.document is not None else cal.document_threshold
        diag["document_threshold"] = doc_threshold
        # below the background line and not confident: out of scope (a set threshold is strict)
        out_of_scope = scores.oos_score < oos_threshold and (t.oos is not None or confidence < cal.answer_at)
        if scores.top_is_documents or (out_of_scope and doc_threshold is not None):
            # Documents: answer when a passage matches better than generic questions do
            # (this also rescues a question the router alone would call out of scope).
            doc_hits = [h for h in hits if h.kind == "document"]
            if doc_threshold is not None and doc_hits and doc_hits[0].score >= doc_threshold:
                best = doc_hits[0]
                text = quote_passage(query, best.text)
                cites = tuple(
                    Citation(h.entry_id, h.title, h.score, h.chunk_id, h.url)
                    for h in doc_hits
                    if h.score >= max(doc_threshold, best.score - 0.05)
                )
                if out_of_scope:
                    confidence = min(confidence, float(best.score))
                return Decision(ANSWER, text, ANSWERED, confidence, cites, tuple(hits), diag, lang)
            return self._handoff(OUT_OF_SCOPE if out_of_scope else LOW_CONFIDENCE, confidence, hits, diag, lang)
        if out_of_scope:
            return self._handoff(OUT_OF_SCOPE, confidence, hits, diag, lang)

        if confidence < cal.answer_at or scores.margin < margin_threshold:
            return self._handoff(LOW_CONFIDENCE, confidence, hits, diag, lang)
        entry = self.kb.get(scores.top)
        if not isinstance(entry, FaqEntry):  # deleted since the router was trained
            return self._handoff(LOW_CONFIDENCE, 0.0, hits, diag, lang)
        hit = next((h for h in hits if h.entry_id == entry.id), None)
        if hit is None:
            hit = Hit(entry.id, f"{entry.id}#0", entry.question, entry.answer, 0.0, "faq", entry.url, entry.question)
        passages = (hit, *[h for h in hits if h.entry_id != entry.id])
        citation = Citation(entry.id, entry.question, float(confidence), hit.chunk_id, entry.url)
        return Decision(ANSWER, entry.answer, ANSWERED, confidence, (citation,), passages, diag, lang)


def _diagnostics(scores: RouterScores | None, hits: Sequence[Hit], oos_t: float, margin_t: float) -> dict:
    d: dict = {
        "oos_threshold": oos_t,
        "margin_threshold": margin_t,
        "retrieval": [(h.entry_id, round(h.score, 4)) for h in hits],
    }
    if scores is not None:
        d.update(
            top=scores.top,
            top_score=scores.top_score,
            margin=scores.margin,
            background=scores.background,
            oos_score=scores.oos_score,
            ranking=scores.ranking[:5],
        )
    return d
