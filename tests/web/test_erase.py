"""A customer's erasure from the admin panel in a real browser (web/e2e/erase.ts) against the real
mesh of tests/web/conftest.py: the owner confirms, the panel says what went, and over gRPC the
conversation is gone for the team and for the customer."""

from __future__ import annotations

import grpc
import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from tests.e2e.helpers import Client, bearer
from tests.e2e.test_roles import code_of


@pytest.mark.timeout(400)
async def test_an_owner_erases_a_customer_from_their_conversation_page(web_site, run_e2e):
    result = run_e2e("erase.ts", timeout=300)

    assert "cannot be undone" in result["asked"], result["asked"]
    assert "1 conversation(s)" in result["said"], result["said"]
    assert result["stillListed"] == 0 and "/admin/conversations?erased=" in result["url"]
    async with web_site.mesh.channel() as ch:
        c = Client(ch)
        operator = await c.operator(web_site.tenant, web_site.operator_email, web_site.operator_password)
        got = c.admin.GetConversation(
            admin_pb2.GetConversationRequest(conversation_id=result["conversationId"]), metadata=operator
        )
        assert await code_of(got) == grpc.StatusCode.NOT_FOUND
        theirs = c.chat.ListMessages(
            chat_pb2.ListMessagesRequest(conversation_id=result["conversationId"]),
            metadata=bearer(result["visitorToken"]),
        )
        assert await code_of(theirs) == grpc.StatusCode.NOT_FOUND
