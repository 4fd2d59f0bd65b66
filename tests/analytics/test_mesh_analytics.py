"""Analytics on the real mesh: customers ask, give feedback and rate through the gateway;
an operator hands over and closes; the operator's AnalyticsService (through the
gateway) reports it all, a duplicated event changes nothing, and the analytics
service's /metrics serves Prometheus text."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import grpc
import nats
import pytest

from frontdesk import bus
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.analytics.v1 import analytics_pb2 as pb
from frontdesk_pb.analytics.v1 import analytics_pb2_grpc
from frontdesk_pb.chat.v1 import chat_pb2
from tests.conftest import PLATFORM_TOKEN
from tests.e2e.helpers import Client, create_tenant


async def settled(js) -> None:
    """Until the analytics consumer has counted and acknowledged everything in EVENTS."""
    deadline = time.monotonic() + 60
    while True:
        info = await js.consumer_info(bus.EVENTS_STREAM, "analytics")
        if info.num_pending == 0 and info.num_ack_pending == 0:
            return
        assert time.monotonic() < deadline, info
        await asyncio.sleep(0.1)


async def overview_when(analytics, md, done, what: str) -> pb.Overview:
    """The overview once `done(overview)` holds (events travel asynchronously)."""
    deadline = time.monotonic() + 60
    while True:
        o = await analytics.GetOverview(pb.GetOverviewRequest(), metadata=md, timeout=10)
        if done(o):
            return o
        assert time.monotonic() < deadline, f"{what}: {o}"
        await asyncio.sleep(0.2)


async def test_the_operator_sees_what_customers_did_and_a_duplicate_counts_once(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        analytics = analytics_pb2_grpc.AnalyticsServiceStub(ch)
        tenant = await create_tenant(c, PLATFORM_TOKEN, "analytics-shop")  # a tenant of its own: exact figures
        op = await c.operator("analytics-shop", "owner@analytics-shop.example", "correct horse battery")

        _, md = await c.visitor(tenant.tenant.widget_key)
        conv = await c.start(md)
        _, _, first = await c.ask(md, conv, "Where is my parcel?")
        _, _, second = await c.ask(
            md, conv, "This is awful, terrible service. My parcel never arrived and I am furious!"
        )
        await c.chat.SubmitFeedback(
            chat_pb2.SubmitFeedbackRequest(conversation_id=conv, message_id=first.id, helpful=True),
            metadata=md,
            timeout=10,
        )
        await c.chat.SubmitFeedback(
            chat_pb2.SubmitFeedbackRequest(conversation_id=conv, message_id=second.id, helpful=False),
            metadata=md,
            timeout=10,
        )
        await c.chat.RateConversation(
            chat_pb2.RateConversationRequest(conversation_id=conv, score=2), metadata=md, timeout=10
        )
        # a second conversation goes to a person, who closes it: human-resolved
        other = await c.start(md)
        await c.chat.RequestHuman(
            chat_pb2.RequestHumanRequest(conversation_id=other, reason="a person please"), metadata=md, timeout=10
        )
        await c.admin.TakeOver(admin_pb2.TakeOverRequest(conversation_id=other), metadata=op, timeout=10)
        await c.admin.CloseConversation(
            admin_pb2.CloseConversationRequest(conversation_id=other), metadata=op, timeout=10
        )

        o = await overview_when(
            analytics,
            op,
            lambda o: (
                o.questions == 2
                and o.ai_answered == 2
                and o.ratings == 1
                and o.helpful + o.not_helpful == 2
                and o.human_resolved == 1
            ),
            "everything counted",
        )
        assert (o.accuracy, o.satisfaction, list(o.rating_counts)) == (0.5, 2.0, [0, 1, 0, 0, 0])
        assert (o.handed_off, o.closed, o.ai_resolved) == (1, 1, 0)
        assert [(r.name, r.count) for r in o.handoff_reasons] == [("customer_request", 1)]
        assert o.reply.count == 2 and o.reply_p50_ms > 0 and o.first_token_p99_ms > 0
        assert o.completion_tokens > 0 and [b.backend for b in o.backends] == ["echo"]
        assert o.negative_messages == 1 and o.sentiment < 0
        sentiment = await analytics.GetSentiment(pb.GetSentimentRequest(), metadata=op, timeout=10)
        assert [(m.conversation_id, m.compound < -0.5) for m in sentiment.most_negative] == [(conv, True)]
        daily = await analytics.GetDailyStats(pb.GetDailyStatsRequest(), metadata=op, timeout=10)
        assert len(daily.days) == 30 and daily.days[-1].questions == 2 and sum(d.questions for d in daily.days) == 2

        # the same events published again under new message ids (past JetStream's dedupe): nothing changes
        nc = await nats.connect(f"nats://127.0.0.1:{mesh.ports['nats']}")
        try:
            js = nc.jetstream()
            tenant_id = tenant.tenant.id
            for kind in ("message_received", "feedback_given", "conversation_rated", "conversation_closed"):
                original = await js.get_last_msg(bus.EVENTS_STREAM, bus.events_subject(tenant_id, kind))
                await js.publish(original.subject, original.data, headers={"Nats-Msg-Id": f"copy-{kind}"})
            await settled(js)
        finally:
            await nc.close()
        again = await analytics.GetOverview(pb.GetOverviewRequest(), metadata=op, timeout=10)
        assert again == o

        # backfill through the gateway: everything in the stream is already counted
        done = await analytics.Backfill(pb.BackfillRequest(), metadata=op, timeout=120)
        assert done.applied == 0 and done.duplicates >= 9 and done.scanned == done.duplicates + done.skipped
        assert await analytics.GetOverview(pb.GetOverviewRequest(), metadata=op, timeout=10) == o
        shell = mesh.cli("analytics", "backfill", "--tenant", "analytics-shop", timeout=120)
        assert shell.returncode == 0, shell.stderr
        assert "0 counted now" in shell.stdout and f"{done.duplicates} already counted" in shell.stdout

        # another tenant's operator sees its own (empty) figures; customers see none
        demo_op = await c.operator(mesh.demo["slug"], mesh.demo["owner_email"], mesh.demo["owner_password"])
        demo = await analytics.GetTopUnanswered(pb.GetTopUnansweredRequest(), metadata=demo_op, timeout=10)
        assert all("parcel" not in q.question for q in demo.questions)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await analytics.GetOverview(pb.GetOverviewRequest(), metadata=md, timeout=10)
        assert denied.value.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await analytics.GetOverview(
                pb.GetOverviewRequest(range=pb.DateRange(from_day="yesterday")), metadata=op, timeout=10
            )
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "YYYY-MM-DD" in bad.value.details()

        status = await c.admin.GetSystemStatus(admin_pb2.GetSystemStatusRequest(), metadata=op, timeout=10)
        assert {s.name: s.health for s in status.services}["analytics"] == "SERVING"
        assert [q.consumer for q in status.queues if q.stream == "EVENTS"] == ["analytics"]

    # the analytics service's own Prometheus endpoint
    url = json.loads((mesh.data_dir / "runtime.json").read_text())["metrics"]["analytics"]
    response = urllib.request.urlopen(url, timeout=5)
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.read().decode()
    assert 'frontdesk_analytics_events_total{outcome="applied"}' in text
    assert 'frontdesk_analytics_events_total{outcome="duplicate"}' in text
    assert 'frontdesk_rpc_total{code="OK",method="GetOverview",service="AnalyticsService"}' in text


async def test_the_teams_response_and_resolution_times_and_its_ratings_apart_from_the_ais(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        analytics = analytics_pb2_grpc.AnalyticsServiceStub(ch)
        tenant = await create_tenant(c, PLATFORM_TOKEN, "team-times")
        owner = await c.operator("team-times", "owner@team-times.example", "correct horse battery")
        agent_id = (
            await c.admin.CreateOperator(
                admin_pb2.CreateOperatorRequest(
                    email="agent@team-times.example", role="agent", password="agent pass 123"
                ),
                metadata=owner,
                timeout=10,
            )
        ).id
        agent = await c.operator("team-times", "agent@team-times.example", "agent pass 123")
        _, md = await c.visitor(tenant.tenant.widget_key)
        # the AI alone: rated 5
        alone = await c.start(md)
        await c.ask(md, alone, "Do you ship to Austria?")
        await c.chat.RateConversation(
            chat_pb2.RateConversationRequest(conversation_id=alone, score=5), metadata=md, timeout=10
        )
        # with the team: handed over, answered by the agent a moment later, resolved, rated 3
        helped = await c.start(md)
        await c.chat.RequestHuman(
            chat_pb2.RequestHumanRequest(conversation_id=helped, reason="a person please"), metadata=md, timeout=10
        )
        await asyncio.sleep(0.3)
        await c.admin.SendAgentMessage(
            admin_pb2.SendAgentMessageRequest(conversation_id=helped, text="Hi, I am here."), metadata=agent, timeout=10
        )
        await c.admin.SendAgentMessage(  # a second reply is not a first response
            admin_pb2.SendAgentMessageRequest(conversation_id=helped, text="Sorted."), metadata=agent, timeout=10
        )
        team_view = await c.admin.GetConversation(
            admin_pb2.GetConversationRequest(conversation_id=helped), metadata=agent, timeout=10
        )
        assert team_view.handed_off_at.seconds and team_view.first_response_at.seconds
        wait_ms = team_view.first_response_at.ToMilliseconds() - team_view.handed_off_at.ToMilliseconds()
        assert wait_ms >= 300
        await c.admin.CloseConversation(
            admin_pb2.CloseConversationRequest(conversation_id=helped), metadata=agent, timeout=10
        )
        customer_view = await c.chat.GetConversation(
            chat_pb2.GetConversationRequest(conversation_id=helped), metadata=md, timeout=10
        )
        assert not customer_view.HasField("handed_off_at") and not customer_view.HasField("first_response_at")
        await c.chat.RateConversation(
            chat_pb2.RateConversationRequest(conversation_id=helped, score=3), metadata=md, timeout=10
        )

        o = await overview_when(
            analytics,
            owner,
            lambda o: o.ratings == 2 and o.resolution.count == 1 and o.first_response.count == 1,
            "the team's figures",
        )
        assert (o.ratings_ai, o.satisfaction_ai, o.ratings_team, o.satisfaction_team) == (1, 5.0, 1, 3.0)
        # percentiles come from log-spaced bins (within ~6%); the wait was at least 300 ms
        assert o.first_response.p50_ms >= 300 * 0.94 and o.resolution.p50_ms >= o.first_response.p50_ms * 0.94
        [stat] = o.operators
        assert (stat.operator_id, stat.first_responses, stat.resolved) == (agent_id, 1, 1)
        assert (
            abs(stat.mean_first_response_ms - wait_ms) < 50 and stat.mean_resolution_ms >= stat.mean_first_response_ms
        )
        # rebuilt from the logs, the first response and the ratings are the ones already counted
        rebuilt = await analytics.Backfill(pb.BackfillRequest(from_logs=True), metadata=owner, timeout=120)
        assert rebuilt.applied == 0, rebuilt
        assert await analytics.GetOverview(pb.GetOverviewRequest(), metadata=owner, timeout=10) == o
