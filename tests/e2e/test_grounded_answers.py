"""The default answer policy in the running mesh: answers come from the tenant's
knowledge base with citations; what it cannot answer, and requests for a person, are
handed to a human."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from launcher.demo_tenant import DEMO_FAQ
from tests.conftest import start_mesh
from tests.e2e.helpers import Client

ANSWERS = {entry["id"]: entry["answer"] for entry in DEMO_FAQ}


@pytest.fixture(scope="module")
def grounded_mesh(tmp_path_factory):
    mesh = start_mesh(tmp_path_factory.mktemp("grounded") / "data", answer_policy="knowledge")
    yield mesh
    mesh.stop()


async def ask_until_settled(c: Client, md, conv: str, text: str, timeout: float = 90):
    """Send a question; returns ('answer', message) or ('handoff', handoff event)."""
    events = c.chat.StreamEvents(chat_pb2.StreamEventsRequest(conversation_id=conv), metadata=md)
    try:
        await events.read()
        sent = await c.chat.SendMessage(chat_pb2.SendMessageRequest(conversation_id=conv, text=text), metadata=md)

        async def settle():
            while (ev := await events.read()) is not grpc.aio.EOF:
                if ev.WhichOneof("kind") == "message" and ev.message.in_reply_to == sent.message.id:
                    return "answer", ev.message
                if ev.WhichOneof("kind") == "handoff":
                    return "handoff", ev.handoff
            raise AssertionError("stream ended")

        return await asyncio.wait_for(settle(), timeout)  # the first question trains the tenant's router
    finally:
        events.cancel()


async def test_a_known_question_is_answered_from_the_knowledge_base_with_a_citation(grounded_mesh):
    async with grounded_mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(grounded_mesh.demo["widget_key"])
        conv = await c.start(md)
        kind, reply = await ask_until_settled(c, md, conv, "I forgot my password, how can I get a new one?")
        assert kind == "answer"
        assert reply.text == ANSWERS["reset-password"]
        assert [x.source_id for x in reply.citations][:1] == ["reset-password"]


@pytest.mark.parametrize(
    "question,reason",
    [
        ("What is the capital of France?", {"out_of_scope", "low_confidence", "no_knowledge"}),
        ("I want to talk to a real person please", {"customer_request"}),
    ],
)
async def test_what_it_cannot_answer_goes_to_a_person(grounded_mesh, question, reason):
    async with grounded_mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(grounded_mesh.demo["widget_key"])
        conv = await c.start(md)
        kind, handoff = await ask_until_settled(c, md, conv, question)
        assert kind == "handoff" and handoff.reason in reason
        state = await c.chat.GetConversation(chat_pb2.GetConversationRequest(conversation_id=conv), metadata=md)
        assert state.status == common.CONVERSATION_STATUS_HANDOFF and state.handoff_reason in reason
        history = await c.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=conv), metadata=md)
        assert [m.role for m in history.messages] == [common.ROLE_CUSTOMER, common.ROLE_SYSTEM]


async def test_the_ask_command_prints_the_knowledge_base_answer(grounded_mesh):
    result = grounded_mesh.cli("ask", "How long does delivery take?", timeout=120)
    assert result.returncode == 0, result.stderr
    assert ANSWERS["shipping-time"] in result.stdout


async def test_kb_import_reports_bad_lines_and_the_new_knowledge_is_answered(grounded_mesh, tmp_path):
    faq = tmp_path / "more.jsonl"
    faq.write_text(
        '{"id": "gift-cards", "question": "Do you sell gift cards?", "answer": "Yes: gift cards of 25, 50 and 100 EUR, '
        'valid for three years.", "examples": ["can I buy a voucher", "gift voucher", "present card for a friend"]}\n'
        '{"id": "broken", "question": \n'
    )
    result = grounded_mesh.cli("kb", "import", str(faq))
    assert result.returncode == 0, result.stderr
    assert "imported 1 FAQ entries" in result.stdout and f"{faq}:2:" in result.stderr
    await asyncio.sleep(1.5)  # workers look for knowledge-base changes once a second
    async with grounded_mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(grounded_mesh.demo["widget_key"])
        conv = await c.start(md)
        kind, reply = await ask_until_settled(c, md, conv, "Can I buy a gift card for my sister?")
        assert kind == "answer" and reply.citations[0].source_id == "gift-cards"


def test_eval_prints_the_metrics_of_the_production_policy(grounded_mesh, tmp_path):
    kb, cases = tmp_path / "kb.jsonl", tmp_path / "cases.jsonl"
    kb.write_text(
        '{"id": "hours", "question": "When are you open?", "answer": "Mon-Fri 9-17.", "examples": ["opening hours", "are you open on sunday", "what time do you close"]}\n'
        '{"id": "ship", "question": "How long does shipping take?", "answer": "2 days.", "examples": ["delivery time", "when will my parcel arrive", "how fast is shipping"]}\n'
    )
    cases.write_text(
        '{"question": "what are your opening hours?", "expect": "hours"}\n'
        '{"question": "how long until my package arrives", "expect": "ship"}\n'
        '{"question": "who won the football world cup", "expect": null}\n'
    )
    result = grounded_mesh.cli("eval", "--kb", str(kb), "--cases", str(cases), "--json")
    assert result.returncode == 0, result.stderr
    report = __import__("json").loads(result.stdout)
    assert report["cases"] == 3 and 0 <= report["in_scope_accuracy"] <= 1
    assert {"handoff_recall", "handoff_precision", "p50_ms", "p99_ms"} <= set(report)
