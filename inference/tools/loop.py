"""The bounded tool loop: the model calls tools for a few rounds, then answers, hands off, or
is stopped."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from frontdesk.ai_settings import JsonDict
from inference.tools.base import MAX_ARGUMENT_BYTES, MAX_CALLS_PER_ROUND, ToolContext, log
from inference.tools.builtin import HANDOFF_TO_HUMAN
from inference.tools.registry import ToolCallRecord, ToolRegistry, safe_dumps

# complete(messages, tools) -> (text, tool_calls): one model turn. tool_calls is a list of
# OpenAI-style {"id", "type": "function", "function": {"name", "arguments": "<JSON text>"}}
# (a flat {"id", "name", "arguments"} dict, or an object with id / name / raw_arguments or
# arguments attributes, is accepted too); [] or None when the model answered.
Complete = Callable[[list[JsonDict], list[JsonDict]], Awaitable[tuple[str | None, Any]]]

ANSWERED, MAX_ROUNDS, HANDOFF, EMPTY = "answered", "max_rounds", "handoff", "empty"


@dataclass
class LoopResult:
    text: str  # the model's answer; "" unless stopped_reason == "answered"
    calls: list[ToolCallRecord]
    rounds: int  # model turns taken
    stopped_reason: str  # answered | max_rounds | handoff | empty
    messages: list[JsonDict] = field(default_factory=list, repr=False)  # the transcript, tool turns included

    @property
    def needs_handoff(self) -> bool:
        """The caller must still hand the conversation to a person (max_rounds or empty). After
        "handoff" the handoff_to_human tool has already asked for one through the context."""
        return self.stopped_reason in (MAX_ROUNDS, EMPTY)


@dataclass(frozen=True)
class _Call:
    id: str
    name: str
    arguments: Any  # as the model gave it: JSON text, a dict, or garbage
    arguments_text: str  # what goes back into the transcript


def _normalize_calls(tool_calls: Any, round_no: int) -> list[_Call]:
    """Whatever the model emitted, as a list of calls with unique ids (a call that cannot be
    read becomes one with an empty name, which the registry answers with an error)."""
    if not tool_calls:
        return []
    items = tool_calls if isinstance(tool_calls, (list, tuple)) else [tool_calls]
    calls: list[_Call] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict) and isinstance(getattr(item, "name", None), str):
            # a backend's ToolCall object (id, name, raw_arguments / arguments): the raw text is
            # preferred, so JSON the backend could not parse still gets the registry's error
            item = {
                "id": getattr(item, "id", None),
                "name": item.name,
                "arguments": getattr(item, "raw_arguments", None) or getattr(item, "arguments", None),
            }
        fn = item.get("function") if isinstance(item, dict) else None
        source = fn if isinstance(fn, dict) else item if isinstance(item, dict) else {}
        name = source.get("name")
        arguments = source.get("arguments")
        call_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(call_id, str) or not call_id or call_id in seen or len(call_id) > 128:
            call_id = f"call_{round_no}_{i}"
        seen.add(call_id)
        text = arguments if isinstance(arguments, str) else "" if arguments is None else safe_dumps(arguments)
        calls.append(_Call(call_id, name if isinstance(name, str) else "", arguments, text[:MAX_ARGUMENT_BYTES]))
    return calls


async def run_tool_loop(
    complete: Complete,
    registry: ToolRegistry,
    ctx: ToolContext,
    messages: Sequence[JsonDict],
    max_rounds: int = 3,
    max_calls_per_round: int = MAX_CALLS_PER_ROUND,
) -> LoopResult:
    """Let the model call tools until it answers with text, at most `max_rounds` model turns.

    Each turn that asks for tools appends the assistant's tool calls and one `tool` message
    per call (OpenAI format) and asks again. A call that cannot be run (unknown tool, bad
    JSON, invalid arguments, a failing endpoint) gets an error result the model reads on its
    next turn. Tool calls asked for on the last turn are not run (nothing would read them).
    Stops with stopped_reason:
      answered    the model answered with text
      handoff     handoff_to_human succeeded: a person takes over, text is ""
      max_rounds  still calling tools after max_rounds turns: text is "", hand off
      empty       the model returned neither text nor tool calls: text is "", hand off
    Exceptions from `complete` (the model backend) propagate: the job's retry handles them.
    `messages` is not modified."""
    if max_rounds < 1:
        raise ValueError("max_rounds must be at least 1")
    transcript: list[JsonDict] = [dict(m) for m in messages]
    specs = registry.specs()
    records: list[ToolCallRecord] = []
    for round_no in range(1, max_rounds + 1):
        text, tool_calls = await complete(list(transcript), specs)
        text = text if isinstance(text, str) else ""
        calls = _normalize_calls(tool_calls, round_no)
        if not calls:
            if text.strip():
                return LoopResult(text.strip(), records, round_no, ANSWERED, transcript)
            log.warning(
                "tool.loop_stopped",
                tenant=ctx.tenant_id,
                conversation=ctx.conversation_id,
                job=ctx.job_id,
                reason=EMPTY,
                rounds=round_no,
            )
            return LoopResult("", records, round_no, EMPTY, transcript)
        if round_no == max_rounds:
            log.warning(
                "tool.loop_stopped",
                tenant=ctx.tenant_id,
                conversation=ctx.conversation_id,
                job=ctx.job_id,
                reason=MAX_ROUNDS,
                rounds=round_no,
                unrun_calls=len(calls),
            )
            return LoopResult("", records, round_no, MAX_ROUNDS, transcript)
        transcript.append(
            {
                "role": "assistant",
                "content": text or None,
                "tool_calls": [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_text}}
                    for c in calls
                ],
            }
        )
        handed_off = False
        for index, call in enumerate(calls):
            if index >= max_calls_per_round:
                record = await registry.reject(
                    ctx,
                    call.name,
                    call.arguments,
                    call_id=call.id,
                    message=f"not run: at most {max_calls_per_round} tool calls per turn",
                )
            elif handed_off and call.name == HANDOFF_TO_HUMAN.name:
                record = await registry.reject(
                    ctx,
                    call.name,
                    call.arguments,
                    call_id=call.id,
                    message="not run: the conversation is already being handed off",
                )
            else:
                record = await registry.invoke(ctx, call.name, call.arguments, call_id=call.id)
            records.append(record)
            handed_off = handed_off or (record.ok and call.name == HANDOFF_TO_HUMAN.name)
            content = record.result.content if record.result is not None else record.error
            transcript.append({"role": "tool", "tool_call_id": call.id, "content": content})
        if handed_off:
            log.info(
                "tool.loop_stopped",
                tenant=ctx.tenant_id,
                conversation=ctx.conversation_id,
                job=ctx.job_id,
                reason=HANDOFF,
                rounds=round_no,
            )
            return LoopResult("", records, round_no, HANDOFF, transcript)
    raise AssertionError("unreachable")  # pragma: no cover
