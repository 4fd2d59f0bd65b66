"""The issue's whole story in one real browser (web/e2e/story.ts): a visitor asks in the widget,
sees the streamed answer and rates it; an operator in a second browser context finds that
conversation in the admin panel, takes over and replies; the visitor sees the agent join and
the reply in the widget. Checked again through the gRPC API."""

from __future__ import annotations

import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from launcher.demo_tenant import DEMO_FAQ
from tests.e2e.helpers import Client

ANSWERS = {entry["id"]: entry["answer"] for entry in DEMO_FAQ}
AGENT_REPLY = "Hello, this is a person from the support team. Anything else I can help with?"


@pytest.mark.timeout(600)
async def test_visitor_asks_and_rates_operator_takes_over_and_the_widget_shows_the_reply(web_site, run_e2e):
    r = run_e2e("story.ts", timeout=420)
    conv_id = r["conversationId"]

    # the visitor's side
    assert r["answer"] == ANSWERS["opening-hours"]
    assert r["stored"]["rating"] == 4 and r["stored"]["feedback"] == {r["answerId"]: True}
    # the operator found THAT conversation and opened it
    assert conv_id in r["rowText"] and r["headerText"] == conv_id
    # the widget showed the agent joining and the reply, after the AI's answer
    owner_name = "Demo Company"  # the demo owner's display name (gateway/service.py: the tenant's name)
    assert r["joinedText"] == f"{owner_name} joined the conversation"
    assert r["order"] == ["fd-message-ai", "fd-agent-joined", "fd-message-agent"]
    assert f"{owner_name} is helping you" in r["panelHeader"]
    # after a reload, from the history alone
    assert r["orderAfterReload"] == ["fd-message-ai", "fd-agent-joined", "fd-message-agent"]
    assert f"{owner_name} is helping you" in r["headerAfterReload"]
    assert r["agentText"] == AGENT_REPLY
    assert r["placeholder"] == "Write to our team…"
    seen = r["seen"]
    answer, joined, agent = f"answer:{r['answerId']}", "agent-joined", f"agent:{r['agentMessageId']}"
    assert answer in seen and joined in seen and agent in seen, seen
    assert seen.index(answer) < seen.index(joined) and seen.index(answer) < seen.index(agent), seen

    # the server holds what both browsers showed
    demo = web_site.mesh.demo
    async with web_site.mesh.channel() as ch:
        c = Client(ch)
        md = await c.operator(demo["slug"], demo["owner_email"], demo["owner_password"])
        conv = await c.admin.GetConversation(admin_pb2.GetConversationRequest(conversation_id=conv_id), metadata=md)
        assert conv.rating == 4
        assert conv.status == common.CONVERSATION_STATUS_HUMAN
        history = await c.admin.ListMessages(admin_pb2.ListMessagesRequest(conversation_id=conv_id), metadata=md)
        by_role = [(m.role, m.id) for m in history.messages if m.role != common.ROLE_SYSTEM]
        assert [role for role, _ in by_role] == [common.ROLE_CUSTOMER, common.ROLE_AI, common.ROLE_AGENT]
        assert by_role[1][1] == r["answerId"] and by_role[2][1] == r["agentMessageId"]
        assert history.messages[-1].text == AGENT_REPLY
