"""The built-in tools every tenant has: search the knowledge base, hand off to a person, read
the conversation so far. They reach the tenant's data only through the job's ToolContext."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from frontdesk.ai_settings import BUILTIN_NAMES, JsonDict, check_name, make_validator
from inference.tools.base import SchemaTool, ToolContext, ToolResult


class BuiltinTool(SchemaTool):
    def __init__(
        self,
        name: str,
        description: str,
        parameters: JsonDict,
        handler: Callable[[ToolContext, JsonDict], Awaitable[ToolResult]],
    ):
        check_name(name)
        self.name, self.description, self.parameters = name, description, parameters
        self._validator = make_validator(name, parameters)
        self._handler = handler

    async def _run(self, ctx: ToolContext, arguments: JsonDict) -> ToolResult:
        return await self._handler(ctx, arguments)

    def __repr__(self) -> str:
        return f"BuiltinTool({self.name!r})"


async def _search(ctx: ToolContext, args: JsonDict) -> ToolResult:
    if ctx.search is None:
        return ToolResult.failure("the knowledge base is not available for this conversation")
    limit = int(args.get("limit", 3))
    hits = list(await ctx.search(args["query"], limit))[:limit]
    if not hits:
        return ToolResult.success(
            {
                "results": [],
                "note": "nothing in the knowledge base matches; "
                "do not guess, offer to hand the conversation to a person",
            }
        )
    return ToolResult.success({"results": hits})


async def _handoff(ctx: ToolContext, args: JsonDict) -> ToolResult:
    if ctx.request_handoff is None:
        return ToolResult.failure("a handoff is not possible for this conversation")
    await ctx.request_handoff(args["reason"])
    return ToolResult.success(
        {"handed_off": True, "message": "a person from the team will take over this conversation"}
    )


async def _history(ctx: ToolContext, args: JsonDict) -> ToolResult:
    if ctx.history is None:
        return ToolResult.failure("the conversation's history is not available")
    limit = int(args.get("limit", 10))
    messages = list(await ctx.history(limit))[-limit:]
    return ToolResult.success({"messages": messages})


SEARCH_KNOWLEDGE_BASE = BuiltinTool(
    "search_knowledge_base",
    "Search this business's knowledge base (FAQ and documents) for passages that answer the "
    "customer's question. Answer only from what it returns.",
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["query"],
        "properties": {
            "query": {
                "type": "string",
                "minLength": 1,
                "maxLength": 500,
                "description": "what to look for, in the customer's words",
            },
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": 10,
                "default": 3,
                "description": "how many passages to return",
            },
        },
    },
    _search,
)

HANDOFF_TO_HUMAN = BuiltinTool(
    "handoff_to_human",
    "Hand the conversation to a person from the team: when the customer asks for one, when "
    "the knowledge base does not answer the question, or when the request needs a person.",
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {
            "reason": {
                "type": "string",
                "minLength": 1,
                "maxLength": 500,
                "description": "why a person is needed, in one sentence",
            }
        },
    },
    _handoff,
)

CONVERSATION_HISTORY = BuiltinTool(
    "conversation_history",
    "Read the earlier messages of this conversation, oldest first.",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": 50,
                "default": 10,
                "description": "how many of the latest messages to return",
            }
        },
    },
    _history,
)

BUILTIN_TOOLS: tuple[BuiltinTool, ...] = (SEARCH_KNOWLEDGE_BASE, HANDOFF_TO_HUMAN, CONVERSATION_HISTORY)
assert frozenset(t.name for t in BUILTIN_TOOLS) == BUILTIN_NAMES, "frontdesk/ai_settings.py names the built-ins"


def hit_to_dict(hit: Any) -> JsonDict:
    """A knowledge-base Hit as the search tool returns it to the model."""
    out = {"id": hit.entry_id, "title": hit.title, "text": hit.text, "score": round(float(hit.score), 3)}
    if getattr(hit, "url", ""):
        out["url"] = hit.url
    return out
