"""Does the customer ask for a person?  Hand-written patterns (English), no model.

Written from general knowledge of how people ask, then checked against the development
half of the Bitext ``contact_human_agent`` intent and against BANKING77's training
questions for false alarms; the Bitext test half is only used to report the figure
(docs/quality.md).  A question *about* people ("do I need to talk to someone to close my
account?") is not a request."""

from __future__ import annotations

import re

_PERSON = (
    r"(?:(?:real|live|actual|human|proper|genuine)\s+)?"
    r"(?:human(?:\s+being|\s+agent)?s?|person|people|some\s?(?:one|body)|somneone|somone|sombody|"
    r"agent|operator|representative|rep|staff(?:\s+member)?|employee|manager|supervisor|"
    r"advis[oe]r|assistant|associate|consultant|team\s+member|member\s+of\s+(?:staff|(?:the|your)\s+team)|"
    r"receptionist|front\s+desk|"
    r"(?:customer\s+)?(?:service|support|care)\s+(?:agent|rep|representative|team|person|staff)|"
    r"customer\s+(?:service|support|care))"
)
_DET = (
    r"(?:(?:a|an|the|some|your|one\s+of\s+your|with|to|me|us|damn|goddamn|bloody|fucking|"
    r"freaking|effing)\s+)*"
)
_TALK = r"(?:talk|talking|talkint|speak|speaking|chat|chatting|communicate|discuss\s+(?:this|it))"
_REACH = (
    r"(?:contact|contacting|reach|reaching|call|calling|phone|ring|get\s+in\s+touch\s+with|"
    r"connect(?:ed)?\s+(?:me\s+)?(?:to|with)|transfer(?:red)?\s+(?:me|us)\s+to|put\s+me\s+through\s+to|"
    r"escalate\s+(?:this\s+|it\s+)?to|hand\s+(?:me\s+)?(?:over\s+)?to|pass\s+me\s+(?:on\s+)?to)"
)

_REQUEST = re.compile(
    r"|".join(
        [
            rf"\b{_TALK}\s*(?:to|with|wth|w/?)\s*{_DET}{_PERSON}\b",
            rf"\b{_REACH}\s+{_DET}{_PERSON}\b",
            rf"\b(?:want|need|get|give|find|send|bring)\s+(?:me\s+)?{_DET}(?:real|live|actual|human)\s+"
            rf"(?:person|agent|human|operator|representative|one)\b",
            rf"\b(?:want|need|get\s+me|give\s+me|i'?d\s+like)\s+{_DET}(?:human|operator|representative|live\s+agent|human\s+agent)\b",
            r"\b(?:human|live|real)\s+(?:agent|operator|representative|person|support)\b",
            r"\b(?:real|actual)\s+human\b",
            r"\bnot\s+(?:a\s+|talk(?:ing)?\s+to\s+a\s+)?(?:bot|robot|machine)\b",
            r"\b(?:stop|no\s+more)\s+(?:the\s+)?(?:bot|robot|machine)\b",
            # a person comes to the customer: "can someone from your team call me?"
            rf"\b{_DET}{_PERSON}(?:\s+from\s+(?:your|the)\s+[\w-]+)?\s+(?:to\s+)?"
            r"(?:call|ring|phone|contact|email|text)\s+me\b",
            rf"\b(?:can|could|would)\s+{_DET}(?:real\s+|actual\s+)?(?:human|person|agent|someone|somebody|member\s+of\s+staff)"
            r"\s+(?:please\s+)?(?:look\s+(?:at|into)|check|review|take\s+a\s+look)\b",
        ]
    ),
    re.IGNORECASE,
)

_SHORT = re.compile(rf"^\W*(?:please\s+)?{_DET}{_PERSON}(?:\s+please)?\W*$", re.IGNORECASE)

# Questions about whether a person is needed, not requests for one.
_NOT_A_REQUEST = re.compile(
    r"\b(?:do|does|will|would)\s+(?:i|you|we)\s+(?:need|have)\s+to\s+(?:talk|speak|call|contact)|"
    r"\bshould\s+(?:i|we)\s+(?:talk|speak|call|contact)\b.*\bif\b|"
    r"\bwithout\s+(?:talking|speaking|calling|contacting)|"
    r"\b(?:has|have|did)\s+(?:someone|somebody|a\s+person)\b|"
    r"\bsome\s?(?:one|body)\s+(?:else|has|used|took|stole|made|is\s+using|got)\b",
    re.IGNORECASE,
)


# German, Spanish and French requests (written the same way; fewer forms, the common ones)
_OTHER_LANGUAGES = re.compile(
    r"\b(?:(?:mit\s+)?(?:einem?|einer)\s+(?:echten\s+|richtigen\s+)?(?:menschen|mitarbeiter(?:in)?|person|berater(?:in)?|"
    r"ansprechpartner(?:in)?)\s+(?:sprechen|reden|verbunden|chatten)|(?:mit\s+)?(?:einem\s+)?menschen\s+sprechen|"
    r"(?:ich\s+)?(?:will|m[oö]chte|brauche)\s+(?:einen?\s+)?(?:echten\s+)?(?:menschen|mitarbeiter(?:in)?|person|kundendienst)|"
    r"verbinden\s+sie\s+mich|kein(?:en)?\s+(?:bot|roboter)|"
    r"hablar\s+con\s+(?:una?\s+)?(?:persona|humano|agente|empleado|asesor|alguien|representante)|"
    r"(?:quiero|necesito)\s+(?:una?\s+)?(?:persona|humano|agente|asesor)|p[aá]same\s+con|no\s+(?:quiero\s+)?(?:un\s+)?(?:bot|robot)|"
    r"parler\s+(?:[àa]|avec)\s+(?:une?\s+)?(?:personne|humain|conseill(?:er|[eè]re)|agent|quelqu'un|vrai)|"
    r"(?:je\s+veux|j'ai\s+besoin\s+d')\s*(?:une?\s+)?(?:personne|humain|conseiller|agent)|pas\s+(?:un\s+)?(?:bot|robot))\b",
    re.IGNORECASE,
)


def asks_for_person(text: str) -> bool:
    """True when the message asks to be put through to a person."""
    t = " ".join(text.split())
    if not t:
        return False
    if _SHORT.match(t):
        return True
    if _OTHER_LANGUAGES.search(t):
        return True
    if not _REQUEST.search(t):
        return False
    return not _NOT_A_REQUEST.search(t)
