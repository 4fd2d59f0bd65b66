"""The rebuild from the stored logs on the real mesh. First, with nothing lost, every
event it rebuilds is one the live services already published and analytics counted
(the same ids: nothing is counted twice). Then an outage: the analytics consumer is
paused while customers keep asking, rating and asking for people, and the tenant's
events are purged from JetStream before analytics reads them, so neither the consumer
nor the stream backfill can ever count them. The rebuild from the logs (through the
gateway, as the tenant's owner) puts them back; a second run, or the shell's, changes
nothing. Per-conversation sentiment is rebuilt along."""

from __future__ import annotations

import asyncio
import time

import nats

from frontdesk import bus
from frontdesk_pb.analytics.v1 import analytics_pb2 as pb
from frontdesk_pb.analytics.v1 import analytics_pb2_grpc
from frontdesk_pb.chat.v1 import chat_pb2
from tests.analytics.test_mesh_analytics import overview_when, settled
from tests.conftest import PLATFORM_TOKEN
from tests.e2e.helpers import Client, create_tenant

FROM_LOGS = pb.BackfillRequest(from_logs=True)


def figures(o: pb.Overview) -> tuple:
    return (o.questions, o.ai_answered, o.handed_off, o.helpful, o.not_helpful, o.ratings, o.satisfaction)


async def pending_at_least(js, n: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        info = await js.consumer_info(bus.EVENTS_STREAM, "analytics")
        if info.num_pending >= n:
            return
        assert time.monotonic() < deadline, info
        await asyncio.sleep(0.1)


async def test_after_an_outage_the_logs_rebuild_what_analytics_never_saw(mesh):
    nc = await nats.connect(f"nats://127.0.0.1:{mesh.ports['nats']}")
    js = nc.jetstream()
    async with mesh.channel() as ch:
        c = Client(ch)
        analytics = analytics_pb2_grpc.AnalyticsServiceStub(ch)
        tenant = await create_tenant(c, PLATFORM_TOKEN, "rebuild-shop")
        tenant_id = tenant.tenant.id
        op = await c.operator("rebuild-shop", "owner@rebuild-shop.example", "correct horse battery")
        _, md = await c.visitor(tenant.tenant.widget_key)

        # before the outage, counted live: a question with a thumbs up and 4 stars, a handoff
        calm = await c.start(md)
        _, _, answer = await c.ask(md, calm, "Thanks! How do I change my address?")
        await c.chat.SubmitFeedback(
            chat_pb2.SubmitFeedbackRequest(conversation_id=calm, message_id=answer.id, helpful=True),
            metadata=md,
            timeout=10,
        )
        await c.chat.RateConversation(
            chat_pb2.RateConversationRequest(conversation_id=calm, score=4), metadata=md, timeout=10
        )
        person = await c.start(md)
        await c.chat.RequestHuman(
            chat_pb2.RequestHumanRequest(conversation_id=person, reason="a person please"), metadata=md, timeout=10
        )
        before = await overview_when(analytics, op, lambda o: figures(o) == (1, 1, 1, 1, 0, 1, 4.0), "counted live")
        await settled(js)

        # nothing lost: the rebuilt events are the live ones (same ids), so nothing changes
        same = await analytics.Backfill(FROM_LOGS, metadata=op, timeout=120)
        assert (same.conversations, same.scanned, same.applied, same.duplicates) == (2, 5, 0, 5)
        assert await analytics.GetOverview(pb.GetOverviewRequest(), metadata=op, timeout=10) == before

        # the outage: analytics reads nothing, and the tenant's events never reach it
        await js.pause_consumer(bus.EVENTS_STREAM, "analytics", "2099-01-01T00:00:00Z")
        try:
            angry = await c.start(md)
            _, _, first = await c.ask(md, angry, "This is terrible. You charged me twice, awful service!")
            await c.ask(md, angry, "I am furious, nobody helps me.")
            await c.chat.SubmitFeedback(
                chat_pb2.SubmitFeedbackRequest(conversation_id=angry, message_id=first.id, helpful=False),
                metadata=md,
                timeout=10,
            )
            await c.chat.RateConversation(
                chat_pb2.RateConversationRequest(conversation_id=angry, score=1), metadata=md, timeout=10
            )
            other = await c.start(md)
            await c.chat.RequestHuman(
                chat_pb2.RequestHumanRequest(conversation_id=other, reason="call me"), metadata=md, timeout=10
            )
            await pending_at_least(js, 7)  # 2 questions, 2 replies, a thumb, a rating, a handoff
            await js.purge_stream(bus.EVENTS_STREAM, subject=bus.events_subject(tenant_id, ">"))
        finally:
            await js.resume_consumer(bus.EVENTS_STREAM, "analytics")
        await settled(js)
        assert await analytics.GetOverview(pb.GetOverviewRequest(), metadata=op, timeout=10) == before
        stream = await analytics.Backfill(pb.BackfillRequest(), metadata=op, timeout=120)
        assert (stream.scanned, stream.applied) == (0, 0)  # the stream has nothing left of them

        rebuilt = await analytics.Backfill(FROM_LOGS, metadata=op, timeout=120)
        assert (rebuilt.conversations, rebuilt.scanned, rebuilt.applied, rebuilt.duplicates) == (4, 12, 7, 5)
        after = await analytics.GetOverview(pb.GetOverviewRequest(), metadata=op, timeout=10)
        assert figures(after) == (3, 3, 2, 1, 1, 2, 2.5)
        assert [(r.name, r.count) for r in after.handoff_reasons] == [("customer_request", 2)]
        assert after.negative_messages == 2 and after.reply.count == 3
        # the rebuilt replies' backend is not in the logs: counted apart, without tokens
        assert {(b.backend, b.replies) for b in after.backends} == {("echo", 1), ("unknown", 2)}
        worst = await analytics.ListConversationSentiment(
            pb.ListConversationSentimentRequest(), metadata=op, timeout=10
        )
        assert worst.total == 2 and worst.conversations[0].conversation_id == angry
        assert worst.conversations[0].messages == 2 and worst.conversations[0].label == "negative"
        badges = await analytics.GetConversationSentiment(
            pb.GetConversationSentimentRequest(conversation_ids=[angry, calm, other]), metadata=op, timeout=10
        )
        assert [(s.conversation_id, s.label) for s in badges.conversations] == [(angry, "negative"), (calm, "positive")]

        # running it again, through the gateway or from the shell, changes nothing
        again = await analytics.Backfill(FROM_LOGS, metadata=op, timeout=120)
        assert (again.scanned, again.applied, again.duplicates) == (12, 0, 12)
        shell = mesh.cli("analytics", "backfill", "--tenant", "rebuild-shop", "--from-logs", timeout=120)
        assert shell.returncode == 0, shell.stderr
        assert "rebuilt from 4 conversations: 0 counted now, 12 already counted" in shell.stdout
        assert await analytics.GetOverview(pb.GetOverviewRequest(), metadata=op, timeout=10) == after
    await nc.close()
