"""Tests for inference.tools: the built-in tools, tenant HTTP tools, the registry and the
bounded tool loop.

The built-ins run against small fakes of OUR interfaces (ToolContext's search / history /
request_handoff callables). Tenant HTTP tools run against a real aiohttp server on
127.0.0.1 that stands in for the tenant's own system: it checks the HMAC signature itself
and records every request it sees. The model is a scripted fake of the `complete` callable.

Run: .venv/bin/python -m pytest tests/inference/test_tools.py -q -p no:cacheprovider
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import hmac
import json
import logging
import socket
import time
from types import SimpleNamespace
from urllib.parse import parse_qs

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from frontdesk_pb.admin.v1 import admin_pb2
from inference.tools import (
    BUILTIN_TOOLS,
    Allowlist,
    HttpTool,
    LoopResult,
    ToolCallRecord,
    ToolContext,
    ToolRegistry,
    ToolResult,
    hit_to_dict,
    run_tool_loop,
    sign_request,
)

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

SECRET = b"tenant-signing-secret-0123456789"
TENANT = "tnt_acme"
OTHER_TENANT = "tnt_evil"

ORDER_SCHEMA = {
    "type": "object",
    "properties": {"order": {"type": "string", "minLength": 1}, "items": {"type": "array"}},
    "required": ["order"],
}


# ---------------------------------------------------------------------------------------
# fakes of our own interfaces


class FakeJob:
    """The callables a worker binds to one job's tenant and conversation."""

    def __init__(self, hits=None, messages=None):
        self.hits = (
            hits
            if hits is not None
            else [
                {
                    "id": "reset",
                    "title": "How do I reset my password?",
                    "text": "Use 'Forgot password' on the sign-in page.",
                    "score": 0.91,
                }
            ]
        )
        self.messages = (
            messages
            if messages is not None
            else [
                {"role": "customer", "text": "hi"},
                {"role": "ai", "text": "Hello!"},
                {"role": "customer", "text": "I forgot my password"},
            ]
        )
        self.searches: list[tuple[str, int]] = []
        self.history_limits: list[int] = []
        self.handoffs: list[str] = []

    async def search(self, query: str, limit: int) -> list[dict]:
        self.searches.append((query, limit))
        return self.hits[:limit]

    async def history(self, limit: int) -> list[dict]:
        self.history_limits.append(limit)
        return self.messages[-limit:]

    async def request_handoff(self, reason: str) -> None:
        self.handoffs.append(reason)

    def ctx(self, tenant: str = TENANT) -> ToolContext:
        return ToolContext(
            tenant, "conv_1", "job_1", search=self.search, history=self.history, request_handoff=self.request_handoff
        )


@pytest.fixture
def job() -> FakeJob:
    return FakeJob()


def data(result: ToolResult):
    return json.loads(result.content)


# ---------------------------------------------------------------------------------------
# the tenant's system: a real HTTP server on 127.0.0.1


