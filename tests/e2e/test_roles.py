"""Roles and sessions through the real mesh: who may do what (owner > admin > agent, API
keys with an admin's powers but never an owner's), checked against the role stored now;
sessions end when a password or role changes or the operator is deleted; sign-in and
visitor-session minting cannot be hammered; a tenant's allowed_origins holds."""

from __future__ import annotations

import asyncio

import aiohttp
import grpc
import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.auth.v1 import auth_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.knowledge.v1 import knowledge_pb2 as kpb
from frontdesk_pb.knowledge.v1 import knowledge_pb2_grpc
from gateway.auth import _ACCOUNT_TTL_S
from tests.conftest import PLATFORM_TOKEN, start_mesh
from tests.e2e.helpers import Client, bearer, create_tenant
from tests.gateway.test_grpcweb import AUTH
from tests.gateway.test_grpcweb import call as web_call

PASSWORD = "correct horse battery"
CHAT = "/frontdesk.chat.v1.ChatService/"
# the gateway re-reads an operator's record at most every _ACCOUNT_TTL_S (2 s): a change
# must show within it; one more second covers the call itself on a busy machine
REVOCATION_WAIT_S = _ACCOUNT_TTL_S + 1.0


@pytest.fixture(scope="module")
def roles_mesh(tmp_path_factory):
    m = start_mesh(
        tmp_path_factory.mktemp("roles"),
        session_rate_per_address=0.01,  # tight minting limits, so the test can reach them
        session_burst_per_address=12,  # the other tests here open 5 sessions from loopback
        session_rate_per_widget=0.01,
        session_burst_per_widget=40,
    )
    yield m
    m.stop()


async def code_of(call) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as err:
        return err.code()
    return grpc.StatusCode.OK


async def denied(call) -> str:
    try:
        await call
    except grpc.aio.AioRpcError as err:
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED, (err.code(), err.details())
        return err.details()
    raise AssertionError("the call was allowed")


async def tenant_with_staff(c: Client, slug: str):
    created = await create_tenant(c, PLATFORM_TOKEN, slug)
    owner = await c.operator(slug, f"owner@{slug}.example", PASSWORD)
    ids = {}
    for role in ("admin", "agent"):
        op = await c.admin.CreateOperator(
            admin_pb2.CreateOperatorRequest(email=f"{role}@{slug}.example", role=role, password=PASSWORD),
            metadata=owner,
        )
        ids[role] = op.id
    admin = await c.operator(slug, f"admin@{slug}.example", PASSWORD)
    agent = await c.operator(slug, f"agent@{slug}.example", PASSWORD)
    return created, owner, admin, agent, ids


async def test_an_admin_cannot_climb_to_owner(roles_mesh):
    async with roles_mesh.channel() as ch:
        c = Client(ch)
        created, owner, admin, _, _ = await tenant_with_staff(c, "climb-admin")
        owner_id = created.owner.id
        # reset the owner's password (then sign in as the owner), demote or delete the owner
        await denied(
            c.admin.UpdateOperator(
                admin_pb2.UpdateOperatorRequest(operator_id=owner_id, password="new password 123"), metadata=admin
            )
        )
        await denied(
            c.admin.UpdateOperator(admin_pb2.UpdateOperatorRequest(operator_id=owner_id, role="agent"), metadata=admin)
        )
        await denied(c.admin.DeleteOperator(admin_pb2.DeleteOperatorRequest(operator_id=owner_id), metadata=admin))
        # make a new owner or admin, or mint an API key (which would outlive the admin)
        for role in ("owner", "admin", "agent"):
            await denied(
                c.admin.CreateOperator(
                    admin_pb2.CreateOperatorRequest(email=f"x-{role}@e.example", role=role, password=PASSWORD),
                    metadata=admin,
                )
            )
        await denied(c.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(name="mine"), metadata=admin))
        # the owner can still sign in with the old password: nothing changed
        await c.operator("climb-admin", "owner@climb-admin.example", PASSWORD)


async def test_an_api_key_cannot_touch_operators_or_keys(roles_mesh):
    async with roles_mesh.channel() as ch:
        c = Client(ch)
        created, _, _, _, ids = await tenant_with_staff(c, "climb-key")
        key = bearer(created.api_key)
        for request, method in (
            (admin_pb2.UpdateOperatorRequest(operator_id=created.owner.id, password="x" * 12), c.admin.UpdateOperator),
            (admin_pb2.UpdateOperatorRequest(operator_id=ids["agent"], role="owner"), c.admin.UpdateOperator),
            (admin_pb2.DeleteOperatorRequest(operator_id=created.owner.id), c.admin.DeleteOperator),
            (
                admin_pb2.CreateOperatorRequest(email="k@e.example", role="agent", password=PASSWORD),
                c.admin.CreateOperator,
            ),
            (admin_pb2.CreateApiKeyRequest(name="another"), c.admin.CreateApiKey),
            (admin_pb2.ListApiKeysRequest(), c.admin.ListApiKeys),
        ):
            await denied(method(request, metadata=key))
        # what an API key is for still works
        await c.admin.ListConversations(admin_pb2.ListConversationsRequest(), metadata=key)
        await c.admin.GetAiSettings(admin_pb2.GetAiSettingsRequest(), metadata=key)


