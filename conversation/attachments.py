"""Attachments of a conversation: checked, stored in the blob store under the tenant,
described by a small metadata object beside the data.

Layout (lifecycle rules can target the prefix): tenant/<tenant>/attachments/<conversation>/
<attachment id> (the bytes) and .../<attachment id>.json (filename, type, size, sha256)."""

from __future__ import annotations

import hashlib
import json

import filetype

from frontdesk import ids
from frontdesk.errors import InvalidArgument, NotFound
from frontdesk.stores.base import BlobStore
from frontdesk_pb.common.v1 import common_pb2 as common

# declared type -> the family its bytes must show
ALLOWED = {
    "image/png": "image/png",
    "image/jpeg": "image/jpeg",
    "image/gif": "image/gif",
    "image/webp": "image/webp",
    "application/pdf": "application/pdf",
    "text/plain": "text/plain",
    "audio/wav": "audio/wav",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/mpeg": "audio/mpeg",
    "audio/mp3": "audio/mpeg",
    "audio/ogg": "audio/ogg",
    "audio/webm": "webm",
    "video/webm": "webm",
}
_DETECTED = {"audio/x-wav": "audio/wav", "video/webm": "webm", "audio/webm": "webm"}


def _detected_family(data: bytes) -> str:
    kind = filetype.guess(data[:8192])
    if kind is not None:
        return _DETECTED.get(kind.mime, kind.mime)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown"
    return "text/plain" if "\x00" not in text else "unknown"


def check_upload(filename: str, content_type: str, data: bytes, max_bytes: int) -> str:
    """The normalised content type, or INVALID_ARGUMENT saying what is wrong."""
    declared = content_type.split(";")[0].strip().lower()
    if declared not in ALLOWED:
        raise InvalidArgument(
            f"content type {content_type or '(none)'!r} is not accepted; send an image (png, jpeg, "
            "gif, webp), a PDF, audio (wav, mp3, ogg, webm) or plain text"
        )
    if not data:
        raise InvalidArgument("the file is empty")
    if len(data) > max_bytes:
        raise InvalidArgument(f"the file is {len(data)} bytes; the limit is {max_bytes}")
    if not filename.strip() or len(filename) > 255 or any(c in filename for c in "/\\\x00"):
        raise InvalidArgument("filename must be 1-255 characters without path separators")
    detected = _detected_family(data)
    if detected != ALLOWED[declared]:
        raise InvalidArgument(f"the file's content does not match its declared type {declared!r}")
    return declared


class Attachments:
    def __init__(self, blobs: BlobStore, max_bytes: int):
        self.blobs = blobs
        self.max_bytes = max_bytes

    @staticmethod
    def _key(conversation_id: str, attachment_id: str) -> str:
        return f"attachments/{conversation_id}/{attachment_id}"

    async def store(
        self, tenant_id: str, conversation_id: str, filename: str, content_type: str, data: bytes
    ) -> common.Attachment:
        declared = check_upload(filename, content_type, data, self.max_bytes)
        attachment_id = ids.new_id("attachment")
        key = self._key(conversation_id, attachment_id)

        async def chunks():
            for i in range(0, len(data), 256 * 1024):
                yield data[i : i + 256 * 1024]

        size, sha256 = await self.blobs.put(tenant_id, key, chunks(), content_type=declared, max_bytes=self.max_bytes)
        meta = common.Attachment(
            id=attachment_id, filename=filename.strip(), content_type=declared, size_bytes=size, sha256=sha256
        )

        async def meta_chunks():
            yield json.dumps(
                {"filename": meta.filename, "content_type": declared, "size_bytes": size, "sha256": sha256}
            ).encode()

        # the metadata is written last: an attachment without it does not exist
        await self.blobs.put(tenant_id, key + ".json", meta_chunks(), content_type="application/json", max_bytes=4096)
        return meta

    async def describe(self, tenant_id: str, conversation_id: str, attachment_id: str) -> common.Attachment:
        if not ids.is_id(attachment_id, "attachment"):
            raise NotFound("attachment not found")
        try:
            raw = b"".join(
                [c async for c in self.blobs.get(tenant_id, self._key(conversation_id, attachment_id) + ".json")]
            )
        except KeyError:
            raise NotFound("attachment not found") from None
        meta = json.loads(raw)
        return common.Attachment(
            id=attachment_id,
            filename=meta["filename"],
            content_type=meta["content_type"],
            size_bytes=meta["size_bytes"],
            sha256=meta["sha256"],
        )

    async def read(
        self, tenant_id: str, conversation_id: str, attachment_id: str
    ) -> tuple[common.Attachment, bytes, str]:
        meta = await self.describe(tenant_id, conversation_id, attachment_id)
        key = self._key(conversation_id, attachment_id)
        try:
            data = b"".join([c async for c in self.blobs.get(tenant_id, key)])
        except KeyError:
            raise NotFound("attachment not found") from None
        if hashlib.sha256(data).hexdigest() != meta.sha256:
            raise NotFound("attachment is damaged")  # never serve bytes that are not what was stored
        return meta, data, await self.blobs.download_url(tenant_id, key) or ""
