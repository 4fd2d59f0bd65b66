"""The conversation's rules, in one place: who answers a conversation in each status, what
a new customer message does to it, how it is handed to a person, and how the AI's reply is
stored. Owned by the conversation service (conversation/service.py) and used as a library
by the inference worker, so the reply path takes no extra network hop; both write through
the same log store and announce on the same NATS subjects (frontdesk.publish).

Statuses: AI (open: the AI answers), HANDOFF (pending: waiting for a person), HUMAN (a person
answers), SNOOZED (put aside until a time), CLOSED (resolved). A customer message to a closed
conversation reopens it with the AI, one to a snoozed conversation makes it pending again (as
does the end of the snooze); an operator takes one over (HUMAN), releases it to the AI or
closes it (`set_status`), snoozes it or puts it back to pending."""

from __future__ import annotations

from frontdesk import ids, logs, texts
from frontdesk.clock import ms_of, now_ms, now_ts
from frontdesk.publish import Publisher
from frontdesk.stores.base import LogStore
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.events.v1 import events_pb2 as ev

log = logs.get("conversation.rules")

Status = common.ConversationStatus


def ai_answers(conv: common.Conversation | None) -> bool:
    """Whether the AI may answer in this conversation now (not handed off, taken over or closed)."""
    return conv is not None and conv.status == Status.CONVERSATION_STATUS_AI


def with_a_person(conv: common.Conversation) -> bool:
    """Handed off or taken over: asking for a person again changes nothing."""
    return conv.status in (Status.CONVERSATION_STATUS_HANDOFF, Status.CONVERSATION_STATUS_HUMAN)


def answered_by(conv: common.Conversation, operator_id: str) -> bool:
    """Whether this operator has taken the conversation over (and so may reply in it)."""
    return conv.status == Status.CONVERSATION_STATUS_HUMAN and conv.assigned_operator_id == operator_id


def reopens(conv: common.Conversation) -> bool:
    """A customer message to a closed conversation reopens it with the AI."""
    return conv.status == Status.CONVERSATION_STATUS_CLOSED


def team_episode(conv: common.Conversation) -> dict:
    """The changes that start the team's turn, when a handoff or a take-over begins one: its
    start (first-response and resolution times count from it) and no first reply yet. A
    conversation already with the team keeps the turn it is in."""
    if conv.handed_off_at.seconds and conv.status not in (
        Status.CONVERSATION_STATUS_AI,
        Status.CONVERSATION_STATUS_CLOSED,
    ):
        return {}
    return {"handoff_ms": now_ms(), "first_response_ms": 0}


def wakes(conv: common.Conversation) -> bool:
    """A customer message to a snoozed conversation brings it back to the team."""
    return conv.status == Status.CONVERSATION_STATUS_SNOOZED


async def announce_status(pub: Publisher, tenant_id: str, conv: common.Conversation) -> None:
    """A status change, to the conversation's watchers (live) and to the team's inbox and
    analytics (a domain event, one per change: the id holds the time of the change)."""
    changed = ev.StatusChanged(status=conv.status)
    await pub.live(tenant_id, conv.id, status_changed=changed)
    await pub.domain(
        tenant_id, conv.id, f"status:{conv.id}:{conv.status}:{conv.updated_at.ToMilliseconds()}", status_changed=changed
    )


async def reopen(store: LogStore, pub: Publisher, tenant_id: str, conversation_id: str) -> common.Conversation:
    conv = await store.change_conversation(
        tenant_id,
        conversation_id,
        status=Status.CONVERSATION_STATUS_AI,
        assigned_operator_id="",
        handoff_reason="",
        snoozed_until_ms=0,
        handoff_ms=0,
        first_response_ms=0,
    )
    await announce_status(pub, tenant_id, conv)
    return conv


async def snooze(
    store: LogStore, pub: Publisher, tenant_id: str, conv: common.Conversation, until_ms: int
) -> common.Conversation:
    """Put aside by the team until `until_ms` (the caller has queued the wake-up); its owner stays."""
    updated = await store.change_conversation(
        tenant_id, conv.id, status=Status.CONVERSATION_STATUS_SNOOZED, snoozed_until_ms=until_ms
    )
    await announce_status(pub, tenant_id, updated)
    return updated


