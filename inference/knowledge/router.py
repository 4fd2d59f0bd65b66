"""The router: which knowledge-base entry a question is about, or none of them.

A linear SVM (scikit-learn ``LinearSVC``) over three feature blocks of a question: word
1-2-gram TF-IDF, character 2-5-gram TF-IDF (robust to typos and inflections) and the
WordLlama sentence embedding (robust to paraphrase).  Its classes are the tenant's FAQ
entries (trained on each entry's question and example phrasings), one ``__documents__``
class (trained on sentences, headings and titles of the tenant's documents) and one
``__background__`` class (generic questions about other businesses and small talk,
``background.BACKGROUND``).  That last class is what makes "not about us" learnable from
the tenant's own data alone.

Thresholds are calibrated per tenant, on data, every time the router is trained: a slice
of each FAQ entry's phrasings (``HOLDOUT_SHARE``) is held out, a router is trained on the
rest, and the held-out (answerable) questions give the score distributions:

- ``oos_threshold``: the ``OOS_BUDGET`` quantile of (best entry score - background score):
  at most that share of answerable questions is handed off as out of scope;
- ``margin_threshold``: the ``LOW_CONFIDENCE_BUDGET`` quantile of (best - second best
  entry score): the least certain answerable questions are handed off as low confidence.

The budgets were chosen on BANKING77's calibration slice (see docs/quality.md).  The
router is then retrained on all phrasings.  With too few phrasings to hold any out (an FAQ without
examples), a fifth of the background lines is held out instead, and ``oos_threshold``
becomes the ``BACKGROUND_PASS_QUANTILE`` quantile of their scores (at most 0: the best
entry beating the background class is always enough).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import embedding
from .background import BACKGROUND

BACKGROUND_CLASS = "__background__"
DOCUMENTS_CLASS = "__documents__"
ROUTER_FILE = "router.pkl"
ROUTER_FORMAT = 1

HOLDOUT_SHARE = 0.15  # of each entry's phrasings, entries with >= HOLDOUT_MIN_PHRASINGS
HOLDOUT_MIN_PHRASINGS = 5
HOLDOUT_MAX = 3000  # held-out questions, at most (training time)
MIN_CALIBRATION = 30  # fewer held-out questions than this: default thresholds
OOS_BUDGET = 0.01  # share of answerable questions allowed to fall under oos_threshold
LOW_CONFIDENCE_BUDGET = 0.005  # share allowed to fall under margin_threshold
DEFAULT_OOS_THRESHOLD = 0.0  # best entry must beat the background class
DEFAULT_MARGIN_THRESHOLD = 0.0
BACKGROUND_PASS_QUANTILE = 0.95  # uncalibrated tenants: share of held-out background handed off
BACKGROUND_MAX_SIMILARITY = 0.85  # background lines this close to a KB phrasing are dropped
EMBEDDING_WEIGHT = 2.0
SVM_C = 0.5
MAX_DOCUMENT_SENTENCES = 4000


@dataclass
class RouterScores:
    ranking: list[tuple[str, float]]  # entry classes (FAQ ids and __documents__), best first
    background: float
    top: str | None
    top_score: float
    margin: float  # top - second (inf with a single class)
    oos_score: float  # top - background

    @property
    def top_is_documents(self) -> bool:
        return self.top == DOCUMENTS_CLASS


@dataclass
class Calibration:
    oos_threshold: float = DEFAULT_OOS_THRESHOLD
    margin_threshold: float = DEFAULT_MARGIN_THRESHOLD
    held_out: int = 0
    held_out_accuracy: float | None = None
    oos_scores: list[float] = field(default_factory=list)  # sorted, for confidence
    margin_scores: list[float] = field(default_factory=list)  # sorted
    calibrated: bool = False
    document_threshold: float | None = None  # set by the policy from retrieval scores


def _vectorizers(n_texts: int):
    from sklearn.feature_extraction.text import TfidfVectorizer

    word = TfidfVectorizer(
        ngram_range=(1, 2), sublinear_tf=True, lowercase=True, token_pattern=r"(?u)\b\w+\b", dtype=np.float32
    )
    char = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2 if n_texts > 200 else 1, dtype=np.float32
    )
    return word, char


class _Analyses:
    """Each text's word and character n-grams, computed once per training run: the
    calibration model and the final one fit and transform the same texts (analysing them
    is most of the TF-IDF time). Exactly the vectorizers' own analysis, so the fitted
    vocabularies and weights are the same as without it."""

    def __init__(self):
        word, char = _vectorizers(0)
        self._analyze = {"word": word.build_analyzer(), "char": char.build_analyzer()}
        self._cache: dict[str, dict[str, list[str]]] = {"word": {}, "char": {}}

    def analyzer(self, kind: str):
        cache, analyze = self._cache[kind], self._analyze[kind]

        def analyzed(text: str) -> list[str]:
            grams = cache.get(text)
            if grams is None:
                grams = cache[text] = analyze(text)
            return grams

        return analyzed


class _Features:
    def __init__(self, texts: list[str], analyses: _Analyses | None = None):
        self.word, self.char = _vectorizers(len(texts))
        if analyses is not None:
            # the memo does the analysis these parameters describe; they are put back by release()
            self._own = [(v, v.get_params(deep=False)) for v in (self.word, self.char)]
            for v, kind in ((self.word, "word"), (self.char, "char")):
                v.set_params(analyzer=analyses.analyzer(kind), ngram_range=(1, 1), token_pattern=None)
        # fit_transform: the training texts' features come with the fit (= transform(texts))
        self._fitted = (self.word.fit_transform(texts), self.char.fit_transform(texts))

    def training_matrix(self, vectors: np.ndarray):
        """The features of the texts fitted on (once: the memo is dropped)."""
        from scipy import sparse

        word, char = self.__dict__.pop("_fitted")
        word.sort_indices()  # as transform() gives them: the same matrix, bit for bit
        char.sort_indices()
        return sparse.hstack([word, char, sparse.csr_matrix(vectors * EMBEDDING_WEIGHT)], format="csr")

    def release(self) -> None:
        """Back to the vectorizers' own analysis (the same n-grams): nothing of the training
        run's memo is kept, or pickled."""
        self.__dict__.pop("_fitted", None)
        for vectorizer, params in self.__dict__.pop("_own", ()):
            vectorizer.set_params(**{k: params[k] for k in ("analyzer", "ngram_range", "token_pattern")})

    def transform(self, texts: list[str], vectors: np.ndarray | None = None):
        from scipy import sparse

        if vectors is None:
            vectors = embedding.embed(texts)
        word, char = self.word.transform(texts), self.char.transform(texts)
        return sparse.hstack([word, char, sparse.csr_matrix(vectors * EMBEDDING_WEIGHT)], format="csr")


