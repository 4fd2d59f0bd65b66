"""The copilot's written brief: the tenant's model sums up a conversation for the operator who
takes it over (what the customer wants, what was answered, what is still open).

Only a model that can write is asked (the capable CPU model, an OpenAI-compatible server, a
tenant's own model; the same test as for grounded answers); a small quoting model is not, and
the operator keeps the extractive summary. The brief goes through the fact check of written
answers (inference/factcheck.py) with the transcript as its only source: a brief that states
a number, date, price or name nobody said is written once more, then dropped.
"""

from __future__ import annotations

import asyncio
import re

from frontdesk import logs
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.inference.v1 import inference_pb2
from inference.backends.base import Backend, BackendError, ChatTurn, GenerationRequest
from inference.factcheck import Sources, unsupported

log = logs.get("inference.summary")

MAX_TURNS = 30  # the latest messages a brief is written from
MAX_TURN_CHARS = 600
MAX_BRIEF_CHARS = 600
TIMEOUT_S = 60.0
ATTEMPTS = 2

_WHO = {
    common.ROLE_CUSTOMER: "Customer",
    common.ROLE_AI: "Assistant",
    common.ROLE_AGENT: "Agent",
}
INSTRUCTIONS = (
    "You write a brief for the support agent who takes over this chat. In two or three short "
    "sentences, say what the customer wants, what the assistant already answered, and what is "
    "still open. Use only facts from the chat: never add an order number, price, date, time or "
    "name that is not in it. Write plain sentences in English, no lists, no greeting."
)


def transcript_text(transcript: list[common.Message]) -> str:
    """Who said what, the latest MAX_TURNS messages; the platform's own notices ("a person will
    reply") are left out: a small model takes them for the assistant's answer."""
    lines = []
    said = [m for m in transcript if m.role != common.ROLE_SYSTEM]
    for m in said[-MAX_TURNS:]:
        text = " ".join(m.text.split())[:MAX_TURN_CHARS]
        if text:
            lines.append(f"{_WHO.get(m.role, 'Customer')}: {text}")
    return "\n".join(lines)


def _clean(text: str) -> str:
    text = re.sub(r"^\s*(brief|summary)\s*:\s*", "", text.strip(), flags=re.I)
    text = " ".join(text.split())
    if len(text) > MAX_BRIEF_CHARS:  # cut at the last whole sentence that fits
        cut = text[:MAX_BRIEF_CHARS]
        end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
        text = cut[: end + 1] if end > 0 else cut.rstrip() + "…"
    return text


async def write_brief(backend: Backend, transcript: list[common.Message]) -> inference_pb2.SummarizeResponse:
    """The model's brief, or none with the reason (`missing`)."""
    chat = transcript_text(transcript)
    if not any(m.role == common.ROLE_CUSTOMER and m.text.strip() for m in transcript):
        return inference_pb2.SummarizeResponse(missing="the customer has not written anything yet")
    said = Sources([m.text for m in transcript])
    request = GenerationRequest(
        turns=(ChatTurn("system", INSTRUCTIONS), ChatTurn("user", f"The chat:\n{chat}\n\nThe brief:")),
        max_tokens=160,
        temperature=0.0,
    )
    missing = "the model's brief stated facts the conversation does not"
    for attempt in range(ATTEMPTS):
        try:
            result = await asyncio.wait_for(backend.generate(request), TIMEOUT_S)
        except (BackendError, TimeoutError) as err:
            log.warning("brief.failed", backend=backend.name, attempt=attempt, error=str(err))
            missing = "the model did not answer in time"
            continue
        text = _clean(result.text)
        if not text:
            missing = "the model wrote nothing"
            continue
        invented = unsupported(text, said)
        if not invented:
            return inference_pb2.SummarizeResponse(text=text, backend=backend.name, model=backend.model)
        log.info("brief.rejected", backend=backend.name, attempt=attempt, facts=[f.text for f in invented][:5])
        missing = "the model's brief stated facts the conversation does not"
    return inference_pb2.SummarizeResponse(backend=backend.name, model=backend.model, missing=missing)


class BriefWriter:
    """Summarize for one tenant: its model, when that model can write."""

    def __init__(self, tenants, backends, grounded_generation: bool):
        self.tenants = tenants  # inference.tenants.TenantConfigs
        self.backends = backends  # inference.tenants.BackendPool
        self.grounded_generation = grounded_generation

    async def __call__(self, tenant_id: str, transcript: list[common.Message]) -> inference_pb2.SummarizeResponse:
        ai = await self.tenants.get(tenant_id)
        backend = await self.backends.get(ai)
        if not (backend.can_write or self.grounded_generation or ai.own_backend):
            return inference_pb2.SummarizeResponse(
                backend=backend.name,
                model=backend.model,
                missing="this model quotes the knowledge base and does not write briefs",
            )
        return await write_brief(backend, transcript)