async def wait_for_a_person(
    store: LogStore, pub: Publisher, tenant_id: str, conv: common.Conversation
) -> common.Conversation:
    """Pending: a snooze ended, the customer wrote to a snoozed conversation, or an operator put
    it back to waiting. Its owner and the reason it came to the team stay; the AI stays out."""
    updated = await store.change_conversation(
        tenant_id,
        conv.id,
        status=Status.CONVERSATION_STATUS_HANDOFF,
        snoozed_until_ms=0,
        handoff_reason=conv.handoff_reason or "operator",
    )
    await announce_status(pub, tenant_id, updated)
    return updated


async def hand_off(
    store: LogStore,
    pub: Publisher,
    tenant_id: str,
    conv: common.Conversation,
    reason: str,
    detail: str = "",
    dedupe_key: str = "",
    language: str = "en",
) -> common.Conversation:
    """Flag the conversation for a human and tell the customer: one state change, one notice,
    one live event, one domain event. With a dedupe_key, a repeated call (a redelivered job)
    writes no second notice."""
    updated = await store.change_conversation(
        tenant_id, conv.id, status=Status.CONVERSATION_STATUS_HANDOFF, handoff_reason=reason, **team_episode(conv)
    )
    notice_text = texts.handoff_notice(reason, language)
    notice = common.Message(
        id=ids.new_id("message"),
        conversation_id=conv.id,
        role=common.ROLE_SYSTEM,
        text=notice_text,
        created_at=now_ts(),
        language=language,
    )
    stored, created = await store.append_message(tenant_id, notice, dedupe_key)
    await pub.live(tenant_id, conv.id, handoff=ev.Handoff(reason=reason, notice=notice_text))
    await pub.live(tenant_id, conv.id, message=stored)
    await pub.live(tenant_id, conv.id, status_changed=ev.StatusChanged(status=updated.status))
    if created:
        await pub.domain(
            tenant_id,
            conv.id,
            f"status:{conv.id}:{updated.status}:{stored.id}",
            status_changed=ev.StatusChanged(status=updated.status),
        )
        await pub.domain(
            tenant_id,
            conv.id,
            f"handoff:{stored.id}",
            handoff_requested=ev.HandoffRequested(reason=reason, question=detail),
        )
    log.info("conversation.handoff", tenant=tenant_id, conversation=conv.id, reason=reason)
    return updated


async def store_ai_reply(
    store: LogStore, pub: Publisher, tenant_id: str, reply: common.Message, dedupe_key: str
) -> common.Message:
    """Store the AI's reply once (a redelivered job finds it by `dedupe_key`) and announce it;
    the announcement also ends the typing indicator."""
    stored, _ = await store.append_message(tenant_id, reply, dedupe_key)
    await pub.live(tenant_id, reply.conversation_id, message=stored)
    return stored


async def take_over(
    store: LogStore, pub: Publisher, tenant_id: str, conv: common.Conversation, operator_id: str, operator_name: str
) -> common.Conversation:
    """An operator takes the conversation: the AI stops answering it, the customer is told who joined."""
    if answered_by(conv, operator_id):
        return conv
    updated = await store.change_conversation(
        tenant_id,
        conv.id,
        status=Status.CONVERSATION_STATUS_HUMAN,
        assigned_operator_id=operator_id,
        **team_episode(conv),
    )
    await pub.live(tenant_id, conv.id, agent_joined=ev.AgentJoined(operator_id=operator_id, display_name=operator_name))
    await announce_status(pub, tenant_id, updated)
    if conv.assigned_operator_id != operator_id:
        await _announce_assignment(pub, tenant_id, updated, operator_name, operator_id)
    log.info("conversation.taken_over", tenant=tenant_id, conversation=conv.id, operator=operator_id)
    return updated