class TenantSystem:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.release = asyncio.Event()
        self.server: TestServer | None = None

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def allowlist(self) -> Allowlist:
        return Allowlist([f"http://127.0.0.1:{self.port}/"])

    async def _record(self, request: web.Request) -> dict:
        raw = await request.read()
        timestamp = request.headers.get("X-Frontdesk-Timestamp", "")
        signature = request.headers.get("X-Frontdesk-Signature")
        signed = raw if request.method == "POST" else request.rel_url.raw_query_string.encode()
        expected = "sha256=" + hmac.new(SECRET, timestamp.encode() + b"." + signed, hashlib.sha256).hexdigest()
        seen = {
            "path": request.path,
            "method": request.method,
            "headers": dict(request.headers),
            "raw": raw,
            "query": parse_qs(request.rel_url.raw_query_string),
            "signature": signature,
            "signature_valid": signature is not None and hmac.compare_digest(signature, expected),
            "timestamp": timestamp,
        }
        self.requests.append(seen)
        return seen

    async def tool(self, request: web.Request) -> web.Response:
        seen = await self._record(request)
        if request.method == "POST":
            received = json.loads(seen["raw"])
        else:
            received = {k: v[0] for k, v in seen["query"].items()}
        return web.json_response({"order": "A-17", "status": "shipped", "received": received})

    async def slow(self, request: web.Request) -> web.Response:
        await self._record(request)
        await asyncio.wait_for(self.release.wait(), 5)
        return web.json_response({"late": True})

    async def drip(self, request: web.Request) -> web.StreamResponse:
        """Headers at once, then one byte every 50 ms: each read is quick, the whole is not."""
        await self._record(request)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"a": "')
        for _ in range(60):
            if self.release.is_set():
                break
            await asyncio.sleep(0.05)
            await response.write(b"x")
        await response.write(b'"}')
        return response

    async def big(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"blob": "x" * 200_000})

    async def big_chunked(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'{"blob": "')
        try:
            for _ in range(64):
                await response.write(b"x" * 16_384)
            await response.write(b'"}')
        except (ConnectionError, RuntimeError):
            pass
        return response

    async def html(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(text="<html><body>Oops</body></html>", content_type="text/html")

    async def nan(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(text="NaN", content_type="application/json")

    async def fail(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"error": "database down"}, status=500)

    async def redirect(self, request: web.Request) -> web.Response:
        await self._record(request)
        raise web.HTTPFound("/tool")

    async def gzipped(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(
            body=gzip.compress(b'{"ok": true}'), content_type="application/json", headers={"Content-Encoding": "gzip"}
        )

    async def no_content(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(status=204)


@pytest.fixture
async def tenant_system():
    system = TenantSystem()
    app = web.Application()
    for path, handler in [
        ("/tool", system.tool),
        ("/slow", system.slow),
        ("/drip", system.drip),
        ("/big", system.big),
        ("/big-chunked", system.big_chunked),
        ("/html", system.html),
        ("/nan", system.nan),
        ("/fail", system.fail),
        ("/redirect", system.redirect),
        ("/gzip", system.gzipped),
        ("/no-content", system.no_content),
    ]:
        app.router.add_route("*", path, handler)
    system.server = TestServer(app, host="127.0.0.1")
    await system.server.start_server(shutdown_timeout=1)
    yield system
    system.release.set()
    await system.server.close()


def http_tool(
    system: TenantSystem,
    path: str = "/tool",
    *,
    name: str = "order_status",
    parameters=None,
    secret: bytes | None = SECRET,
    **options,
) -> HttpTool:
    return HttpTool(
        name,
        "Status of an order by its number.",
        ORDER_SCHEMA if parameters is None else parameters,
        url=system.url(path),
        allowlist=system.allowlist(),
        secret=secret,
        **options,
    )


# ---------------------------------------------------------------------------------------
# built-in tools


async def test_search_reads_the_tenant_from_context_and_defaults_to_three(job):
    registry = ToolRegistry()
    result = await registry.call(job.ctx(), "search_knowledge_base", '{"query": "reset my password"}')
    assert result.ok, result.error
    assert job.searches == [("reset my password", 3)]
    assert data(result)["results"][0]["id"] == "reset"


async def test_search_refuses_bad_limit_without_searching(job):
    result = await ToolRegistry().call(job.ctx(), "search_knowledge_base", {"query": "x", "limit": 50})
    assert not result.ok
    assert "limit" in result.error and "maximum" in result.error
    assert data(result)["error"] == result.error
    assert job.searches == []


async def test_search_with_no_hits_tells_the_model_not_to_guess():
    job = FakeJob(hits=[])
    result = await ToolRegistry().call(job.ctx(), "search_knowledge_base", {"query": "crypto"})
    assert result.ok and data(result)["results"] == [] and "person" in data(result)["note"]


async def test_handoff_and_history_use_the_context(job):
    registry = ToolRegistry()
    handed = await registry.call(job.ctx(), "handoff_to_human", {"reason": "asks for a refund over the limit"})
    assert handed.ok and data(handed)["handed_off"] is True
    assert job.handoffs == ["asks for a refund over the limit"]
    history = await registry.call(job.ctx(), "conversation_history", '{"limit": 2}')
    assert history.ok and [m["text"] for m in data(history)["messages"]] == ["Hello!", "I forgot my password"]
    assert job.history_limits == [2]
    default = await registry.call(job.ctx(), "conversation_history", "")  # no arguments at all
    assert default.ok and job.history_limits[-1] == 10


async def test_no_builtin_takes_a_tenant_argument():
    def names(schema):
        props = schema.get("properties", {})
        return set(props) | {n for p in props.values() if isinstance(p, dict) for n in names(p)}

    for spec in ToolRegistry().specs():
        assert not any("tenant" in n for n in names(spec["function"]["parameters"]))


async def test_tenant_named_in_arguments_is_dropped_not_trusted(job, caplog):
    caplog.set_level(logging.INFO, logger="inference.tools")
    calls: list[ToolCallRecord] = []
    registry = ToolRegistry(on_call=calls.append)
    result = await registry.call(
        job.ctx(), "search_knowledge_base", {"query": "refund", "tenant_id": OTHER_TENANT, "tenantId": OTHER_TENANT}
    )
    assert result.ok  # the call goes on, for the job's own tenant
    assert job.searches == [("refund", 3)]
    assert calls[0].tenant_id == TENANT
    assert calls[0].ignored_arguments == ("tenantId", "tenant_id")
    assert OTHER_TENANT not in calls[0].arguments
    logged = [r for r in caplog.records if r.getMessage() == "tool.called"]
    assert logged[0].fields["tenant"] == TENANT and logged[0].fields["ignored_arguments"] == ["tenantId", "tenant_id"]


async def test_missing_handles_and_failing_or_hanging_builtins_give_results():
    bare = ToolContext(TENANT, "conv_1", "job_1")
    registry = ToolRegistry()
    for name, args in [
        ("search_knowledge_base", {"query": "x"}),
        ("handoff_to_human", {"reason": "r"}),
        ("conversation_history", {}),
    ]:
        result = await registry.call(bare, name, args)
        assert not result.ok and "not" in result.error

    async def broken(query, limit):
        raise RuntimeError("index file is corrupt: /data/tenant/secret/path")

    async def hangs(query, limit):
        await asyncio.sleep(10)

    result = await registry.call(ToolContext(TENANT, "c", "j", search=broken), "search_knowledge_base", {"query": "x"})
    assert not result.ok and result.error == "the tool search_knowledge_base failed unexpectedly"
    assert "/data" not in result.content  # internals stay in the server log
    quick = ToolRegistry(call_timeout_s=0.1)
    started = time.monotonic()
    result = await quick.call(ToolContext(TENANT, "c", "j", search=hangs), "search_knowledge_base", {"query": "x"})
    assert not result.ok and "timed out" in result.error and time.monotonic() - started < 1


def test_context_needs_a_tenant():
    with pytest.raises(ValueError):
        ToolContext("", "conv", "job")


def test_hit_to_dict():
    hit = SimpleNamespace(
        entry_id="reset",
        chunk_id="reset#0",
        title="Reset",
        text="Use the link.",
        score=0.87654,
        url="https://help.example.com/reset",
    )
    assert hit_to_dict(hit) == {
        "id": "reset",
        "title": "Reset",
        "text": "Use the link.",
        "score": 0.877,
        "url": "https://help.example.com/reset",
    }


# ---------------------------------------------------------------------------------------
# the registry


async def test_specs_are_openai_functions_and_respect_enabled():
    specs = ToolRegistry().specs()
    assert [s["function"]["name"] for s in specs] == [
        "search_knowledge_base",
        "handoff_to_human",
        "conversation_history",
    ]
    assert all(s["type"] == "function" and s["function"]["parameters"]["type"] == "object" for s in specs)
    only = ToolRegistry(BUILTIN_TOOLS, enabled={"search_knowledge_base", "not_a_tool"})
    assert only.names() == ["search_knowledge_base"]
    result = await only.call(FakeJob().ctx(), "handoff_to_human", {"reason": "x"})
    assert not result.ok and "no tool named 'handoff_to_human'" in result.error


async def test_bad_names_and_arguments_become_error_results(job):
    registry = ToolRegistry()
    ctx = job.ctx()
    unknown = await registry.call(ctx, "delete_all_data", "{}")
    assert not unknown.ok and "search_knowledge_base" in unknown.error  # it lists what exists
    not_json = await registry.call(ctx, "search_knowledge_base", '{"query": "refund')
    assert not not_json.ok and "not valid JSON" in not_json.error
    array = await registry.call(ctx, "search_knowledge_base", '["refund"]')
    assert not array.ok and "must be a JSON object, not an array" in array.error
    nan = await registry.call(ctx, "search_knowledge_base", '{"query": NaN}')
    assert not nan.ok and "not valid JSON" in nan.error
    huge = await registry.call(ctx, "search_knowledge_base", json.dumps({"query": "x" * 20_000}))
    assert not huge.ok and "longer than" in huge.error
    missing = await registry.call(ctx, "search_knowledge_base", {})
    assert not missing.ok and "'query' is a required property" in missing.error
    garbage_name = await registry.invoke(ctx, {"no": "name"}, None)
    assert not garbage_name.ok and garbage_name.tool == ""
    assert job.searches == []


async def test_every_call_is_logged_and_recorded(job, caplog):
    caplog.set_level(logging.INFO, logger="inference.tools")
    records: list[ToolCallRecord] = []
    async_records: list[ToolCallRecord] = []

    async def async_hook(record):
        async_records.append(record)

    await ToolRegistry(on_call=records.append).call(job.ctx(), "search_knowledge_base", {"query": "password"})
    await ToolRegistry(on_call=async_hook).call(job.ctx(), "nope", "{}")
    assert records[0].ok and records[0].tool == "search_knowledge_base" and records[0].duration_ms >= 0
    assert records[0].result_preview.startswith('{"results"')
    assert async_records[0].ok is False and async_records[0].tool == "nope"
    assert set(records[0].to_dict()) >= {"tenant_id", "conversation_id", "job_id", "tool", "ok", "error", "duration_ms"}
    logged = [r.fields for r in caplog.records if r.getMessage() == "tool.called"]
    assert logged[0] == {
        "tenant": TENANT,
        "conversation": "conv_1",
        "job": "job_1",
        "tool": "search_knowledge_base",
        "ok": True,
        "duration_ms": records[0].duration_ms,
        "error": "",
    }
    assert logged[1]["ok"] is False and "no tool named" in logged[1]["error"]


async def test_a_failing_hook_does_not_break_the_call(job):
    def hook(record):
        raise RuntimeError("admin store down")

    result = await ToolRegistry(on_call=hook).call(job.ctx(), "search_knowledge_base", {"query": "x"})
    assert result.ok


def test_duplicate_tool_names_are_refused():
    with pytest.raises(ValueError, match="two tools"):
        ToolRegistry(BUILTIN_TOOLS, [BUILTIN_TOOLS[0]])


# ---------------------------------------------------------------------------------------
# HttpTool: construction


ALLOW = Allowlist(["https://hooks.example.com/frontdesk/", "*.acme.example", "api.shop.example", "http://127.0.0.1:9/"])


def make(url="https://api.shop.example/orders", parameters=None, **kw) -> HttpTool:
    return HttpTool(
        kw.pop("name", "order_status"),
        kw.pop("description", "Order status."),
        ORDER_SCHEMA if parameters is None else parameters,
        url=url,
        allowlist=ALLOW,
        **kw,
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/frontdesk/orders",
        "https://eu.acme.example/tool",
        "https://a.b.acme.example/tool",
        "https://api.shop.example/x?fixed=1",
        "https://API.Shop.Example:443/orders",
        "http://127.0.0.1:9/hook",
    ],
)
def test_allowlisted_urls_are_accepted(url):
    assert make(url).url.lower().startswith(url.split("?")[0].lower().replace(":443", ""))


@pytest.mark.parametrize(
    "url, why",
    [
        ("https://evil.example/orders", "allowlist"),
        ("https://hooks.example.com/frontdeskevil/x", "allowlist"),  # prefix ends on a "/" boundary
        ("https://hooks.example.com/frontdesk", "allowlist"),  # the prefix is ".../frontdesk/"
        ("https://hooks.example.com/frontdesk/../admin", "allowlist"),  # dot segments are resolved first
        ("https://hooks.example.com/frontdesk/%2e%2e/admin", "not a valid URL"),
        ("https://acme.example/tool", "allowlist"),  # *.domain is subdomains only
        ("https://acme.example.evil.net/tool", "allowlist"),
        ("https://api.shop.example:8443/orders", "allowlist"),
        ("http://api.shop.example/orders", "plain http"),  # host patterns are https only
        ("http://127.0.0.1:8080/hook", "allowlist"),
        ("https://user:pw@api.shop.example/orders", "user name"),
        ("https://api.shop.example\\@evil.example/", "not a valid URL"),
        ("ftp://api.shop.example/orders", "http(s)"),
        ("https://api.shop.example/orders#frag", "fragment"),
    ],
)
def test_urls_off_the_allowlist_are_refused_at_construction(url, why):
    with pytest.raises(ValueError, match=why.replace("(", r"\(").replace(")", r"\)")):
        make(url)


@pytest.mark.parametrize("name", ["none", "auto", "required"])
def test_a_tool_may_not_be_named_like_a_tool_choice(name):
    # the in-process model answers {"name": "none"} when it needs no tool
    with pytest.raises(ValueError, match="reserved"):
        HttpTool(name, "d", ORDER_SCHEMA, url="https://api.shop.example/x", allowlist=["https://api.shop.example/"])


def test_allowlist_refuses_match_everything():
    for entry in ["*", "", "*:443", "https://"]:
        with pytest.raises(ValueError):
            Allowlist([entry])
    with pytest.raises(ValueError, match="allowlist"):
        HttpTool("t", "d", ORDER_SCHEMA, url="https://api.shop.example/", allowlist=[])


@pytest.mark.parametrize(
    "parameters, why",
    [
        ({"type": "object", "properties": {"order": {"type": "strin"}}}, "not a valid JSON Schema"),
        ({"type": "object", "required": "order"}, "not a valid JSON Schema"),
        ({"type": "string"}, "must describe an object"),
        ([], "must be a JSON Schema object"),
        ({"type": "object", "properties": {"o": {"$ref": "https://evil.example/schema.json"}}}, "local references"),
        ({"type": "object", "properties": {"tenant_id": {"type": "string"}}}, "may not declare tenant_id"),
        ({"type": "object", "properties": {"conversationId": {"type": "string"}}}, "may not declare"),
        ({"type": "object", "properties": {"x": {"enum": ["y" * 20_000]}}}, "larger than"),
    ],
)
def test_invalid_schemas_are_refused(parameters, why):
    with pytest.raises(ValueError, match=why):
        make(parameters=parameters)


@pytest.mark.parametrize(
    "kw, why",
    [
        ({"name": "Order-Status"}, "must match"),
        ({"name": "search_knowledge_base"}, "built-in"),
        ({"description": "  "}, "description is required"),
        ({"description": "x" * 2000}, "longer than"),
        ({"method": "DELETE"}, "GET or POST"),
        ({"timeout_ms": 50}, "timeout"),
        ({"timeout_ms": 20_000}, "timeout"),
        ({"max_response_bytes": 0}, "response limit"),
    ],
)
def test_other_bad_definitions_are_refused(kw, why):
    with pytest.raises(ValueError, match=why):
        make(**kw)


def test_from_admin_proto_and_repr_hides_the_secret():
    spec = admin_pb2.HttpTool(
        name="order_status",
        description="Order status.",
        parameters_schema=json.dumps(ORDER_SCHEMA),
        url="https://api.shop.example/orders",
        method="get",
        timeout_ms=0,
        has_secret=True,
    )
    tool = HttpTool.from_spec(spec, allowlist=ALLOW, secret="s3cret-value")
    assert (tool.method, tool.timeout_ms, tool.has_secret) == ("GET", 5000, True)
    assert "s3cret" not in repr(tool)
    with pytest.raises(ValueError, match="not JSON"):
        HttpTool.from_spec(
            admin_pb2.HttpTool(name="x", description="d", parameters_schema="{nope", url="https://api.shop.example/"),
            allowlist=ALLOW,
        )


# ---------------------------------------------------------------------------------------
# HttpTool: against the tenant's server


async def test_post_is_signed_and_carries_the_context(tenant_system, job):
    tool = http_tool(tenant_system)
    result = await tool.run(job.ctx(), {"order": "A-17", "items": [1, 2]})
    assert result.ok, result.error
    assert data(result)["status"] == "shipped"
    [seen] = tenant_system.requests
    assert seen["signature_valid"], "the tenant's server must be able to verify the HMAC"
    assert seen["headers"]["X-Frontdesk-Tenant"] == TENANT
    assert abs(int(seen["timestamp"]) - time.time()) < 5
    assert json.loads(seen["raw"]) == {
        "arguments": {"order": "A-17", "items": [1, 2]},
        "conversation_id": "conv_1",
        "job_id": "job_1",
    }
    assert seen["signature"] == sign_request(SECRET, seen["timestamp"], seen["raw"])


async def test_get_sends_query_parameters_and_signs_the_query(tenant_system, job):
    tool = http_tool(tenant_system, method="GET")
    result = await tool.run(job.ctx(), {"order": "A 17&x=1", "items": ["a", {"b": 1}]})
    assert result.ok, result.error
    [seen] = tenant_system.requests
    assert seen["method"] == "GET" and seen["raw"] == b""
    assert seen["signature_valid"]
    assert data(result)["received"] == {
        "order": "A 17&x=1",
        "items": '["a",{"b":1}]',
        "conversation_id": "conv_1",
        "job_id": "job_1",
    }


async def test_unsigned_when_there_is_no_secret(tenant_system, job):
    result = await http_tool(tenant_system, secret=None).run(job.ctx(), {"order": "A-17"})
    assert result.ok
    assert tenant_system.requests[0]["signature"] is None


async def test_tenant_or_conversation_in_arguments_is_not_trusted(tenant_system, job):
    """Decision: reserved keys (tenant, tenant_id, tenantId, conversation_id, job_id, ...) are
    dropped from the model's arguments before validation; the header and the envelope come
    from the job's context only. This holds whether or not the schema allows extra keys."""
    records: list[ToolCallRecord] = []
    open_schema = http_tool(tenant_system, name="open_schema")
    closed_schema = http_tool(
        tenant_system, name="closed_schema", parameters={**ORDER_SCHEMA, "additionalProperties": False}
    )
    registry = ToolRegistry(BUILTIN_TOOLS, [open_schema, closed_schema], on_call=records.append)
    for name in ("open_schema", "closed_schema"):
        result = await registry.call(
            job.ctx(),
            name,
            json.dumps(
                {
                    "order": "A-17",
                    "tenant_id": OTHER_TENANT,
                    "tenant": OTHER_TENANT,
                    "conversation_id": "conv_of_someone_else",
                    "job_id": "job_x",
                }
            ),
        )
        assert result.ok, result.error
    for seen in tenant_system.requests:
        assert seen["headers"]["X-Frontdesk-Tenant"] == TENANT
        body = json.loads(seen["raw"])
        assert body == {"arguments": {"order": "A-17"}, "conversation_id": "conv_1", "job_id": "job_1"}
        assert OTHER_TENANT.encode() not in seen["raw"]
    assert records[0].ignored_arguments == ("conversation_id", "job_id", "tenant", "tenant_id")
    # calling the tool directly (not through the registry) drops them as well
    await open_schema.run(job.ctx(), {"order": "B", "tenant_id": OTHER_TENANT})
    assert json.loads(tenant_system.requests[-1]["raw"])["arguments"] == {"order": "B"}


async def test_invalid_arguments_make_no_request(tenant_system, job):
    tool = http_tool(tenant_system)
    for arguments in ({}, {"order": ""}, {"order": 17}):
        result = await tool.run(job.ctx(), arguments)
        assert not result.ok and result.error.startswith("invalid arguments for order_status")
    result = await ToolRegistry(BUILTIN_TOOLS, [tool]).call(job.ctx(), "order_status", '{"order": ')
    assert not result.ok and "not valid JSON" in result.error
    assert tenant_system.requests == []


async def test_timeout(tenant_system, job):
    started = time.monotonic()
    result = await http_tool(tenant_system, "/slow", timeout_ms=200).run(job.ctx(), {"order": "A-17"})
    assert not result.ok and "timed out after 200 ms" in result.error
    assert time.monotonic() - started < 1.5
    assert len(tenant_system.requests) == 1


async def test_a_slowly_dripping_body_hits_the_overall_timeout(tenant_system, job):
    started = time.monotonic()
    result = await http_tool(tenant_system, "/drip", timeout_ms=300).run(job.ctx(), {"order": "A-17"})
    assert not result.ok and "timed out" in result.error
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
async def test_oversized_response_is_cut(tenant_system, job, path):
    result = await http_tool(tenant_system, path, max_response_bytes=4096).run(job.ctx(), {"order": "A-17"})
    assert not result.ok and "larger than 4096 bytes" in result.error
    assert len(result.content) < 500


async def test_default_limit_is_64_kib(tenant_system, job):
    tool = http_tool(tenant_system, "/big")
    assert tool.max_response_bytes == 65536
    result = await tool.run(job.ctx(), {"order": "A-17"})
    assert not result.ok and "larger than 65536 bytes" in result.error


@pytest.mark.parametrize("path", ["/html", "/nan"])
async def test_non_json_response(tenant_system, job, path):
    result = await http_tool(tenant_system, path).run(job.ctx(), {"order": "A-17"})
    assert not result.ok and result.error == "the tool returned something that is not JSON"


async def test_server_error_reports_the_status(tenant_system, job):
    result = await http_tool(tenant_system, "/fail").run(job.ctx(), {"order": "A-17"})
    assert not result.ok and "HTTP 500" in result.error
    assert data(result)["status"] == 500 and "database down" in data(result)["detail"]


async def test_redirects_are_not_followed(tenant_system, job):
    result = await http_tool(tenant_system, "/redirect").run(job.ctx(), {"order": "A-17"})
    assert not result.ok and "redirect" in result.error and "302" in result.error
    assert [r["path"] for r in tenant_system.requests] == ["/redirect"]


async def test_compressed_and_empty_responses(tenant_system, job):
    gz = await http_tool(tenant_system, "/gzip").run(job.ctx(), {"order": "A-17"})
    assert not gz.ok and "compressed" in gz.error
    assert tenant_system.requests[0]["headers"]["Accept-Encoding"] == "identity"
    empty = await http_tool(tenant_system, "/no-content").run(job.ctx(), {"order": "A-17"})
    assert empty.ok and data(empty)["status"] == 204


async def test_unreachable_endpoint(job):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    tool = HttpTool(
        "order_status", "d", ORDER_SCHEMA, url=f"http://127.0.0.1:{port}/tool", allowlist=[f"http://127.0.0.1:{port}/"]
    )
    result = await tool.run(job.ctx(), {"order": "A-17"})
    assert not result.ok and "could not be reached" in result.error


async def test_a_shared_client_is_used_without_following_redirects(tenant_system, job):
    import httpx

    async with httpx.AsyncClient(follow_redirects=True) as client:  # even a client that would follow
        result = await http_tool(tenant_system, "/redirect", client=client).run(job.ctx(), {"order": "A-17"})
        assert not result.ok and "redirect" in result.error
        ok = await http_tool(tenant_system, client=client).run(job.ctx(), {"order": "A-17"})
        assert ok.ok
    assert [r["path"] for r in tenant_system.requests] == ["/redirect", "/tool"]


async def test_logs_carry_neither_secret_nor_response(tenant_system, job, caplog):
    caplog.set_level(logging.DEBUG)
    registry = ToolRegistry(BUILTIN_TOOLS, [http_tool(tenant_system), http_tool(tenant_system, "/big", name="big")])
    assert (await registry.call(job.ctx(), "order_status", {"order": "A-17"})).ok
    assert not (await registry.call(job.ctx(), "big", {"order": "A-17"})).ok
    text = "\n".join(f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in caplog.records)
    assert "tool.called" in text
    assert SECRET.decode() not in text and "shipped" not in text and "xxxxxxxx" not in text


# ---------------------------------------------------------------------------------------
# the loop


class ScriptedModel:
    """The model: returns scripted turns in order and remembers what it was shown."""

    def __init__(self, *turns):
        self.turns = list(turns)
        self.seen: list[list[dict]] = []
        self.tools_seen: list[list[dict]] = []

    async def __call__(self, messages, tools):
        self.seen.append(messages)
        self.tools_seen.append(tools)
        turn = self.turns.pop(0) if len(self.turns) > 1 else self.turns[0]
        return turn(messages) if callable(turn) else turn


def call(name, arguments, call_id="call_1"):
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)},
    }


