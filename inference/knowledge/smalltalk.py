"""Small talk: greetings, thanks, goodbyes, "are you a bot?", in English, German, Spanish
and French. A message that is only small talk gets a short friendly reply (frontdesk/texts.py,
the tenant's own greeting for a greeting), never a handoff; a question that starts with a
greeting ("hi, do you ship to Austria?") is answered as the question.

Hand-written patterns, anchored to the whole message (after punctuation, emoji and a
closing "please"/"thanks" are set aside), because small talk is a short closed set and a
false alarm would swallow a real question: "thanks, but my order never came" is not
thanks. Written from general knowledge of how people open and close chats, checked on the
dev half of tools/quality/plain_faq and the BANKING77/Bitext questions for false alarms.
"""

from __future__ import annotations

import re
import unicodedata

GREETING, THANKS, GOODBYE, BOT, HOW_ARE_YOU, ACKNOWLEDGE = (
    "greeting",
    "thanks",
    "goodbye",
    "bot",
    "how_are_you",
    "acknowledge",
)

_HELLO = (
    r"(?:hi+|hey+|hello+|hallo+|helo|hiya|howdy|yo|greetings|good\s+(?:morning|afternoon|evening|day)|morning|"
    r"guten\s+(?:tag|morgen|abend)|moin|servus|gr[uü](?:ß|ss)\s+gott|gr[uü](?:ß|ss)\s+dich|hola|buenas|"
    r"buenos\s+d[ií]as|buenas\s+(?:tardes|noches)|bonjour|bonsoir|salut|coucou|ciao)"
)
_TO = r"(?:\s+(?:there|all|team|everyone|guys|folks|zusammen|a\s+todos|[àa]\s+tous|tout\s+le\s+monde))?"
# what people add after thanks: "thanks, that helps", "merci, c'est parfait"
_THANKS_TAIL = (
    r"(?:that|this|it)(?:'s|\s+is|\s+was)?\s+(?:helps?|helped|helpful|great|perfect|all\s+i\s+needed|exactly\s+what\s+i\s+needed)|"
    r"that\s+answers\s+(?:it|my\s+question)|(?:very|super|really)\s+helpful|you(?:'ve|\s+have)\s+been\s+(?:very\s+|really\s+)?helpful|"
    r"das\s+hilft(?:\s+mir)?(?:\s+weiter)?|sehr\s+hilfreich|me\s+(?:ha\s+)?ayuda(?:do)?|muy\s+[uú]til|c'est\s+(?:parfait|tr[eè]s\s+clair|utile)"
)
_THANKS = (
    r"(?:thanks?(?:\s+(?:a\s+lot|so\s+much|very\s+much|a\s+million|again|anyway|you))*|thank\s+you(?:\s+(?:so|very)\s+much)?"
    r"(?:\s+again)?|thx|ty|tysm|cheers|much\s+appreciated|appreciate\s+it|"
    r"danke(?:\s+(?:sch[oö]n|sehr|vielmals|dir|ihnen))*|vielen\s+dank|herzlichen\s+dank|"
    r"gracias(?:\s+(?:por\s+todo|de\s+nuevo))?|muchas\s+gracias|mil\s+gracias|merci(?:\s+(?:beaucoup|bien|encore))*)"
)
_BYE = (
    r"(?:bye+(?:\s+bye)?(?:\s+for\s+now)?|good\s*bye|see\s+you(?:\s+(?:later|soon|tomorrow|(?:in|on|next)\s+\w+))?|see\s+ya|cya|take\s+care|have\s+a\s+(?:nice|good|great)\s+"
    r"(?:day|evening|weekend|one)|that'?s\s+all(?:\s+for\s+now)?|tsch[uü]ss|auf\s+wiedersehen|bis\s+bald|ciao|"
    r"adi[oó]s|hasta\s+(?:luego|pronto|ma[nñ]ana)|chao|au\s+revoir|[àa]\s+bient[oô]t|bonne\s+(?:journ[ée]e|soir[ée]e))"
)
_BOT = (
    r"(?:(?:is\s+this|am\s+i\s+talking\s+to|is\s+it)\s+(?:a\s+|an\s+)?(?:bot|robot|ai|machine)\s+(?:i'?m|i\s+am)\s+(?:chatting|talking|speaking)\s+(?:with|to)|"
    r"are\s+you\s+(?:a\s+|an\s+)?(?:real\s+)?(?:bot|robot|ai|human|person|machine|computer|real(?:\s+person)?)"
    r"(?:\s+or\s+(?:a\s+)?(?:bot|robot|ai|human|person|machine|real(?:\s+person)?))?|is\s+this\s+(?:a\s+)?(?:bot|robot|"
    r"an?\s+ai|automated|a\s+real\s+person)|am\s+i\s+(?:talking|chatting|speaking)\s+(?:to|with)\s+(?:a\s+)?"
    r"(?:bot|robot|machine|human|real\s+person|person|an?\s+ai)|who\s+am\s+i\s+(?:talking|chatting|speaking)\s+(?:to|with)|"
    r"who\s+are\s+you|what\s+are\s+you|bist\s+du\s+(?:ein\s+)?(?:bot|roboter|mensch|ki)|sind\s+sie\s+(?:ein\s+)?"
    r"(?:bot|roboter|mensch|ki)|eres\s+(?:un\s+)?(?:bot|robot|humano|una\s+persona)|es\s+usted\s+(?:un\s+)?(?:bot|robot)|"
    r"(?:es|êtes)[- ](?:tu|vous)\s+(?:un\s+)?(?:bot|robot|humain)|tu\s+es\s+un\s+(?:bot|robot))"
)
_HOW = (
    r"(?:how\s+are\s+(?:you|u)(?:\s+doing)?(?:\s+today)?|how'?s\s+it\s+going|how\s+(?:is|are)\s+things|what'?s\s+up|sup|"
    r"wie\s+geht(?:'?s|\s+es)(?:\s+(?:dir|ihnen))?|qu[eé]\s+tal|c[oó]mo\s+est[aá]s?|[cç]a\s+va|comment\s+(?:allez[- ]vous|vas[- ]tu))"
)
_OK = (
    r"(?:ok(?:ay)?|k|kk|cool|great|perfect|awesome|nice|got\s+it|understood|alright|all\s+right|sounds\s+good|"
    r"super|prima|alles\s+klar|genau|vale|perfecto|genial|d'?accord|parfait|entendu|tr[eè]s\s+bien)"
)

