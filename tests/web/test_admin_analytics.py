"""The admin panel's Analytics page shows the figures AnalyticsService returns. Customers
of the demo tenant ask (answered from the FAQ), give a thumb, rate, ask for a person and
complain; once analytics has counted it all, the page in Chromium (web/e2e/admin_analytics.ts)
must show the same questions, handed-off count, satisfaction, accuracy, cost per backend
and most negative conversations as the RPCs, and the conversation list the same sentiment
badges. The RPCs are read before and after the browser, so the comparison is of a settled state."""

from __future__ import annotations

import asyncio
import math
import time

import nats
import pytest

from frontdesk import bus
from frontdesk_pb.analytics.v1 import analytics_pb2 as pb
from frontdesk_pb.analytics.v1 import analytics_pb2_grpc
from frontdesk_pb.chat.v1 import chat_pb2
from tests.e2e.helpers import Client

PAGE = 8  # the page's most-negative table (Analytics.tsx SENTIMENT_PAGE)


async def settled(nats_port: int) -> None:
    """Until the analytics consumer has counted and acknowledged everything in EVENTS."""
    nc = await nats.connect(f"nats://127.0.0.1:{nats_port}")
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + 60
        while True:
            info = await js.consumer_info(bus.EVENTS_STREAM, "analytics")
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
            assert time.monotonic() < deadline, info
            await asyncio.sleep(0.1)
    finally:
        await nc.close()


async def figures(analytics, op, ids):
    overview = await analytics.GetOverview(pb.GetOverviewRequest(), metadata=op, timeout=10)
    worst = await analytics.ListConversationSentiment(pb.ListConversationSentimentRequest(page_size=PAGE),
                                                      metadata=op, timeout=10)
    badges = await analytics.GetConversationSentiment(pb.GetConversationSentimentRequest(conversation_ids=ids),
                                                      metadata=op, timeout=10)
    return overview, worst, badges


def js_round(x: float) -> int:
    """JavaScript's Math.round (halves up), which the page uses."""
    return math.floor(x + 0.5)


def badge(s: pb.ConversationSentiment) -> str:
    return f"{s.label} {s.mean_compound:.2f}"


@pytest.mark.timeout(600)
async def test_the_analytics_page_shows_what_the_rpcs_return(web_site, run_e2e):
    site = web_site
    async with site.mesh.channel() as ch:
        c = Client(ch)
        analytics = analytics_pb2_grpc.AnalyticsServiceStub(ch)
        op = await c.operator(site.tenant, site.operator_email, site.operator_password)
        await settled(site.mesh.ports["nats"])
        before = await analytics.GetOverview(pb.GetOverviewRequest(), metadata=op, timeout=10)

        _, md = await c.visitor(site.widget_key)
        happy = await c.start(md)
        _, _, answer = await c.ask(md, happy, "Thank you! How can I track my order?")  # in the demo FAQ
        await c.chat.SubmitFeedback(chat_pb2.SubmitFeedbackRequest(conversation_id=happy, message_id=answer.id,
                                                                   helpful=True), metadata=md, timeout=10)
        await c.chat.RateConversation(chat_pb2.RateConversationRequest(conversation_id=happy, score=5),
                                      metadata=md, timeout=10)
        angry = await c.start(md)
        await c.chat.RequestHuman(chat_pb2.RequestHumanRequest(conversation_id=angry, reason="a person"),
                                  metadata=md, timeout=10)
        # with a person now: no AI job, so nothing else is in flight
        await c.chat.SendMessage(chat_pb2.SendMessageRequest(
            conversation_id=angry, text="This is awful, terrible service. I am furious and nobody helps me!"),
            metadata=md, timeout=10)
        await c.chat.RateConversation(chat_pb2.RateConversationRequest(conversation_id=angry, score=2),
                                      metadata=md, timeout=10)

        deadline = time.monotonic() + 60
        while True:
            await settled(site.mesh.ports["nats"])
            o = await analytics.GetOverview(pb.GetOverviewRequest(), metadata=op, timeout=10)
            if (o.questions, o.handed_off, o.ratings, o.helpful) == (
                    before.questions + 2, before.handed_off + 1, before.ratings + 2, before.helpful + 1):
                break
            assert time.monotonic() < deadline, (before, o)
            await asyncio.sleep(0.2)

        ids = [happy, angry]
        overview, worst, badges = await figures(analytics, op, ids)
        shown = run_e2e("admin_analytics.ts", env={"FRONTDESK_WATCH_CONVERSATIONS": ",".join(ids)}, timeout=300)
        assert await figures(analytics, op, ids) == (overview, worst, badges), "the figures moved while the page was read"

    tiles = shown["tiles"]
    assert tiles["Questions"] == f"{overview.questions:,}"
    assert tiles["Handed off"] == f"{overview.handed_off:,}"
    assert tiles["Satisfaction"] == f"{overview.satisfaction:.1f} / 5"
    assert tiles["Answered by the AI"] == f"{js_round(overview.ai_answered / overview.questions * 100)}%"
    assert tiles["Accuracy (thumbs)"] == f"{js_round(overview.accuracy * 100)}%"
    assert tiles["Tokens"] == f"{overview.prompt_tokens + overview.completion_tokens:,}"
    assert tiles["Sentiment"] == f"{overview.sentiment:.2f}"
    # this deployment has no price table: every backend is self-hosted, and the page says so
    assert tiles["Model cost"] == "self-hosted" and overview.cost_usd == 0
    assert set(shown["backends"]) == {f"{b.backend}/{b.model}" for b in overview.backends}
    for b in overview.backends:
        row = shown["backends"][f"{b.backend}/{b.model}"]
        assert row[2] == str(b.replies) and row[3] == f"{b.prompt_tokens} / {b.completion_tokens}"
        assert not b.priced and row[4] == "self-hosted"

    # the most negative conversations: the same ones, in the same order, with the same badges
    assert [(n["id"], n["label"], n["badge"]) for n in shown["negative"]] == [
        (s.conversation_id, s.label, badge(s)) for s in worst.conversations]
    assert worst.conversations[0].conversation_id == angry and worst.conversations[0].label == "negative"
    assert shown["negativeTotal"].startswith(f"{worst.total} conversation(s)")
    # the conversation list's badges
    by_id = {s.conversation_id: s for s in badges.conversations}
    assert shown["badges"] == {i: f"{by_id[i].label} {badge(by_id[i])}" for i in ids}
    assert by_id[happy].label == "positive" and by_id[angry].label == "negative"
    # the activity is in the figures
    assert (overview.questions, overview.handed_off, overview.ratings) == (
        before.questions + 2, before.handed_off + 1, before.ratings + 2)
