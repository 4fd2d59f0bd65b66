"""The audit log through the real mesh: every change the team or an API key makes is recorded
with who, which RPC, what it named and the outcome (refused attempts included); it never holds
a password, key or text; owners read it, newest first and paged; nobody else reads it, and
another tenant's log is its own."""

from __future__ import annotations

import grpc
import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from tests.conftest import start_mesh
from tests.e2e.helpers import Client, bearer
from tests.e2e.test_roles import PASSWORD, denied, tenant_with_staff


@pytest.fixture(scope="module")
def mesh(tmp_path_factory):
    m = start_mesh(tmp_path_factory.mktemp("audit"))
    yield m
    m.stop()


async def read_log(c: Client, md, page_size: int = 0, token: str = "") -> admin_pb2.ListAuditLogResponse:
    return await c.admin.ListAuditLog(admin_pb2.ListAuditLogRequest(page_size=page_size, page_token=token), metadata=md)


async def test_the_teams_changes_are_recorded_and_owners_read_them(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, admin, agent, ids = await tenant_with_staff(c, "audit")
        other, other_owner, _, _, _ = await tenant_with_staff(c, "audit-other")
        secret_password, secret_key = "a new long password 123", "sk-very-secret-model-key"
        await c.admin.CreateOperator(
            admin_pb2.CreateOperatorRequest(email="new@audit.example", role="agent", password=secret_password),
            metadata=owner,
        )
        await c.admin.UpdateAiSettings(
            admin_pb2.UpdateAiSettingsRequest(
                settings=admin_pb2.AiSettings(backend="echo", system_prompt="Be terse."), api_key=secret_key
            ),
            metadata=admin,
        )
        await c.admin.SaveCannedResponse(
            admin_pb2.SaveCannedResponseRequest(
                response=admin_pb2.CannedResponse(shortcut="hello", text="Hello there, private words")
            ),
            metadata=bearer(created.api_key),
        )
        _, visitor = await c.visitor(created.tenant.widget_key)
        conv = await c.start(visitor)
        await c.chat.SendMessage(chat_pb2.SendMessageRequest(conversation_id=conv, text="hi"), metadata=visitor)
        await c.admin.TakeOver(admin_pb2.TakeOverRequest(conversation_id=conv), metadata=agent)
        await denied(c.admin.DeleteOperator(admin_pb2.DeleteOperatorRequest(operator_id=ids["admin"]), metadata=agent))

        log = await read_log(c, owner)
        by_method = {e.method: e for e in reversed(log.entries)}  # the newest of each
        assert [e.method for e in log.entries][:5] == [
            "AdminService.DeleteOperator",
            "AdminService.TakeOver",
            "AdminService.SaveCannedResponse",
            "AdminService.UpdateAiSettings",
            "AdminService.CreateOperator",
        ]
        refused = by_method["AdminService.DeleteOperator"]
        assert refused.outcome == "PERMISSION_DENIED" and refused.actor_id == ids["agent"]
        assert refused.target["operator_id"] == ids["admin"]
        taken = by_method["AdminService.TakeOver"]
        assert taken.outcome == "ok" and taken.target["conversation_id"] == conv and taken.actor_role == "agent"
        saved = by_method["AdminService.SaveCannedResponse"]
        assert saved.actor_kind == "api_key" and saved.target["response.shortcut"] == "hello"
        settings = by_method["AdminService.UpdateAiSettings"]
        assert settings.target["settings.backend"] == "echo" and settings.actor_role == "admin"
        made = by_method["AdminService.CreateOperator"]
        assert made.target == {"email": "new@audit.example", "role": "agent"}
        everything = str(log)
        for secret in (secret_password, secret_key, "private words", "Be terse", PASSWORD):
            assert secret not in everything
        # reads are not recorded, and the other tenant's log holds none of this
        assert all(not e.method.split(".")[1].startswith(("Get", "List")) for e in log.entries)
        theirs = await read_log(c, other_owner)
        assert all(e.actor_id not in ids.values() for e in theirs.entries)
        assert conv not in str(theirs)
        # paged, newest first
        first = await read_log(c, owner, page_size=2)
        rest = await read_log(c, owner, page_size=500, token=first.next_page_token)
        assert [e.id for e in first.entries] + [e.id for e in rest.entries][: len(log.entries) - 2] == [
            e.id for e in log.entries
        ]
        # only owners read it
        for who in (admin, agent, bearer(created.api_key), visitor):
            await denied(read_log(c, who))
        try:
            await read_log(c, owner, page_size=501)
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        else:
            raise AssertionError("a page of 501 was accepted")
        del other


async def test_sign_ins_and_failed_attempts_are_in_the_tenants_log(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        _, owner, _, _, ids = await tenant_with_staff(c, "audit-sign-in")
        wrong = "not the password 123"
        for email in ("agent@audit-sign-in.example", "nobody@audit-sign-in.example"):
            try:
                await c.operator("audit-sign-in", email, wrong)
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.UNAUTHENTICATED
            else:
                raise AssertionError("a wrong password signed in")
        await c.operator("audit-sign-in", "agent@audit-sign-in.example", PASSWORD)
        log = await read_log(c, owner)
        sign_ins = [e for e in log.entries if e.method == "AuthService.OperatorLogin"]
        assert [(e.target["email"], e.outcome, e.actor_id) for e in sign_ins[:3]] == [
            ("agent@audit-sign-in.example", "ok", ids["agent"]),
            ("nobody@audit-sign-in.example", "UNAUTHENTICATED", ""),
            ("agent@audit-sign-in.example", "UNAUTHENTICATED", ids["agent"]),
        ]
        assert sign_ins[0].actor_role == "agent" and sign_ins[0].actor_kind == "operator"
        assert wrong not in str(log) and PASSWORD not in str(log)


async def test_key_and_tool_changes_are_recorded_without_their_secrets(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        _, owner, admin, _, _ = await tenant_with_staff(c, "audit-keys")
        made = await c.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(name="shop backend"), metadata=owner)
        await c.admin.RevokeApiKey(admin_pb2.RevokeApiKeyRequest(key_id=made.key.id), metadata=owner)
        tool = admin_pb2.HttpTool(
            name="order_status",
            description="Look up the delivery status of an order",
            parameters_schema='{"type": "object", "properties": {"order": {"type": "string"}}}',
            url="https://api.shop.example/orders",
            method="POST",
            timeout_ms=5000,
        )
        signing_secret = "tool-signing-secret-0123456789"
        # this mesh allows no tool URLs (FRONTDESK_TOOL_URL_ALLOWLIST): refused attempts are recorded too
        with pytest.raises(grpc.aio.AioRpcError):
            await c.admin.CreateTool(
                admin_pb2.CreateToolRequest(tool=tool, signing_secret=signing_secret), metadata=admin
            )
        with pytest.raises(grpc.aio.AioRpcError):
            await c.admin.DeleteTool(admin_pb2.DeleteToolRequest(name="order_status"), metadata=admin)

        log = await read_log(c, owner)
        by_method = {e.method: e for e in reversed(log.entries)}
        assert by_method["AdminService.CreateApiKey"].target["name"] == "shop backend"
        assert by_method["AdminService.RevokeApiKey"].target["key_id"] == made.key.id
        assert by_method["AdminService.CreateApiKey"].outcome == by_method["AdminService.RevokeApiKey"].outcome == "ok"
        tried = by_method["AdminService.CreateTool"]
        assert tried.target["tool.name"] == "order_status" and tried.actor_role == "admin"
        assert tried.outcome == "FAILED_PRECONDITION"
        assert by_method["AdminService.DeleteTool"].target["name"] == "order_status"
        assert by_method["AdminService.DeleteTool"].outcome == "NOT_FOUND"
        everything = str(log)
        assert made.plaintext not in everything and signing_secret not in everything
