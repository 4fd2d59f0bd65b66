"""The operators' live inbox in a real browser (web/e2e/inbox.ts) against the real mesh of
tests/web/conftest.py: a handoff reaches an operator's open conversation list and banner
without a reload, and again after the operator's browser was offline meanwhile (resumed by
cursor); the operator assigns one from the conversation page. Checked over gRPC: both are
waiting for a person, the second with the owner chosen in the browser."""

from __future__ import annotations

import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from tests.e2e.helpers import Client


@pytest.mark.timeout(600)
async def test_a_handoff_reaches_the_open_inbox_live_and_after_a_reconnect(web_site, run_e2e):
    result = run_e2e("inbox.ts", timeout=300)

    async with web_site.mesh.channel() as ch:
        c = Client(ch)
        operator = await c.operator(web_site.tenant, web_site.operator_email, web_site.operator_password)
        for conversation_id in (result["first"], result["second"]):
            conv = await c.admin.GetConversation(
                admin_pb2.GetConversationRequest(conversation_id=conversation_id),
                metadata=operator,
                timeout=10,
            )
            assert conv.status == common.CONVERSATION_STATUS_HANDOFF
            assert conv.handoff_reason == "customer_request"
            if conversation_id == result["second"]:  # assigned and labelled in the browser
                assert conv.assigned_operator_id == result["assignedTo"]
                assert list(conv.labels) == ["callback", "vip"]
        team = await c.admin.ListOperators(admin_pb2.ListOperatorsRequest(), metadata=operator, timeout=10)
        assert result["assignedTo"] in [o.id for o in team.operators]