QUESTION = [
    {"role": "system", "content": "You are a support assistant."},
    {"role": "user", "content": "How do I reset my password?"},
]


async def test_loop_search_then_answer(job):
    model = ScriptedModel(
        ("", [call("search_knowledge_base", {"query": "reset password"})]),
        lambda messages: (f"From our help: {json.loads(messages[-1]['content'])['results'][0]['text']}", []),
    )
    messages = [dict(m) for m in QUESTION]
    result = await run_tool_loop(model, ToolRegistry(), job.ctx(), messages)
    assert isinstance(result, LoopResult)
    assert (result.stopped_reason, result.rounds, len(result.calls)) == ("answered", 2, 1)
    assert result.text == "From our help: Use 'Forgot password' on the sign-in page."
    assert not result.needs_handoff
    assistant, tool_message = model.seen[1][-2:]
    assert assistant == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "search_knowledge_base", "arguments": '{"query": "reset password"}'},
            }
        ],
    }
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_1"
    assert [t["function"]["name"] for t in model.tools_seen[0]] == [
        "search_knowledge_base",
        "handoff_to_human",
        "conversation_history",
    ]
    assert messages == QUESTION  # the caller's list is left alone
    assert result.calls[0].ok and result.calls[0].call_id == "call_1"


async def test_loop_that_never_answers_stops_at_max_rounds(job):
    model = ScriptedModel(("Let me check again", [call("search_knowledge_base", {"query": "password"})]))
    result = await run_tool_loop(model, ToolRegistry(), job.ctx(), QUESTION, max_rounds=3)
    assert (result.stopped_reason, result.text, result.rounds) == ("max_rounds", "", 3)
    assert result.needs_handoff
    assert len(model.seen) == 3
    assert len(result.calls) == 2  # the last turn's calls are not run: nothing would read them
    assert len(job.searches) == 2


