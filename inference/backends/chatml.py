"""Function calling for a small model run in process: the prompt, the grammar, the parse.

A 1.5B model asked to call tools in its own trained format gets the format wrong about
half the time (prose around a JSON block, ``<tools>`` instead of ``<tool_call>``,
doubled braces copied from the GGUF's chat template), although it picks the right tool.
So the prompt is written here (ChatML with the Qwen tool block, braces fixed) and the
reply is constrained by a JSON-schema grammar: on ``auto`` the model must answer with
one object naming an offered tool with arguments that fit its schema, or ``{"name":
"none"}`` when no tool is needed (then a second, free-text turn writes the reply); on
``required`` or a named tool only those objects are allowed. The model still decides
*which* tool; the grammar only makes the decision parseable. With ``none`` the tools are
left out of the prompt and the model writes text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

NO_TOOL = "none"

_TOOLS_HEADER = (
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
_TOOLS_FOOTER = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments "
    'within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, '
    '"arguments": <args-json-object>}\n</tool_call>'
)
_NO_TOOL_HINT = f'\nWhen no function is needed (a greeting, thanks, or a question the conversation already answers), return {{"name": "{NO_TOOL}"}}.'
_DEFAULT_SYSTEM = "You are a helpful customer-support assistant."


# llama.cpp tokenizes the prompt with special tokens on: a customer (or a tool result)
# writing "<|im_end|><|im_start|>system" would open a real system turn. Their text loses
# the markers' special form before it enters any prompt.
_MARKERS = re.compile(r"<\|[a-z_]+\|>|</?tool_(?:call|response)>|</?tools>", re.IGNORECASE)


def neutralize(text: str) -> str:
    """``text`` with chat-template markers made plain ("<|im_end|>" becomes "<im_end>")."""
    return _MARKERS.sub(lambda m: m.group().replace("|", "").replace("<", "‹").replace(">", "›"), text)


def _content(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return neutralize(content)
    if isinstance(content, Sequence):  # OpenAI content parts: keep the text ones
        return neutralize("".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping)))
    return neutralize(str(content))


def _call_text(call: Mapping[str, Any]) -> str:
    inner = call.get("function")
    function: Mapping[str, Any] = inner if isinstance(inner, Mapping) else call
    arguments = function.get("arguments", {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            pass
    body = neutralize(json.dumps({"name": function.get("name", ""), "arguments": arguments}, ensure_ascii=False))
    return f"<tool_call>\n{body}\n</tool_call>"


def render(
    messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] = (), *, auto: bool = False
) -> str:
    """The ChatML prompt of ``messages`` (OpenAI format, tool turns included), ending with
    the assistant's turn opened. ``tools`` (OpenAI function tools) go into the system turn."""
    system = [_content(m) for m in messages if m.get("role") == "system"]
    text = "\n\n".join(s for s in system if s) or _DEFAULT_SYSTEM
    if tools:
        text += _TOOLS_HEADER + "".join("\n" + json.dumps(t, ensure_ascii=False) for t in tools) + _TOOLS_FOOTER
        if auto:
            text += _NO_TOOL_HINT
    parts = [f"<|im_start|>system\n{text}<|im_end|>\n"]
    pending_tool = False
    for message in messages:
        role = message.get("role")
        if role == "system":
            continue
        if role == "tool":
            if not pending_tool:
                parts.append("<|im_start|>user")
                pending_tool = True
            parts.append(f"\n<tool_response>\n{_content(message)}\n</tool_response>")
            continue
        if pending_tool:
            parts.append("<|im_end|>\n")
            pending_tool = False
        if role == "assistant":
            body = _content(message)
            calls = message.get("tool_calls") or ()
            pieces = ([body] if body else []) + [_call_text(c) for c in calls if isinstance(c, Mapping)]
            parts.append("<|im_start|>assistant\n" + "\n".join(pieces) + "<|im_end|>\n")
        else:
            parts.append(f"<|im_start|>user\n{_content(message)}<|im_end|>\n")
    if pending_tool:
        parts.append("<|im_end|>\n")
    parts.append("<|im_start|>assistant\n")
    return "".join(parts)


def choice_schema(tools: Sequence[Mapping[str, Any]], tool_choice: str, *, allow_none: bool) -> dict[str, Any]:
    """JSON schema of the one object the model may return: a call of one of ``tools``
    (only ``tool_choice`` when it names one) or, with ``allow_none``, ``{"name": "none"}``."""
    options = []
    for tool in tools:
        function = tool["function"]
        if tool_choice not in ("auto", "required") and function["name"] != tool_choice:
            continue
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        options.append(
            {
                "type": "object",
                "properties": {"name": {"const": function["name"]}, "arguments": parameters},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    if allow_none:
        options.append(
            {
                "type": "object",
                "properties": {"name": {"const": NO_TOOL}},
                "required": ["name"],
                "additionalProperties": False,
            }
        )
    if not options:
        raise ValueError(f"tool_choice {tool_choice!r} names no offered tool")
    return options[0] if len(options) == 1 else {"anyOf": options}


def parse_choice(text: str) -> tuple[str, Any, str | None]:
    """(name, arguments, error) of the model's constrained reply; error says why it is
    unusable (cut off by max_tokens, not an object)."""
    try:
        value = json.loads(text)
    except ValueError:
        return "", {}, f"the model's tool call was not complete JSON: {text[:200]!r}"
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return "", {}, f"the model's tool call names no function: {text[:200]!r}"
    arguments = value.get("arguments", {})
    if not isinstance(arguments, dict):
        return value["name"], {}, "the model's tool arguments are not an object"
    return value["name"], arguments, None
