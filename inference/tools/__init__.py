"""Function calling: the tools the AI may call while answering a customer, and the bounded
loop that lets it call them.

Where each part lives: base.py (results, context, the tool protocol), builtin.py (the
built-ins), http.py (tenant HTTP tools, SSRF-safe), registry.py (the tools of one job and
every call), loop.py (the bounded loop); what a tenant tool may be is checked by
frontdesk/ai_settings.py, shared with the gateway that saves it.

    ctx = ToolContext(tenant_id, conversation_id, job_id,
                      search=..., history=..., request_handoff=...)   # bound to this job's tenant
    allow = Allowlist(["https://hooks.example.com/frontdesk/", "*.acme-shop.com"])
    orders = HttpTool("order_status", "Status of an order by its number", schema,
                      url="https://api.acme-shop.com/tools/order", allowlist=allow, secret=b"...")
    registry = ToolRegistry(BUILTIN_TOOLS, [orders], enabled=None, on_call=admin_log.append)
    registry.specs()                                   # OpenAI-style function schemas for the model
    await registry.call(ctx, "order_status", '{"order": "A-17"}')      # -> ToolResult, never raises
    result = await run_tool_loop(complete, registry, ctx, messages, max_rounds=3)

Rules every tool follows:

- The tenant is never a tool argument. Tools read it from the job's `ToolContext` (the
  built-ins through callables already bound to the tenant, tenant HTTP tools through the
  `X-Frontdesk-Tenant` header). Top-level arguments that name a tenant, conversation or
  job (`tenant`, `tenant_id`, `tenantId`, `conversation_id`, `job_id`, ...) are dropped
  before validation and recorded as ignored; a tenant tool may not declare them.
- Arguments are validated against the tool's JSON Schema (Draft 2020-12) before anything
  runs; invalid ones come back to the model as an error result it can read and correct.
- Every failure (unknown tool, arguments that are not a JSON object, a timeout, a 500, a
  body that is too large or not JSON, a redirect) is a `ToolResult(ok=False)` with a clear
  message. Nothing raises out of `Tool.run` or `ToolRegistry.call`; every call is logged
  (`tool.called`) and handed to the `on_call` hook for the admin.

A tenant HTTP tool's request (POST; GET sends the same fields as query parameters):

    POST <url>
    Content-Type: application/json
    X-Frontdesk-Tenant: <tenant id>
    X-Frontdesk-Timestamp: <unix seconds>
    X-Frontdesk-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
    {"arguments": {...}, "conversation_id": "...", "job_id": "..."}

For GET the signed "body" is the request's raw query string exactly as sent. The
signature is sent only when the tool has a signing secret. `job_id` is stable across
redeliveries of the same job, so a tenant can use (job_id, tool) to make side effects
idempotent.
"""

from frontdesk.ai_settings import Allowlist
from inference.tools.base import Tool, ToolContext, ToolResult
from inference.tools.builtin import (
    BUILTIN_TOOLS,
    CONVERSATION_HISTORY,
    HANDOFF_TO_HUMAN,
    SEARCH_KNOWLEDGE_BASE,
    BuiltinTool,
    hit_to_dict,
)
from inference.tools.http import HttpTool, UnsafeAddress, make_client, pin_address, sign_request
from inference.tools.loop import ANSWERED, EMPTY, HANDOFF, MAX_ROUNDS, Complete, LoopResult, run_tool_loop
from inference.tools.registry import ToolCallRecord, ToolRegistry

__all__ = [
    "Allowlist",
    "ANSWERED",
    "BUILTIN_TOOLS",
    "CONVERSATION_HISTORY",
    "EMPTY",
    "HANDOFF",
    "HANDOFF_TO_HUMAN",
    "MAX_ROUNDS",
    "SEARCH_KNOWLEDGE_BASE",
    "BuiltinTool",
    "Complete",
    "HttpTool",
    "LoopResult",
    "Tool",
    "ToolCallRecord",
    "ToolContext",
    "ToolRegistry",
    "ToolResult",
    "UnsafeAddress",
    "hit_to_dict",
    "make_client",
    "pin_address",
    "run_tool_loop",
    "sign_request",
]
