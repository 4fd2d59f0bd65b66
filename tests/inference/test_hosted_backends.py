"""The Anthropic and Gemini backends through their official SDKs (`anthropic`,
`google-genai`), at the wire level: each SDK's own HTTP transport talks to a local HTTP
server that replays response bodies in the API's wire format (tests/inference/recordings,
SSE for streams), with the SDK's base_url pointed at it. Real SDK, real HTTP, real SSE
parsing; only the far end is a recording (no internet here). The server also keeps each
request, so the tests check what the SDK sent: the key header, the model, the mapped
transcript (system prompt, tool_use / functionCall turns, tool results), tool_choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web

from inference.backends.anthropic import AnthropicBackend
from inference.backends.base import BackendError, ChatTurn, GenerationRequest
from inference.backends.gemini import GeminiBackend
from inference.tools import BUILTIN_TOOLS, ToolContext, ToolRegistry, ToolResult, run_tool_loop
from tests.conftest import service_port

pytestmark = pytest.mark.unit

RECORDINGS = Path(__file__).parent / "recordings"
KEY = "sk-ant-tenant-key-0123456789abcdef"
ORDER_TOOL = {
    "type": "function",
    "function": {
        "name": "order_status",
        "description": "Delivery status of an order",
        "parameters": {
            "type": "object",
            "required": ["order_number"],
            "properties": {"order_number": {"type": "string"}},
        },
    },
}


class Replay:
    """A local HTTP server answering each request with the next recorded response."""

    def __init__(self):
        self.port = service_port()
        self.queue: list[tuple[int, dict, bytes, str]] = []
        self.requests: list[dict] = []

    def then(self, name: str, status: int = 200, headers: dict | None = None) -> Replay:
        kind = "text/event-stream" if name.endswith(".sse") else "application/json"
        self.queue.append((status, headers or {}, (RECORDINGS / name).read_bytes(), kind))
        return self

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            {
                "path": request.path,
                "query": dict(request.query),
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "json": json.loads(body) if body else None,
            }
        )
        status, headers, payload, kind = self.queue.pop(0)
        if kind == "text/event-stream":  # streamed event by event, as the API does
            response = web.StreamResponse(status=status, headers={"Content-Type": kind, **headers})
            await response.prepare(request)
            for event in payload.split(b"\n\n"):
                if event.strip():
                    await response.write(event + b"\n\n")
            await response.write_eof()
            return response
        return web.Response(status=status, body=payload, headers={"Content-Type": kind, **headers})

    async def __aenter__(self):
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc):
        await self.runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def question() -> GenerationRequest:
    return GenerationRequest(
        turns=(ChatTurn("system", "You are Acme's assistant."), ChatTurn("user", "How fast do orders ship?")),
        max_tokens=64,
        temperature=0.1,
    )


async def order_loop(backend) -> tuple:
    """The worker's tool loop on this backend: forced tool first, then an answer in text."""
    seen = []

    async def order_status(ctx, args):
        seen.append((ctx.tenant_id, args))
        return ToolResult.success({"status": "shipped", "arrives": "Friday"})

    from inference.tools import BuiltinTool

    tool = BuiltinTool(
        "order_status", "Delivery status of an order", ORDER_TOOL["function"]["parameters"], order_status
    )
    registry = ToolRegistry((*BUILTIN_TOOLS, tool), enabled={"order_status"})
    turns = []

    async def complete(messages, specs):
        choice = "order_status" if not turns else "none"
        turns.append(choice)
        done = await backend.complete_chat(messages, specs, choice, max_tokens=64)
        return done.text, [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.raw_arguments}}
            for c in done.tool_calls
        ]

    ctx = ToolContext("t_acme", "c_1", "m_1")
    result = await run_tool_loop(
        complete,
        registry,
        ctx,
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Where is order A-17?"}],
        max_rounds=2,
    )
    return result, seen


