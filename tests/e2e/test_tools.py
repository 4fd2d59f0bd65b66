"""Function calling end to end: the whole mesh as real processes, real NATS, the embedded
stores, a REAL tenant tool endpoint (a local aiohttp server that verifies the request's
HMAC signature) and a REAL model: llama.cpp's OpenAI-compatible server with the bundled
SmolLM2-135M. The tiny model calls a tool reliably only when forced, so the tenant's
settings force its first turn to call `order_status` (tool_choice); the loop's last turn
offers no tools, so the reply ends in text, which the fact check then accepts or turns
into a handoff. Nothing here is scripted or faked (the capable model's own choice of
tool: tests/e2e/test_capable_model.py).

Also: the admin's tool RPCs (validation, write-only signing secret stored sealed, the
per-tenant list), the admin's record of every call (AdminService.ListToolCalls) and the
ToolCalled domain event on NATS."""

from __future__ import annotations

import hashlib
import hmac
import json

import grpc
import nats
import pytest
from aiohttp import web

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.events.v1 import events_pb2
from inference.factcheck import Sources, unsupported
from tests.conftest import PLATFORM_TOKEN, service_port, start_mesh
from tests.e2e.helpers import Client, bearer, create_tenant
from tests.e2e.test_grounded_answers import ask_until_settled
from tests.inference.test_openai_compat import API_KEY, server  # noqa: F401 - the real model server fixture

SIGNING_SECRET = "hook-signing-secret-0123456789"
ORDER_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["order_number"],
    "properties": {"order_number": {"type": "string", "description": "the order number, like A-17"}},
}


