"""The operator's workspace in a real browser (web/e2e/workspace.ts) against the real mesh of
tests/web/conftest.py: a saved reply inserted by its shortcut with the operator's name filled
in, a private note the customer never receives; checked again over gRPC from both sides."""

from __future__ import annotations

import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.auth.v1 import auth_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from tests.e2e.helpers import Client, bearer

NOTE = "Order 1234 was returned on Monday; refund approved by the owner"
QUESTION = "I would like my money back for order 1234"


@pytest.mark.timeout(600)
async def test_saved_reply_and_private_note_in_the_operators_day(web_site, run_e2e):
    result = run_e2e("workspace.ts", timeout=420)

    assert "/refund" in result["savedRowText"] and "Refund on its way" in result["savedRowText"]
    # the operator's name was filled in; the customer's (not known here) was left to edit
    assert result["inserted"] == "Hi {customer_name}, this is Demo Company: your refund is on its way."
    assert result["sent"] == "Hi Alex, this is Demo Company: your refund is on its way."
    assert result["agentMessageId"], "the visitor's stream delivered the operator's reply"
    assert not result["visitorSawNote"]
    # the copilot's first suggestion for "my money back for order 1234": the demo FAQ's refund entry
    assert "refund" in result["suggested"].lower(), result["suggested"]
    # the audit log page shows who saved the reply, and never its text
    assert "response.shortcut: /refund" in result["auditRow"] and "your refund is on its way" not in result["auditRow"]

    # the search found the customer's message and opened its conversation
    assert QUESTION in result["searchHit"] and "Customer" in result["searchHit"], result["searchHit"]
    assert result["openedFromSearch"].endswith(f"/conversations/{result['conversationId']}")

    visitor = bearer(result["visitorToken"])
    async with web_site.mesh.channel() as ch:
        c = Client(ch)
        history = await c.chat.ListMessages(
            chat_pb2.ListMessagesRequest(conversation_id=result["conversationId"]), metadata=visitor, timeout=10
        )
        assert result["sent"] in [m.text for m in history.messages]
        assert all("refund approved" not in m.text for m in history.messages)
        login = await c.auth.OperatorLogin(
            auth_pb2.OperatorLoginRequest(
                tenant=web_site.tenant, email=web_site.operator_email, password=web_site.operator_password
            ),
            timeout=10,
        )
        team = await c.admin.ListMessages(
            admin_pb2.ListMessagesRequest(conversation_id=result["conversationId"]),
            metadata=bearer(login.token),
            timeout=10,
        )
        assert [n.text for n in team.notes] == [NOTE]
