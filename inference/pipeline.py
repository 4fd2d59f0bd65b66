"""From a stored conversation to a model request.

The walking skeleton answers from the recent conversation with a short, honest system
prompt; retrieval over the tenant's knowledge base and the grounded answer policy
plug in here (issue: AI engine)."""

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


def build_request(history: list[common.Message], question_id: str, max_tokens: int) -> GenerationRequest:
    """The chat transcript up to and including the question being answered."""
    turns = [ChatTurn("system", SYSTEM_PROMPT)]
    upto = [m for m in history if m.id <= question_id and m.role in _ROLE][-HISTORY_TURNS:]
    for msg in upto:
        turns.append(ChatTurn(_ROLE[msg.role], msg.text))
    return GenerationRequest(turns=tuple(turns), max_tokens=max_tokens, temperature=0.2)
