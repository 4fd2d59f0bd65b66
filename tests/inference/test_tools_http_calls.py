"""Tests for inference.tools' HttpTool calls against the tenant's system (a real HTTP server
on 127.0.0.1, tools_fakes.TenantSystem): signing, what is sent, and timeouts, oversized,
non-JSON, failing, redirecting or unreachable endpoints.

Run: .venv/bin/python -m pytest tests/inference/test_tools_http_calls.py -q -p no:cacheprovider
"""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest

from inference.tools import BUILTIN_TOOLS, HttpTool, ToolCallRecord, ToolRegistry, sign_request
from tests.inference import tools_fakes
from tests.inference.tools_fakes import ORDER_SCHEMA, OTHER_TENANT, SECRET, TENANT, data, http_tool

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

# the shared fixtures: bound here so that pytest finds them
job = tools_fakes.job
tenant_system = tools_fakes.tenant_system


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
