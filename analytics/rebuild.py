"""Rebuilding a tenant's domain events from the stored logs, after an outage longer than
the EVENTS stream keeps events (7 days) or for events that were never published
(publishing is best effort: a request never waits on analytics).

The log store is read only, through the LogStore interface: the tenant's conversations
(most recently active first, until one was last active before the range), their
messages, feedback and tool calls. Each stored fact becomes the DomainEvent the live
path published for it, under the SAME event id, so an event already counted is found
and skipped, and a missing one is added:

| stored fact | event id (live path) | published by |
| --- | --- | --- |
| customer message m | `received:<m.id>` | conversation/service.py send_customer_message |
| AI reply r to question q | `reply:<q.id>` (the job id is the question's id) | inference/worker.py answer |
| handoff notice n (system message) | `handoff:<n.id>` | conversation/rules.py hand_off |
| thumbs on message m | `feedback:<m.id>:<0 or 1>` | conversation/service.py submit_feedback |
| conversation rating s | `rating:<conversation id>:<s>` | conversation/service.py rate |
| the team's first reply a after a handoff notice | `first_response:<a.id>` | conversation/rules.py first_response |
| tool call c of job j | `tool:<j>:<c.call_id>` | inference/worker.py (tool loop) |

What the logs do not keep, and a rebuilt event therefore lacks:
- a reply's backend, token counts, first-token and queue-wait times: rebuilt replies
  count under backend `unknown` with the reply's author (the model) and 0 tokens; their
  full-reply latency is the time from question to stored reply;
- a handoff's reason, except the latest one of a conversation still with a person
  (`handoff_reason`); the others count as `unknown` and add no unanswered question;
- closes (`closed:` ids carry the conversation's update time at the close, which later
  changes overwrite) and failed jobs (their notice looks like any handoff's): human- and
  AI-resolved counts and failed jobs are recovered from the stream backfill only;
- first replies of a turn the team began by taking over from the AI (no notice marks its
  start), and resolution times (from the close events, above);
- an earlier verdict of a flipped thumb, or an earlier score of a re-rated conversation
  (only the latest is stored).

The live copy of an event carries its publication time, a few milliseconds after the
stored timestamp (for a rating, any time in the conversation's life), so before
applying, the rebuild asks the store whether the id was counted in a window of hours
around it (`AnalyticsStore.counted`): a live copy bucketed in the next hour or day is
found too. Running the rebuild twice changes nothing the second time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from analytics.aggregate import Sentiment, hour_of
from analytics.service import parse_range
from analytics.store import open_analytics_store
from analytics.worker import EventCounter, Tally, backfill
from frontdesk import bus, logs
from frontdesk.clock import ms_of, ts_from_ms
from frontdesk.settings import Settings
from frontdesk.stores.base import LogStore
from frontdesk.texts import is_handoff_notice
from frontdesk_pb.analytics.v1 import analytics_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.events.v1 import events_pb2 as ev

log = logs.get("analytics.rebuild")

PUBLISH_SLACK_MS = 10 * 60 * 1000  # a live copy is published at most this long after the stored time
PAGE = 200
MESSAGES_PAGE = 500
MAX_TOOL_CALLS = 10_000


@dataclass
class Rebuilt:
    """One synthesised event, the stored time it stands for and the window of times its
    live copy can carry."""

    event: ev.DomainEvent
    at_ms: int
    earliest_ms: int
    latest_ms: int


def _day_start_ms(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)


async def _conversations(store: LogStore, tenant_id: str, since_ms: int) -> AsyncIterator[common.Conversation]:
    """The tenant's conversations active at or after since_ms, most recent first."""
    token = ""
    while True:
        page, token = await store.list_conversations(tenant_id, limit=PAGE, page_token=token)
        for conv in page:
            if ms_of(conv.updated_at) < since_ms:
                return  # ordered by activity: every later one is older still
            yield conv
        if not token:
            return


def _event(tenant_id: str, conv: common.Conversation, event_id: str, at_ms: int, **kind) -> ev.DomainEvent:
    return ev.DomainEvent(
        event_id=event_id, tenant_id=tenant_id, conversation_id=conv.id, occurred_at=ts_from_ms(at_ms), **kind
    )


