"""The demo tenant's FAQ has one question and one answer per entry, no example phrasings,
as a real tenant pastes it. Through the running mesh (`frontdesk ask`, the CLI a person
uses after `make run`): a greeting is greeted back, a paraphrase and a question in German
are answered from the right entry, an angry customer is handed to a person as
`frustrated` and told so in their own language."""

from __future__ import annotations

import pytest

from frontdesk import texts
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from launcher.demo_tenant import DEMO_FAQ
from tests.e2e.helpers import Client
from tests.e2e.test_grounded_answers import ask_until_settled, grounded_mesh  # noqa: F401 - module fixture

ANSWERS = {entry["id"]: entry["answer"] for entry in DEMO_FAQ}


def test_the_demo_faq_has_no_example_phrasings():
    assert DEMO_FAQ and not any(entry.get("examples") for entry in DEMO_FAQ)


def test_frontdesk_ask_greets_answers_and_hands_off(grounded_mesh):  # noqa: F811
    hi = grounded_mesh.cli("ask", "hi")
    assert hi.returncode == 0, hi.stderr
    assert "How can we help you today?" in hi.stdout  # the tenant's own greeting
    shipping = grounded_mesh.cli("ask", "Do you ship to Germany?")
    assert shipping.returncode == 0 and ANSWERS["shipping-time"] in shipping.stdout, shipping.stdout
    password = grounded_mesh.cli("ask", "Wie setze ich mein Passwort zurück?")
    assert password.returncode == 0 and ANSWERS["reset-password"] in password.stdout, password.stdout


@pytest.mark.parametrize(
    ("message", "notice"),
    [
        ("this is the third time my parcel is late, I'm furious", texts.text("handoff_notice_frustrated", "en")),
        (
            "Das ist jetzt schon das dritte Mal, dass mein Paket zu spät kommt! Eine Frechheit!",
            texts.text("handoff_notice_frustrated", "de"),
        ),
        ("Quiero hablar con una persona, por favor", texts.text("handoff_notice", "es")),
    ],
)
async def test_upset_or_asking_customers_are_told_in_their_language(grounded_mesh, message, notice):  # noqa: F811
    async with grounded_mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(grounded_mesh.demo["widget_key"])
        conv = await c.start(md)
        kind, handoff = await ask_until_settled(c, md, conv, message)
        assert kind == "handoff" and handoff.notice == notice
        got = await c.chat.GetConversation(chat_pb2.GetConversationRequest(conversation_id=conv), metadata=md)
        assert got.status == common.CONVERSATION_STATUS_HANDOFF
        assert got.handoff_reason == ("customer_request" if "persona" in message else "frustrated")


async def test_a_reply_carries_the_customers_language(grounded_mesh):  # noqa: F811
    async with grounded_mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(grounded_mesh.demo["widget_key"])
        conv = await c.start(md)
        kind, reply = await ask_until_settled(c, md, conv, "Wie setze ich mein Passwort zurück?")
        assert kind == "answer" and reply.citations[0].source_id == "reset-password"
        assert reply.language == "de"
        kind, thanks = await ask_until_settled(c, md, conv, "danke!")
        assert kind == "answer" and thanks.text == texts.text("thanks", "de") and not thanks.citations
