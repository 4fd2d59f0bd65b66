"""Per-tenant AI configuration in the worker: the tenant's AI settings and HTTP tools, read
from the account store (written there by AdminService), and the model backend they pick.

    tenants = TenantConfigs(account_store, SecretBox.from_settings(settings), settings)
    ai = await tenants.get(tenant_id)          # cached for tenant_settings_ttl_s, bounded LRU
    backend = await backends.get(ai)           # BackendPool: the default, or the tenant's own

A settings change applies within `tenant_settings_ttl_s` on every worker. When the store
cannot be read, the last known settings are used (a stale entry beats failing the job);
with none known the job fails and is retried like any other failure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from frontdesk import logs
from frontdesk.ai_settings import API_KEY_PURPOSE, TENANT_BACKENDS, tool_secret_purpose, url_allowed
from frontdesk.secretbox import SecretBox, SecretError
from frontdesk.settings import Settings
from frontdesk.stores.base import AccountStore, StoreUnavailable, ToolRecord
from inference.backends.base import Backend, BackendError
from inference.ratelimit import guard

log = logs.get("inference.tenants")

MAX_TENANTS_CACHED = 2048
MAX_BACKENDS = 16


@dataclass(frozen=True)
class TenantAi:
    """A tenant's AI settings as the worker applies them. Zero values mean "the default"."""

    backend: str = ""
    model: str = ""
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    temperature: float | None = None
    max_tokens: int = 0
    answer_threshold: float = 0.0
    system_prompt: str = ""
    enabled_tools: frozenset[str] = frozenset()
    tool_choice: str = ""
    requests_per_minute: int = 0  # the tenant's API tier; shared by every worker (inference/ratelimit.py)
    greeting: str = ""  # the tenant's own greeting (the reply to "hi")
    name: str = ""  # the tenant's name (who the assistant says it works for)
    tools: tuple[ToolRecord, ...] = field(default=(), repr=False)
    tool_secrets: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # (tool name, secret)

    @property
    def own_backend(self) -> bool:
        return bool(self.backend)

    def secret_for(self, tool: str) -> str:
        return dict(self.tool_secrets).get(tool, "")


def parse_ai_settings(
    tenant_id: str, stored: dict, tools: list[ToolRecord], box: SecretBox, default_backend: str
) -> TenantAi:
    """The stored ai_settings dict (AdminService.UpdateAiSettings) as a TenantAi; sealed
    secrets are opened here. A secret that does not open (a key that was rotated away, a
    record copied from another tenant) is dropped with a warning, never used."""
    backend = str(stored.get("backend") or "").strip().lower()
    if backend == default_backend:
        backend = ""
    api_key = ""
    if stored.get("api_key_sealed"):
        try:
            api_key = box.open(tenant_id, API_KEY_PURPOSE, stored["api_key_sealed"])
        except SecretError as err:
            log.warning("tenant.api_key_unusable", tenant=tenant_id, error=str(err))
    secrets: list[tuple[str, str]] = []
    for tool in tools:
        if tool.secret_sealed:
            try:
                secrets.append((tool.name, box.open(tenant_id, tool_secret_purpose(tool.name), tool.secret_sealed)))
            except SecretError as err:
                log.warning("tenant.tool_secret_unusable", tenant=tenant_id, tool=tool.name, error=str(err))
    temperature = stored.get("temperature")  # 0 is a choice: only a tenant that never saved settings has none
    return TenantAi(
        backend=backend,
        model=str(stored.get("model") or ""),
        base_url=str(stored.get("base_url") or ""),
        api_key=api_key,
        temperature=float(temperature) if temperature is not None else None,
        max_tokens=int(stored.get("max_tokens") or 0),
        answer_threshold=float(stored.get("answer_threshold") or 0.0),
        system_prompt=str(stored.get("system_prompt") or ""),
        enabled_tools=frozenset(stored.get("enabled_tools") or ()),
        tool_choice=str(stored.get("tool_choice") or ""),
        requests_per_minute=int(stored.get("requests_per_minute") or 0),
        tools=tuple(t for t in tools if t.tenant_id == tenant_id),
        tool_secrets=tuple(secrets),
    )


