"""From a stored conversation to a model request: either the plain conversation (the
answer policy is off) or the question with the knowledge passages the policy retrieved
(grounded generation with a capable model)."""

from __future__ import annotations

from frontdesk.common.v1 import common_pb2 as common
from inference.backends.base import ChatTurn, GenerationRequest

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


def build_grounded_request(question: str, passages, max_tokens: int) -> GenerationRequest:
    """The question and the retrieved passages (best first) for a model to answer from."""
    text = "\n\n".join(f"[{i + 1}] {p.title}\n{p.text}" for i, p in enumerate(passages[:4]))
    return GenerationRequest(turns=(ChatTurn("system", GROUNDED_PROMPT.format(passages=text)),
                                    ChatTurn("user", question)), max_tokens=max_tokens, temperature=0.1)


def build_request(history: list[common.Message], question_id: str, max_tokens: int) -> GenerationRequest:
    """The chat transcript up to and including the question being answered."""
    turns = [ChatTurn("system", SYSTEM_PROMPT)]
    upto = [m for m in history if m.id <= question_id and m.role in _ROLE][-HISTORY_TURNS:]
    for msg in upto:
        turns.append(ChatTurn(_ROLE[msg.role], msg.text))
    return GenerationRequest(turns=tuple(turns), max_tokens=max_tokens, temperature=0.2)
