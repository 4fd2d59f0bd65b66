"""The fact check of a written answer: every fact it states must be in what it was given.

A fact is a number (prices, amounts, percentages, counts, times of day, years; a number
with a unit, "3 days", is checked with its unit so "3 weeks" does not pass for it), a
number written as a word ("three", "drei", "tres", "trois"), a month or weekday name, an
e-mail address, a URL or phone number, and a proper name (a capitalised word inside a
sentence, or an acronym such as DHL). Sources are the cited passages, the customer's own
message and the tenant's name. A fact passes when it appears in a source; matching is
case-insensitive, ignores thousands separators and ``.00`` cents, and maps number words to
digits both ways. What it cannot see: a wrong claim made only of ordinary words ("returns
are free" when they are not), which is why the answer is also limited to the passages by
the prompt and the customer can always ask for a person.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_NUMBER_WORDS = {
    # en, de, es, fr, 0-12 and a few round ones
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "thirty": 30, "hundred": 100,
    "null": 0, "eins": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7,
    "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12, "zwanzig": 20, "dreißig": 30,
    "cero": 0, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
    "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "veinte": 20, "treinta": 30,
    "deux": 2, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
    "onze": 11, "douze": 12, "vingt": 20, "trente": 30,
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
    "stunden": "hour", "hora": "hour", "horas": "hour", "heure": "hour", "heures": "hour",
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
    r"|(?P<number>\d+(?:[.,:/'\u00a0 ]\d+)*)"
    r"|(?P<word>[^\W\d_][\w'’-]*|[€$£%])",
    re.UNICODE,
)
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n\s*|[-*•]\s+|[\"“(]\s*)$")


@dataclass(frozen=True)
class Fact:
    kind: str  # number | word_number | date | name | contact
    text: str  # as written in the answer


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().replace("’", "'")


def _number_forms(raw: str) -> set[str]:
    """The ways one written number may appear: "1,299.00" → {"1299", "1299.00", "1,299.00"}."""
    raw = raw.replace("\u00a0", " ").strip()
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
    return forms


_CONNECTORS = {
    "to", "-", "–", "bis", "a", "à", "and", "und", "y", "et", "or", "oder", "o", "ou", "business",
    "working", "calendar", "full", "more", "extra", "further", "weitere", "hábiles", "ouvrés",
    "ouvrables", "laborables",
}  # fmt: skip


def _unit_after(tokens: list[tuple[str, str, int]], i: int) -> str | None:
    """The unit written after token i ("3 to 5 business days": days for 3 and 5), or a
    currency symbol right before it ("€50")."""
    for j in range(i + 1, min(i + 5, len(tokens))):
        kind, raw = tokens[j][0], _fold(tokens[j][1])
        if kind == "word" and raw in _UNITS:
            return _UNITS[raw]
        if kind == "number" or (kind == "word" and raw in _CONNECTORS):
            continue
        break
    if i > 0 and tokens[i - 1][0] == "word" and tokens[i - 1][1] in ("€", "$", "£"):
        return _UNITS[tokens[i - 1][1]]
    return None


def _tokens(text: str) -> list[tuple[str, str, int]]:
    return [(m.lastgroup or "", m.group(), m.start()) for m in _TOKEN.finditer(text)]


class Sources:
    """What an answer may state: the texts it was given, indexed once for many checks."""

    def __init__(self, texts: Iterable[str]):
        self.text = "\n".join(t for t in texts if t)
        folded = _fold(self.text)
        self.folded = folded
        self.words = set(re.findall(r"[^\W\d_][\w'-]*", folded))
        tokens = _tokens(self.text)
        self.numbers: set[str] = set()
        self.number_units: set[tuple[str, str]] = set()
        self.values: set[int] = set()
        for i, (kind, raw, _) in enumerate(tokens):
            if kind == "number":
                forms = _number_forms(raw)
                self.numbers |= forms
                unit = _unit_after(tokens, i)
                for form in forms:
                    if unit:
                        self.number_units.add((form, unit))
                    if form.isdigit():
                        self.values.add(int(form))
            elif kind == "word" and _fold(raw) in _NUMBER_WORDS:
                value = _NUMBER_WORDS[_fold(raw)]
                self.values.add(value)
                self.numbers.add(str(value))
                unit = _unit_after(tokens, i)
                if unit:
                    self.number_units.add((str(value), unit))
        self.dates = {_MONTHS[w] for w in self.words if w in _MONTHS}

    def supports_number(self, raw: str, unit: str | None) -> bool:
        forms = _number_forms(raw)
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
    tokens = _tokens(answer)
    found: list[tuple[Fact, str | None]] = []
    for i, (kind, raw, start) in enumerate(tokens):
        if kind in ("email", "url"):
            found.append((Fact("contact", raw.rstrip(".,;:!?")), None))
        elif kind == "number":
            found.append((Fact("number", raw.strip()), _unit_after(tokens, i)))
        elif kind == "word":
            word = _fold(raw)
            if word in _NUMBER_WORDS and word not in _AMBIGUOUS_WORDS:
                found.append((Fact("word_number", raw), _unit_after(tokens, i)))
            elif word in _MONTHS and not (word in ("may", "mars", "an", "mai") and raw.islower()):
                found.append((Fact("date", raw), None))
            elif raw[:1].isupper() and word not in _NOT_NAMES and word not in _UNITS:
                acronym = len(raw) >= 2 and raw.isupper()
                at_start = bool(_SENTENCE_START.search(answer[:start]))
                # German capitalises every noun: there only acronyms count as names
                if acronym or (not at_start and language != "de"):
                    found.append((Fact("name", raw), None))
    return found


def unsupported(answer: str, sources: Sources, *, language: str = "en") -> list[Fact]:
    """The facts of ``answer`` that no source states (empty: the answer passes)."""
    missing: list[Fact] = []
    for fact, unit in facts(answer, language=language):
        if fact.kind == "number":
            ok = sources.supports_number(fact.text, unit)
        elif fact.kind == "word_number":
            value = _NUMBER_WORDS[_fold(fact.text)]
            ok = sources.supports_number(str(value), unit) or _fold(fact.text) in sources.words
        elif fact.kind == "date":
            ok = _MONTHS[_fold(fact.text)] in sources.dates
        elif fact.kind == "contact":
            ok = _fold(fact.text) in sources.folded
        else:
            ok = _fold(fact.text).strip("'-") in sources.words or _fold(fact.text) in sources.folded
        if not ok:
            missing.append(fact)
    return missing


_SENTENCE_END = re.compile(r"(?<=[.!?…。])[\"”)\]]*\s+|\n+")


def split_sentences(text: str) -> tuple[list[str], str]:
    """(complete sentences with their trailing space, the unfinished rest) of streamed text.
    A full stop after a digit ("3.5") or a single capital ("Mr. X" is not split out,
    e.g. "U.S.") does not end a sentence."""
    done: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        piece = text[start:end]
        before = text[: match.start()]
        if re.search(r"(?:\d|\b[A-Z]|\b(?:e\.g|i\.e|z\.B|etc|approx|ca|Nr|No))\.$", before):
            continue
        done.append(piece)
        start = end
    return done, text[start:]
