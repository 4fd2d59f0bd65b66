"""Tenant isolation, for every public RPC that names a resource (from the descriptors):
tenant A's credentials on tenant B's ids answer exactly what they answer for an id that
does not exist (the same code and the same message), so another tenant's data can be
neither read, changed, nor told to exist."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from google.protobuf import message_factory

from frontdesk import ids
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.analytics.v1 import analytics_pb2
from frontdesk_pb.auth.v1 import auth_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.knowledge.v1 import knowledge_pb2 as kpb
from frontdesk_pb.knowledge.v1 import knowledge_pb2_grpc
from frontdesk_pb.speech.v1 import speech_pb2, speech_pb2_grpc
from gateway import access
from tests.conftest import PLATFORM_TOKEN, start_mesh
from tests.e2e.helpers import Client, bearer, create_tenant
from tests.speech import espeak_wav

PUBLIC = (chat_pb2, auth_pb2, admin_pb2, kpb, speech_pb2, analytics_pb2)
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def tenants(tmp_path_factory):
    unlimited = {f"{who}_{what}": 10**6 for who in ("tenant", "visitor", "operator") for what in ("rate", "burst")}
    mesh = start_mesh(tmp_path_factory.mktemp("isolation") / "data", answer_policy="knowledge", **unlimited)
    loop = asyncio.new_event_loop()
    world = loop.run_until_complete(_two_tenants(mesh))
    yield mesh, loop, world
    loop.run_until_complete(world["channel"].close())
    loop.close()
    mesh.stop()


async def _two_tenants(mesh) -> dict:
    ch = grpc.aio.insecure_channel(mesh.gateway)
    c = Client(ch)
    world: dict = {"channel": ch}
    for name in ("tenant-a", "tenant-b"):
        created = await create_tenant(c, PLATFORM_TOKEN, name)
        owner = await c.operator(name, f"owner@{name}.example", PASSWORD)
        _, visitor = await c.visitor(created.tenant.widget_key)
        world[name] = {
            access.OPERATOR: owner,
            access.API_KEY: bearer(created.api_key),
            access.VISITOR: visitor,
            access.PLATFORM: bearer(PLATFORM_TOKEN),
        }
    # tenant B's resources, one of each kind a request can name
    b = world["tenant-b"]
    conv = await c.start(b[access.VISITOR])
    sent = await c.chat.SendMessage(
        chat_pb2.SendMessageRequest(conversation_id=conv, text="hello"), metadata=b[access.VISITOR]
    )
    attachment = await c.chat.UploadAttachment(
        chat_pb2.UploadAttachmentRequest(conversation_id=conv, filename="a.txt", content_type="text/plain", data=b"hi"),
        metadata=b[access.VISITOR],
    )
    audio = await speech_pb2_grpc.SpeechServiceStub(ch).SubmitAudio(
        speech_pb2.SubmitAudioRequest(
            header=speech_pb2.AudioHeader(conversation_id=conv, content_type="audio/wav"),
            data=espeak_wav("Where is my order?"),
        ),
        metadata=b[access.VISITOR],
    )
    kb = knowledge_pb2_grpc.KnowledgeServiceStub(ch)
    await kb.UpsertFaqEntries(
        kpb.UpsertFaqEntriesRequest(entries=[kpb.FaqEntry(id="b-secret", question="Secret of B?", answer="B only.")]),
        metadata=b[access.OPERATOR],
    )
    job = await kb.ImportFile(
        kpb.ImportFileRequest(
            filename="b.jsonl", data=json.dumps({"id": "b2", "question": "q?", "answer": "a"}).encode()
        ),
        metadata=b[access.OPERATOR],
    )
    key = await c.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(name="b"), metadata=b[access.OPERATOR])
    operator = await c.admin.CreateOperator(
        admin_pb2.CreateOperatorRequest(email="agent@tenant-b.example", role="agent", password=PASSWORD),
        metadata=b[access.OPERATOR],
    )
    await c.admin.SaveCannedResponse(
        admin_pb2.SaveCannedResponseRequest(
            response=admin_pb2.CannedResponse(shortcut="b-refund", text="B's refund text")
        ),
        metadata=b[access.OPERATOR],
    )
    world["b_ids"] = {
        "conversation_id": conv,
        "message_id": sent.message.id,
        "attachment_id": attachment.id,
        "audio_id": audio.audio_id,
        "job_id": job.id,
        "key_id": key.key.id,
        "operator_id": operator.id,
        "entry_id": "b-secret",
        "id": "b-secret",  # KnowledgeService.DeleteEntry
        "shortcut": "b-refund",  # AdminService.DeleteCannedResponse
    }
    return world


def _missing(field: str, b_value: str) -> str:
    """An id of the same form that exists nowhere."""
    for kind, prefix in ids.KINDS.items():
        if b_value.startswith(prefix + "_") and ids.is_id(b_value, kind):
            return ids.new_id(kind)
    return b_value[:-1] + ("x" if b_value[-1] != "x" else "y")


def _cases():
    for module in PUBLIC:
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if method.name.startswith("Save"):
                    continue  # a save names no existing resource: it writes the caller's own
                names = {f.name for f in method.input_type.fields}
                # the ids a request names directly (nested headers included)
                for f in method.input_type.fields:
                    # a header names resources; a repeated message (entries to write) creates its own
                    if f.message_type is not None and not f.is_repeated:
                        names |= {f"{f.name}.{g.name}" for g in f.message_type.fields}
                wanted = sorted(n for n in names if n.split(".")[-1] in _RESOURCE_FIELDS)
                if wanted:
                    yield pytest.param(method, wanted, id=f"{service.name}.{method.name}")


_RESOURCE_FIELDS = {
    "conversation_id",
    "message_id",
    "attachment_id",
    "audio_id",
    "job_id",
    "key_id",
    "operator_id",
    "entry_id",
    "id",
    "shortcut",
}


def _request(method, fields: list[str], values: dict[str, str]):
    msg = message_factory.GetMessageClass(method.input_type)()
    for path in fields:
        *parents, leaf = path.split(".")
        target = msg
        for part in parents:
            target = getattr(target, part)
        setattr(target, leaf, values[leaf])
    if method.input_type.name in ("SendMessageRequest", "AddNoteRequest"):
        msg.text = "hello"
    return msg


async def _call(ch, method, request, md):
    path = f"/{method.containing_service.full_name}/{method.name}"
    try:
        if method.client_streaming:

            async def one():
                yield request.SerializeToString()

            await ch.stream_unary(path, request_serializer=None, response_deserializer=None)(
                one(), metadata=md, timeout=20
            )
        elif method.server_streaming:
            stream = ch.unary_stream(path, request_serializer=None, response_deserializer=None)(
                request.SerializeToString(), metadata=md, timeout=5
            )
            await stream.read()
            stream.cancel()
        else:
            await ch.unary_unary(path, request_serializer=None, response_deserializer=None)(
                request.SerializeToString(), metadata=md, timeout=20
            )
    except grpc.aio.AioRpcError as err:
        return err.code(), err.details()
    return grpc.StatusCode.OK, ""


@pytest.mark.parametrize(("method", "fields"), list(_cases()))
def test_another_tenants_id_is_answered_like_a_missing_one(tenants, method, fields):
    mesh, loop, world = tenants
    rule = access.RULES[f"/{method.containing_service.full_name}/{method.name}"]
    kinds = [k for k in (access.OPERATOR, access.API_KEY, access.VISITOR) if k in rule.kinds]
    assert kinds, "an RPC that names a tenant's resource is called with a tenant's credentials"
    b_ids = world["b_ids"]
    missing = {k: _missing(k, v) for k, v in b_ids.items()}
    for kind in kinds:
        md = world["tenant-a"][kind]
        foreign = loop.run_until_complete(_call(world["channel"], method, _request(method, fields, b_ids), md))
        absent = loop.run_until_complete(_call(world["channel"], method, _request(method, fields, missing), md))
        assert foreign[0] != grpc.StatusCode.OK, f"{method.full_name} as {kind}: tenant B's resource was served to A"
        assert foreign == absent, f"{method.full_name} as {kind}: B's ids {foreign} vs missing ids {absent}"


def test_tenant_b_still_has_all_of_it(tenants):
    """Nothing A tried changed B: the entry, the key, the operator and the canned response are all there."""
    mesh, loop, world = tenants
    b = world["tenant-b"]

    async def check():
        ch = world["channel"]
        listed = await knowledge_pb2_grpc.KnowledgeServiceStub(ch).ListEntries(
            kpb.ListEntriesRequest(), metadata=b[access.OPERATOR]
        )
        assert "b-secret" in {e.id for e in listed.entries}
        keys = await Client(ch).admin.ListApiKeys(admin_pb2.ListApiKeysRequest(), metadata=b[access.OPERATOR])
        assert any(k.id == world["b_ids"]["key_id"] and not k.HasField("revoked_at") for k in keys.keys)
        ops = await Client(ch).admin.ListOperators(admin_pb2.ListOperatorsRequest(), metadata=b[access.OPERATOR])
        assert world["b_ids"]["operator_id"] in {o.id for o in ops.operators}
        canned = await Client(ch).admin.ListCannedResponses(
            admin_pb2.ListCannedResponsesRequest(), metadata=b[access.OPERATOR]
        )
        assert [(r.shortcut, r.text) for r in canned.responses] == [("b-refund", "B's refund text")]

    loop.run_until_complete(check())