class TenantConfigs:
    """Each tenant's TenantAi, read through the account store and cached briefly."""

    def __init__(
        self, accounts: AccountStore, box: SecretBox, settings: Settings, max_tenants: int = MAX_TENANTS_CACHED
    ):
        self.accounts = accounts
        self.box = box
        self.ttl_s = settings.tenant_settings_ttl_s
        self.default_backend = settings.backend
        self.max_tenants = max_tenants
        self._cache: OrderedDict[str, tuple[float, TenantAi]] = OrderedDict()
        self._loading: dict[str, asyncio.Future] = {}

    async def get(self, tenant_id: str) -> TenantAi:
        now = time.monotonic()
        cached = self._cache.get(tenant_id)
        if cached is not None and now - cached[0] < self.ttl_s:
            self._cache.move_to_end(tenant_id)
            return cached[1]
        pending = self._loading.get(tenant_id)
        if pending is not None:  # one read per tenant at a time, however many jobs wait
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self._loading[tenant_id] = future
        try:
            ai = await self._load(tenant_id)
        except StoreUnavailable as err:
            if cached is None:
                future.set_exception(err)
                future.exception()  # consumed here; waiters get it too
                raise
            log.warning("tenant.settings_stale", tenant=tenant_id, error=str(err))
            ai = cached[1]
        except BaseException as err:
            future.set_exception(err)
            future.exception()
            raise
        finally:
            self._loading.pop(tenant_id, None)
        self._cache[tenant_id] = (time.monotonic(), ai)
        self._cache.move_to_end(tenant_id)
        while len(self._cache) > self.max_tenants:
            self._cache.popitem(last=False)
        if not future.done():
            future.set_result(ai)
        return ai

    async def _load(self, tenant_id: str) -> TenantAi:
        tenant = await self.accounts.get_tenant(tenant_id)
        stored = tenant.ai_settings if tenant is not None else {}
        tools = await self.accounts.list_tools(tenant_id) if stored.get("enabled_tools") else []
        ai = parse_ai_settings(tenant_id, stored or {}, tools, self.box, self.default_backend)
        if tenant is None:
            return ai
        return dataclasses.replace(ai, greeting=tenant.greeting, name=tenant.name)


class BackendPool:
    """The deployment's default backend, plus one backend per distinct tenant choice
    (backend, model, endpoint, key), the least recently used closed beyond `size`."""

    def __init__(self, default: Backend, settings: Settings, size: int = MAX_BACKENDS, limits_kv=None):
        self.default = default
        self.settings = settings
        self.limits_kv = limits_kv  # the shared request counters (inference/ratelimit.py), when NATS is there
        self.size = size
        self._backends: OrderedDict[tuple, Backend] = OrderedDict()
        self._lock = asyncio.Lock()
        self._closing: set[asyncio.Task] = set()

    def _key(self, ai: TenantAi) -> tuple:
        digest = hashlib.sha256(ai.api_key.encode()).hexdigest() if ai.api_key else ""
        return ai.backend, ai.model, ai.base_url, digest

    async def get(self, ai: TenantAi) -> Backend:
        if not ai.own_backend:
            return self.default
        key = self._key(ai)
        async with self._lock:
            backend = self._backends.get(key)
            if backend is None:
                backend = self.build(ai)
                # the tenant's key has its own allowance, counted across all workers
                backend = guard(
                    backend,
                    self.limits_kv,
                    self.settings,
                    per_minute=ai.requests_per_minute,
                    key_parts=(ai.backend, ai.base_url, ai.model, key[3]),
                )
                await backend.start()
                self._backends[key] = backend
                while len(self._backends) > self.size:
                    _, old = self._backends.popitem(last=False)
                    self._close_later(old)
            self._backends.move_to_end(key)
            return backend

    def build(self, ai: TenantAi) -> Backend:
        """A backend for the tenant's choice; BackendError (permanent) when it cannot be used."""
        s = self.settings
        if ai.base_url and not url_allowed(ai.base_url, s.model_url_allowlist):
            raise BackendError(f"the model endpoint {ai.base_url!r} is not on this deployment's allowlist")
        if ai.backend == "openai":
            from inference.backends.openai_compat import OpenAICompatBackend

            if ai.base_url:
                base_url, api_key = ai.base_url, ai.api_key
            elif s.openai_base_url:  # the deployment's endpoint with the deployment's key, unless the tenant brings one
                base_url, api_key = s.openai_base_url, ai.api_key or s.openai_api_key
            else:
                raise BackendError("backend openai needs a base_url (or a deployment endpoint)")
            model = ai.model or (s.openai_model if not ai.base_url else "")
            if not model:
                raise BackendError("backend openai needs a model name")
            return OpenAICompatBackend(base_url=base_url, model=model, api_key=api_key)
        if ai.backend == "anthropic":
            from inference.backends.anthropic import AnthropicBackend

            return AnthropicBackend(model=ai.model, api_key=ai.api_key, base_url=ai.base_url or None)
        if ai.backend == "gemini":
            from inference.backends.gemini import GeminiBackend

            return GeminiBackend(model=ai.model, api_key=ai.api_key, base_url=ai.base_url or None)
        raise BackendError(f"unknown backend {ai.backend!r}; tenants may choose {', '.join(TENANT_BACKENDS)}")

    def _close_later(self, backend: Backend) -> None:
        # jobs may still be streaming from it: close once they have had time to finish
        async def close():
            await asyncio.sleep(self.settings.job_ack_wait_s)
            await backend.close()

        task = asyncio.create_task(close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        for task in list(self._closing):
            task.cancel()
        for backend in list(self._backends.values()):
            await backend.close()
        self._backends.clear()
