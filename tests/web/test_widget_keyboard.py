"""The widget with the keyboard only (web/e2e/widget_keyboard.ts): Tab to the launcher, Enter
to open, type and Enter to send, Shift+Tab/Tab to the thumbs and the rating, Escape to close
with the focus back on the launcher; the roles and labels screen readers use. The question is
answered from a knowledge entry without a URL: its citation is text, not a link. (An entry
with a `javascript:` URL cannot be stored: the server refuses it; the widget would also only
ever link http(s).)"""

from __future__ import annotations

import asyncio

import grpc
import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.knowledge.v1 import knowledge_pb2 as kpb
from frontdesk_pb.knowledge.v1 import knowledge_pb2_grpc
from tests.e2e.helpers import Client
from tests.e2e.test_grounded_answers import ask_until_settled

ENTRY = kpb.FaqEntry(
    id="e2e-gift-wrap", question="Do you offer gift wrapping?",
    answer="Yes: choose \"Gift wrap\" at checkout for 3 EUR per item; we add a card with your message.",
    examples=["can you wrap my order as a present", "gift wrap option"])


async def _knowledge_entry_without_url(site) -> None:
    """Refuses a javascript: URL, adds ENTRY and waits until the workers answer from it (they reload knowledge in the background)."""
    demo = site.mesh.demo
    async with site.mesh.channel() as ch:
        c = Client(ch)
        owner = await c.operator(demo["slug"], demo["owner_email"], demo["owner_password"])
        kb = knowledge_pb2_grpc.KnowledgeServiceStub(ch)
        scripted = kpb.FaqEntry()
        scripted.CopyFrom(ENTRY)
        scripted.url = "javascript:window.__fdPwned=1"
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await kb.UpsertFaqEntries(kpb.UpsertFaqEntriesRequest(entries=[scripted]), metadata=owner)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details() == "entry 0: url must be an http:// or https:// address"
        assert (await kb.UpsertFaqEntries(kpb.UpsertFaqEntriesRequest(entries=[ENTRY]), metadata=owner)).upserted == 1
        for _ in range(60):
            _, visitor = await c.visitor(demo["widget_key"])
            conv = await c.start(visitor)
            kind, reply = await ask_until_settled(c, visitor, conv, ENTRY.question)
            if kind == "answer" and [x.source_id for x in reply.citations][:1] == [ENTRY.id]:
                assert reply.citations[0].url == ""
                return
            await asyncio.sleep(0.5)  # poll interval, not an assertion
        raise AssertionError("the workers never answered from the new entry")


@pytest.mark.timeout(600)
async def test_a_keyboard_only_visitor_opens_asks_rates_and_closes_the_widget(web_site, run_e2e):
    await _knowledge_entry_without_url(web_site)
    r = run_e2e("widget_keyboard.ts", env={"FRONTDESK_QUESTION": ENTRY.question})

    # Tab reaches the launcher, which is labelled, shows its focus and says it is collapsed
    assert r["toLauncher"][-1] == "fd-launcher"
    assert r["launcherLabel"] == "Chat with us" and r["expandedBefore"] == "false"
    assert r["launcherRing"].startswith("solid"), r["launcherRing"]
    # Enter opened a labelled dialog with the focus in the labelled message box, and a live log
    assert r["expandedAfter"] == "true" and r["dialogName"] == "Chat with Demo Company"
    assert r["inputLabel"] == "fd-input"
    assert r["logAttrs"] == {"name": "Messages", "live": "polite", "testid": "fd-messages"}
    # Enter sent it; it was answered; the focus stayed in the message box; the log is not busy
    assert r["answer"] == ENTRY.answer and r["focusAfterSend"] == "fd-input" and r["busyAfter"] == "false"
    # a citation without a URL is text, not a link, and nowhere in the widget is a non-http(s) link
    assert r["citationLinks"] == 0 and r["anyScriptLink"] == 0
    assert r["citationText"] == f"Source: {ENTRY.question}"
    # Shift+Tab reached the thumbs, Tab the stars, each with a focus ring; Enter and Space used them
    assert r["toThumbs"][-1] == "fd-thumbs-up" and r["thumbsLabel"] == "Helpful" and r["thumbsPressed"] == "true"
    assert r["toRating"][-1] == "fd-rate-4" and r["ratingGroup"] == 1
    assert r["thumbsRing"].startswith("solid") and r["ratingRing"].startswith("solid"), (r["thumbsRing"], r["ratingRing"])
    assert r["stored"]["rating"] == 4 and r["stored"]["feedback"] == {r["answerId"]: True}
    # Escape closed it and gave the focus back to the launcher
    assert r["focusAfterClose"] == "fd-launcher"
    assert r["expandedClosed"] == "false" and r["labelClosed"] == "Chat with us"
    assert r["pageErrors"] == []

    demo = web_site.mesh.demo
    async with web_site.mesh.channel() as ch:
        c = Client(ch)
        md = await c.operator(demo["slug"], demo["owner_email"], demo["owner_password"])
        conv = await c.admin.GetConversation(admin_pb2.GetConversationRequest(
            conversation_id=r["stored"]["conversationId"]), metadata=md)
        assert conv.rating == 4
