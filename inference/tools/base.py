"""What every tool shares: the result a model reads, the job context a call runs in, the
tool protocol, and the schema check every tool runs before its own code."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import referencing.exceptions
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from frontdesk import logs
from frontdesk.ai_settings import JsonDict, is_reserved

log = logs.get("inference.tools")

MAX_ARGUMENT_BYTES = 16 * 1024
DEFAULT_CALL_TIMEOUT_S = 15.0  # ceiling on any one call, built-ins included
MAX_CALLS_PER_ROUND = 5  # tool calls run from one model turn; the rest get an error result
PREVIEW_CHARS = 500  # how much of a result the admin record keeps
RECORD_ARGUMENT_CHARS = 2000
USER_AGENT = "frontdesk-tools/1"


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def reject_constant(name: str) -> Any:
    """json.loads' parse_constant: NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    content: str  # JSON text the model reads
    error: str = ""  # for people and logs; also inside `content` as {"error": ...}

    @classmethod
    def success(cls, data: Any) -> ToolResult:
        return cls(True, dumps(data))

    @classmethod
    def failure(cls, message: str, **extra: Any) -> ToolResult:
        return cls(False, dumps({"error": message, **extra}), message)


@dataclass(frozen=True)
class ToolContext:
    """Who a call is for. Built by the worker from the job (the tenant comes from the job's
    subject, checked against the job), never from model output. The callables are bound to
    this tenant and conversation: search(query, limit) -> [dict], history(limit) -> [dict],
    request_handoff(reason) -> None; each is async."""

    tenant_id: str
    conversation_id: str
    job_id: str
    search: Callable[[str, int], Awaitable[list[dict]]] | None = field(default=None, repr=False)
    history: Callable[[int], Awaitable[list[dict]]] | None = field(default=None, repr=False)
    request_handoff: Callable[[str], Awaitable[None]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.tenant_id:
            raise ValueError("a tool context needs the job's tenant id")


@runtime_checkable
class Tool(Protocol):
    name: str
    description: str
    parameters: JsonDict

    async def run(self, ctx: ToolContext, arguments: JsonDict) -> ToolResult: ...


def split_reserved(arguments: Mapping[str, Any]) -> tuple[JsonDict, tuple[str, ...]]:
    kept = {k: v for k, v in arguments.items() if not is_reserved(k)}
    dropped = tuple(sorted(k for k in arguments if is_reserved(k)))
    return kept, dropped


def argument_error(tool: str, validator: Draft202012Validator, arguments: JsonDict) -> str:
    """'' when the arguments fit the schema, else a message the model can act on."""
    try:
        error = best_match(validator.iter_errors(arguments))
    except (referencing.exceptions.Unresolvable, RecursionError, re.error):
        return f"the arguments for {tool} could not be checked against its parameters"
    if error is None:
        return ""
    where = "/".join(str(p) for p in error.absolute_path)
    where = f" at '{where}'" if where else ""
    return f"invalid arguments for {tool}{where}: {error.message}"[:400]


class SchemaTool:
    """Shared by built-in and HTTP tools: drop reserved arguments, validate, then run."""

    name: str
    description: str
    parameters: JsonDict
    _validator: Draft202012Validator

    async def run(self, ctx: ToolContext, arguments: JsonDict) -> ToolResult:
        try:
            if not isinstance(arguments, dict):
                return ToolResult.failure(f"the arguments for {self.name} must be a JSON object")
            arguments, _ = split_reserved(arguments)
            problem = argument_error(self.name, self._validator, arguments)
            if problem:
                return ToolResult.failure(problem)
            return await self._run(ctx, arguments)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - a tool never raises; the log says what broke
            log.error(
                "tool.failed",
                tenant=ctx.tenant_id,
                conversation=ctx.conversation_id,
                tool=self.name,
                error_type=type(err).__name__,
            )
            return ToolResult.failure(f"the tool {self.name} failed unexpectedly")

    async def _run(self, ctx: ToolContext, arguments: JsonDict) -> ToolResult:  # pragma: no cover
        raise NotImplementedError