async def set_status(
    store: LogStore, pub: Publisher, tenant_id: str, before: common.Conversation, status: int, operator_id: str
) -> common.Conversation:
    """Release to the AI or close, by an operator: the assignment and the handoff reason end;
    a close is one domain event (analytics: resolved by a person or by the AI alone, and how
    long the team took). Released, the team's turn ends; closed, it is kept for the rating."""
    turn = {} if status == Status.CONVERSATION_STATUS_CLOSED else {"handoff_ms": 0, "first_response_ms": 0}
    updated = await store.change_conversation(
        tenant_id, before.id, status=status, assigned_operator_id="", handoff_reason="", snoozed_until_ms=0, **turn
    )
    await announce_status(pub, tenant_id, updated)
    if before.assigned_operator_id:
        await _announce_assignment(pub, tenant_id, updated, "", operator_id)
    if status == Status.CONVERSATION_STATUS_CLOSED and before.status != Status.CONVERSATION_STATUS_CLOSED:
        await pub.domain(
            tenant_id,
            before.id,
            f"closed:{before.id}:{updated.updated_at.ToMilliseconds()}",
            conversation_closed=ev.ConversationClosed(
                previous_status=before.status,
                operator_id=operator_id,
                # the team's time to resolve, when a person resolved it (an auto-resolve has none)
                resolution_ms=max(now_ms() - ms_of(before.handed_off_at), 0)
                if before.handed_off_at.seconds and operator_id
                else 0,
            ),
        )
    return updated


async def first_response(store: LogStore, pub: Publisher, tenant_id: str, conv: common.Conversation, reply) -> None:
    """The team's first reply in its turn: remembered on the conversation and announced once
    (analytics: time to first response, per operator)."""
    if not conv.handed_off_at.seconds or conv.first_response_at.seconds:
        return
    at = ms_of(reply.created_at)
    await store.change_conversation(tenant_id, conv.id, first_response_ms=at)
    await pub.domain(
        tenant_id,
        conv.id,
        f"first_response:{reply.id}",
        first_response=ev.FirstResponse(
            operator_id=reply.author_id, message_id=reply.id, wait_ms=max(at - ms_of(conv.handed_off_at), 0)
        ),
    )


async def assign(
    store: LogStore,
    pub: Publisher,
    tenant_id: str,
    conv: common.Conversation,
    operator_id: str,
    display_name: str,
    by_operator_id: str,
) -> common.Conversation:
    """Give the conversation an owner on the team, or none. The status stays, except that a
    conversation a person was answering goes back to waiting for a person when its owner is
    taken away (the AI does not silently resume it); a new owner of such a conversation is
    the one answering, and the customer is told who joined."""
    if conv.assigned_operator_id == operator_id:
        return conv
    changes: dict = {"assigned_operator_id": operator_id}
    if conv.status == Status.CONVERSATION_STATUS_HUMAN and not operator_id:
        changes["status"] = Status.CONVERSATION_STATUS_HANDOFF
    updated = await store.change_conversation(tenant_id, conv.id, **changes)
    if updated.status == Status.CONVERSATION_STATUS_HUMAN:
        await pub.live(
            tenant_id, conv.id, agent_joined=ev.AgentJoined(operator_id=operator_id, display_name=display_name)
        )
    if updated.status != conv.status:
        await announce_status(pub, tenant_id, updated)
    await _announce_assignment(pub, tenant_id, updated, display_name, by_operator_id)
    log.info("conversation.assigned", tenant=tenant_id, conversation=conv.id, operator=operator_id or "-")
    return updated


async def _announce_assignment(
    pub: Publisher, tenant_id: str, conv: common.Conversation, display_name: str, by_operator_id: str
) -> None:
    await pub.domain(
        tenant_id,
        conv.id,
        f"assigned:{conv.id}:{conv.assigned_operator_id}:{conv.updated_at.ToMilliseconds()}",
        conversation_assigned=ev.ConversationAssigned(
            operator_id=conv.assigned_operator_id, display_name=display_name, by_operator_id=by_operator_id
        ),
    )