async def test_loop_recovers_from_malformed_arguments(job):
    model = ScriptedModel(
        ("", [call("search_knowledge_base", '{"query": "reset')]),
        ("", [call("search_knowledge_base", {"query": "reset"}, "call_2")]),
        ("Use 'Forgot password'.", None),
    )
    result = await run_tool_loop(model, ToolRegistry(), job.ctx(), QUESTION)
    assert (result.stopped_reason, result.rounds) == ("answered", 3)
    assert [c.ok for c in result.calls] == [False, True]
    error = json.loads(model.seen[1][-1]["content"])["error"]
    assert "not valid JSON" in error and "call search_knowledge_base again" in error
    assert job.searches == [("reset", 3)]


async def test_loop_survives_garbage_tool_calls(job):
    garbage = [
        {"function": {"name": 5, "arguments": None}},
        42,
        {"id": "x", "name": "nope", "arguments": {"a": 1}},
        {"id": "x", "function": "search"},
    ]
    model = ScriptedModel(("", garbage), ("", "not even a list"), ("Sorry, let me get a person.", []))
    result = await run_tool_loop(model, ToolRegistry(), job.ctx(), QUESTION, max_rounds=4)
    assert result.stopped_reason == "answered" and result.rounds == 3
    assert len(result.calls) == 5 and not any(c.ok for c in result.calls)
    tool_messages = [m for m in model.seen[1] if m["role"] == "tool"]
    ids = [m["tool_call_id"] for m in tool_messages]
    assert len(ids) == len(set(ids)) == 4  # every call answered, ids made unique
    assistant = [m for m in model.seen[1] if m["role"] == "assistant"][0]
    assert [c["id"] for c in assistant["tool_calls"]] == ids
    assert all(isinstance(c["function"]["arguments"], str) for c in assistant["tool_calls"])


