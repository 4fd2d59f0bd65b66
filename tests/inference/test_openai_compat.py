"""OpenAICompatBackend against a REAL OpenAI-compatible server: llama.cpp's own
(``python -m llama_cpp.server``, from ``llama-cpp-python[server]``) serving the bundled
SmolLM2-135M GGUF with the ``chatml-function-calling`` chat format, the same protocol
vLLM, Ollama and OpenAI serve.  No mocks of the server: the only non-server pieces
are a port nobody listens on (server down) and a socket that accepts and never
answers (hung server).

Run: .venv/bin/python -m pytest tests/inference/test_openai_compat.py -q -p no:cacheprovider
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from inference.backends import BackendError, ChatTurn, GenerationRequest, GenerationResult, bundled_model_path
from inference.backends.openai_compat import (
    OpenAICompatBackend,
    ToolCall,
    ToolCompletion,
    normalize_tool_choice,
    normalize_tools,
    parse_tool_call,
    turn_to_message,
)
from tests.conftest import service_port

SERVER_START_TIMEOUT_S = 180  # model load is ~2 s; the 2-core machine is shared
API_KEY = "sk-frontdesk-test-" + secrets.token_hex(12)

SYSTEM = ChatTurn("system", "You are a friendly customer support agent for Acme Cloud. Answer briefly.")

SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search_knowledge_base",
        "description": "Search the help-center articles of the shop for an answer.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "what to look for"}},
            "required": ["query"],
        },
    },
}


def ask(question: str = "How do I reset my password?", **kw) -> GenerationRequest:
    kw.setdefault("temperature", 0.0)
    return GenerationRequest(turns=(SYSTEM, ChatTurn("user", question)), **kw)


# --------------------------------------------------------------------------- the real server


@dataclass
class LlamaServer:
    base_url: str  # .../v1
    port: int
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"<no log: {exc}>"


def _models_answer(url: str) -> bool:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {API_KEY}"})
    try:
        with urllib.request.urlopen(req, timeout=2) as response:
            return response.status == 200 and bool(json.load(response).get("data"))
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: uvicorn and nothing else
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> LlamaServer:
    model = bundled_model_path()  # raises (test error, not a skip) when the model is missing
    port = service_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", model,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chat_format", "chatml-function-calling",
        "--n_ctx", "2048",
        # one thread for generation AND prompt processing: ggml's spinning barriers
        # collapse when the shared 2-core machine is oversubscribed
        "--n_threads", "1",
        "--n_threads_batch", "1",
        "--api_key", API_KEY,
    ]  # fmt: skip
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            cmd, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    srv = LlamaServer(f"http://127.0.0.1:{port}/v1", port, process, log_path)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _models_answer(f"{srv.base_url}/models"):
            if process.poll() is not None:
                pytest.fail(
                    f"llama.cpp server exited with {process.returncode} before answering:\n{srv.log_tail()}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"llama.cpp server did not answer GET /v1/models within {SERVER_START_TIMEOUT_S}s:\n"
                    f"{srv.log_tail()}",
                    pytrace=False,
                )
            time.sleep(0.2)
        yield srv
    finally:
        _stop(process)


@pytest.fixture
async def backend(server: LlamaServer):
    b = OpenAICompatBackend(server.base_url, model="smollm2-135m", api_key=API_KEY, timeout_s=60)
    await b.start()
    yield b
    await b.close()


def _report(name: str, **figures) -> None:
    """Figures for the developer (shown with -s); the measurement, not a threshold."""
    print(f"\n[openai_compat] {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


# --------------------------------------------------------------------------- streaming


async def test_stream_short_reply(backend: OpenAICompatBackend):
    pieces: list[str] = []
    t0 = time.perf_counter()
    first_ms = None
    async for delta in backend.stream(ask("Say hello to a new customer.", max_tokens=24)):
        if delta.text and first_ms is None:
            first_ms = (time.perf_counter() - t0) * 1000
        pieces.append(delta.text)
    total_ms = (time.perf_counter() - t0) * 1000
    assert len([p for p in pieces if p]) >= 3, pieces
    assert all(isinstance(p, str) for p in pieces)
    text = "".join(pieces)
    assert text.strip()
    assert first_ms is not None and 0 < first_ms <= total_ms
    _report("stream", deltas=len(pieces), first_token_ms=round(first_ms, 1), total_ms=round(total_ms, 1))


async def test_generate_through_base_helper(backend: OpenAICompatBackend):
    forwarded: list[str] = []

    async def on_delta(text: str) -> None:
        forwarded.append(text)

    result = await backend.generate(ask("What can you help me with?", max_tokens=40), on_delta=on_delta)
    assert isinstance(result, GenerationResult)
    assert result.text == "".join(forwarded) and result.text.strip()
    # llama.cpp's server ignores stream_options.include_usage: one chunk is one token
    assert 1 <= result.completion_tokens <= 40
    assert result.completion_tokens == len(forwarded)
    assert result.prompt_tokens > 0  # estimated from the turns
    assert result.finish_reason in ("stop", "length")
    assert 0 < result.first_token_ms <= result.total_ms
    gen_s = (result.total_ms - result.first_token_ms) / 1000
    tps = (result.completion_tokens - 1) / gen_s if gen_s > 0 and result.completion_tokens > 1 else float("nan")
    _report(
        "generate",
        completion_tokens=result.completion_tokens,
        first_token_ms=round(result.first_token_ms, 1),
        total_ms=round(result.total_ms, 1),
        tokens_per_s=round(tps, 1),
        finish=result.finish_reason,
    )


async def test_stop_sequences_and_max_tokens_reach_the_server(backend: OpenAICompatBackend):
    result = await backend.generate(ask("Count from one to twenty in words.", max_tokens=6))
    assert result.finish_reason == "length"
    assert result.completion_tokens == 6
    stopped = await backend.generate(
        ask("Count: 1, 2, 3, 4, 5, 6, 7, 8. Continue the list.", max_tokens=30, stop=(",",))
    )
    assert "," not in stopped.text
    assert stopped.finish_reason == "stop"


async def test_consumer_stopping_early_closes_the_stream(backend: OpenAICompatBackend):
    stream = backend.stream(ask("Tell me a long story about a cloud.", max_tokens=200))
    got = []
    async for delta in stream:
        got.append(delta.text)
        if len(got) == 2:
            break
    await stream.aclose()
    assert len(got) == 2
    # the backend (and its connection pool) is still fine afterwards
    result = await backend.generate(ask("Hi!", max_tokens=4))
    assert result.completion_tokens >= 1


# --------------------------------------------------------------------------- tool calls


async def test_forced_tool_call(backend: OpenAICompatBackend):
    completion = await backend.complete_with_tools(ask(max_tokens=64), [SEARCH_TOOL], "search_knowledge_base")
    assert isinstance(completion, ToolCompletion)
    assert completion.tool_calls, completion
    call = completion.tool_calls[0]
    assert isinstance(call, ToolCall)
    assert call.name == "search_knowledge_base"
    assert call.error is None, call
    assert isinstance(call.arguments, dict)
    assert json.loads(call.raw_arguments) == call.arguments
    assert call.id
    assert completion.finish_reason == "tool_calls"
    # non-streaming responses of llama.cpp's server do carry usage
    assert not completion.usage.estimated
    assert completion.usage.prompt_tokens > 0 and 0 < completion.usage.completion_tokens <= 64
    _report("forced tool call", arguments=call.raw_arguments, total_ms=round(completion.total_ms, 1))


async def test_auto_tool_choice_answers_text_or_a_tool_call(backend: OpenAICompatBackend):
    completion = await backend.complete_with_tools(ask(max_tokens=48), [SEARCH_TOOL], "auto")
    assert completion.text.strip() or completion.tool_calls
    for call in completion.tool_calls:
        assert isinstance(call.arguments, dict)
        # a cut-off or invented call is reported on the call, never raised
        assert call.name == "search_knowledge_base" or call.error
    _report(
        "auto tool choice",
        text=repr(completion.text[:60]),
        calls=[(c.name, c.error) for c in completion.tool_calls],
        total_ms=round(completion.total_ms, 1),
    )


async def test_cut_off_tool_arguments_are_reported_on_the_call(backend: OpenAICompatBackend):
    # 3 tokens cannot hold the arguments: the server returns a truncated JSON string
    completion = await backend.complete_with_tools(ask(max_tokens=3), [SEARCH_TOOL], "search_knowledge_base")
    assert len(completion.tool_calls) == 1
    call = completion.tool_calls[0]
    assert call.name == "search_knowledge_base"
    assert call.error and "JSON" in call.error
    assert call.arguments == {}
    assert call.raw_arguments  # kept as the server sent it


@dataclass(frozen=True)
class LoopTurn(ChatTurn):
    """A ChatTurn with the tool-loop fields proposed for base.py (role "tool" allowed)."""

    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""

    def __post_init__(self) -> None:  # the proposed ROLES include "tool"
        pass


async def test_tool_loop_round_trip(backend: OpenAICompatBackend):
    first = await backend.complete_with_tools(ask(max_tokens=64), [SEARCH_TOOL], "search_knowledge_base")
    call = first.tool_calls[0]
    assert call.ok
    follow_up = GenerationRequest(
        turns=(
            SYSTEM,
            ChatTurn("user", "How do I reset my password?"),
            LoopTurn("assistant", "", tool_calls=(call,)),
            LoopTurn("tool", "Reset your password from Settings > Security > Reset password.", tool_call_id=call.id),
        ),
        max_tokens=24,
        temperature=0.0,
    )
    messages = [turn_to_message(t) for t in follow_up.turns]
    assert messages[2]["tool_calls"][0]["function"]["name"] == "search_knowledge_base"
    assert messages[3] == {
        "role": "tool",
        "content": "Reset your password from Settings > Security > Reset password.",
        "tool_call_id": call.id,
    }
    second = await backend.complete_with_tools(follow_up, [SEARCH_TOOL], "none")
    assert second.text.strip()
    assert second.tool_calls == ()


async def test_tool_loop_completer_speaks_the_loop_contract(backend: OpenAICompatBackend):
    """complete(messages, tools) -> (text, tool_calls) as inference.tools.run_tool_loop calls it:
    raw OpenAI messages, an assistant turn with content None and tool_calls, tool results."""
    complete = backend.tool_loop_completer(max_tokens=48, temperature=0.0)
    transcript = [turn_to_message(SYSTEM), {"role": "user", "content": "How do I reset my password?"}]
    text, calls = await complete(list(transcript), [SEARCH_TOOL])
    assert isinstance(text, str) and isinstance(calls, list)
    assert text.strip() or calls
    if calls:
        assert set(calls[0]) == {"id", "type", "function"} and calls[0]["type"] == "function"
        assert isinstance(calls[0]["function"]["arguments"], str)
        transcript.append({"role": "assistant", "content": text or None, "tool_calls": calls})
        for call in calls:
            transcript.append({"role": "tool", "tool_call_id": call["id"], "content": "Settings > Security > Reset."})
        text, calls = await complete(list(transcript), [SEARCH_TOOL])
        assert text.strip() or calls
    with pytest.raises(BackendError) as info:
        await complete([], [SEARCH_TOOL])
    assert not info.value.retryable


# --------------------------------------------------------------------------- errors


async def test_server_down_is_retryable_and_quick():
    port = service_port()  # free, nobody listens
    b = OpenAICompatBackend(f"http://127.0.0.1:{port}/v1", model="m", timeout_s=30)
    try:
        t0 = time.perf_counter()
        with pytest.raises(BackendError) as info:
            await b.generate(ask(max_tokens=4))
        assert time.perf_counter() - t0 < 5
        assert info.value.retryable
        assert "cannot reach" in str(info.value)
        with pytest.raises(BackendError) as info:
            await b.complete_with_tools(ask(max_tokens=4), [SEARCH_TOOL], "auto")
        assert info.value.retryable
    finally:
        await b.close()


async def test_hung_server_times_out_retryable():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # the kernel accepts connections; nobody ever answers
    port = listener.getsockname()[1]
    b = OpenAICompatBackend(f"http://127.0.0.1:{port}/v1", model="m", timeout_s=0.5)
    try:
        t0 = time.perf_counter()
        with pytest.raises(BackendError) as info:
            await b.generate(ask(max_tokens=4))
        assert time.perf_counter() - t0 < 5
        assert info.value.retryable
        assert "timed out" in str(info.value)
    finally:
        await b.close()
        listener.close()


async def test_not_found_is_not_retryable(server: LlamaServer):
    b = OpenAICompatBackend(f"http://127.0.0.1:{server.port}/no-such-api/v1", model="m", api_key=API_KEY)
    try:
        with pytest.raises(BackendError) as info:
            await b.generate(ask(max_tokens=4))
        assert not info.value.retryable
        assert "HTTP 404" in str(info.value)
    finally:
        await b.close()


async def test_context_window_exceeded_is_not_retryable(backend: OpenAICompatBackend):
    too_long = ask("word " * 3000, max_tokens=4)
    with pytest.raises(BackendError) as info:
        await backend.complete_with_tools(too_long)
    assert not info.value.retryable
    assert "HTTP 400" in str(info.value) and "context length" in str(info.value)
    # streamed, llama.cpp's server answers 200 with an empty stream (no chunk, no error)
    with pytest.raises(BackendError) as info:
        await backend.generate(too_long)
    assert not info.value.retryable
    # ... and closes the connection: the next request on the pool must still work
    for _ in range(2):
        result = await backend.generate(ask("Hi!", max_tokens=4))
        assert result.text
    _report("after an aborted stream", stale_connection_retries=backend.stale_connection_retries)


async def test_wrong_api_key_is_not_retryable_and_never_shown(server: LlamaServer, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "sk-wrong-" + secrets.token_hex(12)
    b = OpenAICompatBackend(server.base_url, model="m", api_key=wrong, extra_headers={"X-Tenant": "acme"})
    try:
        with pytest.raises(BackendError) as info:
            await b.generate(ask(max_tokens=4))
        assert not info.value.retryable
        assert "HTTP 401" in str(info.value)
        assert wrong not in str(info.value) and wrong not in repr(b)
        assert wrong not in caplog.text and API_KEY not in caplog.text
    finally:
        await b.close()
    # and the right key is not logged either
    good = OpenAICompatBackend(server.base_url, model="m", api_key=API_KEY)
    try:
        await good.generate(ask(max_tokens=2))
        assert API_KEY not in caplog.text and API_KEY not in repr(good)
    finally:
        await good.close()


async def test_models_lists_the_served_model(backend: OpenAICompatBackend):
    ids = await backend.models()
    assert len(ids) == 1 and ids[0].endswith(".gguf")


# --------------------------------------------------------------------------- pure helpers


def test_parse_tool_call_is_defensive():
    ok = parse_tool_call("c1", "search_knowledge_base", '{"query": "refund"}', ["search_knowledge_base"])
    assert ok.ok and ok.arguments == {"query": "refund"} and ok.id == "c1"
    bad = parse_tool_call("c2", "search_knowledge_base", '{"query": "ref', ["search_knowledge_base"])
    assert bad.error and "JSON" in bad.error and bad.arguments == {} and bad.raw_arguments == '{"query": "ref'
    not_object = parse_tool_call("c3", "search_knowledge_base", '["refund"]')
    assert not_object.error and "object" in not_object.error
    empty = parse_tool_call("c4", "search_knowledge_base", "")
    assert empty.ok and empty.arguments == {}
    as_dict = parse_tool_call("c5", "search_knowledge_base", {"query": "x"})
    assert as_dict.ok and as_dict.arguments == {"query": "x"} and json.loads(as_dict.raw_arguments) == {"query": "x"}
    unknown = parse_tool_call("c6", "delete_everything", "{}", ["search_knowledge_base"])
    assert unknown.error and "unknown tool" in unknown.error
    nameless = parse_tool_call(None, None, None)
    assert nameless.error and nameless.id == ""
    deep = parse_tool_call("c7", "search_knowledge_base", "[" * 100_000)
    assert deep.error


def test_tools_and_tool_choice_normalisation():
    bare = {"name": "lookup", "description": "d"}
    tools = normalize_tools([SEARCH_TOOL, bare])
    assert tools[0] == SEARCH_TOOL
    assert tools[1] == {
        "type": "function",
        "function": {"name": "lookup", "description": "d", "parameters": {"type": "object", "properties": {}}},
    }
    with pytest.raises(BackendError):
        normalize_tools([{"description": "no name"}])
    names = ["lookup"]
    assert normalize_tool_choice(None, names) == "auto"
    assert normalize_tool_choice("required", names) == "required"
    assert normalize_tool_choice("lookup", names) == {"type": "function", "function": {"name": "lookup"}}
    with pytest.raises(BackendError) as info:
        normalize_tool_choice("other", names)
    assert not info.value.retryable


def test_error_mapping_of_sdk_exceptions():
    import httpx2
    import openai

    b = OpenAICompatBackend("http://127.0.0.1:9/v1", model="m", api_key="sk-secret-value-123")
    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions")

    def status_error(cls, status, body=None):
        return cls(f"Error code: {status}", response=httpx2.Response(status, request=request), body=body)

    cases = [
        (status_error(openai.RateLimitError, 429), True),
        (status_error(openai.InternalServerError, 500), True),
        (status_error(openai.InternalServerError, 503), True),
        (status_error(openai.APIStatusError, 408), True),
        (status_error(openai.BadRequestError, 400, {"error": {"message": "bad key sk-secret-value-123"}}), False),
        (status_error(openai.AuthenticationError, 401), False),
        (status_error(openai.NotFoundError, 404, {"message": "The model `m` does not exist."}), False),
        (status_error(openai.UnprocessableEntityError, 422), False),
        (openai.APITimeoutError(request=request), True),
        (openai.APIConnectionError(request=request), True),
        (openai.APIError("boom", request, body={"error": {"message": "x", "code": 400}}), False),
        (openai.APIError("boom", request, body=None), True),
    ]
    for exc, retryable in cases:
        mapped = b.map_error(exc)
        assert isinstance(mapped, BackendError)
        assert mapped.retryable is retryable, (exc, mapped)
        assert "sk-secret-value-123" not in str(mapped)
    assert "does not exist" in str(b.map_error(cases[6][0]))


def test_constructor_validates_options():
    with pytest.raises(ValueError):
        OpenAICompatBackend("localhost:8000", model="m")
    with pytest.raises(ValueError):
        OpenAICompatBackend("http://localhost:8000/v1", model="")
    with pytest.raises(ValueError):
        OpenAICompatBackend("http://localhost:8000/v1", model="m", timeout_s=0)
    b = OpenAICompatBackend("http://localhost:8000/v1/", model="m", api_key="sk-abc")
    assert b.base_url == "http://localhost:8000/v1" and b.name == "openai"
    assert "sk-abc" not in repr(b)
    with_password = OpenAICompatBackend("https://bob:hunter2@models.example/v1", model="m")
    assert "hunter2" not in repr(with_password)
    assert "hunter2" not in str(with_password.map_error(TimeoutError("x")))
