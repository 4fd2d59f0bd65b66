"""The operator's copilot through the real mesh: the summary quotes what the customer wrote
(with the order number and email they gave), what the AI said and why it was handed over;
the suggestions come from the tenant's knowledge base (citing the entry) and its saved
replies (the operator's name filled in). Visitors never reach it; another tenant's
conversation is NOT_FOUND."""

from __future__ import annotations

import grpc
import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.knowledge.v1 import knowledge_pb2 as kpb
from frontdesk_pb.knowledge.v1 import knowledge_pb2_grpc
from tests.conftest import start_mesh
from tests.e2e.helpers import Client
from tests.e2e.test_roles import code_of, denied, tenant_with_staff

REFUND = kpb.FaqEntry(
    id="refunds",
    question="How do I get a refund?",
    answer="Refunds are paid back to your card within 5 working days once we receive the item.",
    url="https://shop.example/refunds",
)
HOURS = kpb.FaqEntry(id="hours", question="When are you open?", answer="We are open 9:00 to 17:00, Monday to Friday.")


@pytest.fixture(scope="module")
def mesh(tmp_path_factory):
    m = start_mesh(tmp_path_factory.mktemp("copilot"))
    yield m
    m.stop()


async def test_summary_and_suggestions_for_a_handed_off_conversation(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, agent, _ = await tenant_with_staff(c, "copilot")
        kb = knowledge_pb2_grpc.KnowledgeServiceStub(ch)
        await kb.UpsertFaqEntries(kpb.UpsertFaqEntriesRequest(entries=[REFUND, HOURS]), metadata=owner, timeout=120)
        await c.admin.SaveCannedResponse(
            admin_pb2.SaveCannedResponseRequest(
                response=admin_pb2.CannedResponse(
                    shortcut="refund",
                    title="Refund on its way",
                    text="Hi, {agent_name} here: your refund is on its way.",
                )
            ),
            metadata=owner,
        )
        _, visitor = await c.visitor(created.tenant.widget_key)
        conv = await c.start(visitor)
        first = "Hello, I returned order 123456 last week and want my refund. My email is ana@example.com"
        await c.ask(visitor, conv, first)  # the AI answers (or hands off) first
        await c.chat.SendMessage(
            chat_pb2.SendMessageRequest(conversation_id=conv, text="Still no refund of 49.90 EUR on my card"),
            metadata=visitor,
        )
        await c.chat.RequestHuman(chat_pb2.RequestHumanRequest(conversation_id=conv), metadata=visitor)

        summary = await c.admin.SummarizeConversation(
            admin_pb2.SummarizeConversationRequest(conversation_id=conv), metadata=agent
        )
        assert summary.customer_wants == first
        assert summary.customer_latest == "Still no refund of 49.90 EUR on my card"
        assert summary.customer_messages == 2
        assert "123456" in summary.details and "ana@example.com" in summary.details
        assert any("49.90" in d for d in summary.details)
        assert summary.handoff_reason == "customer_request" and "asked for a person" in summary.handoff_explained
        assert summary.written_by == "extract"
        # the default model quotes and does not write: asked for a brief, it says so, and the extract stands
        asked = await c.admin.SummarizeConversation(
            admin_pb2.SummarizeConversationRequest(conversation_id=conv, write=True), metadata=agent
        )
        assert asked.brief == "" and "does not write" in asked.brief_missing
        assert asked.customer_wants == first

        suggested = await c.admin.SuggestReplies(admin_pb2.SuggestRepliesRequest(conversation_id=conv), metadata=agent)
        assert 1 <= len(suggested.replies) <= 3 and suggested.message_id
        from_kb = [r for r in suggested.replies if r.source == "knowledge"]
        assert from_kb and from_kb[0].text == REFUND.answer
        assert from_kb[0].citations[0].source_id == "refunds"
        assert from_kb[0].citations[0].url == "https://shop.example/refunds"
        saved = [r for r in suggested.replies if r.source == "saved_reply"]
        assert saved and saved[0].shortcut == "refund" and "{agent_name}" not in saved[0].text
        assert all(
            r.source != "knowledge" or r.citations[0].source_id != "hours" or r.score < from_kb[0].score
            for r in suggested.replies
        )


async def test_the_copilot_is_the_teams_and_stays_in_the_tenant(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, _, _, agent, _ = await tenant_with_staff(c, "copilot-own")
        other, _, _, _, _ = await tenant_with_staff(c, "copilot-other")
        _, visitor = await c.visitor(created.tenant.widget_key)
        conv = await c.start(visitor)
        await denied(
            c.admin.SummarizeConversation(
                admin_pb2.SummarizeConversationRequest(conversation_id=conv), metadata=visitor
            )
        )
        await denied(c.admin.SuggestReplies(admin_pb2.SuggestRepliesRequest(conversation_id=conv), metadata=visitor))
        _, stranger = await c.visitor(other.tenant.widget_key)
        foreign = await c.start(stranger)
        for call in (
            c.admin.SummarizeConversation(
                admin_pb2.SummarizeConversationRequest(conversation_id=foreign), metadata=agent
            ),
            c.admin.SuggestReplies(admin_pb2.SuggestRepliesRequest(conversation_id=foreign), metadata=agent),
        ):
            assert await code_of(call) == grpc.StatusCode.NOT_FOUND
        # nothing said yet: an empty summary and no suggestions, not an error
        empty = await c.admin.SuggestReplies(admin_pb2.SuggestRepliesRequest(conversation_id=conv), metadata=agent)
        assert list(empty.replies) == [] and empty.message_id == ""
        blank = await c.admin.SummarizeConversation(
            admin_pb2.SummarizeConversationRequest(conversation_id=conv), metadata=agent
        )
        assert blank.customer_messages == 0 and blank.customer_wants == ""