async def test_loop_accepts_backend_tool_call_objects(job):
    """A backend's ToolCall dataclass (id, name, arguments dict, raw_arguments text) works as is."""
    bad = SimpleNamespace(
        id="t1", name="search_knowledge_base", arguments={}, raw_arguments='{"query": ', error="invalid JSON"
    )
    good = SimpleNamespace(id="t2", name="search_knowledge_base", arguments={"query": "reset"}, raw_arguments="")
    model = ScriptedModel(("", (bad,)), ("", (good,)), ("Done.", ()))
    result = await run_tool_loop(model, ToolRegistry(), job.ctx(), QUESTION)
    assert result.stopped_reason == "answered" and [c.ok for c in result.calls] == [False, True]
    assert [c.call_id for c in result.calls] == ["t1", "t2"] and job.searches == [("reset", 3)]


async def test_loop_stops_after_a_handoff(job):
    model = ScriptedModel(
        (
            "",
            [
                call("handoff_to_human", {"reason": "wants a person"}, "a"),
                call("handoff_to_human", {"reason": "again"}, "b"),
            ],
        ),
        ("should not be asked", []),
    )
    result = await run_tool_loop(model, ToolRegistry(), job.ctx(), QUESTION)
    assert (result.stopped_reason, result.text, result.rounds) == ("handoff", "", 1)
    assert not result.needs_handoff  # already asked for through the context
    assert job.handoffs == ["wants a person"]
    assert [c.ok for c in result.calls] == [True, False]


