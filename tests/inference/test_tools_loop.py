"""Tests for inference.tools' bounded tool loop (run_tool_loop) with a scripted model: answers,
round and call limits, malformed or garbage tool calls, handoffs and tenant HTTP tools.

Run: .venv/bin/python -m pytest tests/inference/test_tools_loop.py -q -p no:cacheprovider
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from inference.tools import BUILTIN_TOOLS, LoopResult, ToolCallRecord, ToolRegistry, run_tool_loop
from tests.inference import tools_fakes
from tests.inference.tools_fakes import OTHER_TENANT, TENANT, http_tool

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

# the shared fixtures: bound here so that pytest finds them
job = tools_fakes.job
tenant_system = tools_fakes.tenant_system


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
