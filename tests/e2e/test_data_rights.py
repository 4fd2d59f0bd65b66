"""A customer's data rights through the real mesh (embedded stores; tests/e2e/test_real_stores.py
has the same export on Cassandra and MinIO): AdminService.ExportCustomerData streams a zip of
everything stored about one customer (conversations, messages, attachments, the voice recording
and its transcription, feedback, ratings, analytics' sentiment), never the team's notes or
another customer's data; owners and admins only; another tenant's customer is NOT_FOUND."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile

import grpc
import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.speech.v1 import speech_pb2, speech_pb2_grpc
from tests.conftest import start_mesh
from tests.e2e.helpers import Client, bearer, conversation_when
from tests.e2e.test_attachments import tiny_png
from tests.e2e.test_roles import code_of, denied, tenant_with_staff
from tests.speech import espeak_wav

NOTE = "Internal: this customer asked for a discount twice"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory):
    m = start_mesh(tmp_path_factory.mktemp("data-rights"))
    yield m
    m.stop()


async def export(c: Client, md, visitor_id: str) -> tuple[str, zipfile.ZipFile]:
    chunks = [
        chunk
        async for chunk in c.admin.ExportCustomerData(
            admin_pb2.ExportCustomerDataRequest(visitor_id=visitor_id), metadata=md, timeout=120
        )
    ]
    return chunks[0].filename, zipfile.ZipFile(io.BytesIO(b"".join(ch.data for ch in chunks)))


async def customer_with_history(c: Client, widget_key: str, speech) -> dict:
    visitor, md = await c.visitor(widget_key, name="Jo Example", email="jo@example.com")
    first = await c.start(md)
    _, _, answer = await c.ask(md, first, "Where is my parcel 4711?")
    png = tiny_png()
    att = await c.chat.UploadAttachment(
        chat_pb2.UploadAttachmentRequest(
            conversation_id=first, filename="label photo.png", content_type="image/png", data=png
        ),
        metadata=md,
    )
    await c.chat.SendMessage(
        chat_pb2.SendMessageRequest(conversation_id=first, text="here is the label", attachment_ids=[att.id]),
        metadata=md,
    )
    await c.chat.SubmitFeedback(
        chat_pb2.SubmitFeedbackRequest(conversation_id=first, message_id=answer.id, helpful=False), metadata=md
    )
    await c.chat.RateConversation(chat_pb2.RateConversationRequest(conversation_id=first, score=2), metadata=md)
    second = await c.start(md)
    submitted = await speech.SubmitAudio(
        speech_pb2.SubmitAudioRequest(
            header=speech_pb2.AudioHeader(conversation_id=second, content_type="audio/wav", filename="q.wav"),
            data=espeak_wav("Please cancel my order."),
        ),
        metadata=md,
        timeout=60,
    )
    return {"visitor": visitor, "md": md, "first": first, "second": second, "png": png, "audio": submitted.audio_id}


async def test_an_admin_exports_everything_stored_about_one_customer_and_nothing_else(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        speech = speech_pb2_grpc.SpeechServiceStub(ch)
        created, owner, admin, agent, _ = await tenant_with_staff(c, "data-rights")
        jo = await customer_with_history(c, created.tenant.widget_key, speech)
        await c.admin.AddNote(admin_pb2.AddNoteRequest(conversation_id=jo["first"], text=NOTE), metadata=agent)
        _, other = await c.visitor(created.tenant.widget_key)
        someone_else = await c.start(other)
        await c.chat.SendMessage(
            chat_pb2.SendMessageRequest(conversation_id=someone_else, text="another customer's secret"), metadata=other
        )

        async def transcribed():  # the voice message is posted once Whisper has heard it
            while True:
                page = await c.admin.ListMessages(
                    admin_pb2.ListMessagesRequest(conversation_id=jo["second"]), metadata=owner
                )
                if any(m.voice for m in page.messages):
                    return
                await asyncio.sleep(0.5)

        await asyncio.wait_for(transcribed(), 120)
        await conversation_when(c, owner, jo["first"], lambda conv: conv.rating == 2)

        name, archive = await export(c, admin, jo["visitor"])
        assert name == f"customer-{jo['visitor']}.zip"
        files = set(archive.namelist())
        first, second = f"conversations/{jo['first']}", f"conversations/{jo['second']}"
        conversations = json.loads(archive.read("conversations.json"))
        assert {conv["id"] for conv in conversations} == {jo["first"], jo["second"]}
        assert all("labels" not in conv and "handed_off_at" not in conv for conv in conversations)
        assert next(conv for conv in conversations if conv["id"] == jo["first"])["rating"] == 2
        said = [json.loads(line)["text"] for line in archive.read(f"{first}/messages.jsonl").decode().splitlines()]
        assert "Where is my parcel 4711?" in said and "here is the label" in said
        [photo] = [f for f in files if f.startswith(f"{first}/attachments/")]
        assert photo.endswith("label_photo.png") and archive.read(photo) == jo["png"]
        assert json.loads(archive.read(f"{first}/feedback.json"))[0]["helpful"] is False
        voice = [json.loads(line) for line in archive.read(f"{second}/messages.jsonl").decode().splitlines()]
        assert any(m.get("voice") and m["audio_id"] == jo["audio"] for m in voice)
        assert archive.read(f"{second}/audio/{jo['audio']}")[:4] == b"RIFF"
        assert json.loads(archive.read(f"{second}/audio/{jo['audio']}.json"))["state"] == "done"
        assert "conversations" in json.loads(archive.read("analytics/sentiment.json"))
        manifest = json.loads(archive.read("export.json"))
        assert manifest["visitor_id"] == jo["visitor"] and manifest["conversations"] == 2
        everything = b"".join(archive.read(f) for f in files)
        assert NOTE.encode() not in everything and b"another customer's secret" not in everything
        assert someone_else.encode() not in everything

        # owners too, and the API key; agents and customers never
        await export(c, owner, jo["visitor"])
        await export(c, bearer(created.api_key), jo["visitor"])
        await denied(export(c, agent, jo["visitor"]))
        await denied(export(c, jo["md"], jo["visitor"]))
        # the audit log has who exported whom
        log = await c.admin.ListAuditLog(admin_pb2.ListAuditLogRequest(), metadata=owner)
        exported = [e for e in log.entries if e.method == "AdminService.ExportCustomerData"]
        assert exported and exported[-1].target["visitor_id"] == jo["visitor"]


async def test_unknown_foreign_and_malformed_customers_are_refused(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, _, _ = await tenant_with_staff(c, "data-rights-a")
        _, other_owner, _, _, _ = await tenant_with_staff(c, "data-rights-b")
        visitor, md = await c.visitor(created.tenant.widget_key)
        await c.start(md)
        assert await code_of(export(c, other_owner, visitor)) == grpc.StatusCode.NOT_FOUND
        assert await code_of(export(c, owner, "v_" + "0" * 26)) == grpc.StatusCode.NOT_FOUND
        for bad in ("", "someone@example.com", "v_../../etc"):
            assert await code_of(export(c, owner, bad)) == grpc.StatusCode.INVALID_ARGUMENT
