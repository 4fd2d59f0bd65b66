"""Small client helpers for end-to-end tests: the generated stubs, nothing hand-made."""

from __future__ import annotations

import asyncio

import grpc

from frontdesk_pb.admin.v1 import admin_pb2, admin_pb2_grpc
from frontdesk_pb.auth.v1 import auth_pb2, auth_pb2_grpc
from frontdesk_pb.chat.v1 import chat_pb2, chat_pb2_grpc


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


class Client:
    def __init__(self, channel: grpc.aio.Channel):
        self.auth = auth_pb2_grpc.AuthServiceStub(channel)
        self.chat = chat_pb2_grpc.ChatServiceStub(channel)
        self.admin = admin_pb2_grpc.AdminServiceStub(channel)

    async def visitor(self, widget_key: str, **identity) -> tuple[str, tuple]:
        req = auth_pb2.CreateVisitorSessionRequest(widget_key=widget_key)
        if identity:
            req.identity.CopyFrom(auth_pb2.CustomerIdentity(**identity))
        s = await self.auth.CreateVisitorSession(req, timeout=10)
        return s.visitor_id, bearer(s.token)

    async def operator(self, slug: str, email: str, password: str) -> tuple:
        s = await self.auth.OperatorLogin(
            auth_pb2.OperatorLoginRequest(tenant=slug, email=email, password=password), timeout=10
        )
        return bearer(s.token)

    async def start(self, md) -> str:
        r = await self.chat.StartConversation(chat_pb2.StartConversationRequest(), metadata=md, timeout=10)
        return r.conversation.id

    async def ask(self, md, conversation_id: str, text: str, timeout: float = 60):
        """Send a message while watching the stream; returns (sent message, token deltas, final reply)."""
        events = self.chat.StreamEvents(chat_pb2.StreamEventsRequest(conversation_id=conversation_id), metadata=md)
        try:
            first = await asyncio.wait_for(events.read(), 10)
            assert first.WhichOneof("kind") == "status_changed"
            sent = await self.chat.SendMessage(
                chat_pb2.SendMessageRequest(conversation_id=conversation_id, text=text), metadata=md, timeout=10
            )
            deltas = []

            async def collect():
                while (ev := await events.read()) is not grpc.aio.EOF:
                    kind = ev.WhichOneof("kind")
                    if kind == "token" and ev.token.in_reply_to == sent.message.id:
                        deltas.append(ev.token)
                    if kind == "message" and ev.message.in_reply_to == sent.message.id:
                        return ev.message
                raise AssertionError("stream ended without a reply")

            reply = await asyncio.wait_for(collect(), timeout)
            return sent.message, deltas, reply
        finally:
            events.cancel()


async def create_tenant(client: Client, platform_token: str, slug: str) -> admin_pb2.CreateTenantResponse:
    return await client.admin.CreateTenant(
        admin_pb2.CreateTenantRequest(
            slug=slug,
            name=f"Tenant {slug}",
            owner_email=f"owner@{slug}.example",
            owner_password="correct horse battery",
        ),
        metadata=bearer(platform_token),
        timeout=10,
    )


async def conversation_when(c: Client, md, conversation_id: str, want, timeout: float = 20.0):
    """The conversation once `want(conv)` holds, or as it is after `timeout` s (what the mesh
    does off the request path: auto-assignment, a snooze's end, the AI's handoff)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        conv = await c.admin.GetConversation(
            admin_pb2.GetConversationRequest(conversation_id=conversation_id), metadata=md
        )
        if want(conv) or asyncio.get_running_loop().time() > deadline:
            return conv
        await asyncio.sleep(0.2)
