"""Bad input gets a clear status and a message a person understands; another
tenant's (or another visitor's) conversation answers NOT_FOUND exactly like a
missing one, on every RPC that takes an id."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.auth.v1 import auth_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from tests.conftest import PLATFORM_TOKEN
from tests.e2e.helpers import Client, bearer, create_tenant

MISSING_CONVERSATION = "c_0000000000000000000000000z"


async def status_of(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        result = call
        if hasattr(result, "__aiter__"):
            async for _ in result:
                pass
        else:
            await result
    return info.value.code(), info.value.details()


@pytest.fixture
async def client(mesh):
    async with mesh.channel() as ch:
        yield Client(ch)


async def test_empty_and_oversized_messages_are_invalid(mesh, client):
    _, md = await client.visitor(mesh.demo["widget_key"])
    conv = await client.start(md)
    code, details = await status_of(
        client.chat.SendMessage(chat_pb2.SendMessageRequest(conversation_id=conv, text="  "), metadata=md)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "empty" in details
    code, details = await status_of(
        client.chat.SendMessage(chat_pb2.SendMessageRequest(conversation_id=conv, text="x" * 10_001), metadata=md)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "10000" in details.replace(",", "")
    history = await client.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=conv), metadata=md)
    assert len(history.messages) == 0, "a refused message is not stored"


async def test_unknown_ids_are_not_found(mesh, client):
    _, md = await client.visitor(mesh.demo["widget_key"])
    for call in (
        client.chat.SendMessage(
            chat_pb2.SendMessageRequest(conversation_id=MISSING_CONVERSATION, text="hi"), metadata=md
        ),
        client.chat.GetConversation(chat_pb2.GetConversationRequest(conversation_id="no-such-id"), metadata=md),
        client.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=MISSING_CONVERSATION), metadata=md),
    ):
        code, details = await status_of(call)
        assert code == grpc.StatusCode.NOT_FOUND and details == "conversation not found"


async def test_missing_and_malformed_credentials_are_unauthenticated(mesh, client):
    req = chat_pb2.StartConversationRequest()
    code, details = await status_of(client.chat.StartConversation(req))
    assert code == grpc.StatusCode.UNAUTHENTICATED and "missing credentials" in details
    for token in ("garbage", "fdk_short", "a.b.c", "fdk_" + "0" * 12 + "_" + "0" * 64):
        code, details = await status_of(client.chat.StartConversation(req, metadata=bearer(token)))
        assert code == grpc.StatusCode.UNAUTHENTICATED, token
        assert "Traceback" not in details
    code, _ = await status_of(
        client.auth.CreateVisitorSession(auth_pb2.CreateVisitorSessionRequest(widget_key="wk_nope"))
    )
    assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_wrong_password_and_unknown_tenant_answer_the_same(mesh, client):
    demo = mesh.demo
    wrong = await status_of(
        client.auth.OperatorLogin(
            auth_pb2.OperatorLoginRequest(tenant="demo", email=demo["owner_email"], password="wrong password")
        )
    )
    unknown = await status_of(
        client.auth.OperatorLogin(
            auth_pb2.OperatorLoginRequest(tenant="nope", email=demo["owner_email"], password=demo["owner_password"])
        )
    )
    assert wrong == unknown and wrong[0] == grpc.StatusCode.UNAUTHENTICATED


async def test_customers_cannot_call_admin_and_operators_cannot_chat(mesh, client):
    _, visitor_md = await client.visitor(mesh.demo["widget_key"])
    code, _ = await status_of(client.admin.ListConversations(admin_pb2.ListConversationsRequest(), metadata=visitor_md))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    op_md = await client.operator("demo", mesh.demo["owner_email"], mesh.demo["owner_password"])
    code, _ = await status_of(client.chat.StartConversation(chat_pb2.StartConversationRequest(), metadata=op_md))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    code, _ = await status_of(client.admin.CreateTenant(admin_pb2.CreateTenantRequest(slug="x"), metadata=op_md))
    assert code == grpc.StatusCode.PERMISSION_DENIED


def chat_calls(c: Client, conv: str, msg_id: str, md, att_id: str = "a_0000000000000000000000000z"):
    """Every ChatService RPC that names a conversation."""
    return {
        "SendMessage": c.chat.SendMessage(
            chat_pb2.SendMessageRequest(conversation_id=conv, text="let me in"), metadata=md
        ),
        "ListMessages": c.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=conv), metadata=md),
        "GetConversation": c.chat.GetConversation(chat_pb2.GetConversationRequest(conversation_id=conv), metadata=md),
        "StreamEvents": c.chat.StreamEvents(chat_pb2.StreamEventsRequest(conversation_id=conv), metadata=md),
        "SubmitFeedback": c.chat.SubmitFeedback(
            chat_pb2.SubmitFeedbackRequest(conversation_id=conv, message_id=msg_id, helpful=False), metadata=md
        ),
        "RateConversation": c.chat.RateConversation(
            chat_pb2.RateConversationRequest(conversation_id=conv, score=1), metadata=md
        ),
        "RequestHuman": c.chat.RequestHuman(chat_pb2.RequestHumanRequest(conversation_id=conv), metadata=md),
        "UploadAttachment": c.chat.UploadAttachment(
            chat_pb2.UploadAttachmentRequest(
                conversation_id=conv, filename="a.txt", content_type="text/plain", data=b"hello"
            ),
            metadata=md,
        ),
        "GetAttachment": c.chat.GetAttachment(
            chat_pb2.GetAttachmentRequest(conversation_id=conv, attachment_id=att_id), metadata=md
        ),
    }


def admin_calls(c: Client, conv: str, md, att_id: str = "a_0000000000000000000000000z"):
    """Every AdminService RPC that names a conversation."""
    return {
        "GetConversation": c.admin.GetConversation(admin_pb2.GetConversationRequest(conversation_id=conv), metadata=md),
        "ListMessages": c.admin.ListMessages(admin_pb2.ListMessagesRequest(conversation_id=conv), metadata=md),
        "StreamConversationEvents": c.admin.StreamConversationEvents(
            admin_pb2.StreamConversationEventsRequest(conversation_id=conv), metadata=md
        ),
        "TakeOver": c.admin.TakeOver(admin_pb2.TakeOverRequest(conversation_id=conv), metadata=md),
        "SendAgentMessage": c.admin.SendAgentMessage(
            admin_pb2.SendAgentMessageRequest(conversation_id=conv, text="hi"), metadata=md
        ),
        "ReleaseConversation": c.admin.ReleaseConversation(
            admin_pb2.ReleaseConversationRequest(conversation_id=conv), metadata=md
        ),
        "CloseConversation": c.admin.CloseConversation(
            admin_pb2.CloseConversationRequest(conversation_id=conv), metadata=md
        ),
        "GetAttachment": c.admin.GetAttachment(
            chat_pb2.GetAttachmentRequest(conversation_id=conv, attachment_id=att_id), metadata=md
        ),
    }


async def test_cross_tenant_and_cross_visitor_access_is_not_found_on_every_rpc(mesh, client):
    # tenant A (demo): a visitor with a conversation and an answered message
    _, owner_md = await client.visitor(mesh.demo["widget_key"])
    conv = await client.start(owner_md)
    _, _, reply = await client.ask(owner_md, conv, "private question")
    att = await client.chat.UploadAttachment(
        chat_pb2.UploadAttachmentRequest(
            conversation_id=conv, filename="private.txt", content_type="text/plain", data=b"secret"
        ),
        metadata=owner_md,
    )

    other = await create_tenant(client, PLATFORM_TOKEN, "other-co")
    _, other_visitor = await client.visitor(other.tenant.widget_key)
    _, same_tenant_visitor = await client.visitor(mesh.demo["widget_key"])
    other_operator = await client.operator("other-co", "owner@other-co.example", "correct horse battery")
    other_api_key = bearer(other.api_key)

    for who, md in (
        ("visitor of another tenant", other_visitor),
        ("another visitor", same_tenant_visitor),
        ("API key of another tenant", other_api_key),
    ):
        for name, call in chat_calls(client, conv, reply.id, md, att.id).items():
            code, details = await status_of(call)
            assert (code, details) == (grpc.StatusCode.NOT_FOUND, "conversation not found"), f"{who}: {name}"
    for who, md in (("operator of another tenant", other_operator), ("API key of another tenant", other_api_key)):
        for name, call in admin_calls(client, conv, md, att.id).items():
            code, details = await status_of(call)
            assert (code, details) == (grpc.StatusCode.NOT_FOUND, "conversation not found"), f"{who}: {name}"
        listing = await client.admin.ListConversations(admin_pb2.ListConversationsRequest(), metadata=md)
        assert conv not in [x.id for x in listing.conversations]

    # tenant-scoped admin objects: another tenant's API key or operator is NOT_FOUND too
    demo_owner = await client.operator("demo", mesh.demo["owner_email"], mesh.demo["owner_password"])
    demo_keys = await client.admin.ListApiKeys(admin_pb2.ListApiKeysRequest(), metadata=demo_owner)
    demo_ops = await client.admin.ListOperators(admin_pb2.ListOperatorsRequest(), metadata=demo_owner)
    for name, call in {
        "RevokeApiKey": client.admin.RevokeApiKey(
            admin_pb2.RevokeApiKeyRequest(key_id=demo_keys.keys[0].id), metadata=other_operator
        ),
        "UpdateOperator": client.admin.UpdateOperator(
            admin_pb2.UpdateOperatorRequest(operator_id=demo_ops.operators[0].id, role="agent"), metadata=other_operator
        ),
        "DeleteOperator": client.admin.DeleteOperator(
            admin_pb2.DeleteOperatorRequest(operator_id=demo_ops.operators[0].id), metadata=other_operator
        ),
    }.items():
        code, _ = await status_of(call)
        assert code == grpc.StatusCode.NOT_FOUND, name
    other_keys = await client.admin.ListApiKeys(admin_pb2.ListApiKeysRequest(), metadata=other_operator)
    assert {k.id for k in other_keys.keys}.isdisjoint({k.id for k in demo_keys.keys})

    # and nothing changed for the owner
    history = await client.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=conv), metadata=owner_md)
    assert [m.text for m in history.messages] == ["private question", reply.text]


async def test_rate_limit_answers_resource_exhausted_with_retry_after(mesh, client):
    _, md = await client.visitor(mesh.demo["widget_key"])
    codes = []
    retry_after = None
    for _ in range(40):  # burst is 20, refill 5/s
        try:
            await client.chat.ListConversations(chat_pb2.ListConversationsRequest(), metadata=md, timeout=5)
            codes.append("ok")
        except grpc.aio.AioRpcError as err:
            codes.append(err.code())
            if err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                retry_after = dict(err.trailing_metadata()).get("retry-after")
                assert "retry in" in err.details()
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes
    assert retry_after is not None and float(retry_after) > 0
    await asyncio.sleep(float(retry_after) + 0.05)
    await client.chat.ListConversations(chat_pb2.ListConversationsRequest(), metadata=md, timeout=5)