async def events_of(store: LogStore, tenant_id: str, conv: common.Conversation) -> list[Rebuilt]:
    """The domain events the live path published for one conversation, as the logs tell them."""
    out: list[Rebuilt] = []

    def add(event_id: str, at_ms: int, earliest_ms: int | None = None, latest_ms: int | None = None, **kind):
        out.append(
            Rebuilt(
                _event(tenant_id, conv, event_id, at_ms, **kind),
                at_ms,
                at_ms if earliest_ms is None else earliest_ms,
                at_ms + PUBLISH_SLACK_MS if latest_ms is None else latest_ms,
            )
        )

    messages = await store.all_messages(tenant_id, conv.id, MESSAGES_PAGE)
    by_id = {m.id: m for m in messages}
    notices = [m for m in messages if m.role == common.ROLE_SYSTEM and is_handoff_notice(m.text)]
    last_customer: common.Message | None = None
    waiting_since: int | None = None  # the latest handoff notice the team has not answered yet
    for m in messages:
        at = ms_of(m.created_at)
        if m.role == common.ROLE_AGENT and waiting_since is not None:
            add(
                f"first_response:{m.id}",
                at,
                first_response=ev.FirstResponse(
                    operator_id=m.author_id, message_id=m.id, wait_ms=max(at - waiting_since, 0)
                ),
            )
            waiting_since = None
        if m.role == common.ROLE_SYSTEM and is_handoff_notice(m.text) and waiting_since is None:
            waiting_since = at
        if m.role == common.ROLE_CUSTOMER:
            last_customer = m
            add(
                f"received:{m.id}",
                at,
                message_received=ev.MessageReceived(
                    message_id=m.id, role=m.role, channel=conv.channel, length=len(m.text), text=m.text[:500]
                ),
            )
        elif m.role == common.ROLE_AI and m.in_reply_to:
            question = by_id.get(m.in_reply_to)
            total_ms = max(at - ms_of(question.created_at), 0) if question is not None else 0
            add(
                f"reply:{m.in_reply_to}",
                at,
                reply_completed=ev.ReplyCompleted(
                    reply_id=m.id,
                    in_reply_to=m.in_reply_to,
                    backend="unknown",
                    model=m.author_id or "unknown",
                    total_ms=total_ms,
                    answered=True,
                    cited_ids=[c.source_id for c in m.citations],
                    question=question.text[:500] if question is not None else "",
                ),
            )
        elif m is (notices[-1] if notices else None) and conv.handoff_reason:
            # the latest handoff of a conversation a person still has: its reason is stored
            asked = last_customer.text[:500] if last_customer is not None else ""
            add(
                f"handoff:{m.id}",
                at,
                handoff_requested=ev.HandoffRequested(reason=conv.handoff_reason, question=asked),
            )
        elif m.role == common.ROLE_SYSTEM and is_handoff_notice(m.text):
            add(f"handoff:{m.id}", at, handoff_requested=ev.HandoffRequested(reason="unknown"))
    for fb in await store.list_feedback(tenant_id, conv.id):
        add(
            f"feedback:{fb.message_id}:{int(fb.helpful)}",
            fb.at_ms,
            feedback_given=ev.FeedbackGiven(message_id=fb.message_id, helpful=fb.helpful),
        )
    if 1 <= conv.rating <= 5:
        # when it was rated is not stored: any time in the conversation's life
        add(
            f"rating:{conv.id}:{conv.rating}",
            ms_of(conv.updated_at),
            earliest_ms=ms_of(conv.created_at),
            latest_ms=ms_of(conv.updated_at) + PUBLISH_SLACK_MS,
            conversation_rated=ev.ConversationRated(score=conv.rating, by_the_team=bool(conv.handed_off_at.seconds)),
        )
    for call in await store.list_tool_calls(tenant_id, conv.id, limit=MAX_TOOL_CALLS):
        done_ms = call.started_ms + max(round(call.duration_ms), 0)
        add(
            f"tool:{call.job_id}:{call.call_id}",
            done_ms,
            earliest_ms=call.started_ms,
            tool_called=ev.ToolCalled(tool=call.tool, ok=call.ok, duration_ms=call.duration_ms, error=call.error[:500]),
        )
    return out


async def backfill_from_logs(store: LogStore, counter: EventCounter, tenant_id: str, start: date, end: date) -> Tally:
    """Count the tenant's events of days start..end (inclusive, UTC) that the logs show
    and analytics has not counted. Idempotent."""
    tally = Tally()
    conversations = 0
    lo, hi = _day_start_ms(start), _day_start_ms(end + timedelta(days=1))
    async for conv in _conversations(store, tenant_id, lo):
        if ms_of(conv.created_at) >= hi:
            continue  # started after the range
        conversations += 1
        for item in await events_of(store, tenant_id, conv):
            if not lo <= item.at_ms < hi:
                continue
            if await counter.store.counted(
                tenant_id, item.event.event_id, hour_of(item.earliest_ms / 1000), hour_of(item.latest_ms / 1000)
            ):
                # already counted; still (re)write a customer message's per-conversation
                # sentiment, which events counted before it existed lack (idempotent)
                await counter.keep_score(tenant_id, item.event, item.at_ms)
                tally.note("duplicate")
                continue
            tally.note(await counter.count_event(tenant_id, item.event, item.at_ms / 1000, item.event.event_id))
    tally.conversations = conversations
    log.info(
        "rebuild.done",
        tenant=tenant_id,
        conversations=conversations,
        scanned=tally.scanned,
        applied=tally.applied,
        duplicates=tally.duplicates,
    )
    return tally


async def run_backfill(
    settings: Settings, slug: str, from_logs: bool = False, from_day: str = "", to_day: str = ""
) -> analytics_pb2.BackfillResponse:
    """`frontdesk analytics backfill --tenant SLUG [--from-logs --from DAY --to DAY]`:
    the same backfill, from the shell."""
    from frontdesk import stores
    from frontdesk.errors import InvalidArgument

    if from_logs:
        from analytics.service import _today

        try:
            start, end = parse_range(analytics_pb2.DateRange(from_day=from_day, to_day=to_day), _today())
        except InvalidArgument as err:
            raise ValueError(str(err)) from None

    tenant = await stores.tenant_by_slug(settings, slug)
    if tenant is None:
        raise ValueError(f"no tenant with slug {slug!r}")
    store = open_analytics_store(settings)
    await store.connect()
    counter = EventCounter(store, await asyncio.to_thread(Sentiment))
    if from_logs:
        log_store = stores.open_log_store(settings)
        try:
            tally = await backfill_from_logs(log_store, counter, tenant.id, start, end)
        finally:
            await log_store.close()
            await store.close()
        return analytics_pb2.BackfillResponse(**tally.__dict__)
    nc = await bus.connect(settings, "analytics-backfill")
    try:
        tally = await backfill(nc.jetstream(), counter, tenant.id)
    finally:
        await nc.drain()
        await store.close()
    return analytics_pb2.BackfillResponse(**tally.__dict__)
