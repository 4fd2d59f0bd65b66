"""Which language a customer writes in, for the texts we send back (handoff notices,
small-talk replies) and for a model writing the answer.

py3langid (langid.py's model, restricted to the languages we have texts for, plus a few
neighbours so that Italian or Dutch is not forced onto French or German) on the message;
a message too short to tell ("ok", "hi") keeps the language of the conversation so far,
else the tenant's default.
"""

from __future__ import annotations

import threading

SUPPORTED = ("en", "de", "es", "fr")  # the languages of texts.py
DEFAULT = "en"
_CANDIDATES = [*SUPPORTED, "it", "nl", "pt"]
MIN_PROBABILITY = 0.8  # below this the message alone does not decide
MIN_LETTERS = 6

_lock = threading.Lock()
_identifier = None


def _model():
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier.set_languages(_CANDIDATES)
            _identifier = identifier
    return _identifier


def identify(text: str) -> tuple[str, float]:
    """(ISO 639-1 code, probability) of one text; ("", 0) when it has too few letters."""
    letters = sum(c.isalpha() for c in text)
    if letters < MIN_LETTERS:
        return "", 0.0
    lang, probability = _model().classify(text[:1000])
    return str(lang), float(probability)


def detect(text: str, earlier: tuple[str, ...] | list[str] = (), default: str = DEFAULT) -> str:
    """The language to answer this message in: the message's own when it is clear, else
    the clearest of the customer's earlier messages (newest first), else ``default``."""
    for candidate in (text, *reversed(list(earlier))):
        lang, probability = identify(candidate)
        if lang and probability >= MIN_PROBABILITY:
            return lang
    return default


def texts_language(lang: str) -> str:
    """The language our fixed texts are sent in for ``lang`` (English when we have none)."""
    return lang if lang in SUPPORTED else DEFAULT
