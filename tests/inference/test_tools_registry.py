"""Tests for inference.tools' ToolRegistry: the specs it offers the model, bad names and
arguments turned into error results, and the record and log line of every call.

Run: .venv/bin/python -m pytest tests/inference/test_tools_registry.py -q -p no:cacheprovider
"""

from __future__ import annotations

import json
import logging

import pytest

from inference.tools import BUILTIN_TOOLS, ToolCallRecord, ToolRegistry
from tests.inference import tools_fakes
from tests.inference.tools_fakes import TENANT, FakeJob

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

job = tools_fakes.job  # the shared fixtures: bound here so that pytest finds them


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
