"""The contract of AccountStore implementations."""

from __future__ import annotations

import pytest

from frontdesk.stores.base import ApiKeyRecord, Conflict, OperatorRecord, TenantRecord
from frontdesk.stores.sqlite import SqliteAccountStore


@pytest.fixture(params=["embedded", "cql"])
async def accounts(request, tmp_path):
    if request.param == "cql":  # a real CQL server (tests/frontdesk/stores/conftest.py), a fresh keyspace
        from frontdesk.stores.cql import CqlAccountStore

        store = CqlAccountStore(**request.getfixturevalue("cql_options"))
    else:
        store = SqliteAccountStore(tmp_path / "accounts.db")
    yield store
    await store.close()


def tenant(i: int) -> TenantRecord:
    return TenantRecord(
        id=f"t_{i}", slug=f"slug-{i}", name=f"T{i}", widget_key=f"wk_{i}", identity_secret="s", created_ms=1
    )


async def test_tenants_are_found_by_id_slug_and_widget_key(accounts):
    await accounts.create_tenant(tenant(1))
    assert (await accounts.get_tenant("t_1")).slug == "slug-1"
    assert (await accounts.find_tenant(slug="slug-1")).id == "t_1"
    assert (await accounts.find_tenant(widget_key="wk_1")).id == "t_1"
    assert await accounts.find_tenant(slug="nope") is None
    with pytest.raises(Conflict):
        await accounts.create_tenant(
            TenantRecord(id="t_2", slug="slug-1", name="x", widget_key="wk_2", identity_secret="s", created_ms=1)
        )


async def test_api_keys_are_revoked_only_within_their_tenant(accounts):
    await accounts.create_api_key(ApiKeyRecord(id="k1", tenant_id="t_1", name="n", secret_hash="h", created_ms=1))
    assert await accounts.revoke_api_key("t_2", "k1", 5) is None
    assert (await accounts.get_api_key("k1")).revoked_ms == 0
    assert (await accounts.revoke_api_key("t_1", "k1", 5)).revoked_ms == 5
    assert [k.id for k in await accounts.list_api_keys("t_1")] == ["k1"]
    assert await accounts.list_api_keys("t_2") == []


async def test_operators_are_unique_per_tenant_by_email(accounts):
    op = OperatorRecord(
        id="op_1", tenant_id="t_1", email="a@x.io", display_name="A", role="owner", password_hash="h", created_ms=1
    )
    await accounts.create_operator(op)
    with pytest.raises(Conflict):
        await accounts.create_operator(OperatorRecord(**{**op.__dict__, "id": "op_2", "email": "A@x.io"}))
    await accounts.create_operator(OperatorRecord(**{**op.__dict__, "id": "op_3", "tenant_id": "t_2"}))
    assert (await accounts.find_operator_by_email("t_1", "A@X.io")).id == "op_1"
    assert await accounts.get_operator("t_2", "op_1") is None
    assert not await accounts.delete_operator("t_2", "op_1")
    assert await accounts.delete_operator("t_1", "op_1")
    assert await accounts.get_operator("t_1", "op_1") is None


async def test_tools_are_unique_by_name_within_a_tenant_and_isolated(accounts):
    from frontdesk.stores.base import ToolRecord

    def tool(tenant_id: str, name: str) -> ToolRecord:
        return ToolRecord(
            tenant_id=tenant_id,
            name=name,
            description="d",
            parameters_schema='{"type":"object"}',
            url="https://hooks.example.com/x",
            method="POST",
            timeout_ms=2000,
            created_ms=1,
            secret_sealed="v1.kid.sealed",
        )

    await accounts.create_tool(tool("t_1", "order_status"))
    await accounts.create_tool(tool("t_1", "cancel_order"))
    with pytest.raises(Conflict):
        await accounts.create_tool(tool("t_1", "order_status"))
    await accounts.create_tool(tool("t_2", "order_status"))  # the same name in another tenant is fine
    listed = await accounts.list_tools("t_1")
    assert [t.name for t in listed] == ["cancel_order", "order_status"]
    assert listed[1].secret_sealed == "v1.kid.sealed" and listed[1].timeout_ms == 2000
    assert not await accounts.delete_tool("t_3", "order_status")
    assert await accounts.delete_tool("t_1", "order_status")
    assert not await accounts.delete_tool("t_1", "order_status")
    assert [t.name for t in await accounts.list_tools("t_1")] == ["cancel_order"]
    assert [t.name for t in await accounts.list_tools("t_2")] == ["order_status"]


