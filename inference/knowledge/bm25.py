"""A small incremental BM25 index (Okapi BM25, k1=1.2, b=0.75) over integer row ids.

Rows can be added and removed one by one (the knowledge base updates incrementally);
postings are compiled to numpy arrays per term on first use and recompiled only for the
terms a change touched, so a query costs a few array operations per query term.
Scores are also returned normalised to [0, 1] by the query's best possible score, which
makes them comparable across queries and fusable with cosine similarities."""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

import numpy as np

K1 = 1.2
B = 0.75

_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
STOPWORDS = frozenset(
    """
a an and are as at be been but by can could did do does doing for from had has have having
how i i'm if in into is it it's its me my of on or our please so than that the their them then
there these they this to too us was we were what when where which who why will with would you
your yours am just also about any some get got want need like would should
""".split()
)


@lru_cache(maxsize=200_000)
def _stem(token: str) -> str:
    if token.endswith("'s"):
        token = token[:-2]
    token = token.replace("'", "")
    if len(token) > 4:
        for suffix in ("ing", "ed", "es", "s"):
            if token.endswith(suffix) and len(token) - len(suffix) >= 3:
                return token[: -len(suffix)]
    return token


def tokenize(text: str) -> list[str]:
    return [_stem(t) for t in _TOKEN_RE.findall(text.lower()) if t not in STOPWORDS]


def term_counts(text: str) -> Counter:
    return Counter(tokenize(text))


class BM25Index:
    def __init__(self) -> None:
        self._postings: dict[str, dict[int, int]] = {}
        self._compiled: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._dirty: set[str] = set()
        self._length: dict[int, int] = {}
        self._terms: dict[int, tuple[str, ...]] = {}
        self._total_length = 0
        self._lengths = np.zeros(0, dtype=np.float32)  # by row id, for fast normalisation
        self._lengths_dirty = False

    def __len__(self) -> int:
        return len(self._length)

    def add(self, row: int, text: str, counts: Counter | None = None) -> None:
        """Index ``text`` as ``row`` (``counts``: its term counts, if already computed)."""
        if row in self._length:
            self.remove(row)
        if counts is None:
            counts = term_counts(text)
        length = sum(counts.values())
        self._length[row] = length
        self._total_length += length
        self._terms[row] = tuple(counts)
        for term, tf in counts.items():
            self._postings.setdefault(term, {})[row] = tf
            self._dirty.add(term)
        self._lengths_dirty = True

    def remove(self, row: int) -> None:
        length = self._length.pop(row, None)
        if length is None:
            return
        self._total_length -= length
        for term in self._terms.pop(row, ()):
            posting = self._postings.get(term)
            if posting is None:
                continue
            posting.pop(row, None)
            if not posting:
                del self._postings[term]
            self._dirty.add(term)
        self._lengths_dirty = True

    def compile(self) -> None:
        """Compile the postings a change touched (done after every write, so that queries
        never pay for it)."""
        for term in self._dirty:
            self._compiled.pop(term, None)
            self._compile(term)
        self._dirty.clear()
        self._refresh_lengths(0)

    def _compile(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        if term in self._dirty:
            self._compiled.pop(term, None)
        hit = self._compiled.get(term)
        if hit is not None:
            return hit
        posting = self._postings.get(term)
        if not posting:
            self._compiled.pop(term, None)
            return None
        rows = np.fromiter(posting.keys(), dtype=np.int64, count=len(posting))
        tfs = np.fromiter(posting.values(), dtype=np.float32, count=len(posting))
        self._compiled[term] = (rows, tfs)
        return rows, tfs

    def _refresh_lengths(self, size: int) -> None:
        if self._lengths_dirty or len(self._lengths) < size:
            lengths = np.zeros(max(size, (max(self._length) + 1) if self._length else 0), dtype=np.float32)
            if self._length:
                idx = np.fromiter(self._length.keys(), dtype=np.int64, count=len(self._length))
                lengths[idx] = np.fromiter(self._length.values(), dtype=np.float32, count=len(self._length))
            self._lengths = lengths
            self._lengths_dirty = False

    def scores(self, query: str, size: int) -> np.ndarray:
        """Normalised BM25 scores in [0, 1] for rows ``0..size-1`` (absent rows score 0)."""
        out = np.zeros(size, dtype=np.float32)
        n = len(self._length)
        if not n:
            return out
        terms = [t for t in dict.fromkeys(tokenize(query))]
        if not terms:
            return out
        self._refresh_lengths(size)
        avgdl = max(self._total_length / n, 1.0)
        best = 0.0
        for term in terms:
            compiled = self._compile(term)
            df = 0 if compiled is None else len(compiled[0])
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            best += idf * (K1 + 1.0)
            if compiled is None:
                continue
            rows, tfs = compiled
            norm = K1 * (1.0 - B + B * self._lengths[rows] / avgdl)
            out[rows] += idf * tfs * (K1 + 1.0) / (tfs + norm)
        if best > 0:
            out /= best
        return out
