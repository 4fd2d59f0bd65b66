"""Words of a message for the conversation search, the same on every store: both the SQLite
index (FTS5) and the CQL term index are fed these terms, and a query is cut into terms the
same way, so a search finds the same messages on either store."""

from __future__ import annotations

import re
import unicodedata

from frontdesk_pb.common.v1 import common_pb2 as common

MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 8
MAX_TERM_CHARS = 40  # longer words (hashes, links) are cut here, in messages and queries alike
MAX_MESSAGE_TERMS = 300  # distinct words of one message that are indexed
# what the team and the customer wrote; the platform's own notices are not worth finding
SEARCHED_ROLES = frozenset({common.ROLE_CUSTOMER, common.ROLE_AI, common.ROLE_AGENT})

_WORD = re.compile(r"[^\W_]+")


def _fold(text: str) -> str:
    """Lower case without accents: "Rückgabe" and "ruckgabe" are one word."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _words(text: str):
    for word in _WORD.findall(_fold(text)):
        if len(word) >= 2 or word.isdigit():
            yield word[:MAX_TERM_CHARS]


def message_terms(message: common.Message) -> list[str]:
    """The distinct words a message is found by, in order of first use; [] for a message the
    search leaves out."""
    if message.role not in SEARCHED_ROLES:
        return []
    seen: dict[str, None] = {}
    for word in _words(message.text):
        seen.setdefault(word, None)
        if len(seen) == MAX_MESSAGE_TERMS:
            break
    return list(seen)


def query_terms(query: str) -> list[str]:
    """The words of a search; ValueError with a sentence for the operator when there is none
    or too much."""
    if len(query) > MAX_QUERY_CHARS:
        raise ValueError(f"query: at most {MAX_QUERY_CHARS} characters")
    terms = list(dict.fromkeys(_words(query)))
    if not terms:
        raise ValueError("query: give at least one word to search for")
    if len(terms) > MAX_QUERY_TERMS:
        raise ValueError(f"query: at most {MAX_QUERY_TERMS} words")
    return terms


def snippet(text: str, terms: list[str], width: int = 160) -> str:
    """About `width` characters of `text` around the first word that matches."""
    if len(text) <= width:
        return text
    folded = _fold(text)
    # folding keeps one character per character for nearly all text; where it does not
    # (ligatures, some scripts) the position is only approximate, which a snippet allows
    hits = [m.start() for m in _WORD.finditer(folded) if m.group()[:MAX_TERM_CHARS] in terms]
    at = min(hits[0] * len(text) // max(len(folded), 1), len(text)) if hits else 0
    start = max(0, min(at - width // 3, len(text) - width))
    end = start + width
    if start:  # start and end on a word boundary
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < at else start
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > at else end
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")