# --------------------------------------------------------------------------- Anthropic


async def test_anthropic_streams_a_reply_with_true_token_counts():
    async with Replay() as api:
        api.then("anthropic_stream.sse")
        backend = AnthropicBackend("claude-sonnet-5", KEY, base_url=api.url)
        pieces = []

        async def on_delta(text):
            pieces.append(text)

        try:
            result = await backend.generate(question(), on_delta=on_delta)
        finally:
            await backend.close()
    assert pieces == ["Orders ship", " within two", " business days."]
    assert (result.text, result.prompt_tokens, result.completion_tokens, result.finish_reason) == (
        "Orders ship within two business days.",
        42,
        9,
        "stop",
    )
    sent = api.requests[0]
    assert sent["path"] == "/v1/messages"
    # the tenant's key, as this SDK version sends it (older ones used x-api-key)
    assert KEY in (sent["headers"].get("x-api-key"), sent["headers"].get("authorization", "").removeprefix("Bearer "))
    assert sent["json"]["stream"] is True and sent["json"]["model"] == "claude-sonnet-5"
    assert sent["json"]["system"] == "You are Acme's assistant."
    assert sent["json"]["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "How fast do orders ship?"}]}
    ]


async def test_anthropic_tool_loop_maps_tool_use_and_tool_results():
    async with Replay() as api:
        api.then("anthropic_tool_use.json").then("anthropic_text.json")
        backend = AnthropicBackend("claude-sonnet-5", KEY, base_url=api.url)
        try:
            result, seen = await order_loop(backend)
        finally:
            await backend.close()
    assert result.stopped_reason == "answered" and result.text == "Order A-17 has shipped and arrives on Friday."
    assert seen == [("t_acme", {"order_number": "A-17"})]
    first, second = (r["json"] for r in api.requests)
    assert first["tool_choice"] == {"type": "tool", "name": "order_status"}
    assert first["tools"] == [
        {
            "name": "order_status",
            "description": "Delivery status of an order",
            "input_schema": ORDER_TOOL["function"]["parameters"],
        }
    ]
    assert second["tool_choice"] == {"type": "none"}
    assert second["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me look that order up."},
            {
                "type": "tool_use",
                "id": "toolu_01A09q90qw90lq917835lq9",
                "name": "order_status",
                "input": {"order_number": "A-17"},
            },
        ],
    }
    result_block = second["messages"][2]["content"][0]
    assert second["messages"][2]["role"] == "user" and result_block["type"] == "tool_result"
    assert result_block["tool_use_id"] == "toolu_01A09q90qw90lq917835lq9" and "shipped" in result_block["content"]


@pytest.mark.parametrize(
    "recording,status,headers,retryable,retry_after",
    [
        ("anthropic_401.json", 401, {}, False, None),
        ("anthropic_429.json", 429, {"retry-after": "12"}, True, 12.0),
        ("anthropic_529.json", 529, {}, True, None),
        ("anthropic_529.json", 500, {}, True, None),
    ],
)
async def test_anthropic_errors_are_mapped(recording, status, headers, retryable, retry_after):
    async with Replay() as api:
        api.then(recording, status, headers)
        backend = AnthropicBackend("claude-sonnet-5", KEY, base_url=api.url)
        try:
            with pytest.raises(BackendError) as err:
                await backend.generate(question())
        finally:
            await backend.close()
    assert len(api.requests) == 1, "the SDK does not retry by itself: the job queue does, with backoff"
    assert err.value.retryable is retryable and err.value.retry_after_s == retry_after
    assert f"HTTP {status}" in str(err.value) and KEY not in str(err.value)


async def test_anthropic_error_event_mid_stream_is_retryable():
    async with Replay() as api:
        api.then("anthropic_stream_overloaded.sse")
        backend = AnthropicBackend("claude-sonnet-5", KEY, base_url=api.url)
        try:
            with pytest.raises(BackendError) as err:
                await backend.generate(question())
        finally:
            await backend.close()
    assert err.value.retryable and "Overloaded" in str(err.value)