async def test_loop_caps_calls_per_turn_and_handles_an_empty_answer(job):
    many = [call("conversation_history", {"limit": 1}, f"c{i}") for i in range(7)]
    model = ScriptedModel(("", many), ("", []))
    result = await run_tool_loop(model, ToolRegistry(), job.ctx(), QUESTION, max_calls_per_round=5)
    assert result.stopped_reason == "empty" and result.text == "" and result.needs_handoff
    assert [c.ok for c in result.calls] == [True] * 5 + [False] * 2
    assert len(job.history_limits) == 5
    assert "at most 5" in result.calls[-1].error


async def test_loop_with_a_tenant_http_tool(tenant_system, job):
    records: list[ToolCallRecord] = []
    registry = ToolRegistry(BUILTIN_TOOLS, [http_tool(tenant_system)], on_call=records.append)
    model = ScriptedModel(
        ("", [call("order_status", {"order": "A-17", "tenant_id": OTHER_TENANT})]),
        lambda messages: (f"Your order is {json.loads(messages[-1]['content'])['status']}.", []),
    )
    result = await run_tool_loop(model, registry, job.ctx(), QUESTION)
    assert result.text == "Your order is shipped." and result.stopped_reason == "answered"
    assert records == result.calls and records[0].ignored_arguments == ("tenant_id",)
    [seen] = tenant_system.requests
    assert seen["signature_valid"] and seen["headers"]["X-Frontdesk-Tenant"] == TENANT


