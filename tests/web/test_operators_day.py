"""An operator's day in a real browser (web/e2e/operators_day.ts) against the real mesh of
tests/web/conftest.py, on a tenant of its own: two agents online, a customer in the widget asks
for a person, the handoff is auto-assigned to one of them, who adds a note, sends a saved reply
and resolves; the customer rates it; the agent finds it by search and sees their figures on the
analytics page. Checked again over gRPC."""

from __future__ import annotations

import json

import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from frontdesk_pb.common.v1 import common_pb2 as common
from tests.analytics.test_mesh_analytics import overview_when
from tests.conftest import PLATFORM_TOKEN
from tests.e2e.helpers import Client, create_tenant

PASSWORD = "a long day at the desk"
SAVED = "Hi {customer_name}, bring the bike in any weekday and we adjust the brakes for free."


@pytest.mark.timeout(600)
async def test_two_agents_a_handoff_a_saved_reply_a_rating_search_and_figures(web_site, run_e2e):
    async with web_site.mesh.channel() as ch:
        c = Client(ch)
        created = await create_tenant(c, PLATFORM_TOKEN, "operators-day")
        owner = await c.operator("operators-day", "owner@operators-day.example", "correct horse battery")
        agents = []
        for name in ("Ana", "Ben"):
            email = f"{name.lower()}@operators-day.example"
            op = await c.admin.CreateOperator(
                admin_pb2.CreateOperatorRequest(email=email, display_name=name, role="agent", password=PASSWORD),
                metadata=owner,
                timeout=10,
            )
            agents.append({"id": op.id, "name": name, "email": email})
        await c.admin.SaveCannedResponse(
            admin_pb2.SaveCannedResponseRequest(
                response=admin_pb2.CannedResponse(shortcut="brakes", title="Brakes adjusted", text=SAVED)
            ),
            metadata=owner,
            timeout=10,
        )

    result = run_e2e(
        "operators_day.ts",
        env={
            "FRONTDESK_DAY_TENANT": "operators-day",
            "FRONTDESK_DAY_WIDGET_KEY": created.tenant.widget_key,
            "FRONTDESK_DAY_PASSWORD": PASSWORD,
            "FRONTDESK_DAY_AGENTS": json.dumps(agents),
        },
        timeout=420,
    )

    names = {a["id"]: a["name"] for a in agents}
    assert result["assignedTo"] in names
    assert result["sent"] == SAVED.replace("{customer_name}", "there")
    assert not result["customerSawNote"]
    assert result["hits"] >= 1
    # the analytics row: the agent's name, one first response, one resolved
    row = result["operatorRow"]
    assert row.startswith(names[result["assignedTo"]]) and row.split()[1] == "1", row
    assert "4.0 / 5 (1)" in result["teamRating"], result["teamRating"]

    async with web_site.mesh.channel() as ch:
        c = Client(ch)
        owner = await c.operator("operators-day", "owner@operators-day.example", "correct horse battery")
        conv = await c.admin.GetConversation(
            admin_pb2.GetConversationRequest(conversation_id=result["conversationId"]), metadata=owner, timeout=10
        )
        assert conv.status == common.CONVERSATION_STATUS_CLOSED and conv.rating == 4
        team = await c.admin.ListMessages(
            admin_pb2.ListMessagesRequest(conversation_id=result["conversationId"]), metadata=owner, timeout=10
        )
        assert [n.text for n in team.notes] == ["Service was done by Sam; check the brake pads first"]
        assert result["sent"] in [m.text for m in team.messages]
        analytics = analytics_pb2_grpc.AnalyticsServiceStub(ch)
        o = await overview_when(analytics, owner, lambda o: o.ratings_team == 1 and o.resolution.count == 1, "counted")
        assert [(s.operator_id, s.first_responses, s.resolved) for s in o.operators] == [(result["assignedTo"], 1, 1)]
        assert (o.ratings_team, o.satisfaction_team, o.ratings_ai) == (1, 4.0, 0)
