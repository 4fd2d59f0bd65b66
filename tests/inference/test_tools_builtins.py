"""Tests for inference.tools' built-in tools: search_knowledge_base, handoff_to_human and
conversation_history, run against FakeJob (tools_fakes.py), and what they take from the
job's context rather than from the model's arguments.

Run: .venv/bin/python -m pytest tests/inference/test_tools_builtins.py -q -p no:cacheprovider
"""

from __future__ import annotations

import asyncio
import logging
import time
from types import SimpleNamespace

import pytest

from inference.tools import ToolCallRecord, ToolContext, ToolRegistry, hit_to_dict
from tests.inference import tools_fakes
from tests.inference.tools_fakes import OTHER_TENANT, TENANT, FakeJob, data

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

job = tools_fakes.job  # the shared fixtures: bound here so that pytest finds them


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