async def test_canned_responses_are_replaced_by_shortcut_listed_in_order_and_isolated(accounts):
    from frontdesk.stores.base import CannedResponseRecord

    def canned(tenant_id: str, shortcut: str, text: str) -> CannedResponseRecord:
        return CannedResponseRecord(
            tenant_id=tenant_id, shortcut=shortcut, title=shortcut.title(), text=text, updated_ms=5, updated_by="op_1"
        )

    await accounts.save_canned_response(canned("t_1", "refund", "Your refund is on its way, {customer_name}."))
    await accounts.save_canned_response(canned("t_1", "hours", "We are open 9-17."))
    await accounts.save_canned_response(canned("t_1", "refund", "Refunds take 5 days."))  # replaces, no second one
    await accounts.save_canned_response(canned("t_2", "refund", "another tenant's"))
    listed = await accounts.list_canned_responses("t_1")
    assert [(c.shortcut, c.text) for c in listed] == [
        ("hours", "We are open 9-17."),
        ("refund", "Refunds take 5 days."),
    ]
    assert listed[1].updated_by == "op_1" and listed[1].updated_ms == 5 and listed[1].tenant_id == "t_1"
    assert await accounts.list_canned_responses("t_3") == []
    assert not await accounts.delete_canned_response("t_3", "refund")  # another tenant's shortcut is not found
    assert await accounts.delete_canned_response("t_1", "refund")
    assert not await accounts.delete_canned_response("t_1", "refund")
    assert [c.shortcut for c in await accounts.list_canned_responses("t_1")] == ["hours"]
    assert [c.text for c in await accounts.list_canned_responses("t_2")] == ["another tenant's"]


async def test_the_audit_log_is_per_tenant_newest_first_and_paged_across_months(accounts):
    from frontdesk import ids
    from frontdesk.stores.base import AuditRecord

    def record(tenant_id: str, at_ms: int, method: str) -> AuditRecord:
        return AuditRecord(
            tenant_id=tenant_id,
            id=ids.new_id("audit", now_ms=at_ms),
            at_ms=at_ms,
            actor_kind="operator",
            actor_id="op_1",
            actor_name="Ana",
            actor_role="owner",
            method=method,
            target={"operator_id": "op_2", "role": "agent"},
        )

    now = 1_790_000_000_000  # in 2026
    month = 31 * 86_400_000
    written = [
        record("t_a", now - 3 * month, "AdminService.CreateApiKey"),
        record("t_a", now - month, "AdminService.CreateTool"),
    ]
    written += [record("t_a", now - 1000 + i, f"AdminService.UpdateOperator{i}") for i in range(3)]
    for r in written:
        await accounts.append_audit(r)
    await accounts.append_audit(record("t_b", now, "AdminService.DeleteOperator"))
    first = await accounts.list_audit("t_a", 2, before_id=ids.new_id("audit", now_ms=now + 1))
    assert [r.method for r in first] == ["AdminService.UpdateOperator2", "AdminService.UpdateOperator1"]
    rest = await accounts.list_audit("t_a", 10, before_id=first[-1].id)
    assert [r.method for r in rest] == [
        "AdminService.UpdateOperator0",
        "AdminService.CreateTool",
        "AdminService.CreateApiKey",
    ]
    assert rest[0].target == {"operator_id": "op_2", "role": "agent"} and rest[0].actor_name == "Ana"
    assert [r.method for r in await accounts.list_audit("t_b", 10, before_id=ids.new_id("audit", now_ms=now + 1))] == [
        "AdminService.DeleteOperator"
    ]