async def test_loop_with_a_failing_tenant_tool_lets_the_model_recover(tenant_system, job):
    registry = ToolRegistry(BUILTIN_TOOLS, [http_tool(tenant_system, "/slow", timeout_ms=150)])
    model = ScriptedModel(
        ("", [call("order_status", {"order": "A-17"})]),
        lambda messages: ("I could not look that up; a colleague will help.", []),
    )
    result = await run_tool_loop(model, registry, job.ctx(), QUESTION)
    assert result.stopped_reason == "answered"
    assert "timed out" in json.loads(model.seen[1][-1]["content"])["error"]


# -- SSRF: tenant tools never reach private, loopback, link-local or metadata addresses ----------


class Recorder(httpx.AsyncBaseTransport):
    """Records where a request would go (the address connected to, the Host, the TLS name)."""

    def __init__(self):
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        # a stream, as a network response is (the tool reads it bounded)
        return httpx.Response(
            200, headers={"content-type": "application/json"}, stream=httpx.ByteStream(b'{"ok": true}')
        )


def resolving_to(*addresses: str):
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return list(addresses)

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.4",
        "169.254.169.254",
        "100.64.0.1",
        "::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
    ],
)
async def test_a_host_that_resolves_to_a_private_address_is_refused(job, address):
    recorder = Recorder()
    tool = make("https://eu.acme.example/tool", transport=recorder, resolver=resolving_to("93.184.216.34", address))
    result = await tool.run(job.ctx(), {"order": "A-1"})
    assert not result.ok and "non-public address" in result.content, result.content
    assert recorder.sent == []  # nothing was sent anywhere


