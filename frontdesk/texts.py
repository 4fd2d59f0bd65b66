"""Every fixed text a customer may read, in each language we answer in (en, de, es, fr).

One table, so a new language is one column and nothing is missed:
tests/inference/knowledge/test_conversation_basics.py checks that every text has every
language. A text is picked by key and language with :func:`text`; an unknown language gets
English.
"""

from __future__ import annotations

LANGUAGES = ("en", "de", "es", "fr")

TEXTS: dict[str, dict[str, str]] = {
    # the system message when a conversation is handed to a person
    "handoff_notice": {
        "en": "Thanks for your patience: a person from our team will reply here shortly.",
        "de": "Danke für Ihre Geduld: Eine Person aus unserem Team antwortet Ihnen hier in Kürze.",
        "es": "Gracias por su paciencia: una persona de nuestro equipo le responderá aquí en breve.",
        "fr": "Merci de votre patience : une personne de notre équipe vous répondra ici sous peu.",
    },
    # the notice when the customer is upset: acknowledge first
    "handoff_notice_frustrated": {
        "en": "I'm sorry this has been so frustrating. I'm bringing in a person from our team, who will reply here shortly.",
        "de": "Es tut mir leid, dass das so ärgerlich ist. Ich hole eine Person aus unserem Team dazu, die Ihnen hier in Kürze antwortet.",
        "es": "Siento mucho que esto haya sido tan frustrante. Paso su consulta a una persona de nuestro equipo, que le responderá aquí en breve.",
        "fr": "Je suis désolé que ce soit si pénible. Je fais appel à une personne de notre équipe, qui vous répondra ici sous peu.",
    },
    # the system message when a conversation is resolved after the tenant's idle time
    "resolved_idle": {
        "en": "We closed this conversation as it has been quiet for a while. Write here any time and we will pick it up again.",
        "de": "Wir haben dieses Gespräch geschlossen, da es eine Weile ruhig war. Schreiben Sie jederzeit hier, und wir machen weiter.",
        "es": "Hemos cerrado esta conversación porque lleva un tiempo sin actividad. Escriba aquí cuando quiera y la retomaremos.",
        "fr": "Nous avons clos cette conversation car elle est calme depuis un moment. Écrivez ici quand vous voulez et nous la reprendrons.",
    },
    "empty_question": {
        "en": "Could you tell me a bit more about what you need?",
        "de": "Können Sie mir etwas genauer sagen, worum es geht?",
        "es": "¿Podría contarme un poco más sobre lo que necesita?",
        "fr": "Pourriez-vous m'en dire un peu plus sur ce dont vous avez besoin ?",
    },
    # small talk (inference/knowledge/smalltalk.py); the greeting is the tenant's own when set
    "greeting": {
        "en": "Hi! How can I help you today?",
        "de": "Hallo! Wie kann ich Ihnen heute helfen?",
        "es": "¡Hola! ¿En qué puedo ayudarle hoy?",
        "fr": "Bonjour ! Comment puis-je vous aider aujourd'hui ?",
    },
    "thanks": {
        "en": "You're welcome! Is there anything else I can help you with?",
        "de": "Gern geschehen! Kann ich sonst noch etwas für Sie tun?",
        "es": "¡De nada! ¿Puedo ayudarle en algo más?",
        "fr": "Avec plaisir ! Puis-je vous aider pour autre chose ?",
    },
    "goodbye": {
        "en": "Goodbye, and thanks for getting in touch!",
        "de": "Auf Wiedersehen und danke für Ihre Nachricht!",
        "es": "¡Hasta luego, y gracias por escribirnos!",
        "fr": "Au revoir, et merci de nous avoir contactés !",
    },
    "bot": {
        "en": "I'm the virtual assistant of {name}. I answer from our own help pages, and I can bring in a person from our team whenever you like.",
        "de": "Ich bin der virtuelle Assistent von {name}. Ich antworte aus unseren Hilfeseiten und kann jederzeit eine Person aus unserem Team dazuholen.",
        "es": "Soy el asistente virtual de {name}. Respondo con nuestras propias páginas de ayuda y puedo pasarle con una persona de nuestro equipo cuando quiera.",
        "fr": "Je suis l'assistant virtuel de {name}. Je réponds à partir de nos pages d'aide et je peux faire appel à une personne de notre équipe quand vous le souhaitez.",
    },
    "how_are_you": {
        "en": "I'm doing well, thanks for asking! What can I do for you?",
        "de": "Danke der Nachfrage, gut! Was kann ich für Sie tun?",
        "es": "¡Muy bien, gracias por preguntar! ¿Qué puedo hacer por usted?",
        "fr": "Très bien, merci de demander ! Que puis-je faire pour vous ?",
    },
    "acknowledge": {
        "en": "Great! Let me know if there is anything else.",
        "de": "Prima! Sagen Sie Bescheid, wenn ich noch etwas tun kann.",
        "es": "¡Perfecto! Dígame si necesita algo más.",
        "fr": "Parfait ! Dites-moi si vous avez besoin d'autre chose.",
    },
}

# shown where the tenant's name is not known
DEFAULT_NAME = {"en": "this business", "de": "diesem Unternehmen", "es": "esta empresa", "fr": "cette entreprise"}


def text(key: str, lang: str = "en", **values: str) -> str:
    """The text in ``lang`` (English when that language has none), with ``{name}`` etc. filled."""
    by_lang = TEXTS[key]
    chosen = by_lang.get(lang) or by_lang["en"]
    if "{name}" in chosen and not values.get("name"):
        values = {**values, "name": DEFAULT_NAME.get(lang, DEFAULT_NAME["en"])}
    return chosen.format(**values) if values else chosen


# -- the handoff notice (conversation/rules.py writes it; analytics/rebuild.py recognises it)

HANDOFF_NOTICE = text("handoff_notice", "en")
_NOTICES = frozenset(t for key in ("handoff_notice", "handoff_notice_frustrated") for t in TEXTS[key].values())


def handoff_notice(reason: str, language: str = "en") -> str:
    """What the customer reads when a person is brought in, in their language; an upset
    customer is met with an apology first."""
    return text("handoff_notice_frustrated" if reason == "frustrated" else "handoff_notice", language)


def is_handoff_notice(message_text: str) -> bool:
    """Whether a system message is one of the handoff notices, in any language."""
    return message_text in _NOTICES
