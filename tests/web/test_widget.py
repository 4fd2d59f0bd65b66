"""The chat widget in a real browser (Chromium driven by web/e2e/widget*.ts) on the demo page,
against the real mesh answering from the demo FAQ; what the browser did is checked again
through the gRPC API and the domain events."""

from __future__ import annotations

import nats
import pytest

from frontdesk import bus
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from launcher.demo_tenant import DEMO_FAQ
from frontdesk_pb.events.v1 import events_pb2
from tests.e2e.helpers import Client

ANSWERS = {entry["id"]: entry["answer"] for entry in DEMO_FAQ}
URLS = {entry["id"]: entry.get("url", "") for entry in DEMO_FAQ}
HTML_LIKE = '<img src=x onerror="window.__fdInjected=1"><b>Hi</b> I want to talk to a real person please'


async def feedback_events(site, conversation_id: str) -> list[events_pb2.DomainEvent]:
    """The feedback_given domain events of a conversation (EVENTS stream, what analytics reads)."""
    nc = await nats.connect(f"nats://127.0.0.1:{site.mesh.ports['nats']}")
    try:
        js = nc.jetstream()
        tenant = site.mesh.demo["tenant_id"]
        sub = await js.subscribe(bus.events_subject(tenant, "feedback_given"), ordered_consumer=True)
        found = []
        # the conversation service publishes it in the background right after answering the RPC
        while not found:
            msg = await sub.next_msg(timeout=30)
            event = events_pb2.DomainEvent.FromString(msg.data)
            if event.conversation_id == conversation_id:
                found.append(event)
        return found
    finally:
        await nc.close()


@pytest.mark.timeout(600)
async def test_a_visitor_asks_sees_the_answer_stream_rates_it_and_finds_it_after_a_reload(web_site, run_e2e):
    r = run_e2e("widget.ts")

    assert r["tenantName"] == "Demo Company" and r["greeting"]
    # the answer is the FAQ's, cited, and it was shown in parts before the final text
    assert r["answer"] == ANSWERS["reset-password"]
    assert r["citations"] and "password" in r["citations"][0].lower()
    # the cited entry's URL is a link (http(s) only), opened in a new tab without an opener
    (link,) = r["citationLinks"]
    assert URLS["reset-password"].startswith("https://")
    assert link["href"] == URLS["reset-password"] and "password" in link["text"].lower()
    assert link["target"] == "_blank" and set(link["rel"].split()) >= {"noopener", "noreferrer"}
    # typing indicator first, then the answer in parts, then the final answer
    seen = r["seen"]
    assert "typing" in seen and "streaming" in seen and f"answer:{r['answerId']}" in seen, seen
    assert seen.index("typing") < seen.index("streaming") < seen.index(f"answer:{r['answerId']}"), seen
    assert any(len(t) < len(r["answer"]) and r["answer"].startswith(t.strip()) for t in r["streamed"]), r["streamed"]
    # HTML typed by the visitor is text: shown verbatim, no element made, no script run
    assert r["shown"] == HTML_LIKE
    assert r["injected"] == {"images": 0, "ran": 0}
    assert "A person will reply" in r["handoff"]
    # after the reload: the same messages, once each, votes remembered
    assert r["idsAfter"] == r["idsBefore"] and len(set(r["idsAfter"])) == len(r["idsAfter"]) == 4
    assert r["thumbAfterReload"] == "true" and r["handoffAfterReload"]
    assert r["pageErrors"] == []

    # the server has what the browser showed
    conv_id = r["conversationId"]
    demo = web_site.mesh.demo
    async with web_site.mesh.channel() as ch:
        c = Client(ch)
        md = await c.operator(demo["slug"], demo["owner_email"], demo["owner_password"])
        conv = await c.admin.GetConversation(admin_pb2.GetConversationRequest(conversation_id=conv_id), metadata=md)
        assert conv.rating == 5
        assert conv.status == common.CONVERSATION_STATUS_HANDOFF
        history = await c.admin.ListMessages(admin_pb2.ListMessagesRequest(conversation_id=conv_id), metadata=md)
        assert [m.id for m in history.messages] == r["idsAfter"]
        assert [m.role for m in history.messages] == [common.ROLE_CUSTOMER, common.ROLE_AI, common.ROLE_CUSTOMER,
                                                      common.ROLE_SYSTEM]
        assert history.messages[2].text == HTML_LIKE
        assert history.messages[1].id == r["answerId"]
    (event,) = await feedback_events(web_site, conv_id)
    assert event.feedback_given.message_id == r["answerId"] and event.feedback_given.helpful


@pytest.mark.timeout(600)
async def test_the_widget_reconnects_retries_renews_its_session_and_attaches_files(web_site, run_e2e):
    r = run_e2e("widget_reconnect.ts")

    # offline while a question was asked and answered elsewhere: caught up, each message once
    assert r["reconnectingShown"]
    assert r["afterReconnect"][: len(r["beforeOffline"])] == r["beforeOffline"]
    assert len(r["afterReconnect"]) == len(r["beforeOffline"]) + 2
    assert len(set(r["afterReconnect"])) == len(r["afterReconnect"])
    assert r["caughtUpAnswer"] == ANSWERS["track-order"]
    # a failed send says so in words and succeeds once on retry
    assert "could not reach the server" in r["sendError"].lower()
    assert r["refundQuestions"] == 1 and r["refundAnswer"] == ANSWERS["refund-time"]
    # an unusable session is replaced without the visitor noticing
    assert r["errorAfterBadToken"] == "" and r["answerAfterBadToken"] == ANSWERS["shipping-time"]
    assert r["attachment"].startswith("order-note.txt")
    assert r["pageErrors"] == []

    demo = web_site.mesh.demo
    async with web_site.mesh.channel() as ch:
        c = Client(ch)
        md = await c.operator(demo["slug"], demo["owner_email"], demo["owner_password"])
        history = await c.admin.ListMessages(admin_pb2.ListMessagesRequest(conversation_id=r["conversationId"]),
                                             metadata=md)
        ids = [m.id for m in history.messages]
        assert ids == r["afterRetry"] and len(set(ids)) == len(ids)
