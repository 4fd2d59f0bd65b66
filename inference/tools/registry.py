"""The tools one job may use, and every call to one: arguments parsed and checked, run within
a time limit, logged and recorded for the admin (ToolCallRecord), never raising."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from frontdesk.ai_settings import JsonDict, check_name
from inference.tools.base import (
    DEFAULT_CALL_TIMEOUT_S,
    MAX_ARGUMENT_BYTES,
    PREVIEW_CHARS,
    RECORD_ARGUMENT_CHARS,
    Tool,
    ToolContext,
    ToolResult,
    dumps,
    log,
    reject_constant,
    split_reserved,
)
from inference.tools.builtin import BUILTIN_TOOLS


@dataclass(frozen=True)
class ToolCallRecord:
    """One call, as the admin sees it. Holds no secret and only a preview of the result."""

    call_id: str
    tool: str
    tenant_id: str
    conversation_id: str
    job_id: str
    arguments: str  # JSON text of the arguments the tool got (or the raw text), cut
    ok: bool
    error: str
    duration_ms: float
    started_at: float  # unix seconds
    result_bytes: int
    result_preview: str
    ignored_arguments: tuple[str, ...] = ()
    result: ToolResult | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> JsonDict:
        return {
            k: getattr(self, k)
            for k in (
                "call_id",
                "tool",
                "tenant_id",
                "conversation_id",
                "job_id",
                "arguments",
                "ok",
                "error",
                "duration_ms",
                "started_at",
                "result_bytes",
                "result_preview",
            )
        } | {"ignored_arguments": list(self.ignored_arguments)}


class ToolRegistry:
    """The tools one job may use: the built-ins plus the tenant's HTTP tools, filtered by the
    tenant's `enabled` set (None = all). Build one per job (or per tenant configuration)."""

    def __init__(
        self,
        builtins: Iterable[Tool] = BUILTIN_TOOLS,
        tenant_tools: Iterable[Tool] = (),
        enabled: set[str] | frozenset[str] | None = None,
        *,
        on_call: Callable[[ToolCallRecord], Any] | None = None,
        call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S,
    ):
        self._tools: dict[str, Tool] = {}
        for tool in [*builtins, *tenant_tools]:
            check_name(tool.name)
            if tool.name in self._tools:
                raise ValueError(f"two tools are named {tool.name!r}")
            if enabled is None or tool.name in enabled:
                self._tools[tool.name] = tool
        self.on_call = on_call
        self.call_timeout_s = call_timeout_s

    def names(self) -> list[str]:
        return list(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def specs(self) -> list[JsonDict]:
        """OpenAI-style `tools` for a chat completion request."""
        return [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in self._tools.values()
        ]

    async def call(self, ctx: ToolContext, name: str, raw_arguments: str | dict | None) -> ToolResult:
        return (await self.invoke(ctx, name, raw_arguments)).result  # type: ignore[return-value]

    async def invoke(self, ctx: ToolContext, name: Any, raw_arguments: Any, call_id: str = "") -> ToolCallRecord:
        """Run one call and return its record (the result is `record.result`). Never raises."""
        started_at, started = time.time(), time.monotonic()
        shown_name = name if isinstance(name, str) else ""
        arguments_text = raw_arguments if isinstance(raw_arguments, str) else safe_dumps(raw_arguments)
        ignored: tuple[str, ...] = ()
        tool = self._tools.get(name) if isinstance(name, str) else None
        arguments, problem = parse_arguments(raw_arguments)
        if tool is None:
            listed = ", ".join(self._tools) or "none"
            result = ToolResult.failure(f"there is no tool named {shown_name[:64]!r}; the tools are: {listed}")
        elif problem:
            result = ToolResult.failure(f"{problem}; call {tool.name} again with a JSON object matching its parameters")
        else:
            arguments, ignored = split_reserved(arguments)
            arguments_text = safe_dumps(arguments)
            result = await self._run(ctx, tool, arguments)
        return await self._finish(ctx, call_id, shown_name, arguments_text, ignored, result, started_at, started)

    async def reject(
        self, ctx: ToolContext, name: Any, raw_arguments: Any, message: str, call_id: str = ""
    ) -> ToolCallRecord:
        """Record a call that is not run (the loop's per-turn cap) with an error result."""
        arguments_text = raw_arguments if isinstance(raw_arguments, str) else safe_dumps(raw_arguments)
        return await self._finish(
            ctx,
            call_id,
            name if isinstance(name, str) else "",
            arguments_text,
            (),
            ToolResult.failure(message),
            time.time(),
            time.monotonic(),
        )

    async def _run(self, ctx: ToolContext, tool: Tool, arguments: JsonDict) -> ToolResult:
        try:
            result = await asyncio.wait_for(tool.run(ctx, arguments), self.call_timeout_s)
        except TimeoutError:
            return ToolResult.failure(f"the tool {tool.name} timed out")
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - a third-party Tool that raises still yields a result
            log.error(
                "tool.failed",
                tenant=ctx.tenant_id,
                conversation=ctx.conversation_id,
                tool=tool.name,
                error_type=type(err).__name__,
            )
            return ToolResult.failure(f"the tool {tool.name} failed unexpectedly")
        if not isinstance(result, ToolResult):
            return ToolResult.failure(f"the tool {tool.name} failed unexpectedly")
        return result

    async def _finish(
        self,
        ctx: ToolContext,
        call_id: str,
        name: str,
        arguments_text: str,
        ignored: tuple[str, ...],
        result: ToolResult,
        started_at: float,
        started: float,
    ) -> ToolCallRecord:
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        record = ToolCallRecord(
            call_id=call_id,
            tool=name[:64],
            tenant_id=ctx.tenant_id,
            conversation_id=ctx.conversation_id,
            job_id=ctx.job_id,
            arguments=arguments_text[:RECORD_ARGUMENT_CHARS],
            ok=result.ok,
            error=result.error,
            duration_ms=duration_ms,
            started_at=started_at,
            result_bytes=len(result.content.encode()),
            result_preview=result.content[:PREVIEW_CHARS],
            ignored_arguments=ignored,
            result=result,
        )
        fields: JsonDict = dict(
            tenant=ctx.tenant_id,
            conversation=ctx.conversation_id,
            job=ctx.job_id,
            tool=record.tool,
            ok=result.ok,
            duration_ms=duration_ms,
            error=result.error,
        )
        if ignored:
            fields["ignored_arguments"] = list(ignored)
        (log.info if result.ok else log.warning)("tool.called", **fields)
        if self.on_call is not None:
            try:
                outcome = self.on_call(record)
                if inspect.isawaitable(outcome):
                    await outcome
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - the admin record must not break the answer
                log.error("tool.record_failed", tenant=ctx.tenant_id, tool=record.tool, error_type=type(err).__name__)
        return record


def safe_dumps(value: Any) -> str:
    try:
        return dumps(value)
    except (TypeError, ValueError, RecursionError):
        return repr(value)[:RECORD_ARGUMENT_CHARS]


def parse_arguments(raw: Any) -> tuple[JsonDict, str]:
    """(arguments, '') or ({}, why they cannot be used)."""
    if raw is None:
        return {}, ""
    if isinstance(raw, str):
        if len(raw.encode()) > MAX_ARGUMENT_BYTES:
            return {}, f"the arguments are longer than {MAX_ARGUMENT_BYTES} bytes"
        if not raw.strip():
            return {}, ""
        try:
            raw = json.loads(raw, parse_constant=reject_constant)
        except (ValueError, RecursionError) as err:
            reason = f" ({err.msg} at position {err.pos})" if isinstance(err, json.JSONDecodeError) else ""
            return {}, f"the arguments are not valid JSON{reason}"
    if not isinstance(raw, dict):
        return {}, f"the arguments must be a JSON object, not {_json_type(raw)}"
    return raw, ""


def _json_type(value: Any) -> str:
    return {
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)
