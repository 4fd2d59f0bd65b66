"""Operators: sign-in, human takeover seen live by the customer, HMAC-verified
customer identities, API keys, and operator JWTs from an OIDC provider."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from gateway.credentials import identity_hmac
from tests.conftest import start_mesh
from tests.e2e.helpers import Client, bearer


async def next_event(events, kind: str, timeout: float = 10):
    async def find():
        while (ev := await events.read()) is not grpc.aio.EOF:
            if ev.WhichOneof("kind") == kind:
                return ev
        raise AssertionError(f"stream ended before a {kind} event")

    return await asyncio.wait_for(find(), timeout)


async def test_operator_takes_over_and_the_customer_sees_the_agent(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        _, visitor = await c.visitor(mesh.demo["widget_key"])
        conv = await c.start(visitor)
        await c.ask(visitor, conv, "I need help with an invoice")
        operator = await c.operator("demo", mesh.demo["owner_email"], mesh.demo["owner_password"])

        listing = await c.admin.ListConversations(admin_pb2.ListConversationsRequest(), metadata=operator)
        assert conv in [x.id for x in listing.conversations]

        events = c.chat.StreamEvents(chat_pb2.StreamEventsRequest(conversation_id=conv), metadata=visitor)
        await next_event(events, "status_changed")
        taken = await c.admin.TakeOver(admin_pb2.TakeOverRequest(conversation_id=conv), metadata=operator)
        assert taken.status == common.CONVERSATION_STATUS_HUMAN
        joined = await next_event(events, "agent_joined")
        assert joined.agent_joined.operator_id == taken.assigned_operator_id
        await c.admin.SendAgentMessage(
            admin_pb2.SendAgentMessageRequest(conversation_id=conv, text="Hi, Sam here."), metadata=operator
        )
        agent_msg = await next_event(events, "message")
        assert (agent_msg.message.role, agent_msg.message.text) == (common.ROLE_AGENT, "Hi, Sam here.")

        sent = await c.chat.SendMessage(
            chat_pb2.SendMessageRequest(conversation_id=conv, text="thanks Sam"), metadata=visitor
        )
        assert not sent.queued_for_ai, "the AI stays quiet while a person handles the conversation"
        released = await c.admin.ReleaseConversation(
            admin_pb2.ReleaseConversationRequest(conversation_id=conv), metadata=operator
        )
        assert released.status == common.CONVERSATION_STATUS_AI
        events.cancel()


async def test_verified_identity_keeps_history_across_devices_and_forged_ones_are_refused(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        secret = mesh.demo["identity_secret"]
        good = {"external_id": "customer-42", "identity_hash": identity_hmac(secret, "customer-42")}
        laptop_id, laptop = await c.visitor(mesh.demo["widget_key"], **good)
        phone_id, phone = await c.visitor(mesh.demo["widget_key"], **good)
        assert laptop_id == phone_id
        conv = await c.start(laptop)
        mine = await c.chat.ListConversations(chat_pb2.ListConversationsRequest(), metadata=phone)
        assert [x.id for x in mine.conversations] == [conv]
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await c.visitor(mesh.demo["widget_key"], external_id="customer-42", identity_hash="00" * 32)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_api_keys_can_be_created_used_and_revoked(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        owner = await c.operator("demo", mesh.demo["owner_email"], mesh.demo["owner_password"])
        created = await c.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(name="crm"), metadata=owner)
        key = bearer(created.plaintext)
        conv = (await c.chat.StartConversation(chat_pb2.StartConversationRequest(), metadata=key)).conversation
        assert conv.channel == common.CHANNEL_API
        await c.admin.RevokeApiKey(admin_pb2.RevokeApiKeyRequest(key_id=created.key.id), metadata=owner)
        # the gateway caches credentials for up to 30 s; a fresh gateway would refuse at once
        listed = await c.admin.ListApiKeys(admin_pb2.ListApiKeysRequest(), metadata=owner)
        assert [k.revoked_at.seconds > 0 for k in listed.keys if k.id == created.key.id] == [True]


async def test_agents_cannot_manage_keys_or_operators(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        owner = await c.operator("demo", mesh.demo["owner_email"], mesh.demo["owner_password"])
        await c.admin.CreateOperator(
            admin_pb2.CreateOperatorRequest(
                email="agent@demo.example", display_name="Agent", role="agent", password="agent password"
            ),
            metadata=owner,
        )
        agent = await c.operator("demo", "agent@demo.example", "agent password")
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await c.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(name="x"), metadata=agent)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        listing = await c.admin.ListConversations(admin_pb2.ListConversationsRequest(), metadata=agent)
        assert listing is not None
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await c.admin.CreateOperator(
                admin_pb2.CreateOperatorRequest(email="bad", role="agent", password="long enough"), metadata=owner
            )
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "email" in info.value.details()


class _Jwks(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


async def test_operator_jwt_from_an_oidc_provider_is_verified_against_its_jwks(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    _Jwks.body = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()
    http = HTTPServer(("127.0.0.1", 0), _Jwks)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    issuer = "https://idp.example/realms/acme"
    mesh = start_mesh(
        tmp_path / "data",
        oidc_issuer=issuer,
        oidc_audience="frontdesk",
        oidc_jwks_url=f"http://127.0.0.1:{http.server_port}/jwks",
    )
    try:

        def token(tenant: str, role: str = "agent") -> tuple:
            claims = {
                "iss": issuer,
                "aud": "frontdesk",
                "sub": "u1",
                "exp": int(time.time()) + 300,
                "frontdesk_tenant": tenant,
                "frontdesk_role": role,
            }
            return bearer(jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"}))

        async with mesh.channel() as ch:
            c = Client(ch)
            listing = await c.admin.ListConversations(
                admin_pb2.ListConversationsRequest(), metadata=token(mesh.demo["tenant_id"])
            )
            assert listing is not None
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await c.admin.ListConversations(
                    admin_pb2.ListConversationsRequest(), metadata=token("t_01unknowntenant0000000000a")
                )
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED and "unknown tenant" in info.value.details()
    finally:
        mesh.stop()
        http.shutdown()