_SEP = r"(?:\s*[,.;:!?-]*\s+|\s*[,.;:!?-]+\s*)"
_TAIL = rf"(?:{_SEP}(?:{_THANKS}|{_BYE}|please|bitte|por\s+favor|s'il\s+vous\s+pla[iî]t|lol|haha\w*|hehe\w*|xd|jaja\w*|mdr))*"

_WHOLE = {
    GREETING: re.compile(rf"^(?:{_HELLO}{_TO})(?:{_SEP}{_HELLO}{_TO})*(?:{_SEP}{_HOW})?{_TAIL}$", re.IGNORECASE),
    THANKS: re.compile(
        rf"^(?:{_OK}{_SEP})?{_THANKS}(?:{_SEP}(?:{_OK}|{_THANKS}|{_THANKS_TAIL}))*{_TAIL}$", re.IGNORECASE
    ),
    GOODBYE: re.compile(rf"^(?:(?:{_OK}|{_THANKS}){_SEP})*{_BYE}{_TAIL}$", re.IGNORECASE),
    BOT: re.compile(rf"^(?:{_HELLO}{_TO}{_SEP})?{_BOT}{_TAIL}$", re.IGNORECASE),
    HOW_ARE_YOU: re.compile(rf"^(?:{_HELLO}{_TO}{_SEP})?{_HOW}{_TAIL}$", re.IGNORECASE),
    ACKNOWLEDGE: re.compile(rf"^{_OK}(?:{_SEP}{_OK})*$", re.IGNORECASE),
}
# "hi, ..." / "hello there! ..." before a real question
_LEADING_GREETING = re.compile(rf"^(?:{_HELLO}{_TO})(?:{_SEP}|\s*$)", re.IGNORECASE)


def _normalize(message: str) -> str:
    text = unicodedata.normalize("NFKC", message).strip().lower()
    text = "".join(c for c in text if unicodedata.category(c)[0] != "S" or c in "'")  # emoji, symbols
    text = re.sub(r"[\s]+", " ", text)
    return text.strip(' .,!?;:-¡¿…()"')


def classify(message: str) -> str | None:
    """The small-talk kind of a whole message, or None when it asks or says something else."""
    text = _normalize(message)
    if not text or len(text) > 80:
        return None
    for kind in (BOT, HOW_ARE_YOU, GREETING, GOODBYE, THANKS, ACKNOWLEDGE):
        if _WHOLE[kind].match(text):
            return kind
    return None


def strip_greeting(message: str) -> str:
    """The message without a greeting in front of it ("hi, where is my order?" -> "where
    is my order?"); the message itself when it does not start with one."""
    stripped = message.strip()
    match = _LEADING_GREETING.match(stripped)
    if not match:
        return message
    rest = stripped[match.end() :].strip(" ,.!-")
    return rest if len(rest.split()) >= 2 else message


# the words that say which language a short small-talk message is in (too short for a
# language model to tell: "danke!", "hola")
_WORD_LANGUAGE = {
    "de": r"hallo|guten|moin|servus|gr[uü](?:ß|ss)|danke|vielen|herzlichen|tsch[uü]ss|wiedersehen|bis\s+bald|bist|sind|geht|prima|alles\s+klar|genau|bitte",
    "es": r"hola|buenas|buenos|gracias|adi[oó]s|hasta|chao|eres|usted|qu[eé]\s+tal|c[oó]mo|vale|perfecto|genial|por\s+favor",
    "fr": r"bonjour|bonsoir|salut|coucou|merci|au\s+revoir|bient[oô]t|bonne|es-tu|[êe]tes|[cç]a\s+va|comment|d'?accord|parfait|entendu|s'il",
}
_WORD_LANGUAGE_RE = {lang: re.compile(rf"\b(?:{words})\b", re.IGNORECASE) for lang, words in _WORD_LANGUAGE.items()}


def language_of(message: str) -> str:
    """The language of a small-talk message from its words ("" when they do not say)."""
    text = _normalize(message)
    found = [lang for lang, pattern in _WORD_LANGUAGE_RE.items() if pattern.search(text)]
    return found[0] if len(found) == 1 else ""