class _Model:
    def __init__(self, texts: list[str], labels: list[str], vectors: np.ndarray, analyses: _Analyses | None = None):
        from sklearn.svm import LinearSVC

        self.features = _Features(texts, analyses)
        self.svm = LinearSVC(C=SVM_C, class_weight="balanced")
        self.svm.fit(self.features.training_matrix(vectors), labels)
        self.classes = [str(c) for c in self.svm.classes_]

    def decision(self, texts: list[str], vectors: np.ndarray | None = None) -> np.ndarray:
        d = self.svm.decision_function(self.features.transform(texts, vectors))
        if d.ndim == 1:  # two classes: sklearn gives one column
            d = np.stack([-d, d], axis=1)
        return np.asarray(d, dtype=np.float64)


def _scores_from_row(classes: list[str], row: np.ndarray) -> RouterScores:
    bg_i = classes.index(BACKGROUND_CLASS) if BACKGROUND_CLASS in classes else -1
    background = float(row[bg_i]) if bg_i >= 0 else -np.inf
    order = [i for i in np.argsort(-row, kind="stable") if i != bg_i]
    ranking = [(classes[i], float(row[i])) for i in order]
    if not ranking:
        return RouterScores([], background, None, -np.inf, 0.0, -np.inf)
    top, top_score = ranking[0]
    margin = top_score - ranking[1][1] if len(ranking) > 1 else np.inf
    return RouterScores(ranking, background, top, top_score, margin, top_score - background)