async def test_a_public_host_is_called_at_the_checked_address_under_its_own_name(job):
    recorder = Recorder()
    resolver = resolving_to("93.184.216.34")
    tool = make("https://eu.acme.example/tool", transport=recorder, resolver=resolver)
    assert (await tool.run(job.ctx(), {"order": "A-1"})).ok
    assert (await tool.run(job.ctx(), {"order": "A-2"})).ok
    assert resolver.calls == ["eu.acme.example", "eu.acme.example"]  # resolved on every call (DNS rebinding)
    sent = recorder.sent[0]
    assert sent.url.host == "93.184.216.34" and sent.headers["host"] == "eu.acme.example"
    assert sent.extensions["sni_hostname"] == "eu.acme.example"


async def test_an_address_literal_on_a_host_pattern_is_refused(job):
    allow = Allowlist(["169.254.169.254"])  # a pattern does not make the metadata service reachable
    tool = HttpTool(
        "meta", "x", ORDER_SCHEMA, url="https://169.254.169.254/latest", allowlist=allow, transport=Recorder()
    )
    result = await tool.run(job.ctx(), {"order": "A-1"})
    assert not result.ok and "non-public" in result.content


async def test_a_url_prefix_entry_may_name_a_private_endpoint(job):
    recorder = Recorder()
    tool = make("http://127.0.0.1:9/hook", transport=recorder)  # the operator wrote this endpoint down
    assert (await tool.run(job.ctx(), {"order": "A-1"})).ok and recorder.sent


async def test_a_redirect_to_the_metadata_service_is_not_followed(job):
    class Redirecting(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request):
            return httpx.Response(302, headers={"location": "http://169.254.169.254/latest/meta-data/"})

    tool = make("https://eu.acme.example/tool", transport=Redirecting(), resolver=resolving_to("93.184.216.34"))
    result = await tool.run(job.ctx(), {"order": "A-1"})
    assert not result.ok and "redirect" in result.content
