"""From a stored conversation to a model request: either the plain conversation (the
answer policy is off) or the question with the knowledge passages the policy retrieved
(grounded generation with a capable model)."""

from __future__ import annotations

from dataclasses import dataclass

from frontdesk_pb.common.v1 import common_pb2 as common
from inference.backends.base import ChatTurn, GenerationRequest
from inference.knowledge import language

SYSTEM_PROMPT = (
    "You are a friendly customer-support assistant. Answer in two or three short sentences. "
    "If you do not know something about the business, say so and offer to connect the customer "
    "with a person. Never invent prices, policies or account details."
)
HISTORY_TURNS = 8

_ROLE = {common.ROLE_CUSTOMER: "user", common.ROLE_AI: "assistant", common.ROLE_AGENT: "assistant"}


GROUNDED_PROMPT = (
    "You are a customer-support assistant. Answer the customer's question using ONLY the "
    "knowledge below, in two or three sentences, in the customer's language. If the knowledge "
    "does not answer the question, say that a person from the team will follow up. Never invent "
    "prices, policies or account details.\n\nKnowledge:\n{passages}"
)


TOOLS_PROMPT = (
    "You are a customer-support assistant for this business. Use the tools to find facts: "
    "search the knowledge base for policies and FAQs, and use the business's own tools for orders "
    "and accounts. Answer only from what the tools return, in two or three short sentences. If the "
    "tools do not give the answer, or the customer asks for a person, hand off to a human."
)


# A customer who writes in another language than the entry gets the entry translated, not an
# answer written from it: on the plain-FAQ dev set the 1.5B model answering in French or
# German said "yes, open on Sunday" for "closed on Sundays" in 4 of 21 answers; translating
# the cited entry kept the meaning in all of them (docs/quality.md).
TRANSLATE_PROMPT = (
    "You translate a business's customer-support answer for a customer who wrote in {language}. "
    "Translate the answer below into {language}, sentence by sentence, without adding, leaving out "
    "or changing anything. Keep every number, time, price, date, name, e-mail address and link "
    "exactly as written. Reply with the translation only."
)
LANGUAGE_NAMES = {"en": "English", "de": "German", "es": "Spanish", "fr": "French"}


@dataclass(frozen=True)
class AnswerPlan:
    request: GenerationRequest
    translates: str = ""  # the entry being translated ("" when the model answers from the passages)


def build_answer_request(
    question: str,
    passages,
    customer_language: str,
    max_tokens: int,
    system_prompt: str = "",
    temperature: float | None = None,
) -> AnswerPlan:
    """What the writing model is asked for: an answer from the passages, or, when the
    customer writes in another language than the cited entry, that entry translated."""
    if passages and customer_language in LANGUAGE_NAMES:
        entry = passages[0].text
        written_in, probability = language.identify(entry)
        if written_in and probability >= language.MIN_PROBABILITY and written_in != customer_language:
            return AnswerPlan(build_translation_request(entry, customer_language, max_tokens, system_prompt), entry)
    return AnswerPlan(build_grounded_request(question, passages, max_tokens, system_prompt, temperature))


def build_translation_request(
    text: str, target_language: str, max_tokens: int, system_prompt: str = ""
) -> GenerationRequest:
    system = TRANSLATE_PROMPT.format(language=LANGUAGE_NAMES[target_language])
    if system_prompt:
        system = f"{system_prompt}\n\n{system}"
    # room for the whole entry: translations run longer than the English, and one cut off
    # loses its last sentence
    budget = max(max_tokens, min(len(text) // 2, 1024))
    return GenerationRequest(
        turns=(ChatTurn("system", system), ChatTurn("user", text)), max_tokens=budget, temperature=0.0
    )


def build_grounded_request(
    question: str, passages, max_tokens: int, system_prompt: str = "", temperature: float | None = None
) -> GenerationRequest:
    """The question and the retrieved passages (best first) for a model to answer from. A
    tenant's own system prompt goes first; the grounding rules always follow it."""
    text = "\n\n".join(f"[{i + 1}] {p.title}\n{p.text}" for i, p in enumerate(passages[:4]))
    system = GROUNDED_PROMPT.format(passages=text)
    if system_prompt:
        system = f"{system_prompt}\n\n{system}"
    return GenerationRequest(
        turns=(ChatTurn("system", system), ChatTurn("user", question)),
        max_tokens=max_tokens,
        temperature=0.1 if temperature is None else temperature,
    )


def _transcript(history: list[common.Message], question_id: str) -> list[common.Message]:
    return [m for m in history if m.id <= question_id and m.role in _ROLE and m.text][-HISTORY_TURNS:]


def build_request(
    history: list[common.Message],
    question_id: str,
    max_tokens: int,
    system_prompt: str = "",
    temperature: float | None = None,
) -> GenerationRequest:
    """The chat transcript up to and including the question being answered."""
    turns = [ChatTurn("system", system_prompt or SYSTEM_PROMPT)]
    for msg in _transcript(history, question_id):
        turns.append(ChatTurn(_ROLE[msg.role], msg.text))
    return GenerationRequest(
        turns=tuple(turns), max_tokens=max_tokens, temperature=0.2 if temperature is None else temperature
    )


def build_tool_messages(history: list[common.Message], question_id: str, system_prompt: str = "") -> list[dict]:
    """OpenAI-format messages for the tool loop: the tenant's prompt (or TOOLS_PROMPT) and the
    transcript up to the question. The tenant id is in none of them: tools get it from the job."""
    system = f"{system_prompt}\n\n{TOOLS_PROMPT}" if system_prompt else TOOLS_PROMPT
    return [{"role": "system", "content": system}] + [
        {"role": _ROLE[m.role], "content": m.text} for m in _transcript(history, question_id)
    ]