class ToolEndpoint:
    """The tenant's own system: answers order lookups, refuses unsigned or forged requests."""

    def __init__(self):
        self.requests: list[dict] = []
        self.port = service_port()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers.get("X-Frontdesk-Timestamp", "")
        expected = (
            "sha256=" + hmac.new(SIGNING_SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        )
        signed = hmac.compare_digest(request.headers.get("X-Frontdesk-Signature", ""), expected)
        self.requests.append(
            {"signed": signed, "tenant": request.headers.get("X-Frontdesk-Tenant"), "body": json.loads(body)}
        )
        if not signed:
            return web.json_response({"error": "bad signature"}, status=401)
        return web.json_response({"order": "A-17", "status": "shipped", "arrives": "Friday"})

    async def __aenter__(self):
        app = web.Application()
        app.router.add_post("/hooks/orders", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc):
        await self.runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/orders"


async def test_the_model_calls_a_tenant_tool_and_the_admin_sees_the_call(server, tmp_path):  # noqa: F811
    async with ToolEndpoint() as endpoint:
        mesh = start_mesh(
            tmp_path / "data",
            backend="echo",
            tool_max_rounds=2,
            tool_url_allowlist=f"http://127.0.0.1:{endpoint.port}/hooks/",
            model_url_allowlist=f"http://127.0.0.1:{server.port}/",
        )
        try:
            async with mesh.channel() as ch:
                c = Client(ch)
                acme = await create_tenant(c, PLATFORM_TOKEN, "acme-tools")
                md_admin = bearer(acme.api_key)
                tool = admin_pb2.HttpTool(
                    name="order_status",
                    description="Look up the delivery status of an order",
                    parameters_schema=json.dumps(ORDER_SCHEMA),
                    url=endpoint.url,
                    method="POST",
                    timeout_ms=5000,
                )

                # validation: each bad definition is refused with a reason
                bad_cases = [
                    (dict(name="Order-Status"), "must match"),
                    (dict(url="http://127.0.0.1:9/elsewhere"), "allowlist"),
                    (dict(parameters_schema='{"type": "string"}'), "object"),
                    (
                        dict(parameters_schema='{"type": "object", "properties": {"q": {"type": "nope"}}}'),
                        "JSON Schema",
                    ),
                    (dict(parameters_schema="{not json"), "not valid JSON"),
                    (dict(method="DELETE"), "GET or POST"),
                    (dict(timeout_ms=60_000), "timeout"),
                    (dict(name="search_knowledge_base"), "built-in"),
                    (
                        dict(
                            parameters_schema=json.dumps(
                                {"type": "object", "properties": {"tenant_id": {"type": "string"}}}
                            )
                        ),
                        "tenant_id",
                    ),
                ]
                for change, why in bad_cases:
                    bad = admin_pb2.HttpTool()
                    bad.CopyFrom(tool)
                    for k, v in change.items():
                        setattr(bad, k, v)
                    with pytest.raises(grpc.aio.AioRpcError) as err:
                        await c.admin.CreateTool(admin_pb2.CreateToolRequest(tool=bad), metadata=md_admin)
                    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, change
                    assert why in err.value.details(), (change, err.value.details())

                created = await c.admin.CreateTool(
                    admin_pb2.CreateToolRequest(tool=tool, signing_secret=SIGNING_SECRET), metadata=md_admin
                )
                assert created.has_secret and created.name == "order_status"
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.admin.CreateTool(admin_pb2.CreateToolRequest(tool=tool), metadata=md_admin)
                assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
                listed = await c.admin.ListTools(admin_pb2.ListToolsRequest(), metadata=md_admin)
                assert [t.name for t in listed.tools] == ["order_status"] and SIGNING_SECRET not in str(listed)
                stored = b"".join(p.read_bytes() for p in mesh.data_dir.glob("accounts.db*"))
                assert SIGNING_SECRET.encode() not in stored, "the signing secret is stored sealed"

                with pytest.raises(grpc.aio.AioRpcError) as err:  # enabling a tool that does not exist
                    await c.admin.UpdateAiSettings(
                        admin_pb2.UpdateAiSettingsRequest(
                            settings=admin_pb2.AiSettings(enabled_tools=["order_status", "launch_rockets"])
                        ),
                        metadata=md_admin,
                    )
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "launch_rockets" in err.value.details()
                await c.admin.UpdateAiSettings(
                    admin_pb2.UpdateAiSettingsRequest(
                        settings=admin_pb2.AiSettings(
                            backend="openai",
                            model="smollm2",
                            base_url=server.base_url,
                            max_tokens=48,
                            temperature=0.0,
                            enabled_tools=["order_status", "search_knowledge_base", "handoff_to_human"],
                            tool_choice="order_status",
                        ),
                        api_key=API_KEY,
                    ),
                    metadata=md_admin,
                )

                # the ToolCalled domain event, as analytics receives it
                nc = await nats.connect(f"nats://127.0.0.1:{mesh.ports['nats']}")
                events: list[events_pb2.DomainEvent] = []

                async def on_event(msg):
                    events.append(events_pb2.DomainEvent.FromString(msg.data))

                sub = await nc.subscribe(f"frontdesk.{acme.tenant.id}.events.tool_called", cb=on_event)
                try:
                    _, md = await c.visitor(acme.tenant.widget_key)
                    conv = await c.start(md)
                    kind, reply = await ask_until_settled(c, md, conv, "Where is my order A-17?", timeout=180)
                    # the tiny model's text after the tool turn goes through the fact check: an
                    # answer holds only facts from the tool's result or the question, and one
                    # that invents (SmolLM2 lists made-up products) is replaced by a handoff
                    if kind == "answer":
                        assert reply.author_id == "smollm2" and reply.text.strip()
                        sources = Sources(
                            ["Where is my order A-17?", '{"order": "A-17", "status": "shipped", "arrives": "Friday"}']
                        )
                        assert unsupported(reply.text, sources) == [], reply.text
                    else:
                        assert reply.reason == "low_confidence", reply
                    await nc.flush()
                finally:
                    await sub.unsubscribe()
                    await nc.close()

                # the tenant's endpoint got one signed call, for this tenant, with no tenant among the arguments
                assert len(endpoint.requests) == 1, endpoint.requests
                call = endpoint.requests[0]
                assert call["signed"] and call["tenant"] == acme.tenant.id
                assert call["body"]["conversation_id"] == conv and set(call["body"]["arguments"]) == {"order_number"}

                # the admin's record of the call
                record = await c.admin.ListToolCalls(
                    admin_pb2.ListToolCallsRequest(conversation_id=conv), metadata=md_admin
                )
                assert [(r.tool, r.ok) for r in record.calls] == [("order_status", True)]
                assert "shipped" in record.calls[0].result_preview and record.calls[0].job_id
                assert json.loads(record.calls[0].arguments) == call["body"]["arguments"]
                assert [(e.tool_called.tool, e.tool_called.ok, e.conversation_id) for e in events] == [
                    ("order_status", True, conv)
                ]

                # another tenant cannot read them: the conversation is simply not found
                other = await create_tenant(c, PLATFORM_TOKEN, "other-tools")
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.admin.ListToolCalls(
                        admin_pb2.ListToolCallsRequest(conversation_id=conv), metadata=bearer(other.api_key)
                    )
                assert err.value.code() == grpc.StatusCode.NOT_FOUND
                assert (
                    await c.admin.ListTools(admin_pb2.ListToolsRequest(), metadata=bearer(other.api_key))
                ).tools == []

                # deleting the tool takes it out of the tenant's settings too
                await c.admin.DeleteTool(admin_pb2.DeleteToolRequest(name="order_status"), metadata=md_admin)
                settings = await c.admin.GetAiSettings(admin_pb2.GetAiSettingsRequest(), metadata=md_admin)
                assert "order_status" not in settings.enabled_tools and settings.tool_choice == ""
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.admin.DeleteTool(admin_pb2.DeleteToolRequest(name="order_status"), metadata=md_admin)
                assert err.value.code() == grpc.StatusCode.NOT_FOUND
        finally:
            mesh.stop()