async def test_an_agent_works_conversations_only(roles_mesh):
    async with roles_mesh.channel() as ch:
        c = Client(ch)
        _, _, _, agent, _ = await tenant_with_staff(c, "agent-scope")
        kb = knowledge_pb2_grpc.KnowledgeServiceStub(ch)
        await c.admin.ListConversations(admin_pb2.ListConversationsRequest(), metadata=agent)
        await kb.ListEntries(kpb.ListEntriesRequest(), metadata=agent)
        await denied(c.admin.GetAiSettings(admin_pb2.GetAiSettingsRequest(), metadata=agent))
        await denied(c.admin.UpdateAiSettings(admin_pb2.UpdateAiSettingsRequest(), metadata=agent))
        await denied(kb.DeleteEntry(kpb.DeleteEntryRequest(id="x"), metadata=agent))
        await denied(c.admin.ListApiKeys(admin_pb2.ListApiKeysRequest(), metadata=agent))
        await denied(c.admin.ListTools(admin_pb2.ListToolsRequest(), metadata=agent))


async def test_a_visitor_cannot_call_operator_apis(roles_mesh):
    async with roles_mesh.channel() as ch:
        c = Client(ch)
        created = await create_tenant(c, PLATFORM_TOKEN, "visitor-scope")
        _, visitor = await c.visitor(created.tenant.widget_key)
        message = await denied(c.admin.ListConversations(admin_pb2.ListConversationsRequest(), metadata=visitor))
        assert "operators" in message
        await denied(c.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(name="v"), metadata=visitor))


async def test_a_demoted_admin_loses_admin_powers_within_seconds(roles_mesh):
    async with roles_mesh.channel() as ch:
        c = Client(ch)
        _, owner, admin, _, ids = await tenant_with_staff(c, "demote")
        await c.admin.GetAiSettings(admin_pb2.GetAiSettingsRequest(), metadata=admin)
        await c.admin.UpdateOperator(
            admin_pb2.UpdateOperatorRequest(operator_id=ids["admin"], role="agent"), metadata=owner
        )
        await asyncio.sleep(REVOCATION_WAIT_S)
        # the old token ends (its role changed); a new sign-in carries the new role
        assert await code_of(c.admin.GetTenant(admin_pb2.GetTenantRequest(), metadata=admin)) == (
            grpc.StatusCode.UNAUTHENTICATED
        )
        again = await c.operator("demote", "admin@demote.example", PASSWORD)
        who = await c.auth.WhoAmI(auth_pb2.WhoAmIRequest(), metadata=again)
        assert who.role == "agent"
        await denied(c.admin.GetAiSettings(admin_pb2.GetAiSettingsRequest(), metadata=again))


async def test_a_password_change_ends_every_session_of_that_operator(roles_mesh):
    async with roles_mesh.channel() as ch:
        c = Client(ch)
        _, owner, _, agent, ids = await tenant_with_staff(c, "pwchange")
        second = await c.operator("pwchange", "agent@pwchange.example", PASSWORD)
        # changing one's own password needs the current one
        assert (
            await code_of(
                c.admin.UpdateOperator(
                    admin_pb2.UpdateOperatorRequest(operator_id=ids["agent"], password="brand new secret"),
                    metadata=agent,
                )
            )
            == grpc.StatusCode.PERMISSION_DENIED
        )
        await c.admin.UpdateOperator(
            admin_pb2.UpdateOperatorRequest(
                operator_id=ids["agent"], password="brand new secret", current_password=PASSWORD
            ),
            metadata=agent,
        )
        await asyncio.sleep(REVOCATION_WAIT_S)
        for session in (agent, second):
            assert await code_of(c.admin.ListConversations(admin_pb2.ListConversationsRequest(), metadata=session)) == (
                grpc.StatusCode.UNAUTHENTICATED
            )
        assert (
            await code_of(c.operator("pwchange", "agent@pwchange.example", PASSWORD)) == grpc.StatusCode.UNAUTHENTICATED
        )
        fresh = await c.operator("pwchange", "agent@pwchange.example", "brand new secret")
        await c.admin.ListConversations(admin_pb2.ListConversationsRequest(), metadata=fresh)
        # an owner resets someone's password: that operator is signed out too
        await c.admin.UpdateOperator(
            admin_pb2.UpdateOperatorRequest(operator_id=ids["agent"], password="set by the owner"), metadata=owner
        )
        await asyncio.sleep(REVOCATION_WAIT_S)
        assert await code_of(c.admin.ListConversations(admin_pb2.ListConversationsRequest(), metadata=fresh)) == (
            grpc.StatusCode.UNAUTHENTICATED
        )


