"""Attachments go through the blob store under the caller's tenant; the content must be
what it claims to be; refused uploads store nothing."""

from __future__ import annotations

import hashlib
import struct
import zlib

import grpc
import pytest

from frontdesk_pb.chat.v1 import chat_pb2
from tests.e2e.helpers import Client


def tiny_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.fixture
async def client(mesh):
    async with mesh.channel() as ch:
        yield Client(ch)


async def test_an_uploaded_image_is_attached_to_a_message_and_read_back(mesh, client):
    _, md = await client.visitor(mesh.demo["widget_key"])
    conv = await client.start(md)
    png = tiny_png()
    att = await client.chat.UploadAttachment(
        chat_pb2.UploadAttachmentRequest(
            conversation_id=conv, filename="screenshot.png", content_type="image/png", data=png
        ),
        metadata=md,
    )
    assert (att.size_bytes, att.sha256, att.content_type) == (len(png), hashlib.sha256(png).hexdigest(), "image/png")
    sent = await client.chat.SendMessage(
        chat_pb2.SendMessageRequest(conversation_id=conv, text="see the screenshot", attachment_ids=[att.id]),
        metadata=md,
    )
    assert [a.id for a in sent.message.attachments] == [att.id]
    got = await client.chat.GetAttachment(
        chat_pb2.GetAttachmentRequest(conversation_id=conv, attachment_id=att.id), metadata=md
    )
    assert got.data == png and got.attachment.filename == "screenshot.png"
    operator = await client.operator("demo", mesh.demo["owner_email"], mesh.demo["owner_password"])
    seen = await client.admin.GetAttachment(
        chat_pb2.GetAttachmentRequest(conversation_id=conv, attachment_id=att.id), metadata=operator
    )
    assert seen.data == png


@pytest.mark.parametrize(
    "content_type,data,why",
    [
        ("image/png", b"this is text pretending to be a picture", "does not match"),
        ("application/zip", b"PK\x03\x04 whatever", "not accepted"),
        ("text/plain", b"", "empty"),
        ("image/png", b"\x89PNG" + b"0" * (10 * 1024 * 1024), "limit"),
    ],
)
async def test_bad_uploads_are_refused_with_a_reason(mesh, client, content_type, data, why):
    _, md = await client.visitor(mesh.demo["widget_key"])
    conv = await client.start(md)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await client.chat.UploadAttachment(
            chat_pb2.UploadAttachmentRequest(
                conversation_id=conv, filename="f.bin", content_type=content_type, data=data
            ),
            metadata=md,
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and why in info.value.details()
    blobs = mesh.data_dir / "blobs" / "tenant" / mesh.demo["tenant_id"] / "attachments" / conv
    assert not blobs.exists() or not any(blobs.iterdir()), "nothing is stored for a refused upload"


async def test_a_message_naming_an_unknown_attachment_is_refused_and_not_stored(mesh, client):
    _, md = await client.visitor(mesh.demo["widget_key"])
    conv = await client.start(md)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await client.chat.SendMessage(
            chat_pb2.SendMessageRequest(
                conversation_id=conv, text="here", attachment_ids=["a_0000000000000000000000000z"]
            ),
            metadata=md,
        )
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    history = await client.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=conv), metadata=md)
    assert len(history.messages) == 0
