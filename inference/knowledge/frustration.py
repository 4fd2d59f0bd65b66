"""Is the customer upset or in a hurry enough that a person should take over?

An angry customer who gets a canned FAQ answer gets angrier; one who is told a person is
coming usually waits. Signals, each worth points (``is_frustrated``: FRUSTRATED_AT or more):

- anger words and phrases, in English, German, Spanish and French ("furious",
  "unacceptable", "third time", "Frechheit", "inaceptable", "inadmissible", "nobody was
  there", an ultimatum: "... or we're leaving"): 2 each, at most 4;
- repeated failure ("again", "still", "for the last time") and demands ("now",
  "immediately", "I want my money back"): 1 each kind;
- shouting: most letters in capitals, or "!!": 1 each;
- strongly negative sentiment (VADER compound <= -0.6, English only): 1.

A plain complaint ("my parcel hasn't arrived yet") scores 0 or 1 and is answered from the
knowledge base; "this is the THIRD time my repair is late, I want my money back NOW"
scores well over 2. Written from general knowledge of how angry customers write; checked
on the dev half of tools/quality/plain_faq and on BANKING77/Bitext questions for false
alarms (docs/quality.md).
"""

from __future__ import annotations

import re
import threading

FRUSTRATED_AT = 2

_ANGER = re.compile(
    r"\b(?:furious|livid|outraged|outrageous|angry|so\s+mad|pissed(?:\s+off)?|fed\s+up|sick\s+(?:and\s+tired\s+)?of|"
    r"had\s+enough|ridiculous|unacceptable|disgrace(?:ful)?|disgusting|appalling|pathetic|useless|incompetent|"
    r"terrible\s+service|awful\s+service|worst\s+(?:service|company|experience|shop|store)|scam(?:mers?)?|rip[- ]?off|"
    r"lawyer|sue\s+you|legal\s+action|report\s+you|chargeback|disaster|nightmare|"
    r"no(?:body|\s+one)\s+(?:is\s+)?(?:answer(?:s|ing)?|respond(?:s|ing)?|repl(?:ies|ying)|get(?:s|ting)\s+back)|"
    r"no(?:body|\s+one)\s+(?:was|is)\s+(?:there|here)|"
    r"or\s+(?:we|i)(?:'re|\s+are|'m|\s+am|'ll|\s+will)\s+(?:leaving|leave|going\s+(?:to\s+leave|elsewhere)|"
    r"cancel(?:l?ing)?|switching)|"
    r"niemand\s+(?:antwortet|meldet\s+sich|(?:war|ist)\s+(?:da|hier))|genervt|no\s+hab[ií]a\s+nadie|"
    r"il\s+n'y\s+avait\s+personne|nadie\s+(?:me\s+)?(?:responde|contesta)|"
    r"personne\s+ne\s+(?:me\s+)?r[ée]pond|"
    r"(?:second|third|fourth|fifth|3rd|4th|5th|2nd)\s+time|how\s+many\s+times|never\s+(?:again|buying)|"
    r"what\s+the\s+(?:hell|heck|fuck)|wtf|fuck(?:ing)?|shit(?:ty)?|damn|bloody|crap|"
    r"w[uü]tend|sauer|frechheit|unversch[aä]mt|unm[oö]glich|inakzeptabel|katastrophe|betrug|anwalt|"
    r"zum\s+(?:dritten|zweiten|x-ten)\s+mal|schon\s+wieder|reicht\s+mir|"
    r"furios[oa]|enfadad[oa]|harto|hart[ao]|inaceptable|vergonzoso|verg[uü]enza|estafa|abogado|"
    r"(?:tercera|segunda)\s+vez|otra\s+vez\s+lo\s+mismo|"
    r"furieux|furieuse|en\s+col[eè]re|inadmissible|inacceptable|honteux|scandaleux|arnaque|escroquerie|avocat|"
    r"(?:troisi[eè]me|deuxi[eè]me)\s+fois|j'en\s+ai\s+marre|ras\s+le\s+bol)\b",
    re.IGNORECASE,
)
_REPEATED = re.compile(
    r"\b(?:again|still|yet\s+again|once\s+more|for\s+the\s+last\s+time|every\s+time|always\s+the\s+same|"
    r"immer\s+noch|wieder|todav[ií]a|de\s+nuevo|toujours\s+pas|encore)\b",
    re.IGNORECASE,
)
# "will I still get ...": a question about keeping something, not a repeated failure
_KEEPING = re.compile(
    r"\b(?:will|would|can|could|do|does|should|shall)\s+(?:i|we|you|it|they)\s+still\b", re.IGNORECASE
)
# demands (a refund on its own is a normal request: one point, not anger)
_DEMAND = re.compile(
    r"\b(?:now|right\s+now|immediately|asap|at\s+once|urgent(?:ly)?|i\s+demand|money\s+back|sofort|jetzt|dringend|"
    r"geld\s+zur[uü]ck|dinero\s+de\s+vuelta|devu[eé]lvanme|rembourse[zr]?[- ]moi|"
    r"ahora\s+mismo|ya\b|inmediatamente|urgente|maintenant|imm[ée]diatement|tout\s+de\s+suite)\b",
    re.IGNORECASE,
)

_vader_lock = threading.Lock()
_vader = None


def _compound(text: str) -> float:
    global _vader
    with _vader_lock:
        if _vader is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            _vader = SentimentIntensityAnalyzer()
    return float(_vader.polarity_scores(text)["compound"])


def score(message: str, language: str = "en") -> int:
    text = message[:2000]
    points = min(4, 2 * len(_ANGER.findall(text)))
    points += 1 if _REPEATED.search(_KEEPING.sub(" ", text)) else 0
    points += 1 if _DEMAND.search(text) else 0
    letters = [c for c in text if c.isalpha()]
    capitals = [c for c in letters if c.isupper()]
    if len(letters) >= 12 and len(capitals) / len(letters) > 0.6:
        points += 1
    elif re.search(r"\b[A-Z]{3,}\b", text) and re.search(
        r"\b(?:NOW|THIRD|AGAIN|NEVER|STILL|NOTHING|NOBODY|TWO|THREE|FOUR|FIVE|DAYS|WEEKS|NIGHTS|HOURS|JETZT|YA|"
        r"MAINTENANT)\b",
        text,
    ):
        points += 1  # one shouted word of urgency
    if "!!" in text:
        points += 1
    if language == "en" and points and _compound(text) <= -0.6:
        points += 1
    return points


def is_frustrated(message: str, language: str = "en") -> bool:
    return score(message, language) >= FRUSTRATED_AT