# --------------------------------------------------------------------------- Gemini


async def test_gemini_streams_a_reply_with_true_token_counts():
    async with Replay() as api:
        api.then("gemini_stream.sse")
        backend = GeminiBackend("gemini-2.5-flash", KEY, base_url=api.url)
        pieces = []

        async def on_delta(text):
            pieces.append(text)

        try:
            result = await backend.generate(question(), on_delta=on_delta)
        finally:
            await backend.close()
    assert pieces == ["Orders ship", " within two business", " days."]
    assert (result.text, result.prompt_tokens, result.completion_tokens, result.finish_reason) == (
        "Orders ship within two business days.",
        38,
        8,
        "stop",
    )
    sent = api.requests[0]
    assert sent["path"].endswith("/models/gemini-2.5-flash:streamGenerateContent") and sent["query"].get("alt") == "sse"
    assert sent["headers"]["x-goog-api-key"] == KEY
    assert sent["json"]["systemInstruction"]["parts"][0]["text"] == "You are Acme's assistant."
    assert sent["json"]["contents"] == [{"role": "user", "parts": [{"text": "How fast do orders ship?"}]}]
    assert sent["json"]["generationConfig"]["maxOutputTokens"] == 64


async def test_gemini_tool_loop_maps_function_calls_and_responses():
    async with Replay() as api:
        api.then("gemini_function_call.json").then("gemini_text.json")
        backend = GeminiBackend("gemini-2.5-flash", KEY, base_url=api.url)
        try:
            result, seen = await order_loop(backend)
        finally:
            await backend.close()
    assert result.stopped_reason == "answered" and result.text == "Order A-17 has shipped and arrives on Friday."
    assert seen == [("t_acme", {"order_number": "A-17"})]
    first, second = (r["json"] for r in api.requests)
    assert first["toolConfig"]["functionCallingConfig"] == {"mode": "ANY", "allowedFunctionNames": ["order_status"]}
    declaration = first["tools"][0]["functionDeclarations"][0]
    # this SDK version sends the proto field name; the API's JSON parsing takes either spelling
    schema = declaration.get("parametersJsonSchema") or declaration.get("parameters_json_schema")
    assert declaration["name"] == "order_status" and schema == ORDER_TOOL["function"]["parameters"]
    assert second["toolConfig"]["functionCallingConfig"] == {"mode": "NONE"}
    assert second["contents"][1] == {
        "role": "model",
        "parts": [{"functionCall": {"name": "order_status", "args": {"order_number": "A-17"}}}],
    }
    response = second["contents"][2]["parts"][0]["functionResponse"]
    assert second["contents"][2]["role"] == "user" and response["name"] == "order_status"
    assert response["response"] == {"status": "shipped", "arrives": "Friday"}


@pytest.mark.parametrize(
    "recording,status,headers,retryable,retry_after",
    [
        ("gemini_401.json", 401, {}, False, None),
        ("gemini_400_bad_key.json", 400, {}, False, None),
        ("gemini_429.json", 429, {}, True, 17.0),  # RetryInfo in the error body
        ("gemini_429.json", 429, {"retry-after": "5"}, True, 5.0),
        ("gemini_503.json", 503, {}, True, None),
    ],
)
async def test_gemini_errors_are_mapped(recording, status, headers, retryable, retry_after):
    async with Replay() as api:
        api.then(recording, status, headers)
        backend = GeminiBackend("gemini-2.5-flash", KEY, base_url=api.url)
        try:
            with pytest.raises(BackendError) as err:
                await backend.generate(question())
        finally:
            await backend.close()
    assert len(api.requests) == 1
    assert err.value.retryable is retryable and err.value.retry_after_s == retry_after
    assert f"HTTP {status}" in str(err.value) and KEY not in str(err.value)
