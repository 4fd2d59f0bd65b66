"""The operator's copilot (AdminService.SummarizeConversation and SuggestReplies), served by
the gateway. It reads the conversation through conversation, the knowledge base through an
inference worker, and the saved replies from the account store, all as the calling operator.

The summary is extractive: sentences taken from the conversation, nothing written. So it
cannot state what nobody said. Asked to (`write`), the tenant's model also writes a brief
when it can write (inference/summary.py), fact-checked against the transcript. Suggestions are the knowledge base's best entries for the
last customer message, with their citations, and the saved replies whose words match it best.
They are inserted for the operator to edit, and never sent by themselves."""

from __future__ import annotations

import re
from dataclasses import dataclass

import grpc

from frontdesk import logs
from frontdesk.caller import Caller
from frontdesk.stores.base import CannedResponseRecord
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.conversation.v1 import conversation_pb2_grpc
from frontdesk_pb.inference.v1 import inference_pb2, inference_pb2_grpc
from frontdesk_pb.knowledge.v1 import knowledge_pb2 as kpb
from frontdesk_pb.knowledge.v1 import knowledge_pb2_grpc
from gateway.service import Accounts

log = logs.get("gateway.copilot")

MAX_SUGGESTIONS = 3
BRIEF_TIMEOUT_S = 150.0  # two attempts of a CPU model writing a few sentences
QUOTE_CHARS = 300  # the longest customer or AI sentence quoted in a summary
QUERY_CHARS = 2000  # KnowledgeService.Search's limit
MIN_KNOWLEDGE_SCORE = 0.05  # below this a "match" shares no meaning with the message
MIN_CANNED_OVERLAP = 0.1
SURE = 0.5  # the policy's confidence above which its two best entries are enough

HANDOFF_EXPLAINED = {
    "customer_request": "the customer asked for a person",
    "low_confidence": "the AI was not sure it had the right answer",
    "ai_failure": "the AI could not answer (the model failed)",
    "frustrated": "the customer is upset or it is urgent",
    "operator": "an operator took it over",
}

# what customers give that an operator needs: order numbers, emails, phones, amounts, dates
_DETAILS = [
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    re.compile(r"(?:[$€£]\s?\d[\d.,]*|\d[\d.,]*\s?(?:€|eur|usd|gbp|dollars?|euros?)\b)", re.I),
    re.compile(r"\b\d{1,2}[./-]\d{1,2}(?:[./-]\d{2,4})?\b"),
    re.compile(r"\+?\d[\d ()-]{7,}\d"),
    re.compile(r"#?\b[A-Z]{0,4}-?\d{4,}\b"),
]
_WORD = re.compile(r"\w+", re.UNICODE)
_VARIABLE = re.compile(r"\{(customer_name|agent_name|company_name)\}")


def _quote(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def details_in(texts: list[str], limit: int = 8) -> list[str]:
    """Order numbers, emails, phone numbers, amounts and dates, once each, in order of appearance."""
    found: list[tuple[int, int, str]] = []
    for i, text in enumerate(texts):
        taken: list[tuple[int, int]] = []
        for pattern in _DETAILS:
            for m in pattern.finditer(text):
                if any(m.start() < end and start < m.end() for start, end in taken):
                    continue  # part of a detail found by an earlier pattern (an email's digits)
                taken.append((m.start(), m.end()))
                found.append((i, m.start(), m.group().strip()))
    out: list[str] = []
    for _, _, value in sorted(found):
        if value not in out:
            out.append(value)
    return out[:limit]


def summarize(conv: common.Conversation, messages: list[common.Message]) -> admin_pb2.ConversationSummary:
    said = [m for m in messages if m.role == common.ROLE_CUSTOMER and m.text.strip()]
    ai = [m for m in messages if m.role == common.ROLE_AI and m.text.strip()]
    summary = admin_pb2.ConversationSummary(
        customer_messages=len(said),
        handoff_reason=conv.handoff_reason,
        handoff_explained=HANDOFF_EXPLAINED.get(conv.handoff_reason, conv.handoff_reason.replace("_", " ")),
        written_by="extract",
    )
    if said:
        summary.customer_wants = _quote(said[0].text)
        if len(said) > 1:
            summary.customer_latest = _quote(said[-1].text)
        summary.details.extend(details_in([m.text for m in said]))
    if ai:
        summary.ai_said = _quote(ai[-1].text)
    return summary


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2}


def overlap(question: str, record: CannedResponseRecord) -> float:
    """How much of the customer's message the saved reply's shortcut, title and text share (0..1)."""
    asked = _words(question)
    if not asked:
        return 0.0
    offered = _words(f"{record.shortcut.replace('-', ' ').replace('_', ' ')} {record.title} {record.text}")
    return len(asked & offered) / len(asked)