async def test_a_deleted_operator_is_locked_out_within_seconds(roles_mesh):
    async with roles_mesh.channel() as ch:
        c = Client(ch)
        _, owner, _, agent, ids = await tenant_with_staff(c, "deleted")
        await c.admin.ListConversations(admin_pb2.ListConversationsRequest(), metadata=agent)
        await c.admin.DeleteOperator(admin_pb2.DeleteOperatorRequest(operator_id=ids["agent"]), metadata=owner)
        await asyncio.sleep(REVOCATION_WAIT_S)
        assert await code_of(c.admin.ListConversations(admin_pb2.ListConversationsRequest(), metadata=agent)) == (
            grpc.StatusCode.UNAUTHENTICATED
        )


async def test_the_last_owner_stays_and_nobody_changes_their_own_role(roles_mesh):
    async with roles_mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, _, _ = await tenant_with_staff(c, "last-owner")
        me = created.owner.id
        assert (
            await code_of(
                c.admin.UpdateOperator(admin_pb2.UpdateOperatorRequest(operator_id=me, role="agent"), metadata=owner)
            )
            == grpc.StatusCode.PERMISSION_DENIED
        )
        assert (
            await code_of(c.admin.DeleteOperator(admin_pb2.DeleteOperatorRequest(operator_id=me), metadata=owner))
            == grpc.StatusCode.FAILED_PRECONDITION
        )


async def test_sign_in_backs_off_after_repeated_failures_for_known_and_unknown_accounts(roles_mesh):
    async with roles_mesh.channel() as ch:
        c = Client(ch)
        await create_tenant(c, PLATFORM_TOKEN, "brute")

        async def attempts(email: str) -> list[grpc.StatusCode]:
            codes = []
            for _ in range(8):
                codes.append(await code_of(c.operator("brute", email, "wrong password!")))
            return codes

        for email in ("owner@brute.example", "nobody@brute.example"):
            codes = await attempts(email)
            # the first failures answer as a wrong password; then the account is locked
            assert codes[:5] == [grpc.StatusCode.UNAUTHENTICATED] * 5, codes
            assert codes[-1] == grpc.StatusCode.RESOURCE_EXHAUSTED, codes
        # while locked, even the right password is refused, with a retry-after
        try:
            await c.operator("brute", "owner@brute.example", PASSWORD)
            raise AssertionError("sign-in was allowed while locked out")
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert any(k == "retry-after" and float(v) > 0 for k, v in err.trailing_metadata() or ())


async def test_minting_visitor_sessions_is_limited_per_client_address(roles_mesh):
    async with roles_mesh.channel() as ch:
        c = Client(ch)
        created = await create_tenant(c, PLATFORM_TOKEN, "minting")
        request = auth_pb2.CreateVisitorSessionRequest(widget_key=created.tenant.widget_key)

        async def mint(address: str) -> grpc.StatusCode:
            # as Envoy (a trusted proxy on loopback here) names the client
            return await code_of(c.auth.CreateVisitorSession(request, metadata=(("x-forwarded-for", address),)))

        codes = [await mint("198.51.100.1") for _ in range(14)]
        # this mesh allows 12 per address at once, then 0.01/s
        assert codes[:12] == [grpc.StatusCode.OK] * 12 and codes[12:] == [grpc.StatusCode.RESOURCE_EXHAUSTED] * 2, codes
        assert await mint("198.51.100.2") == grpc.StatusCode.OK  # another address is not affected


async def test_allowed_origins_hold_for_sessions_and_calls(roles_mesh):
    async with roles_mesh.channel() as ch:
        c = Client(ch)
        created = await create_tenant(c, PLATFORM_TOKEN, "origins")
        owner = await c.operator("origins", "owner@origins.example", PASSWORD)
        token = (
            await c.auth.CreateVisitorSession(
                auth_pb2.CreateVisitorSessionRequest(widget_key=created.tenant.widget_key)
            )
        ).token  # minted before the tenant restricts its sites
        conv = await c.start(bearer(token))
        await c.admin.UpdateTenant(
            admin_pb2.UpdateTenantRequest(allowed_origins=["https://shop.example", "*.shop-cdn.example"]),
            metadata=owner,
        )
    await asyncio.sleep(REVOCATION_WAIT_S)  # the tenant's record is cached as briefly as an operator's
    web = f"http://127.0.0.1:{roles_mesh.ports['web']}"
    session = auth_pb2.CreateVisitorSessionRequest(widget_key=created.tenant.widget_key)
    send = chat_pb2.SendMessageRequest(conversation_id=conv, text="hello from a page")
    denied_code = grpc.StatusCode.PERMISSION_DENIED.value[0]
    async with aiohttp.ClientSession() as http:
        for origin in ("https://shop.example", "https://img.shop-cdn.example"):
            assert (await web_call(http, web, AUTH + "CreateVisitorSession", session, origin=origin)).code == 0
        refused = await web_call(http, web, AUTH + "CreateVisitorSession", session, origin="https://evil.example")
        assert refused.code == denied_code and "not allowed" in refused.message, (refused.code, refused.message)
        # a session minted before the restriction cannot be used from another site either
        sent = await web_call(http, web, CHAT + "SendMessage", send, token=token, origin="https://evil.example")
        assert sent.code == denied_code
        assert (
            await web_call(http, web, CHAT + "SendMessage", send, token=token, origin="https://shop.example")
        ).code == 0
