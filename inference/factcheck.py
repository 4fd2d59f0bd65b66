"""The fact check of a written answer: every fact it states must be in what it was given.

A fact is a number (prices, amounts, percentages, counts, times of day, years; a number
with a unit, "3 days", is checked with its unit so "3 weeks" does not pass for it), a
number written as a word ("three", "drei", "tres", "trois"), a month or weekday name, an
e-mail address, a URL or phone number, and a proper name (a capitalised word inside a
sentence, or an acronym such as DHL). Sources are the cited passages, the customer's own
message and the tenant's name. A fact passes when it appears in a source; matching is
case-insensitive, ignores thousands separators and ``.00`` cents, and maps number words to
digits both ways. :func:`contradicts` adds one check of meaning: a sentence that restates a
passage sentence must agree with it on negation and restriction ("without an appointment"
vs "you need an appointment"; "only covered if" vs "covered"); :func:`left_out` the other
direction for a translation, which must keep every fact of its original. What it cannot see: other
wrong claims made only of ordinary words, measured in docs/quality.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_NUMBER_WORDS = {
    # en, de, es, fr: 0-20, the tens, hundred, thousand, million
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "thousand": 1000, "million": 1_000_000,
    "null": 0, "eins": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7,
    "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12, "dreizehn": 13, "vierzehn": 14,
    "fünfzehn": 15, "sechzehn": 16, "siebzehn": 17, "achtzehn": 18, "neunzehn": 19, "zwanzig": 20,
    "dreißig": 30, "vierzig": 40, "fünfzig": 50, "sechzig": 60, "siebzig": 70, "achtzig": 80,
    "neunzig": 90, "hundert": 100, "tausend": 1000,
    "cero": 0, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
    "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14,
    "quince": 15, "dieciséis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19,
    "veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70,
    "ochenta": 80, "noventa": 90, "cien": 100, "mil": 1000,
    "deux": 2, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
    "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "vingt": 20,
    "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60, "mille": 1000,
}  # fmt: skip
# "one", "uno", "un(e)", "ein(e)" are articles as often as numbers: not checked as words
_AMBIGUOUS_WORDS = {"one", "uno", "eins", "once"}

_UNITS = {
    "day": "day", "days": "day", "werktag": "day", "werktage": "day", "werktagen": "day",
    "arbeitstage": "day", "arbeitstagen": "day", "tag": "day", "tage": "day", "tagen": "day", "día": "day", "días": "day",
    "dia": "day", "dias": "day", "jour": "day", "jours": "day",
    "week": "week", "weeks": "week", "woche": "week", "wochen": "week", "semana": "week",
    "semanas": "week", "semaine": "week", "semaines": "week",
    "month": "month", "months": "month", "monat": "month", "monate": "month", "monaten": "month",
    "mes": "month", "meses": "month", "mois": "month",
    "year": "year", "years": "year", "jahr": "year", "jahre": "year", "jahren": "year", "año": "year",
    "años": "year", "an": "year", "ans": "year", "année": "year", "années": "year",
    "hour": "hour", "hours": "hour", "hr": "hour", "hrs": "hour", "h": "hour", "stunde": "hour",
    "stunden": "hour", "uhr": "hour", "hora": "hour", "horas": "hour", "heure": "hour", "heures": "hour",
    "minute": "minute", "minutes": "minute", "min": "minute", "mins": "minute", "minuten": "minute",
    "minuto": "minute", "minutos": "minute",
    "%": "percent", "percent": "percent", "per cent": "percent", "prozent": "percent",
    "por ciento": "percent", "pour cent": "percent",
    "€": "eur", "eur": "eur", "euro": "eur", "euros": "eur", "$": "usd", "usd": "usd",
    "dollar": "usd", "dollars": "usd", "£": "gbp", "gbp": "gbp", "pound": "gbp", "pounds": "gbp",
    "chf": "chf", "km": "km", "kg": "kg",
}  # fmt: skip
_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "januar": 1, "februar": 2, "märz": 3, "mai": 5, "juni": 6, "juli": 7, "oktober": 10,
    "dezember": 12, "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6,
    "julio": 7, "agosto": 8, "septiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    "janvier": 1, "février": 2, "mars": 3, "avril": 4, "juin": 6, "juillet": 7, "août": 8,
    "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12,
    "monday": 101, "tuesday": 102, "wednesday": 103, "thursday": 104, "friday": 105,
    "saturday": 106, "sunday": 107, "montag": 101, "dienstag": 102, "mittwoch": 103,
    "donnerstag": 104, "freitag": 105, "samstag": 106, "sonntag": 107, "lunes": 101,
    "martes": 102, "miércoles": 103, "jueves": 104, "viernes": 105, "sábado": 106,
    "domingo": 107, "lundi": 101, "mardi": 102, "mercredi": 103, "jeudi": 104, "vendredi": 105,
    "samedi": 106, "dimanche": 107,
}  # fmt: skip
# capitalised words that are not names: sentence-level words a reply starts with or uses
_NOT_NAMES = {
    "i", "i'm", "i'll", "i've", "i'd", "ok", "okay", "yes", "no", "please", "thanks", "thank", "hello",
    "hi", "sorry", "unfortunately", "however", "also", "you", "your", "we", "our", "the", "a", "an",
    "if", "for", "to", "this", "that", "it", "there", "here", "usted", "sie", "ihr", "ihnen", "vous",
    "nous", "faq", "ai",
}  # fmt: skip

_TOKEN = re.compile(
    r"(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<url>(?:https?://|www\.)[^\s<>()\"']+)"
    r"|(?P<number>\d+(?:[.,:/'\u00a0]\d+|[ \u202f]\d{3}(?!\d))*)"
    r"|(?P<word>[^\W\d_][\w'’-]*|[€$£%])",
    re.UNICODE,
)
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n\s*|[-*•]\s+|[\"“(]\s*)$")


@dataclass(frozen=True)
class Fact:
    kind: str  # number | word_number | date | name | contact | meaning (grounded.py)
    text: str  # as written in the answer


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().replace("’", "'")


def _number_forms(raw: str) -> set[str]:
    """The ways one written number may appear: "1,299.00" → {"1299", "1299.00", "1,299.00", ...};
    "12.50" also as "12.5", "04" also as "4"."""
    raw = raw.replace("\u00a0", " ").replace("\u202f", " ").strip()
    forms = {raw}
    if ":" in raw or "/" in raw:
        return forms
    compact = re.sub(r"[ ']", "", raw)
    forms.add(compact)
    for cents in (".00", ",00", ".-", ",-"):
        if compact.endswith(cents):
            compact = compact[: -len(cents)]
            forms.add(compact)
    digits = re.sub(r"[.,](?=\d{3}\b)", "", compact)  # thousands separators
    forms.add(digits)
    forms.add(digits.replace(",", "."))
    for form in list(forms):
        if re.fullmatch(r"\d+[.,]\d*?0+", form):
            forms.add(form.rstrip("0").rstrip(".,"))
        if re.fullmatch(r"0\d+", form):
            forms.add(form.lstrip("0") or "0")
    return forms


def _word_value(word: str) -> int | None:
    """The value of a number word ("fifteen", "forty-five"), None if it is not one."""
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    parts = re.split(r"[-‐]", word)
    if len(parts) > 1 and all(p in _NUMBER_WORDS for p in parts):
        return sum(_NUMBER_WORDS[p] for p in parts)
    return None


_CONNECTORS = {
    "to", "-", "–", "bis", "and", "und", "y", "et", "or", "oder", "o", "ou", "business",
    "working", "calendar", "full", "more", "extra", "further", "weitere", "hábiles", "ouvrés",
    "ouvrables", "laborables",
}  # fmt: skip
_RANGE_WORDS = {"a", "à"}  # "de 3 a 5 días": a connector only between two numbers


def _unit_after(tokens: list[tuple[str, str, int]], i: int) -> str | None:
    """The unit of the number at token i: a currency symbol right before it ("€50"), else
    the unit written after it ("3 to 5 business days": days for 3 and 5)."""
    if i > 0 and tokens[i - 1][0] == "word" and tokens[i - 1][1] in ("€", "$", "£"):
        return _UNITS[tokens[i - 1][1]]
    for j in range(i + 1, min(i + 5, len(tokens))):
        kind, raw = tokens[j][0], _fold(tokens[j][1])
        if kind == "word" and raw in _UNITS:
            return _UNITS[raw]
        if kind == "number" or (kind == "word" and raw in _CONNECTORS):
            continue
        if kind == "word" and raw in _RANGE_WORDS and j + 1 < len(tokens) and tokens[j + 1][0] == "number":
            continue
        break
    return None


def _tokens(text: str) -> list[tuple[str, str, int]]:
    return [(m.lastgroup or "", m.group(), m.start()) for m in _TOKEN.finditer(text)]


def _date_value(word: str) -> int | None:
    """The month or weekday a folded word names, plurals too: "Sundays", "sonntags", "lundis"."""
    if word in _MONTHS:
        return _MONTHS[word]
    if len(word) > 4 and word.endswith("s") and word[:-1] in _MONTHS and _MONTHS[word[:-1]] > 100:
        return _MONTHS[word[:-1]]
    return None


_ISO_DATE = re.compile(r"\b\d{4}-(\d{2})-(\d{2})\b")
_AMBIGUOUS_MONTHS = {"may", "mai", "mars"}  # also verbs, names: dates only next to a number


class Sources:
    """What an answer may state: the texts it was given, indexed once for many checks."""

    def __init__(self, texts: Iterable[str]):
        self.passages = [unicodedata.normalize("NFKC", t) for t in texts if t]
        self.text = "\n".join(self.passages)
        folded = _fold(self.text)
        self.folded = folded
        self.words = set(re.findall(r"[^\W\d_][\w'-]*", folded))
        tokens = _tokens(self.text)
        self.numbers: set[str] = set()
        self.number_units: set[tuple[str, str]] = set()
        self.hours: set[str] = set()  # times on the hour, "8:00": also "8 h", "8 Uhr"
        for i, (kind, raw, _) in enumerate(tokens):
            value = _word_value(_fold(raw)) if kind == "word" else None
            if kind != "number" and value is None:
                continue
            forms = _number_forms(raw) if kind == "number" else {str(value)}
            on_the_hour = re.fullmatch(r"(\d{1,2})[:.]00", raw)
            if on_the_hour:  # "8:00" is also written "8 h", "8 Uhr", "8h"
                self.hours.add(str(int(on_the_hour.group(1))))
            self.numbers |= forms
            unit = _unit_after(tokens, i)
            if unit:
                self.number_units |= {(form, unit) for form in forms}
        self.dates = {v for v in map(_date_value, self.words) if v is not None}
        for month, day in _ISO_DATE.findall(self.text):  # a tool's "2026-12-04"
            if 1 <= int(month) <= 12:
                self.dates.add(int(month))
                self.numbers.add(str(int(day)))

    def supports_number(self, raw: str, unit: str | None) -> bool:
        forms = _number_forms(raw)
        if unit == "hour" and forms & self.hours:
            return True
        if not forms & self.numbers:
            return False
        if unit is None:
            return True
        # the number is there; with a unit it must be there with the same unit, unless the
        # sources never give that number a unit (a bare "30" in "30 days' notice" text)
        if any((form, unit) in self.number_units for form in forms):
            return True
        return not any(form == n for form in forms for n, _ in self.number_units)


def facts(answer: str, *, language: str = "en") -> list[tuple[Fact, str | None]]:
    """The facts stated in ``answer``, each with its unit (numbers) or None."""
    answer = unicodedata.normalize("NFKC", answer)
    tokens = _tokens(answer)
    found: list[tuple[Fact, str | None]] = []
    for i, (kind, raw, start) in enumerate(tokens):
        if kind in ("email", "url"):
            found.append((Fact("contact", raw.rstrip(".,;:!?")), None))
        elif kind == "number":
            end = start + len(raw)
            if answer[end : end + 1] in (".", ")") and re.search(r"(?:^|\n)\s*$", answer[:start]):
                continue  # "1. Sign in": list numbering
            found.append((Fact("number", raw.strip()), _unit_after(tokens, i)))
        elif kind == "word":
            word = _fold(raw)
            if _word_value(word) is not None and word not in _AMBIGUOUS_WORDS:
                found.append((Fact("word_number", raw), _unit_after(tokens, i)))
            elif _date_value(word) is not None:
                near_number = any(0 <= j < len(tokens) and tokens[j][0] == "number" for j in (i - 1, i + 1))
                if word not in _AMBIGUOUS_MONTHS or near_number:
                    found.append((Fact("date", raw), None))
            elif raw[:1].isupper() and word not in _NOT_NAMES and word not in _UNITS:
                acronym = len(raw) >= 2 and raw.isupper()
                at_start = bool(_SENTENCE_START.search(answer[:start]))
                # German capitalises every noun: there only acronyms count as names
                if acronym or (not at_start and language != "de"):
                    found.append((Fact("name", raw), None))
    return found


def _supported(fact: Fact, unit: str | None, sources: Sources) -> bool:
    if fact.kind == "number":
        return sources.supports_number(fact.text, unit)
    if fact.kind == "word_number":
        value = _word_value(_fold(fact.text))
        return sources.supports_number(str(value), unit) or _fold(fact.text) in sources.words
    if fact.kind == "date":
        return _date_value(_fold(fact.text)) in sources.dates
    if fact.kind == "contact":
        return _fold(fact.text) in sources.folded
    return _fold(fact.text).strip("'-") in sources.words or _fold(fact.text) in sources.folded


#: what the customer's own words may vouch for: an order number, a name, a date they
#: gave; never an address to write to, a price, a percentage or an amount of money
_CUSTOMER_MAY_STATE = {"number", "word_number", "date", "name"}
_MONEY = {"eur", "usd", "gbp", "chf", "percent"}


def unsupported(answer: str, sources: Sources, *, language: str = "en", customer: Sources | None = None) -> list[Fact]:
    """The facts of ``answer`` that no source states (empty: the answer passes). ``customer``
    (the customer's messages) vouches only for what _CUSTOMER_MAY_STATE allows."""
    missing: list[Fact] = []
    for fact, unit in facts(answer, language=language):
        if _supported(fact, unit, sources):
            continue
        if (
            customer is not None
            and fact.kind in _CUSTOMER_MAY_STATE
            and unit not in _MONEY
            and _supported(fact, unit, customer)
            # a name only as the customer wrote it: "can the software chase them" does not
            # vouch for a feature called "Chase overdue invoices"
            and (fact.kind != "name" or fact.text in customer.text)
        ):
            continue
        missing.append(fact)
    return missing


_SENTENCE_END = re.compile(r"(?<=[.!?…。])[\"”)\]]*\s+|\n+")


def split_sentences(text: str) -> tuple[list[str], str]:
    """(complete sentences with their trailing space, the unfinished rest) of streamed text.
    A full stop after a list number ("1. Sign in"), a single capital ("U.S.") or a common
    abbreviation does not end a sentence; "3.5" never looks like one (no space)."""
    done: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        piece = text[start:end]
        before = text[: match.start()]
        if re.search(r"(?:(?:^|\n)\s*\d{1,2}|\b[A-Z]|\b(?:e\.g|i\.e|z\.B|etc|approx|ca|Nr|No))\.$", before):
            continue
        done.append(piece)
        start = end
    return done, text[start:]


# -- meaning: negations and restrictions -------------------------------------------------------
# A small model's worst errors are made of ordinary words: "you need an appointment" for
# "without an appointment", "covered" for "only covered if ...". So a written sentence must
# agree with the passage sentence it is closest to on whether it negates or restricts.
_NEGATIONS = {
    "not", "no", "never", "without", "cannot", "can't", "won't", "don't", "doesn't", "isn't", "aren't",
    "didn't", "wasn't", "none", "nicht", "kein", "keine", "keinen", "nie", "ohne", "pas", "jamais",
    "sans", "aucun", "aucune", "nunca", "sin", "ningún", "ninguna",
}  # fmt: skip
_RESTRICTIONS = {
    "only", "except", "unless", "nur", "außer", "sauf", "seulement", "uniquement", "solo", "sólo",
    "solamente", "excepto", "salvo", "half", "some", "most", "if", "wenn", "falls", "si",
}  # fmt: skip
_STOP = {
    "the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "is", "are", "be", "you", "your", "we",
    "our", "it", "this", "that", "with", "can", "will", "by", "at", "as", "yes", "do", "i",
}  # fmt: skip
_MIN_OVERLAP = 0.3  # below this a passage sentence is not one the written sentence restates


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W\d_][\w'’]*", _fold(text).replace("n’t", "n't")))


def _marks(words: set[str]) -> tuple[bool, bool]:
    negated = bool(words & _NEGATIONS) or any(w.endswith("n't") for w in words)
    return negated, bool(words & _RESTRICTIONS)


def contradicts(sentence: str, passages: Iterable[str]) -> bool:
    """The sentence restates passage sentences but drops (or adds) a negation or restriction.
    It must keep what any passage sentence it draws on negates or restricts: the closest
    one, and any other that gives it words the closest lacks ("basic insurance covers
    fillings for adults" draws on "children are covered by basic insurance" and on "for
    adults, fillings are only covered if ...")."""
    words = _words(sentence)
    content = words - _STOP - _NEGATIONS - _RESTRICTIONS
    if len(content) < 3:
        return False
    near = [
        (len(content & other) / len(content), other)
        for passage in passages
        for other in map(_words, re.split(r"(?<=[.!?;])\s+|\n+", passage))
        if len(content & other) / len(content) >= _MIN_OVERLAP
    ]
    if not near:
        return False
    near.sort(key=lambda pair: -pair[0])
    closest = near[0][1]
    # the closest, and any other that gives the sentence words the closest does not have
    drawn_on = [closest, *(other for _, other in near[1:] if (content & other) - closest)]
    return _marks(words) != _marks(set().union(*drawn_on))


def problems(
    text: str,
    sources: Sources,
    *,
    language: str = "en",
    customer: Sources | None = None,
    restates: Iterable[str] = (),
) -> list[Fact]:
    """Everything the check holds against ``text`` (a sentence or a whole answer): its facts
    that no source states, else a sentence that restates one of ``restates`` without its
    negation or restriction (one "meaning" fact, the sentence's start)."""
    bad = unsupported(text, sources, language=language, customer=customer)
    if bad:
        return bad
    restates = list(restates)
    sentences, rest = split_sentences(text)
    for sentence in [*sentences, rest]:
        if sentence.strip() and contradicts(sentence, restates):
            return [Fact("meaning", " ".join(sentence.split())[:80])]
    return []


def left_out(original: str, translation: str) -> list[Fact]:
    """The facts of ``original`` that ``translation`` does not state: its numbers, number
    words, days and months, e-mails and links (names may be translated: "Germany" is
    "Allemagne"). A translation must keep them all: "closed on Sundays" rendered "fermé le
    samedi" passes the forward check (Saturday is in the entry too) and fails this one."""
    kept = Sources([translation])
    missing = []
    for fact, _unit in facts(original):
        if fact.kind not in ("number", "word_number", "date", "contact") or _supported(fact, None, kept):
            continue
        on_the_hour = re.fullmatch(r"(\d{1,2})[:.]00", fact.text)
        if on_the_hour and str(int(on_the_hour.group(1))) in kept.numbers:
            continue  # "8:00" as "8h", "8 Uhr"
        missing.append(fact)
    return missing
