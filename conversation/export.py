"""One customer's stored data, file by file, for AdminService.ExportCustomerData (GDPR
article 15): their conversations as they see them, every message they were shown (theirs, the
AI's, the team's, the platform's notices), their thumbs and ratings, their attachments and
voice recordings with the transcription record. The team's private notes are not theirs to
read and are left out, as the conversation's team-only fields (labels, snooze, response times).

The gateway zips what this yields, with what analytics holds about the same conversations.
Files come in parts of at most PART_BYTES, in order, so a large attachment never makes one
oversized gRPC message.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

from google.protobuf.json_format import MessageToDict

from conversation.attachments import Attachments
from frontdesk.errors import InvalidArgument, NotFound
from frontdesk.stores.base import BlobStore, LogStore
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.conversation.v1 import conversation_pb2

PART_BYTES = 1 << 20
VISITOR_ID = re.compile(r"vi?_[0-9a-z]{26}")  # a customer as on their conversations
_UNSAFE = re.compile(r"[^\w.-]+")
TEAM_ONLY = ("labels", "snoozed_until", "handed_off_at", "first_response_at")


def customer_view(conv: common.Conversation) -> common.Conversation:
    """What the customer's side sees of a conversation: not the team's labels, snooze time or
    response times (ChatService and the customer's export)."""
    shown = common.Conversation()
    shown.CopyFrom(conv)
    for field in TEAM_ONLY:
        shown.ClearField(field)
    return shown


def _dict(message) -> dict:
    return MessageToDict(message, preserving_proto_field_name=True)


def _parts(path: str, data: bytes):
    for start in range(0, max(len(data), 1), PART_BYTES):
        end = start + PART_BYTES
        yield conversation_pb2.ExportPart(path=path, data=data[start:end], last=end >= len(data))


async def conversations_of(store: LogStore, tenant_id: str, visitor_id: str) -> list[common.Conversation]:
    out: list[common.Conversation] = []
    token = ""
    while True:
        page, token = await store.list_conversations(tenant_id, visitor_id=visitor_id, limit=200, page_token=token)
        out += page
        if not token:
            return out


async def visitor_files(
    store: LogStore, attachments: Attachments | None, blobs: BlobStore | None, tenant_id: str, visitor_id: str
) -> AsyncIterator[conversation_pb2.ExportPart]:
    if not VISITOR_ID.fullmatch(visitor_id):
        raise InvalidArgument("visitor_id must be a customer's id as on their conversations (v_... or vi_...)")
    conversations = await conversations_of(store, tenant_id, visitor_id)
    if not conversations:
        raise NotFound("no conversation of this customer is stored")
    shown = [customer_view(c) for c in conversations]
    for part in _parts("conversations.json", json.dumps([_dict(c) for c in shown], indent=1).encode()):
        yield part
    missing: list[str] = []
    for conv in conversations:
        base = f"conversations/{conv.id}"
        messages = await store.all_messages(tenant_id, conv.id)
        lines = "".join(json.dumps(_dict(m), ensure_ascii=False) + "\n" for m in messages)
        for part in _parts(f"{base}/messages.jsonl", lines.encode()):
            yield part
        feedback = [
            {"message_id": f.message_id, "helpful": f.helpful, "at_ms": f.at_ms}
            for f in await store.list_feedback(tenant_id, conv.id)
        ]
        for part in _parts(f"{base}/feedback.json", json.dumps(feedback, indent=1).encode()):
            yield part
        for m in messages:
            for a in m.attachments:
                if attachments is None:
                    missing.append(f"{base}/attachments/{a.id}: the blob store is not configured here")
                    continue
                try:
                    _, data, _ = await attachments.read(tenant_id, conv.id, a.id)
                except NotFound as err:
                    missing.append(f"{base}/attachments/{a.id}: {err}")
                    continue
                name = _UNSAFE.sub("_", a.filename)[:100] or "file"
                for part in _parts(f"{base}/attachments/{a.id}-{name}", data):
                    yield part
            if m.audio_id and blobs is not None:
                for key, suffix in ((f"audio/{m.audio_id}", ""), (f"audio/{m.audio_id}.json", ".json")):
                    try:
                        data = b"".join([c async for c in blobs.get(tenant_id, key)])
                    except KeyError:
                        missing.append(f"{base}/audio/{m.audio_id}{suffix}: not stored (any more)")
                        continue
                    for part in _parts(f"{base}/audio/{m.audio_id}{suffix}", data):
                        yield part
    if missing:
        for part in _parts("missing.txt", "\n".join(missing).encode()):
            yield part