def fill(text: str, known: dict[str, str]) -> str:
    """The variables that are known filled in; the others stay for the operator to fill."""
    return _VARIABLE.sub(lambda m: known.get(m.group(1)) or m.group(0), text)


@dataclass
class Copilot:
    knowledge: knowledge_pb2_grpc.KnowledgeServiceStub
    conv: conversation_pb2_grpc.ConversationServiceStub
    accounts: Accounts
    inference: inference_pb2_grpc.InferenceServiceStub | None = None  # the written brief

    async def _conversation(self, conversation_id: str, options: dict):
        conv = await self.conv.AdminGetConversation(
            admin_pb2.GetConversationRequest(conversation_id=conversation_id), **options
        )
        page = await self.conv.AdminListMessages(
            admin_pb2.ListMessagesRequest(conversation_id=conversation_id, page_size=200), **options
        )
        return conv, list(page.messages)

    async def summarize(
        self, conversation_id: str, options: dict, write: bool = False
    ) -> admin_pb2.ConversationSummary:
        conv, messages = await self._conversation(conversation_id, options)
        summary = summarize(conv, messages)
        if write and self.inference is not None:
            try:  # the model reads the messages only: never the team's notes
                brief = await self.inference.Summarize(
                    inference_pb2.SummarizeRequest(transcript=messages),
                    metadata=options["metadata"],
                    timeout=BRIEF_TIMEOUT_S,
                )
                summary.brief, summary.brief_model, summary.brief_missing = brief.text, brief.model, brief.missing
            except grpc.aio.AioRpcError as err:
                log.warning("copilot.brief_failed", code=err.code().name, details=err.details())
                summary.brief_missing = "the model could not be reached; the summary is extracted"
        return summary

    async def suggest(self, caller: Caller, conversation_id: str, options: dict) -> admin_pb2.SuggestRepliesResponse:
        conv, messages = await self._conversation(conversation_id, options)
        last = next((m for m in reversed(messages) if m.role == common.ROLE_CUSTOMER and m.text.strip()), None)
        if last is None:
            return admin_pb2.SuggestRepliesResponse()
        question = last.text[:QUERY_CHARS]
        knowledge = await self._from_knowledge(question, options)
        tenant = await self.accounts.tenant(caller.tenant_id)
        known = {
            "customer_name": conv.attributes.get("name", ""),
            "agent_name": caller.name,
            "company_name": tenant.name,
        }
        saved = await self.accounts.store.list_canned_responses(caller.tenant_id)
        ranked = sorted(((overlap(question, r), r) for r in saved), key=lambda x: -x[0])
        canned = [
            admin_pb2.SuggestedReply(
                text=fill(r.text, known), source="saved_reply", shortcut=r.shortcut, score=round(score, 3)
            )
            for score, r in ranked[:2]
            if score >= MIN_CANNED_OVERLAP
        ]
        # the knowledge base's best, the best saved reply, then whatever is left (knowledge first:
        # a saved reply that merely shares words is the weaker sign)
        replies = [*knowledge[:1], *canned[:1], *knowledge[1:], *canned[1:]]
        return admin_pb2.SuggestRepliesResponse(replies=replies[:MAX_SUGGESTIONS], message_id=last.id)

    async def _from_knowledge(self, question: str, options: dict) -> list[admin_pb2.SuggestedReply]:
        try:
            found = await self.knowledge.Search(kpb.SearchRequest(query=question, limit=3), **options)
        except grpc.aio.AioRpcError as err:
            if err.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise
            log.warning("copilot.knowledge_unavailable", error=err.details() or "")
            return []  # the saved replies still help
        # the answer policy's own ranking (the plain-FAQ router) first: it reads questions better
        # than word-and-meaning retrieval; the retrieval hits stand in when it ranks nothing
        # (a request for a person, a document-only knowledge base)
        # (and when the policy is unsure, one candidate more: the operator is the judge)
        wanted = 2 if found.confidence >= SURE else 3
        if found.ranked:
            best = list(found.ranked[:wanted])
            scores = [found.confidence, *[min(h.score, found.confidence) for h in best[1:]]]
        else:
            best = [h for h in found.hits if h.score >= MIN_KNOWLEDGE_SCORE][:wanted]
            scores = [h.score for h in best]
        return [
            admin_pb2.SuggestedReply(
                text=h.text,
                source="knowledge",
                citations=[common.Citation(source_id=h.entry_id, title=h.title, url=h.url, score=h.score)],
                score=round(float(score), 3),
            )
            for h, score in zip(best, scores, strict=True)
            if h.text.strip()
        ]
