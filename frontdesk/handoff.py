"""Handing a conversation to a human: one state change, one notice to the customer,
one live event, one domain event. Used by conversation (the customer asks) and by
inference (the policy is unsure, or the job failed for good)."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from frontdesk import ids, logs, texts
from frontdesk.common.v1 import common_pb2 as common
from frontdesk.events.v1 import events_pb2 as ev
from frontdesk.publish import Publisher
from frontdesk.stores.base import LogStore

log = logs.get("frontdesk.handoff")

HANDOFF_NOTICE = texts.text("handoff_notice", "en")
_NOTICES = frozenset(t for key in ("handoff_notice", "handoff_notice_frustrated") for t in texts.TEXTS[key].values())


def notice_for(reason: str, language: str = "en") -> str:
    """What the customer reads when a person is brought in, in their language; an upset
    customer is met with an apology first."""
    return texts.text("handoff_notice_frustrated" if reason == "frustrated" else "handoff_notice", language)


def is_handoff_notice(text: str) -> bool:
    """Whether a system message is one of the handoff notices, in any language."""
    return text in _NOTICES


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
    """Flag the conversation for a human and tell the customer. With a dedupe_key, a
    repeated call (a redelivered job) writes no second notice."""
    updated = await store.change_conversation(
        tenant_id, conv.id, status=common.CONVERSATION_STATUS_HANDOFF, handoff_reason=reason
    )
    notice_text = notice_for(reason, language)
    now = Timestamp()
    now.GetCurrentTime()
    notice = common.Message(
        id=ids.new_id("message"),
        conversation_id=conv.id,
        role=common.ROLE_SYSTEM,
        text=notice_text,
        created_at=now,
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
            f"handoff:{stored.id}",
            handoff_requested=ev.HandoffRequested(reason=reason, question=detail),
        )
    log.info("conversation.handoff", tenant=tenant_id, conversation=conv.id, reason=reason)
    return updated
