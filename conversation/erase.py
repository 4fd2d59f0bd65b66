"""Erasing one customer (AdminService.EraseCustomerData, GDPR article 17): what the
conversation service holds about them, for good.

For each of the customer's conversations: its attachments (every object under the
conversation's folder, sent or only uploaded), its voice recordings with their transcription
records (those its messages name, and those whose transcription never became a message), the
platform's events and queued jobs about it on JetStream (EVENTS, JOBS, SPEECH, TIMERS), then
the conversation itself in the log store with everything stored with it
(LogStore.erase_conversation). The gateway then has analytics scrub its aggregates with what
this returns (the conversations' spans and what the customer wrote).

A failure part way leaves the rest for a second call: the log store goes last, so the
conversations stay listed until everything else about them is gone; the streams are read
once more after it, for what was published about them meanwhile.
"""

from __future__ import annotations

import json

import nats.errors
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from conversation.export import VISITOR_ID, conversations_of
from frontdesk import bus, ids, logs
from frontdesk.errors import InvalidArgument, NotFound, Unavailable
from frontdesk.stores.base import BlobStore, LogStore
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.conversation.v1 import conversation_pb2
from frontdesk_pb.events.v1 import events_pb2 as ev
from frontdesk_pb.inference.v1 import inference_pb2
from frontdesk_pb.speech.v1 import speech_pb2

log = logs.get("conversation.erase")
MAX_TEXT_CHARS = 1000  # of each text handed to analytics (its unanswered questions keep 300)

# the streams that keep messages about a conversation, with how to read one
_STREAMS = (
    (bus.EVENTS_STREAM, lambda t: bus.events_subject(t, ">"), ev.DomainEvent),
    (bus.JOBS_STREAM, bus.jobs_subject, inference_pb2.AiJob),
    (bus.SPEECH_STREAM, bus.speech_subject, speech_pb2.TranscriptionJob),
    (bus.TIMERS_STREAM, bus.timers_subject, conversation_pb2.ConversationTimer),
)


async def erase_visitor(
    store: LogStore,
    blobs: BlobStore | None,
    js: JetStreamContext,
    tenant_id: str,
    visitor_id: str,
    *,
    only_describe: bool = False,
) -> conversation_pb2.ErasedVisitor:
    if not VISITOR_ID.fullmatch(visitor_id):
        raise InvalidArgument("visitor_id must be a customer's id as on their conversations (v_... or vi_...)")
    conversations = await conversations_of(store, tenant_id, visitor_id)
    if not conversations:
        raise NotFound("no conversation of this customer is stored")
    out = conversation_pb2.ErasedVisitor()
    wanted = {c.id for c in conversations}
    recordings: set[str] = set()
    texts: dict[str, None] = {}  # each once, in order
    for conv in conversations:
        out.conversations.add(
            id=conv.id, created_ms=conv.created_at.ToMilliseconds(), updated_ms=conv.updated_at.ToMilliseconds()
        )
        for m in await store.all_messages(tenant_id, conv.id):
            if m.role == common.ROLE_CUSTOMER and m.text.strip():
                texts.setdefault(m.text.strip()[:MAX_TEXT_CHARS], None)
            if m.audio_id:
                recordings.add(m.audio_id)
    out.customer_texts.extend(texts)
    if only_describe:
        return out
    if blobs is not None:
        out.files = await _erase_files(blobs, tenant_id, wanted, recordings)
    try:
        out.queued_items = await _erase_from_streams(js, tenant_id, wanted)
    except (nats.errors.Error, TimeoutError) as err:  # nothing is erased from the store yet: a retry finds it all
        raise Unavailable(f"the platform's queues could not be reached ({err}); try again") from None
    for conv in conversations:
        out.messages += await store.erase_conversation(tenant_id, conv.id)
    await store.after_erasure()
    # what landed while they were still there (a reply finishing, a file uploaded) goes too;
    # a message on its way now finds them gone (LogStore: ConversationGone) and is not kept
    if blobs is not None:
        await _erase_files(blobs, tenant_id, wanted, recordings, scan_recordings=False)
    try:
        out.queued_items += await _erase_from_streams(js, tenant_id, wanted)
    except (nats.errors.Error, TimeoutError) as err:
        log.error("customer.erase_streams_again_failed", tenant=tenant_id, error=str(err))
    log.info(
        "customer.erased",
        tenant=tenant_id,
        conversations=len(conversations),
        messages=out.messages,
        files=out.files,
        queued=out.queued_items,
    )
    return out


async def _erase_files(
    blobs: BlobStore, tenant_id: str, conversations: set[str], recordings: set[str], *, scan_recordings: bool = True
) -> int:
    keys: list[str] = []
    for conversation_id in sorted(conversations):
        keys += await blobs.keys(tenant_id, f"attachments/{conversation_id}/")
    # a recording is kept under its own id; its transcription record names the conversation
    for key in await blobs.keys(tenant_id, "audio/") if scan_recordings else []:
        audio_id = key.removeprefix("audio/").removesuffix(".json")
        if not ids.is_id(audio_id, "audio"):
            continue
        if audio_id not in recordings and key.endswith(".json"):
            try:
                state = json.loads(b"".join([c async for c in blobs.get(tenant_id, key)]))
            except (KeyError, ValueError):
                continue
            if isinstance(state, dict) and state.get("conversation_id") in conversations:
                recordings.add(audio_id)
    for audio_id in sorted(recordings):
        keys += [f"audio/{audio_id}", f"audio/{audio_id}.json"]
    erased = 0
    for key in keys:
        try:
            await blobs.delete(tenant_id, key)
        except ValueError:  # not a key this store could hold: nothing there
            continue
        erased += not key.endswith(".json")
    return erased


async def _erase_from_streams(js: JetStreamContext, tenant_id: str, conversations: set[str]) -> int:
    """Delete every message of the tenant's subjects about these conversations (the server
    overwrites a deleted message's bytes). EVENTS (a week of the tenant's events) is read with
    an ordered push consumer, fast; the work queues (short, and a work-queue stream allows no
    second consumer on a subject) one message at a time."""
    erased = 0
    for stream, subject_of, message_type in _STREAMS:
        subject = subject_of(tenant_id)
        found = _scan_log if stream == bus.EVENTS_STREAM else _scan_queue
        async for seq, data in found(js, stream, subject):
            try:
                about = message_type.FromString(data).conversation_id
            except Exception:  # noqa: BLE001 - not ours to read: not about these conversations
                continue
            if about in conversations:
                try:
                    await js.delete_msg(stream, seq)
                    erased += 1
                except NotFoundError:
                    pass  # consumed (a work queue) or aged out meanwhile
    return erased


async def _scan_queue(js: JetStreamContext, stream: str, subject: str):
    seq = 1
    while True:
        try:
            msg = await js.get_msg(stream, seq=seq, subject=subject, next=True)
        except NotFoundError:
            return
        seq = int(msg.seq or seq)
        yield seq, msg.data or b""
        seq += 1


async def _scan_log(js: JetStreamContext, stream: str, subject: str):
    """Every message of `subject`, until the consumer says none is left."""
    info = await js.stream_info(stream, subjects_filter=subject)
    if not (info.state.subjects or {}):
        return
    sub = await js.subscribe(subject, stream=stream, ordered_consumer=True)
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=5.0)
            except nats.errors.TimeoutError:
                return  # nothing more of this subject
            yield msg.metadata.sequence.stream, msg.data or b""
            if not msg.metadata.num_pending:
                return
    finally:
        await sub.unsubscribe()
