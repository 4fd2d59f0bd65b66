"""Tenant secrets sealed at rest (frontdesk.secretbox) and a tenant's stored AI settings as
the worker reads them (inference.tenants), through the real embedded account store."""

from __future__ import annotations

import pytest

from frontdesk import settings as settings_mod
from frontdesk.ai_settings import API_KEY_PURPOSE, tool_secret_purpose
from frontdesk.secretbox import SecretBox, SecretError
from frontdesk.stores.base import TenantRecord, ToolRecord
from frontdesk.stores.sqlite import SqliteAccountStore
from inference.backends.base import BackendError
from inference.backends.echo import EchoBackend
from inference.tenants import BackendPool, TenantConfigs

pytestmark = pytest.mark.unit

KEY = "sk-tenant-secret-0123456789abcdef"


def test_a_sealed_secret_opens_only_for_its_tenant_and_purpose():
    box = SecretBox([b"first deployment key secret"])
    sealed = box.seal("t_a", API_KEY_PURPOSE, KEY)
    assert KEY not in sealed and sealed.startswith(f"v1.{box.current_kid}.")
    assert box.open("t_a", API_KEY_PURPOSE, sealed) == KEY
    assert box.seal("t_a", API_KEY_PURPOSE, KEY) != sealed, "a fresh nonce every time"
    with pytest.raises(SecretError, match="does not belong to this tenant"):
        box.open("t_b", API_KEY_PURPOSE, sealed)
    with pytest.raises(SecretError):
        box.open("t_a", tool_secret_purpose("orders"), sealed)
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(SecretError):
        box.open("t_a", API_KEY_PURPOSE, tampered)
    with pytest.raises(SecretError, match="damaged"):
        box.open("t_a", API_KEY_PURPOSE, "not a sealed value")


def test_keys_rotate_the_first_seals_every_listed_one_opens():
    old = SecretBox([b"old key secret"])
    sealed_old = old.seal("t_a", API_KEY_PURPOSE, KEY)
    rotated = SecretBox([b"new key secret", b"old key secret"])
    assert rotated.open("t_a", API_KEY_PURPOSE, sealed_old) == KEY
    assert rotated.needs_reseal(sealed_old)
    sealed_new = rotated.seal("t_a", API_KEY_PURPOSE, KEY)
    assert not rotated.needs_reseal(sealed_new)
    with pytest.raises(SecretError, match="does not have"):
        old.open("t_a", API_KEY_PURPOSE, sealed_new)  # a worker without the new key
    retired = SecretBox([b"new key secret"])
    with pytest.raises(SecretError, match="does not have"):
        retired.open("t_a", API_KEY_PURPOSE, sealed_old)


def test_from_settings_uses_the_data_keys_or_the_deployment_secret(tmp_path):
    a = SecretBox.from_settings(settings_mod.load(env={}, data_dir=tmp_path, secret="s" * 40))
    b = SecretBox.from_settings(settings_mod.load(env={}, data_dir=tmp_path, secret="s" * 40, data_keys="k2, k1"))
    c = SecretBox.from_settings(settings_mod.load(env={}, data_dir=tmp_path, secret="s" * 40, data_keys="k1"))
    assert a.current_kid != b.current_kid
    assert b.open("t", "p", c.seal("t", "p", "x")) == "x", "k1, listed second, still opens"
    with pytest.raises(SecretError):
        c.open("t", "p", b.seal("t", "p", "x"))


async def test_the_worker_reads_settings_through_the_account_store_and_caches_them_briefly(tmp_path):
    settings = settings_mod.load(env={}, data_dir=tmp_path, secret="s" * 40, tenant_settings_ttl_s=3600.0)
    box = SecretBox.from_settings(settings)
    store = SqliteAccountStore(tmp_path / "accounts.db")
    try:
        for tid in ("t_a", "t_b"):
            await store.create_tenant(
                TenantRecord(
                    id=tid, slug=f"s-{tid[-1]}", name=tid, widget_key=f"wk_{tid}", identity_secret="x", created_ms=1
                )
            )
        tenant = await store.get_tenant("t_a")
        tenant.ai_settings = {
            "backend": "openai",
            "model": "m",
            "base_url": "http://127.0.0.1:1/v1",
            "temperature": 0.0,
            "max_tokens": 32,
            "enabled_tools": ["order_status"],
            "tool_choice": "order_status",
            "api_key_sealed": box.seal("t_a", API_KEY_PURPOSE, KEY),
        }
        await store.update_tenant(tenant)
        await store.create_tool(
            ToolRecord(
                tenant_id="t_a",
                name="order_status",
                description="d",
                parameters_schema='{"type":"object"}',
                url="http://127.0.0.1:1/x",
                method="POST",
                timeout_ms=1000,
                created_ms=1,
                secret_sealed=box.seal("t_a", tool_secret_purpose("order_status"), "hook-secret"),
            )
        )
        raw = (tmp_path / "accounts.db").read_bytes() + b"".join(
            p.read_bytes() for p in tmp_path.glob("accounts.db-wal")
        )
        assert KEY.encode() not in raw and b"hook-secret" not in raw, "no secret is stored in the clear"

        configs = TenantConfigs(store, box, settings)
        ai = await configs.get("t_a")
        assert (ai.backend, ai.model, ai.temperature, ai.max_tokens, ai.api_key) == ("openai", "m", 0.0, 32, KEY)
        assert ai.secret_for("order_status") == "hook-secret" and KEY not in repr(ai)
        assert (await configs.get("t_b")).backend == "" and (await configs.get("t_b")).temperature is None

        # the same sealed key copied into another tenant's record is not usable there
        other = await store.get_tenant("t_b")
        other.ai_settings = dict(tenant.ai_settings)
        await store.update_tenant(other)
        fresh = TenantConfigs(store, box, settings)
        assert (await fresh.get("t_b")).api_key == ""

        # cached: a change shows after the TTL, not before
        tenant.ai_settings = {**tenant.ai_settings, "model": "m2"}
        await store.update_tenant(tenant)
        assert (await configs.get("t_a")).model == "m"
        configs.ttl_s = 0.0
        assert (await configs.get("t_a")).model == "m2"
        configs.max_tenants = 1
        await configs.get("t_b")
        assert list(configs._cache) == ["t_b"], "the cache is bounded"
    finally:
        await store.close()


async def test_backend_pool_keeps_one_backend_per_distinct_choice_and_checks_the_endpoint(tmp_path):
    from inference.tenants import TenantAi

    settings = settings_mod.load(env={}, data_dir=tmp_path, model_url_allowlist="http://127.0.0.1:9/v1/")
    default = EchoBackend()
    pool = BackendPool(default, settings, size=2)
    try:
        assert await pool.get(TenantAi()) is default
        a1 = await pool.get(TenantAi(backend="openai", model="m", base_url="http://127.0.0.1:9/v1", api_key="k1"))
        a2 = await pool.get(TenantAi(backend="openai", model="m", base_url="http://127.0.0.1:9/v1", api_key="k1"))
        b = await pool.get(TenantAi(backend="openai", model="m", base_url="http://127.0.0.1:9/v1", api_key="k2"))
        assert a1 is a2 and b is not a1
        with pytest.raises(BackendError, match="allowlist") as err:
            await pool.get(TenantAi(backend="openai", model="m", base_url="http://10.0.0.1/v1"))
        assert not err.value.retryable
    finally:
        await pool.close()
