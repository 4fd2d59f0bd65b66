"""The router: which knowledge-base entry a question is about, or none of them.

Retrieval, not training: every FAQ entry is represented by sentence embeddings
(``embedding.py``, multilingual) of its question, its example phrasings if the tenant wrote
any, and its question together with its answer. A question's score for an entry is the
best cosine similarity to the entry's phrasings, or to its question-and-answer a little
discounted (``ANSWER_WEIGHT``): an answer often names what the question does not ("frame",
"warranty", "Vienna" in a delivery list). Documents are one more class, scored by their
sentences and titles; generic "background" text (``background.BACKGROUND``: small talk,
other businesses' questions) is the class of "not about us".

Nothing is fitted, so a knowledge base of 5,000 entries is ready once its rows are
embedded, and editing one entry changes only that entry's vectors. What is calibrated per
tenant, each time the knowledge base changes (milliseconds), is where "not about us"
starts: the generic background lines are scored against this tenant's entries, and a
question must score above ``BACKGROUND_PASS_QUANTILE`` of them (and above
``MIN_TOP_SCORE``) to be answered. The margin over the second-best entry
(``MIN_MARGIN``) says whether two entries are too close to call. The constants were chosen
on the dev half of the plain-FAQ sets (tools/quality/plain_faq, docs/quality.md), never on
the test half.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import embedding
from .background import BACKGROUND

BACKGROUND_CLASS = "__background__"
DOCUMENTS_CLASS = "__documents__"
ROUTER_FILE = "router.pkl"
ROUTER_FORMAT = 3

ANSWER_WEIGHT = 0.9  # an entry's question+answer vector counts this much of a phrasing
SENTENCE_WEIGHT = 0.85  # each sentence of the answer, alone ("we accept PayPal" for "can I pay with paypal")
EN_WEIGHT = 0.5  # English question, English FAQ: this share of the score is the English model's
LEXICAL_WEIGHT = 0.3  # character n-gram overlap (TF-IDF cosine) added to English questions' scores
LEXICAL_CANDIDATES = 50  # ... of the best entries by the encoders
MIN_TOP_SCORE = 0.35  # below this nothing is close enough to answer from
BACKGROUND_PASS_QUANTILE = 0.9  # background lines a question should outscore, unless the calibrator is sure
BACKGROUND_MAX_SIMILARITY = 0.7  # background lines this close to a KB phrasing are dropped
MAX_DOCUMENT_SENTENCES = 4000
MAX_ANSWER_SENTENCES = 4
EN_SENTENCES_MAX_ENTRIES = 1000
# P(the best entry is the right one) = logistic(CALIBRATOR . features): fitted by
# tools/quality/fit_calibrator.py on the dev halves of every plain-FAQ set (public and
# hand-written tenants, each set weighted equally), never on the test halves
CALIBRATOR = (-2.572, 2.785, 9.099, 1.357)  # intercept; top, margin, top - background
# the same for questions scored with the multilingual model alone (not English, or an FAQ
# not in English): fitted on the same questions scored that way (the model puts a German
# question where it puts its English original, so English questions stand in for all)
CALIBRATOR_MULTILINGUAL = (-1.814, 1.188, 13.972, 2.326)
ANSWER_AT = 0.7  # answer when P reaches this (docs/quality.md: the wrong-answer budget)


@dataclass
class RouterScores:
    ranking: list[tuple[str, float]]  # entry classes (FAQ ids and __documents__), best first
    background: float  # the question's similarity to the closest background line
    top: str | None
    top_score: float
    margin: float  # top - second (inf with a single class)
    oos_score: float  # top - the tenant's background pass score
    english: bool = False  # scored with both models (an English question, an English FAQ)

    @property
    def top_is_documents(self) -> bool:
        return self.top == DOCUMENTS_CLASS


@dataclass
class Calibration:
    oos_threshold: float = 0.0  # on oos_score: below the background pass line is out of scope
    margin_threshold: float = 0.0  # kept for readers of older diagnostics
    background_pass: float = MIN_TOP_SCORE  # what the background lines score (quantile)
    held_out: int = 0  # background lines scored for background_pass
    held_out_accuracy: float | None = None
    calibrated: bool = False
    document_threshold: float | None = None  # set by the policy from retrieval scores
    answer_at: float = ANSWER_AT


def _stable_rank(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _split_sentences(text: str) -> list[str]:
    import re

    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip(" -*#") for p in parts if len(p.split()) >= 3]


def _lexical_vectorizer():
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, dtype=np.float32)


class Router:
    """Entry vectors, the tenant's calibration; immutable once built."""

    def __init__(
        self,
        classes: list[str],
        owners: np.ndarray,
        vectors: np.ndarray,
        weights: np.ndarray,
        background_vectors: np.ndarray,
        calibration: Calibration,
        generation: int,
        train_seconds: float = 0.0,
        background: Sequence[str] = (),
        vectors_en: np.ndarray | None = None,
        lexical=None,
        lexical_rows=None,
        faq_language: str = "en",
    ):
        self.classes = classes  # FAQ entry ids (and DOCUMENTS_CLASS); a class's rows are contiguous
        self.owners = owners  # class index of each row
        self.vectors = vectors  # multilingual vectors, float16 (half the memory, scores to 3 decimals)
        self.vectors_en = vectors_en  # English-model vectors of the same rows (zero for documents), or None
        self.weights = weights  # per row: 1 for phrasings, ANSWER_WEIGHT for question+answer
        self.lexical = lexical  # fitted character n-gram TF-IDF, or None
        self.lexical_rows = lexical_rows  # its row matrix (sparse)
        self.background_vectors = background_vectors
        self.background = list(background)
        self.calibration = calibration
        self.generation = generation
        self.train_seconds = train_seconds
        self.faq_language = faq_language

    def _cached(self, name: str, make):
        value = self.__dict__.get(name)
        if value is None:
            value = self.__dict__[name] = make()
        return value

    def _starts(self) -> np.ndarray:
        return self._cached("_starts_cache", lambda: np.flatnonzero(np.r_[True, self.owners[1:] != self.owners[:-1]]))

    def __getstate__(self):  # the float32 copies and the starts are rebuilt on load
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def uses_english_model(self, lang: str) -> bool:
        return self.vectors_en is not None and lang == "en" and self.faq_language == "en"

    def class_scores(
        self, vectors: np.ndarray, texts: Sequence[str] | None = None, vectors_en: np.ndarray | None = None
    ) -> np.ndarray:
        """(n questions, n classes): each class's best row score: the weighted cosine (the
        mean of both models' when ``vectors_en`` is given), plus the character n-gram
        overlap when ``texts`` are given."""
        matrix = self._cached("_f32", lambda: self.vectors.astype(np.float32))
        sims = vectors.astype(np.float32) @ matrix.T
        if vectors_en is not None and self.vectors_en is not None:
            # only the rows that have an English vector (the phrasings); the others keep the
            # multilingual score
            en_rows = self._cached("_en_rows", lambda: np.flatnonzero(np.abs(self.vectors_en).sum(axis=1) > 0))
            matrix_en = self._cached("_f32_en", lambda: self.vectors_en[en_rows].astype(np.float32))
            sims[:, en_rows] = (1 - EN_WEIGHT) * sims[:, en_rows] + EN_WEIGHT * (
                vectors_en.astype(np.float32) @ matrix_en.T
            )
        sims *= self.weights
        scores = np.maximum.reduceat(sims, self._starts(), axis=1)
        if texts is None or self.lexical is None:
            return scores
        # character overlap for the best LEXICAL_CANDIDATES entries only (it adds at most
        # LEXICAL_WEIGHT, so it reorders the close ones; scoring every row of a 5,000-entry
        # FAQ would cost ~30 ms a question)
        starts, ends = self._starts(), np.r_[self._starts()[1:], len(self.owners)]
        queries = self.lexical.transform(list(texts))
        for i in range(len(texts)):
            best = np.argsort(-scores[i])[:LEXICAL_CANDIDATES]
            rows = np.concatenate([np.arange(starts[c], ends[c]) for c in best])
            overlap = (self.lexical_rows[rows] @ queries[i].T).toarray().ravel()
            row_scores = sims[i, rows] + LEXICAL_WEIGHT * overlap
            bounds = np.r_[0, np.cumsum(ends[best] - starts[best])[:-1]]
            scores[i, best] = np.maximum.reduceat(row_scores, bounds)
        return scores

    def score_readings(self, readings: Sequence[tuple[str, np.ndarray, np.ndarray | None]]) -> RouterScores | None:
        """One question read several ways (a follow-up alone and with the message before
        it): the mean of the readings' class scores, so the entry that fits both wins."""
        if not self.classes:
            return None
        english = all(v_en is not None for _, _, v_en in readings) and self.vectors_en is not None
        rows = []
        for text, v, v_en in readings:
            if english:
                rows.append(self.class_scores(v[None, :], [text], v_en[None, :])[0])  # type: ignore[index]
            else:
                rows.append(self.class_scores(v[None, :])[0])
        last = readings[-1][1]
        background = float((self.background_vectors @ last).max()) if len(self.background_vectors) else -1.0
        return self._scores(np.mean(rows, axis=0), background, english)

    def score(
        self, question: str, vector: np.ndarray | None = None, vector_en: np.ndarray | None = None
    ) -> RouterScores | None:
        if not self.classes:
            return None
        v = embedding.embed_one(question) if vector is None else vector
        english = vector_en is not None and self.vectors_en is not None
        # both models and the character overlap for English; the multilingual model alone
        # otherwise (character overlap means little across languages, and leaving it out
        # keeps one calibration valid for every language)
        if vector_en is not None and self.vectors_en is not None:
            row = self.class_scores(v[None, :], [question], vector_en[None, :])[0]
        else:
            row = self.class_scores(v[None, :])[0]
        background = float((self.background_vectors @ v).max()) if len(self.background_vectors) else -1.0
        return self._scores(row, background, english)

    def _scores(self, row: np.ndarray, background: float, english: bool = False) -> RouterScores:
        order = np.argsort(-row, kind="stable")
        ranking = [(self.classes[i], float(row[i])) for i in order[:10]]
        top, top_score = ranking[0]
        margin = top_score - ranking[1][1] if len(ranking) > 1 else 1.0
        oos = top_score - self.calibration.background_pass
        return RouterScores(ranking, background, top, top_score, margin, oos, english)

    @staticmethod
    def features(scores: RouterScores) -> tuple[float, float, float]:
        """What the calibrator reads: how close the best entry is, how far ahead of the
        second, and how much closer than the question is to any generic background line."""
        return (scores.top_score, min(scores.margin, 1.0), scores.top_score - scores.background)

    def confidence(self, scores: RouterScores) -> float:
        """P(the best entry is the one the customer means), from the calibrator."""
        if scores.top_score < MIN_TOP_SCORE:
            return 0.0
        coef = CALIBRATOR if scores.english else CALIBRATOR_MULTILINGUAL
        z = coef[0] + sum(c * f for c, f in zip(coef[1:], self.features(scores), strict=True))
        return float(1.0 / (1.0 + np.exp(-z)))