def _split_sentences(text: str) -> list[str]:
    import re

    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip(" -*#") for p in parts if len(p.split()) >= 3]


def _stable_rank(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class Router:
    """Trained from a knowledge base's phrasings; immutable once trained."""

    def __init__(
        self,
        model: _Model | None,
        calibration: Calibration,
        generation: int,
        train_seconds: float = 0.0,
        background: Sequence[str] = (),
    ):
        self.model = model
        self.background = list(background)
        self.calibration = calibration
        self.generation = generation
        self.train_seconds = train_seconds

    @property
    def classes(self) -> list[str]:
        return self.model.classes if self.model else []

    def score(self, question: str, vector: np.ndarray | None = None) -> RouterScores | None:
        if self.model is None:
            return None
        row = self.model.decision([question], None if vector is None else vector[None, :])[0]
        return _scores_from_row(self.model.classes, row)

    def confidence(self, scores: RouterScores) -> float:
        """How typical these scores are of answerable questions, 0..1: the lower of the two
        empirical percentiles (OOS score, margin) among the held-out answerable questions."""
        cal = self.calibration
        if not cal.oos_scores:
            return float(1.0 / (1.0 + np.exp(-min(scores.oos_score, scores.margin))))
        p_oos = np.searchsorted(cal.oos_scores, scores.oos_score) / len(cal.oos_scores)
        p_margin = (
            np.searchsorted(cal.margin_scores, scores.margin) / len(cal.margin_scores)
            if cal.margin_scores and np.isfinite(scores.margin)
            else 1.0
        )
        return float(min(p_oos, p_margin))


def _training_data(
    faq: dict[str, list[str]], passages: list[tuple[str, str]], titles: list[str]
) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    for eid, phrasings in faq.items():
        for p in phrasings:
            texts.append(p)
            labels.append(eid)
    if passages:
        sentences = list(dict.fromkeys(titles + [s for _, text in passages for s in _split_sentences(text)]))
        if len(sentences) > MAX_DOCUMENT_SENTENCES:
            sentences = sorted(sentences, key=_stable_rank)[:MAX_DOCUMENT_SENTENCES]
        texts.extend(sentences)
        labels.extend([DOCUMENTS_CLASS] * len(sentences))
    return texts, labels


def _background(kb_vectors: np.ndarray) -> list[str]:
    lines = list(BACKGROUND)
    if len(kb_vectors) == 0:
        return lines
    bg = embedding.embed(lines)
    best = np.zeros(len(lines), dtype=np.float32)
    for start in range(0, len(kb_vectors), 4096):
        best = np.maximum(best, (bg @ kb_vectors[start : start + 4096].T).max(axis=1))
    return [line for line, sim in zip(lines, best, strict=False) if sim < BACKGROUND_MAX_SIMILARITY]


def train_router(
    faq: dict[str, list[str]],
    passages: Sequence[tuple[str, str]] = (),
    titles: Sequence[str] = (),
    generation: int = 0,
    calibrate: bool = True,
) -> Router:
    """Train (and calibrate) a router from FAQ phrasings and document passages."""
    started = time.perf_counter()
    texts, labels = _training_data(faq, list(passages), list(titles))
    if not texts:
        return Router(None, Calibration(), generation)
    vectors = embedding.embed(texts)
    background = _background(vectors)
    bg_vectors = embedding.embed(background)
    all_texts = texts + background
    all_labels = labels + [BACKGROUND_CLASS] * len(background)
    all_vectors = np.concatenate([vectors, bg_vectors]) if background else vectors
    analyses = _Analyses()

    calibration = Calibration()
    if calibrate:
        held: list[int] = []
        by_entry: dict[str, list[int]] = {}
        for i, lab in enumerate(labels):
            if lab != DOCUMENTS_CLASS:
                by_entry.setdefault(lab, []).append(i)
        for idx in by_entry.values():
            if len(idx) >= HOLDOUT_MIN_PHRASINGS:
                k = max(1, int(round(len(idx) * HOLDOUT_SHARE)))
                held.extend(sorted(idx[1:], key=lambda i: _stable_rank(texts[i]))[:k])  # never the question
        if len(held) > HOLDOUT_MAX:
            held = sorted(held, key=lambda i: _stable_rank(texts[i]))[:HOLDOUT_MAX]
        if len(held) >= MIN_CALIBRATION:
            held_set = set(held)
            keep = [i for i in range(len(all_texts)) if i not in held_set]
            model = _Model([all_texts[i] for i in keep], [all_labels[i] for i in keep], all_vectors[keep], analyses)
            d = model.decision([texts[i] for i in held], vectors[held])
            scored = [_scores_from_row(model.classes, row) for row in d]
            oos = np.sort([s.oos_score for s in scored])
            margins = np.sort([s.margin for s in scored if np.isfinite(s.margin)])
            correct = np.mean([s.top == labels[i] for s, i in zip(scored, held, strict=False)])
            calibration = Calibration(
                oos_threshold=float(np.quantile(oos, OOS_BUDGET)),
                margin_threshold=float(np.quantile(margins, LOW_CONFIDENCE_BUDGET)) if len(margins) else 0.0,
                held_out=len(held),
                held_out_accuracy=float(correct),
                oos_scores=[float(x) for x in oos],
                margin_scores=[float(x) for x in margins],
                calibrated=True,
            )
    if calibrate and not calibration.calibrated and len(background) >= 50:
        calibration = _calibrate_on_background(all_texts, all_labels, all_vectors, len(texts), analyses)
    model = _Model(all_texts, all_labels, all_vectors, analyses)
    model.features.release()
    return Router(model, calibration, generation, time.perf_counter() - started, background)


def _calibrate_on_background(
    all_texts: list[str],
    all_labels: list[str],
    all_vectors: np.ndarray,
    first_background: int,
    analyses: _Analyses | None = None,
) -> Calibration:
    """No answerable questions to hold out (an FAQ without example phrasings): hold out a
    fifth of the background lines instead and let through only questions that look less like
    background than ``BACKGROUND_PASS_QUANTILE`` of them (never stricter than the default)."""
    bg = list(range(first_background, len(all_texts)))
    held = sorted(bg, key=lambda i: _stable_rank(all_texts[i]))[: len(bg) // 5]
    held_set = set(held)
    keep = [i for i in range(len(all_texts)) if i not in held_set]
    model = _Model([all_texts[i] for i in keep], [all_labels[i] for i in keep], all_vectors[keep], analyses)
    d = model.decision([all_texts[i] for i in held], all_vectors[held])
    oos = [_scores_from_row(model.classes, row).oos_score for row in d]
    threshold = min(DEFAULT_OOS_THRESHOLD, float(np.quantile(oos, BACKGROUND_PASS_QUANTILE)))
    return Calibration(
        oos_threshold=threshold, margin_threshold=DEFAULT_MARGIN_THRESHOLD, held_out=len(held), calibrated=False
    )


# ------------------------------------------------------------ persistence


def _fingerprint() -> str:
    import sklearn

    return f"{ROUTER_FORMAT}:{sklearn.__version__}:{embedding.MODEL_NAME}:{len(BACKGROUND)}"


def router_bytes(router: Router) -> bytes:
    """The router as it travels (beside the knowledge base, and inside a shared snapshot):
    a pickle of our own object with the fingerprint of what it was trained with."""
    return pickle.dumps({"fingerprint": _fingerprint(), "router": router}, protocol=pickle.HIGHEST_PROTOCOL)


def router_from_bytes(data: bytes | None, generation: int) -> Router | None:
    """The router in ``data`` if it was trained for ``generation`` of the knowledge base
    with this code, library and embedding model; None (retrain) for anything else: a
    stale, incompatible, truncated or corrupt router is never used."""
    if not data:
        return None
    try:
        loaded = pickle.loads(data)
    except Exception:  # noqa: BLE001 - corrupt or from another version of the code: retrain
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
