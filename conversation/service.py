"""Conversation domain logic. Every method takes the verified Caller; the tenant comes
from it and every store call is keyed by it. A visitor only sees their own
conversations; a conversation of another tenant or another visitor is NOT_FOUND,
exactly like a missing one."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import cast

from conversation import rules
from conversation.attachments import Attachments
from conversation.idle import IdleResolver, TenantIdleTimes
from conversation.presence import MAX_CAPACITY, Assigner
from frontdesk import bus, ids, logs, tracing
from frontdesk.caller import Caller, Kind, require_operator
from frontdesk.clock import now_ms, now_ts
from frontdesk.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unavailable
from frontdesk.publish import Publisher
from frontdesk.stores.base import LogStore
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.conversation.v1 import conversation_pb2
from frontdesk_pb.events.v1 import events_pb2 as ev
from frontdesk_pb.inference.v1 import inference_pb2

log = logs.get("conversation.service")

Status = common.ConversationStatus
MAX_PAGE = 200
MAX_NOTE_CHARS = 10_000
MAX_SNOOZE_MS = 90 * 86_400_000
MAX_LABELS = 10
_LABEL = re.compile(r"[^\W_][\w -]{0,31}")  # letters of any script, digits, spaces, '-', '_'
_SETTABLE = (
    Status.CONVERSATION_STATUS_AI,
    Status.CONVERSATION_STATUS_HANDOFF,
    Status.CONVERSATION_STATUS_SNOOZED,
    Status.CONVERSATION_STATUS_CLOSED,
)
_NOT_FOUND = "conversation not found"


def label_of(raw: str) -> str:
    """A label as stored: trimmed, lower case; INVALID_ARGUMENT unless 1 to 32 letters (any
    script), digits, spaces, '-' or '_', starting with a letter or digit."""
    label = " ".join(raw.split()).lower()
    if not _LABEL.fullmatch(label):
        raise InvalidArgument(
            f"label {raw[:40]!r} must be 1 to 32 letters, digits, spaces, '-' or '_', starting with a letter or digit"
        )
    return label


def assignee_of(caller: Caller, assignee: str) -> str | None:
    """The assignee filter as the store takes it: None = anyone's, "" = nobody's."""
    if assignee == "me":
        return caller.subject
    if assignee == "none":
        return ""
    if assignee and not ids.is_id(assignee, "operator"):
        raise InvalidArgument('assignee must be an operator id, "me" or "none"')
    return assignee or None


def page_size(requested: int, default: int = 50) -> int:
    if requested < 0:
        raise InvalidArgument("page_size must not be negative")
    return min(requested or default, MAX_PAGE)


class OutboxClearer:
    """Clears the outbox entries of published jobs in batches, off the request path.

    A message's job is safe once JetStream has acked its publish; clearing the entry only
    stops the sweeper from publishing it again. So the RPC does not wait for that write:
    entries are deleted many per transaction a few milliseconds later. If this process
    dies first, the sweeper re-publishes them and JetStream's dedupe window (or, after
    it, the worker's reply dedupe) drops the copy."""

    FLUSH_AFTER_S = 0.02

    def __init__(self, store: LogStore):
        self.store = store
        self._pending: list[tuple[str, str, str]] = []
        self._task: asyncio.Task | None = None

    def done(self, tenant_id: str, conversation_id: str, message_id: str) -> None:
        self._pending.append((tenant_id, conversation_id, message_id))
        if self._task is None:
            self._task = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.FLUSH_AFTER_S)
        self._task = None
        await self._write()

    async def _write(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            await self.store.outbox_done_many(batch)
        except Exception as err:  # noqa: BLE001 - the sweeper covers what was not cleared
            log.warning("outbox.clear_deferred", entries=len(batch), error=str(err))

    async def flush(self) -> None:
        """Write what is pending now (the sweeper and shutdown)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._write()


class ConversationCore:
    def __init__(
        self,
        store: LogStore,
        publisher: Publisher,
        max_message_chars: int = 10_000,
        attachments: Attachments | None = None,
        assigner: Assigner | None = None,
        idle_times: TenantIdleTimes | None = None,
    ):
        self.store = store
        self.assigner = assigner
        self.idle = IdleResolver(store, publisher, idle_times, self.queue_idle_check) if idle_times else None
        self.pub = publisher
        self.max_chars = max_message_chars
        self.attachments = attachments
        self.outbox = OutboxClearer(store)

    # -- reading -------------------------------------------------------------------

    async def get(self, caller: Caller, conversation_id: str) -> common.Conversation:
        if not conversation_id:
            raise InvalidArgument("conversation_id is required")
        if not ids.is_id(conversation_id, "conversation"):
            raise NotFound(_NOT_FOUND)
        conv = await self.store.get_conversation(caller.tenant_id, conversation_id)
        if conv is None or (caller.kind == Kind.VISITOR and conv.visitor_id != caller.subject):
            raise NotFound(_NOT_FOUND)
        return conv

    async def list_messages(self, caller: Caller, conversation_id: str, size: int, token: str):
        await self.get(caller, conversation_id)
        if token and not ids.is_id(token, "message"):
            raise InvalidArgument("page_token is not valid")
        return await self.store.list_messages(
            caller.tenant_id, conversation_id, limit=page_size(size), page_token=token
        )

    async def list_conversations(
        self,
        caller: Caller,
        size: int,
        token: str,
        *,
        status: int = 0,
        visitor_id: str = "",
        assignee: str = "",
        label: str = "",
    ):
        if caller.kind == Kind.VISITOR:
            visitor_id = caller.subject  # a visitor lists only their own
        if status and status not in Status.values():
            raise InvalidArgument("unknown status")
        try:
            return await self.store.list_conversations(
                caller.tenant_id,
                visitor_id=visitor_id,
                status=status,
                assignee=assignee_of(caller, assignee),
                label=label_of(label) if label else "",
                limit=page_size(size, 20),
                page_token=token,
            )
        except ValueError as err:
            raise InvalidArgument(str(err)) from None

    # -- customer side ---------------------------------------------------------------

    async def start(self, caller: Caller, channel: int, attributes: dict[str, str]) -> common.Conversation:
        if len(attributes) > 20 or any(len(k) > 64 or len(v) > 512 for k, v in attributes.items()):
            raise InvalidArgument("attributes: at most 20 entries, keys up to 64 and values up to 512 characters")
        if channel not in common.Channel.values():
            raise InvalidArgument("unknown channel")
        conv = common.Conversation(
            id=ids.new_id("conversation"),
            visitor_id=caller.subject,
            status=Status.CONVERSATION_STATUS_AI,
            channel=cast(
                common.Channel, channel or (common.CHANNEL_API if caller.kind == Kind.API_KEY else common.CHANNEL_WEB)
            ),
            created_at=now_ts(),
            attributes=attributes,
        )
        stored = await self.store.create_conversation(caller.tenant_id, conv)
        await self.pub.domain(
            caller.tenant_id,
            conv.id,
            f"started:{conv.id}",
            conversation_started=ev.ConversationStarted(channel=stored.channel),
        )
        log.info("conversation.started", tenant=caller.tenant_id, conversation=conv.id)
        if self.idle is not None:
            await self.idle.arm(caller.tenant_id, conv.id)
        return stored

    def _check_text(self, text: str) -> str:
        if not text.strip():
            raise InvalidArgument("message text is empty")
        if len(text) > self.max_chars:
            raise InvalidArgument(f"message is too long: {len(text)} characters, the limit is {self.max_chars}")
        return text

    async def send_customer_message(
        self,
        caller: Caller,
        conversation_id: str,
        text: str,
        client_message_id: str = "",
        *,
        voice: bool = False,
        audio_id: str = "",
        language: str = "",
        attachment_ids: list[str] | None = None,
    ) -> tuple[common.Message, bool]:
        """Store first, then queue the AI job; returns (message, queued_for_ai)."""
        if caller.kind not in (Kind.VISITOR, Kind.API_KEY, Kind.SERVICE):
            raise PermissionDenied("only customers send customer messages; operators use SendAgentMessage")
        self._check_text(text)
        if len(client_message_id) > 128:
            raise InvalidArgument("client_message_id is longer than 128 characters")
        if len(attachment_ids or []) > 10:
            raise InvalidArgument("at most 10 attachments per message")
        conv = await self.get(caller, conversation_id)
        attached = [await self.attachment(caller, conversation_id, a) for a in attachment_ids or []]
        if rules.reopens(conv):
            conv = await rules.reopen(self.store, self.pub, caller.tenant_id, conversation_id)
            if self.idle is not None:
                await self.idle.arm(caller.tenant_id, conversation_id)
        elif rules.wakes(conv):
            conv = await rules.wait_for_a_person(self.store, self.pub, caller.tenant_id, conv)
        msg = common.Message(
            id=ids.new_id("message"),
            conversation_id=conversation_id,
            role=common.ROLE_CUSTOMER,
            text=text,
            created_at=now_ts(),
            author_id=caller.subject,
            author_name=caller.name,
            client_message_id=client_message_id,
            voice=voice,
            audio_id=audio_id,
            language=language,
            attachments=attached,
        )
        dedupe = f"client:{client_message_id}" if client_message_id else ""
        queued = rules.ai_answers(conv)
        # the message and its outbox entry are one write: from here on the AI job cannot be
        # lost, even if this process dies before publishing it (the outbox sweeper will)
        stored, created = await self.store.append_message(caller.tenant_id, msg, dedupe, enqueue=queued)
        if created:
            await self.pub.live(caller.tenant_id, conversation_id, message=stored)
        if queued:
            # also on a resend of a stored message: its first publish may have failed, and
            # JetStream's dedupe (Nats-Msg-Id) drops the copy if it did not
            await self.queue_job(caller.tenant_id, conv, stored)
        if created:
            await self.pub.domain(
                caller.tenant_id,
                conversation_id,
                f"received:{stored.id}",
                message_received=ev.MessageReceived(
                    message_id=stored.id, role=stored.role, channel=conv.channel, length=len(text), text=text[:500]
                ),
            )
        return stored, queued

    async def queue_job(self, tenant_id: str, conv: common.Conversation, msg: common.Message) -> bool:
        """Publish the AI job of a stored message and clear its outbox entry. A failure is
        logged, not raised: the entry stays and the sweeper publishes it later."""
        job = inference_pb2.AiJob(
            job_id=msg.id,
            tenant_id=tenant_id,
            conversation_id=conv.id,
            message_id=msg.id,
            text=msg.text,
            enqueued_at=now_ts(),
            visitor_id=conv.visitor_id,
            language=msg.language,
            channel=conv.channel,
        )
        try:
            await self.pub.js.publish(
                bus.jobs_subject(tenant_id),
                job.SerializeToString(),
                headers=tracing.inject({"Nats-Msg-Id": msg.id}),
                timeout=2,
            )
        except Exception as err:  # noqa: BLE001 - the outbox keeps the job; the sweeper retries
            log.warning("job.publish_deferred", tenant=tenant_id, conversation=conv.id, message=msg.id, error=str(err))
            return False
        await self.pub.nc.publish(bus.ready_subject(tenant_id), b"")  # wake an idle worker
        self.outbox.done(tenant_id, conv.id, msg.id)  # cleared in the background, many at a time
        return True

    async def sweep_outbox(self, older_than_ms: int) -> int:
        """Publish AI jobs whose first publication was not confirmed (the process died, or
        NATS was away). Returns how many were published."""
        published = 0
        await self.outbox.flush()  # entries published meanwhile are not due
        for entry in await self.store.outbox_due(older_than_ms):
            conv = await self.store.get_conversation(entry.tenant_id, entry.conversation_id)
            msg = await self.store.find_message(entry.tenant_id, entry.conversation_id, message_id=entry.message_id)
            if conv is None or msg is None or not rules.ai_answers(conv):
                await self.store.outbox_done(entry.tenant_id, entry.conversation_id, entry.message_id)
                continue
            if not await self.queue_job(entry.tenant_id, conv, msg):
                break  # NATS is still away; try again on the next sweep
            published += 1
            log.info(
                "job.recovered", tenant=entry.tenant_id, conversation=entry.conversation_id, message=entry.message_id
            )
        return published

    async def upload_attachment(
        self, caller: Caller, conversation_id: str, filename: str, content_type: str, data: bytes
    ) -> common.Attachment:
        await self.get(caller, conversation_id)
        return await self._attachments().store(caller.tenant_id, conversation_id, filename, content_type, data)

    async def attachment(self, caller: Caller, conversation_id: str, attachment_id: str) -> common.Attachment:
        await self.get(caller, conversation_id)
        return await self._attachments().describe(caller.tenant_id, conversation_id, attachment_id)

    async def read_attachment(self, caller: Caller, conversation_id: str, attachment_id: str):
        await self.get(caller, conversation_id)
        return await self._attachments().read(caller.tenant_id, conversation_id, attachment_id)

    def _attachments(self) -> Attachments:
        if self.attachments is None:
            raise FailedPrecondition("attachments are not configured on this deployment")
        return self.attachments

    async def request_human(self, caller: Caller, conversation_id: str, reason: str) -> common.Conversation:
        conv = await self.get(caller, conversation_id)
        if rules.with_a_person(conv):
            return conv
        return await rules.hand_off(self.store, self.pub, caller.tenant_id, conv, "customer_request", reason[:500])

    async def submit_feedback(
        self, caller: Caller, conversation_id: str, message_id: str, helpful: bool, comment: str
    ) -> None:
        await self.get(caller, conversation_id)
        msg = (
            await self.store.find_message(caller.tenant_id, conversation_id, message_id=message_id)
            if message_id
            else None
        )
        if msg is None:
            raise NotFound("message not found")
        if msg.role != common.ROLE_AI:
            raise FailedPrecondition("feedback is for AI answers only")
        await self.store.record_feedback(caller.tenant_id, conversation_id, message_id, helpful, comment[:2000])
        await self.pub.domain(
            caller.tenant_id,
            conversation_id,
            f"feedback:{message_id}:{int(helpful)}",
            feedback_given=ev.FeedbackGiven(message_id=message_id, helpful=helpful),
        )

    async def rate(self, caller: Caller, conversation_id: str, score: int, comment: str) -> None:
        if not 1 <= score <= 5:
            raise InvalidArgument("score must be between 1 and 5")
        conv = await self.get(caller, conversation_id)
        await self.store.update_conversation(caller.tenant_id, conversation_id, rating=score)
        await self.pub.domain(
            caller.tenant_id,
            conversation_id,
            f"rating:{conversation_id}:{score}",
            conversation_rated=ev.ConversationRated(
                score=score, comment=comment[:2000], by_the_team=bool(conv.handed_off_at.seconds)
            ),
        )

    # -- operator side ----------------------------------------------------------------

    def _operator(self, caller: Caller) -> None:
        require_operator(caller, "this needs an operator or an API key")

    async def take_over(self, caller: Caller, conversation_id: str) -> common.Conversation:
        self._operator(caller)
        conv = await self.get(caller, conversation_id)
        return await rules.take_over(self.store, self.pub, caller.tenant_id, conv, caller.subject, caller.name)

    async def send_agent_message(
        self, caller: Caller, conversation_id: str, text: str, client_message_id: str
    ) -> common.Message:
        self._operator(caller)
        self._check_text(text)
        conv = await self.get(caller, conversation_id)
        if not rules.answered_by(conv, caller.subject):
            conv = await self.take_over(caller, conversation_id)  # replying as a person means taking over
        msg = common.Message(
            id=ids.new_id("message"),
            conversation_id=conversation_id,
            role=common.ROLE_AGENT,
            text=text,
            created_at=now_ts(),
            author_id=caller.subject,
            author_name=caller.name,
            client_message_id=client_message_id,
        )
        stored, created = await self.store.append_message(
            caller.tenant_id, msg, f"client:{client_message_id}" if client_message_id else ""
        )
        if created:
            await self.pub.live(caller.tenant_id, conversation_id, message=stored)
            await rules.first_response(self.store, self.pub, caller.tenant_id, conv, stored)
        return stored

    async def assign(
        self, caller: Caller, conversation_id: str, operator_id: str, display_name: str
    ) -> common.Conversation:
        """The gateway has checked that operator_id is one of the caller's tenant."""
        self._operator(caller)
        conv = await self.get(caller, conversation_id)
        if conv.status == Status.CONVERSATION_STATUS_CLOSED and operator_id:
            raise FailedPrecondition("the conversation is closed; a new customer message reopens it")
        return await rules.assign(
            self.store, self.pub, caller.tenant_id, conv, operator_id, display_name, caller.subject
        )

    async def set_presence(self, caller: Caller, state: int, capacity: int) -> ev.Presence:
        """An operator's presence (state unspecified: their inbox is still open)."""
        if caller.kind != Kind.OPERATOR:
            raise PermissionDenied("presence is a signed-in operator's; an API key has none")
        if state not in ev.PresenceState.values():
            raise InvalidArgument("state must be online, away or offline")
        if not 0 <= capacity <= MAX_CAPACITY:
            raise InvalidArgument(f"capacity must be between 1 and {MAX_CAPACITY} (0 keeps the current one)")
        if self.assigner is None:
            raise FailedPrecondition("presence is not configured on this deployment")
        return await self.assigner.set_presence(caller.tenant_id, caller.subject, caller.name, state, capacity)

    async def set_labels(self, caller: Caller, conversation_id: str, labels: list[str]) -> common.Conversation:
        """Replaces the team's labels on the conversation (never shown to the customer)."""
        self._operator(caller)
        wanted = sorted({label_of(raw) for raw in labels})
        if len(wanted) > MAX_LABELS:
            raise InvalidArgument(f"at most {MAX_LABELS} labels per conversation")
        conv = await self.get(caller, conversation_id)
        if list(conv.labels) == wanted:
            return conv
        updated = await self.store.change_conversation(caller.tenant_id, conversation_id, labels=wanted)
        log.info("conversation.labelled", tenant=caller.tenant_id, conversation=conversation_id, labels=len(wanted))
        return updated

    async def set_conversation_status(
        self, caller: Caller, conversation_id: str, status: int, snooze_until_ms: int
    ) -> common.Conversation:
        """Open (the AI answers), pending (waiting for a person), snoozed until a time, resolved."""
        self._operator(caller)
        if status == Status.CONVERSATION_STATUS_HUMAN:
            raise InvalidArgument("an operator takes a conversation over with TakeOver")
        if status not in _SETTABLE:
            raise InvalidArgument("status must be AI (open), HANDOFF (pending), SNOOZED or CLOSED (resolved)")
        now = now_ms()
        if status == Status.CONVERSATION_STATUS_SNOOZED:
            if snooze_until_ms <= now:
                raise InvalidArgument("snooze_until must be in the future")
            if snooze_until_ms > now + MAX_SNOOZE_MS:
                raise InvalidArgument(f"snooze_until may be at most {MAX_SNOOZE_MS // 86_400_000} days ahead")
        elif snooze_until_ms:
            raise InvalidArgument("snooze_until is only for SNOOZED")
        conv = await self.get(caller, conversation_id)
        if status == Status.CONVERSATION_STATUS_HANDOFF:
            return await rules.wait_for_a_person(self.store, self.pub, caller.tenant_id, conv)
        if status == Status.CONVERSATION_STATUS_SNOOZED:
            # the wake-up first: a snooze whose wake-up was lost would sleep forever
            await self.queue_timer(caller.tenant_id, conv.id, snooze_until_ms)
            return await rules.snooze(self.store, self.pub, caller.tenant_id, conv, snooze_until_ms)
        return await rules.set_status(self.store, self.pub, caller.tenant_id, conv, status, caller.subject)

    async def queue_timer(self, tenant_id: str, conversation_id: str, due_ms: int) -> None:
        timer = conversation_pb2.ConversationTimer(conversation_id=conversation_id, due_ms=due_ms)
        try:
            await self.pub.js.publish(
                bus.timers_subject(tenant_id),
                timer.SerializeToString(),
                headers={"Nats-Msg-Id": f"timer:{conversation_id}:{due_ms}"},
                timeout=5,
            )
        except Exception as err:  # noqa: BLE001 - NATS away: the snooze is refused, nothing changed
            raise Unavailable("the snooze could not be scheduled right now; try again in a moment") from err

    async def queue_idle_check(self, tenant_id: str, conversation_id: str, due_ms: int) -> None:
        timer = conversation_pb2.ConversationTimer(conversation_id=conversation_id, due_ms=due_ms, idle=True)
        await self.pub.js.publish(
            bus.timers_subject(tenant_id),
            timer.SerializeToString(),
            headers={"Nats-Msg-Id": f"idle:{conversation_id}:{due_ms}"},
            timeout=5,
        )

    async def on_timer(self, tenant_id: str, timer: conversation_pb2.ConversationTimer) -> None:
        if not timer.idle:
            await self.wake(tenant_id, timer.conversation_id, timer.due_ms)
        elif self.idle is not None:
            await self.idle.check(tenant_id, timer.conversation_id)

    async def wake(self, tenant_id: str, conversation_id: str, due_ms: int) -> bool:
        """A snooze's time has come: the conversation waits for a person again, unless it was
        woken, snoozed anew or changed meanwhile. True when it was woken now."""
        conv = await self.store.get_conversation(tenant_id, conversation_id)
        if conv is None or not rules.wakes(conv) or conv.snoozed_until.ToMilliseconds() != due_ms:
            return False
        await rules.wait_for_a_person(self.store, self.pub, tenant_id, conv)
        log.info("conversation.snooze_ended", tenant=tenant_id, conversation=conversation_id)
        return True

    async def set_status(self, caller: Caller, conversation_id: str, status: int) -> common.Conversation:
        self._operator(caller)
        before = await self.get(caller, conversation_id)
        return await rules.set_status(self.store, self.pub, caller.tenant_id, before, status, caller.subject)

    # -- private notes of the team ----------------------------------------------------

    async def add_note(self, caller: Caller, conversation_id: str, text: str) -> admin_pb2.Note:
        """A note for the team: stored apart from the messages, announced on no conversation
        subject, so neither the customer nor the AI ever reads it."""
        require_operator(caller, "notes are written by the tenant's team")
        text = text.strip()
        if not text:
            raise InvalidArgument("the note is empty")
        if len(text) > MAX_NOTE_CHARS:
            raise InvalidArgument(f"the note is {len(text)} characters; the limit is {MAX_NOTE_CHARS}")
        await self.get(caller, conversation_id)
        note = admin_pb2.Note(
            id=ids.new_id("note"),
            conversation_id=conversation_id,
            author_id=caller.subject,
            author_name=caller.name,
            text=text,
            created_at=now_ts(),
        )
        await self.store.add_note(caller.tenant_id, note)
        log.info("conversation.note_added", tenant=caller.tenant_id, conversation=conversation_id)
        return note

    async def notes(self, caller: Caller, conversation_id: str) -> list[admin_pb2.Note]:
        require_operator(caller, "notes are for the tenant's team")
        return await self.store.list_notes(caller.tenant_id, conversation_id)

    # -- live events ------------------------------------------------------------------

    async def open_stream(self, caller: Caller, conversation_id: str, after_message_id: str):
        """What a (re)connecting watcher sees first: the conversation (its status) and the
        stored messages after its cursor. The gateway has subscribed to the live subject
        before asking, so nothing falls between the two."""
        conv = await self.get(caller, conversation_id)
        if not after_message_id:
            return conv, []
        if not ids.is_id(after_message_id, "message"):
            raise InvalidArgument("after_message_id is not a valid message id")
        return conv, await self.store.messages_after(caller.tenant_id, conversation_id, after_message_id)