def _background(kb_vectors: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The background lines not too close to the knowledge base: (lines, vectors, mask)."""
    lines = list(BACKGROUND)
    bg = _background_vectors()
    best = np.full(len(lines), -1.0, dtype=np.float32)
    for start in range(0, len(kb_vectors), 4096):
        best = np.maximum(best, (bg @ kb_vectors[start : start + 4096].T).max(axis=1))
    keep = best < BACKGROUND_MAX_SIMILARITY
    return [line for line, k in zip(lines, keep, strict=True) if k], bg[keep], keep


_BACKGROUND_VECTORS: dict[str, np.ndarray] = {}


def _background_vectors(english: bool = False) -> np.ndarray:
    """The background lines' vectors, embedded once per process (they never change)."""
    key = "en" if english else "multi"
    if key not in _BACKGROUND_VECTORS:
        lines = list(BACKGROUND)
        _BACKGROUND_VECTORS[key] = embedding.embed_en(lines) if english else embedding.embed(lines)
    return _BACKGROUND_VECTORS[key]


def _faq_language(questions: Sequence[str]) -> str:
    from . import language

    langs = [language.identify(q)[0] for q in questions[:200]]
    counted = {lang: langs.count(lang) for lang in set(langs) if lang}
    return max(counted, key=lambda k: counted[k]) if counted else language.DEFAULT


def train_router(
    faq: Mapping[str, Sequence[str]],
    passages: Sequence[tuple[str, str]] = (),
    titles: Sequence[str] = (),
    generation: int = 0,
    calibrate: bool = True,
    answers: Mapping[str, str] | None = None,
    vectors: Mapping[str, np.ndarray] | None = None,
    cache: Callable[[str, Sequence[str], Callable], Mapping[str, np.ndarray]] | None = None,
) -> Router:
    """Build (and calibrate) the router from FAQ phrasings ({id: [question, *examples]}),
    their answers, and document passages. ``vectors``: text -> multilingual embedding
    already computed (the knowledge base's own rows); ``cache(model, texts, embed)``: the
    knowledge base's vector cache, so a text is embedded once per model across rebuilds."""
    started = time.perf_counter()
    answers = answers or {}
    known = dict(vectors or {})

    def embedded(model: str, texts: Sequence[str], embed) -> Mapping[str, np.ndarray]:
        if cache is not None:
            return cache(model, texts, embed)
        unique = list(dict.fromkeys(texts))
        return dict(zip(unique, embed(unique), strict=True))

    classes: list[str] = []
    texts: list[str] = []
    owners: list[int] = []
    weights: list[float] = []
    for eid, phrasings in faq.items():
        if not any(p.strip() for p in phrasings):
            continue
        c = len(classes)
        classes.append(eid)
        for p in dict.fromkeys(p for p in phrasings if p.strip()):
            texts.append(p)
            owners.append(c)
            weights.append(1.0)
        answer = answers.get(eid, "").strip()
        if answer and phrasings:
            texts.append(f"{phrasings[0]}\n{answer}")
            owners.append(c)
            weights.append(ANSWER_WEIGHT)
            sentences = _split_sentences(answer)
            if len(sentences) > 1:  # a one-sentence answer is the row above already
                for sentence in dict.fromkeys(sentences[:MAX_ANSWER_SENTENCES]):
                    texts.append(sentence)
                    owners.append(c)
                    weights.append(SENTENCE_WEIGHT)
    faq_rows = len(texts)
    if passages:
        sentences = list(dict.fromkeys([*titles, *(s for _, text in passages for s in _split_sentences(text))]))
        if len(sentences) > MAX_DOCUMENT_SENTENCES:
            sentences = sorted(sentences, key=_stable_rank)[:MAX_DOCUMENT_SENTENCES]
        if sentences:
            c = len(classes)
            classes.append(DOCUMENTS_CLASS)
            texts.extend(sentences)
            owners.extend([c] * len(sentences))
            weights.extend([1.0] * len(sentences))
    if not classes:
        empty = np.zeros((0, embedding.MODEL_DIM), np.float32)
        return Router(
            [],
            np.zeros(0, np.int64),
            empty.astype(np.float16),
            np.zeros(0, np.float32),
            empty,
            Calibration(),
            generation,
        )
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    if missing:
        known.update(embedded(embedding.MODEL_NAME, missing, embedding.embed))
    matrix = np.stack([known[t] for t in texts]).astype(np.float32)
    faq_language = _faq_language([p[0] for p in faq.values() if p])
    matrix_en = None
    if faq_language == "en" and faq_rows:
        # the English model reads the phrasings (the question and any examples) and, for an
        # FAQ of up to EN_SENTENCES_MAX_ENTRIES entries, the answer sentences ("we deliver to
        # Germany, ..." for "do you ship to Germany?"); a question with its whole answer is
        # long for it, and a large FAQ's sentences too many to embed within a minute: the
        # multilingual model reads those
        read = (1.0, SENTENCE_WEIGHT) if len(classes) <= EN_SENTENCES_MAX_ENTRIES else (1.0,)
        en_rows = [i for i in range(faq_rows) if weights[i] in read]
        known_en = embedded(embedding.EN_MODEL_NAME, [texts[i] for i in en_rows], embedding.embed_en)
        matrix_en = np.zeros((len(texts), embedding.EN_DIM), dtype=np.float32)
        matrix_en[en_rows] = np.stack([known_en[texts[i]] for i in en_rows])
    lexical = _lexical_vectorizer()
    lexical_rows = lexical.fit_transform(texts)
    background, bg_vectors, kept = _background(matrix)
    router = Router(
        classes,
        np.asarray(owners, dtype=np.int64),
        matrix.astype(np.float16),
        np.asarray(weights, dtype=np.float32),
        bg_vectors,
        Calibration(),
        generation,
        background=background,
        vectors_en=None if matrix_en is None else matrix_en.astype(np.float16),
        lexical=lexical,
        lexical_rows=lexical_rows,
        faq_language=faq_language,
    )
    if calibrate and len(bg_vectors):
        # the background lines (English) scored as an English question would be
        bg_en = _background_vectors(english=True)[kept] if matrix_en is not None else None
        tops = router.class_scores(bg_vectors, background, bg_en).max(axis=1)
        router.calibration = Calibration(
            background_pass=max(MIN_TOP_SCORE, float(np.quantile(tops, BACKGROUND_PASS_QUANTILE))),
            held_out=len(bg_vectors),
            calibrated=True,
        )
    router.train_seconds = time.perf_counter() - started
    return router


# ------------------------------------------------------------ persistence


def _fingerprint() -> str:
    return f"{ROUTER_FORMAT}:{embedding.MODEL_NAME}:{embedding.EN_MODEL_NAME}:{len(BACKGROUND)}"


def router_bytes(router: Router) -> bytes:
    """The router as it travels (beside the knowledge base, and inside a shared snapshot):
    a pickle of our own object with the fingerprint of what it was built with."""
    return pickle.dumps({"fingerprint": _fingerprint(), "router": router}, protocol=pickle.HIGHEST_PROTOCOL)


def router_from_bytes(data: bytes | None, generation: int) -> Router | None:
    """The router in ``data`` if it was built for ``generation`` of the knowledge base
    with this code and embedding model; None (rebuild) for anything else: a stale,
    incompatible, truncated or corrupt router is never used."""
    if not data:
        return None
    try:
        loaded = pickle.loads(data)
    except Exception:  # noqa: BLE001 - corrupt or from another version of the code: rebuild
        return None
    if not isinstance(loaded, dict) or loaded.get("fingerprint") != _fingerprint():
        return None
    router = loaded.get("router")
    if not isinstance(router, Router) or router.generation != generation:
        return None
    return router


def save_router(router: Router, directory: Path) -> None:
    """Written atomically next to the tenant's knowledge base (our own file, our own data)."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".router-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(router_bytes(router))
        os.replace(tmp, directory / ROUTER_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_router(directory: Path, generation: int) -> Router | None:
    try:
        data = (directory / ROUTER_FILE).read_bytes()
    except OSError:
        return None
    return router_from_bytes(data, generation)
