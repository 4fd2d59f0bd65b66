"""The OpenAI chat-completions wire format, as every OpenAI-compatible server speaks it: tools
and tool choice as the API wants them, our turns and tool calls as its messages, and what a
failed call's error body says."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from .base import BackendError, ToolCall

TOOL_CHOICE_KEYWORDS = frozenset({"auto", "none", "required"})
MAX_ERROR_TEXT = 500


def normalize_tools(tools: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """OpenAI ``tools`` list from function schemas (wrapped or bare)."""
    result: list[dict[str, Any]] = []
    for tool in tools or ():
        if not isinstance(tool, Mapping):
            raise BackendError(f"a tool must be a dict (OpenAI function schema), got {type(tool).__name__}")
        if tool.get("type") == "function" and isinstance(tool.get("function"), Mapping):
            function = dict(tool["function"])
        elif "name" in tool:
            function = dict(tool)
        else:
            raise BackendError(f"a tool needs a function name: {dict(tool)!r:.200}")
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise BackendError(f"a tool needs a non-empty function name: {dict(tool)!r:.200}")
        function.setdefault("parameters", {"type": "object", "properties": {}})
        result.append({"type": "function", "function": function})
    return result


def normalize_tool_choice(tool_choice: str | Mapping[str, Any] | None, tool_names: Sequence[str]) -> Any:
    """``"auto" | "none" | "required"``, a tool name (forced) or an OpenAI dict."""
    if tool_choice is None:
        return "auto"
    if isinstance(tool_choice, Mapping):
        return dict(tool_choice)
    if isinstance(tool_choice, str):
        if tool_choice in TOOL_CHOICE_KEYWORDS:
            return tool_choice
        if tool_choice in tool_names:
            return {"type": "function", "function": {"name": tool_choice}}
        raise BackendError(
            f"tool_choice {tool_choice!r} is neither auto/none/required nor one of the tools {list(tool_names)}"
        )
    raise BackendError(f"invalid tool_choice {tool_choice!r}")


def parse_tool_call(
    call_id: str | None, name: str | None, arguments: Any, known_names: Iterable[str] | None = None
) -> ToolCall:
    """Build a :class:`ToolCall` from what the server sent; never raises."""
    call_id = call_id or ""
    name = (name or "").strip()
    error: str | None = None
    parsed: dict[str, Any] = {}
    if isinstance(arguments, Mapping):  # some servers send an object instead of a string
        parsed = dict(arguments)
        raw = json.dumps(parsed, ensure_ascii=False)
    else:
        raw = arguments if isinstance(arguments, str) else ("" if arguments is None else str(arguments))
        if raw.strip():
            try:
                value = json.loads(raw)
            except (ValueError, RecursionError) as exc:
                error = f"arguments are not valid JSON ({exc})"
            else:
                if isinstance(value, dict):
                    parsed = value
                else:
                    error = f"arguments must be a JSON object, got {type(value).__name__}"
        # an empty string means "no arguments": {} is right for a function without parameters
    if not name:
        error = "tool call without a function name"
    elif known_names is not None:
        known = list(known_names)
        if name not in known:
            error = f"unknown tool {name!r}; offered: {known}"
    return ToolCall(id=call_id, name=name, arguments=parsed, raw_arguments=raw, error=error)


def turn_to_message(turn: Any) -> dict[str, Any]:
    """OpenAI chat message of a :class:`ChatTurn` (or a turn with the tool-loop fields)."""
    message: dict[str, Any] = {"role": turn.role, "content": turn.content}
    if turn.role == "tool":
        message["tool_call_id"] = getattr(turn, "tool_call_id", "") or ""
        return message
    calls = getattr(turn, "tool_calls", None) or ()
    if calls:
        message["tool_calls"] = [tool_call_to_openai(call) for call in calls]
    return message


def wire_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """A copy safe for every server: ``content: null`` (an assistant turn that only called
    tools) becomes ``""``; llama-cpp-python's server rejects null with a 500."""
    wire = dict(message)
    if "content" in wire and wire["content"] is None:
        wire["content"] = ""
    return wire


def tool_call_to_openai(call: ToolCall) -> dict[str, Any]:
    """The OpenAI ``tool_calls`` item of a :class:`ToolCall` (arguments as the model wrote them)."""
    return {
        "id": call.id,
        "type": "function",
        "function": {
            "name": call.name,
            "arguments": call.raw_arguments or json.dumps(call.arguments, ensure_ascii=False),
        },
    }


def server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    text: Any = None
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping):
            text = inner.get("message")
        elif isinstance(inner, str):
            text = inner
        text = text or body.get("message") or body.get("detail")
    elif isinstance(body, str):
        text = body
    if not text:
        text = getattr(exc, "message", None) or str(exc)
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 3] + "..."


def body_status(exc: Any) -> int | None:
    """Status code carried inside an in-stream error event (vLLM sends ``code: 400``)."""
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        inner: Mapping[str, Any] = body["error"] if isinstance(body.get("error"), Mapping) else body
        for key in ("code", "status", "status_code"):
            value = inner.get(key)
            if isinstance(value, int):
                return value
            if isinstance(value, str) and value.isdigit():
                return int(value)
    return None


#: Transport errors of a connection that was already open (httpx/httpx2 class names):
#: what a pooled keep-alive connection that the server has closed meanwhile raises.
#: A refused or timed-out *connect* (ConnectError, ConnectTimeout) is not among them,
#: so a server that is down still fails at once.
STALE_CONNECTION_ERRORS = frozenset({"RemoteProtocolError", "ReadError", "WriteError"})


def is_stale_connection(exc: BaseException) -> bool:
    """The request died on an already-open connection (closed or reset by the server)."""
    cause = exc.__cause__ or exc.__context__
    return type(cause).__name__ in STALE_CONNECTION_ERRORS


async def prepend(first: Any, rest: Any) -> AsyncIterator[Any]:
    """``first`` (unless ``None``) and then what is left of the stream ``rest``."""
    if first is not None:
        yield first
    async for item in rest:
        yield item
