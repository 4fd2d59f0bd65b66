"""OpenAI-compatible HTTP model backend: vLLM, Ollama, llama.cpp's server, OpenAI.

One code path for every server that speaks ``POST /v1/chat/completions``, through
the official ``openai`` SDK (``AsyncOpenAI``).  :meth:`OpenAICompatBackend.stream`
streams the reply as :class:`Delta` pieces; :meth:`OpenAICompatBackend.complete_with_tools`
makes one non-streaming call with function tools and returns the text and/or the
parsed :class:`ToolCall` list.

Token counts
------------
Streaming requests ask for ``stream_options={"include_usage": true}``: OpenAI and
vLLM then send a last chunk with the true ``usage``.  Servers that ignore the field
(llama-cpp-python's server does) send none; the counts are then left to
:meth:`Backend.generate`, which counts deltas (one chunk is one token on llama.cpp)
and estimates the prompt.  ``include_usage=False`` leaves the field out for a
server that rejects it.

Errors
------
Everything the SDK raises becomes a :class:`BackendError`:

* retryable: timeouts, connection failures, HTTP 408/409/429 and 5xx (the statuses
  the SDK itself would retry), and a stream cut off after it had started;
* not retryable: any other 4xx (bad request, context window exceeded, unknown
  model, wrong API key), a malformed response, and a stream that ended before
  its first chunk without saying why (llama-cpp-python's server does this when
  the prompt does not fit its context window: the same request fails every time).

A request that fails on an already-open pooled keep-alive connection (the server
closed or reset it meanwhile: ``RemoteProtocolError: Server disconnected without
sending a response``, ``ReadError``) is sent once more at once on a fresh
connection, even with ``max_retries=0``: servers close idle or aborted connections
at any time (llama-cpp-python's server after every aborted stream), and that is
not a failure of the model.  A refused connect is never retried here.

The API key is held privately, is never part of ``repr()`` or of an error message
(it is scrubbed from server messages too) and never logged (the SDK redacts the
``Authorization`` header in its own debug log).  With ``api_key=""`` (a local
server without authentication) the placeholder ``"EMPTY"`` is sent, so the SDK
never falls back to an ``OPENAI_API_KEY`` from the environment and ships it to a
self-hosted URL.

Tool calling
------------
``tools`` are OpenAI function schemas, either ``{"type": "function", "function":
{...}}`` or the bare ``{"name": ..., "parameters": ...}``.  ``tool_choice`` is
``"auto"``, ``"none"``, ``"required"``, the name of one of the tools (forces it) or
an OpenAI ``tool_choice`` dict.  Arguments are parsed defensively: a call whose
arguments are not a JSON object, or that names a tool that was not offered, comes
back as a :class:`ToolCall` with ``error`` set, never as an exception.

Chat turns may carry the (proposed) tool-loop fields ``tool_calls`` (assistant turn
that called tools) and ``tool_call_id`` (role ``"tool"``, the result of one call);
they are read with ``getattr`` so plain :class:`ChatTurn` objects work unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

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
    estimate_tokens,
)
from .openai_wire import (  # the wire format; normalize_* and the rest re-exported for existing imports
    STALE_CONNECTION_ERRORS,
    body_status,
    is_stale_connection,
    normalize_tool_choice,
    normalize_tools,
    parse_tool_call,
    prepend,
    server_message,
    tool_call_to_openai,
    turn_to_message,
    wire_message,
)

log = logging.getLogger(__name__)

#: Sent as the bearer token when no API key is configured (the vLLM convention).
NO_API_KEY = "EMPTY"

#: HTTP statuses worth retrying: the ones the openai SDK retries itself.
RETRYABLE_STATUSES = frozenset({408, 409, 429})


__all__ = [
    "OpenAICompatBackend",
    "ToolCall",
    "ToolCompletion",
    "Usage",
    "normalize_tool_choice",
    "normalize_tools",
    "parse_tool_call",
    "turn_to_message",
]

# --------------------------------------------------------------------------- backend


class OpenAICompatBackend(Backend):
    """A model served over the OpenAI chat-completions HTTP API.

    base_url: the API root including ``/v1`` (``http://vllm:8000/v1``,
        ``http://127.0.0.1:11434/v1`` for Ollama, ``https://api.openai.com/v1``).
    model: the model name the server serves (vLLM and OpenAI reject unknown names;
        llama-cpp-python's server ignores it and uses the model it loaded).
    api_key: bearer token; "" for servers without authentication.
    timeout_s: connect/read/write timeout of each HTTP call (for a stream: the
        longest wait for the next chunk, including the first one).
    max_retries: retries done by the SDK itself (with backoff) before a
        retryable error reaches the caller; 0 leaves retrying to the job queue.
    extra_headers: sent with every request (never logged).
    include_usage: ask streaming servers for a final usage chunk.
    connect_timeout_s: cap on the TCP connect timeout, so a dead host fails fast.
    """

    name = "openai"
    supports_tools = True
    can_write = True

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout_s: float = 60,
        max_retries: int = 0,
        extra_headers: Mapping[str, str] | None = None,
        *,
        include_usage: bool = True,
        connect_timeout_s: float = 5.0,
    ) -> None:
        if (
            not isinstance(base_url, str)
            or urlsplit(base_url).scheme not in ("http", "https")
            or not urlsplit(base_url).netloc
        ):
            raise ValueError(f"base_url must be an http(s) URL such as http://127.0.0.1:8000/v1, got {base_url!r}")
        if not isinstance(model, str) or not model.strip():
            raise ValueError("model must be a non-empty string")
        if not timeout_s or timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries!r}")
        self.base_url = base_url.rstrip("/")
        # what messages and repr() show: without user:password@ if the URL carries one
        parts = urlsplit(self.base_url)
        self.display_url = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        self.model = model.strip()
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self.include_usage = include_usage
        self.connect_timeout_s = min(float(connect_timeout_s), self.timeout_s)
        self._api_key = api_key or ""
        self._extra_headers = dict(extra_headers or {})
        self._client: Any = None  # openai.AsyncOpenAI, created by start()
        self.requests_started = 0
        self.stale_connection_retries = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._client is not None:
            return
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise BackendError(f"the openai package is not installed: {exc}") from exc
        self._client = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=self._api_key or NO_API_KEY,
            timeout=openai.Timeout(self.timeout_s, connect=self.connect_timeout_s),
            max_retries=self.max_retries,
            default_headers=self._extra_headers or None,
        )

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def _ensure_client(self) -> Any:
        if self._client is None:
            await self.start()
        return self._client

    # ------------------------------------------------------------------ errors

    def _redact(self, text: str) -> str:
        if self._api_key and self._api_key in text:
            text = text.replace(self._api_key, "***")
        for value in self._extra_headers.values():
            if value and len(value) >= 8 and value in text:
                text = text.replace(value, "***")
        return text

    def map_error(self, exc: BaseException) -> BackendError:
        """Translate an exception raised by the openai SDK into a :class:`BackendError`."""
        if isinstance(exc, BackendError):
            return exc
        import openai

        where = f"{self.name} backend ({self.display_url}, model {self.model!r})"
        retryable: bool
        if isinstance(exc, openai.APITimeoutError):
            message, retryable = f"{where}: timed out after {self.timeout_s:g}s", True
        elif isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            detail = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
            message, retryable = f"{where}: cannot reach the server ({detail})", True
        elif isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            retryable = status in RETRYABLE_STATUSES or status >= 500
            message = f"{where}: HTTP {status}: {server_message(exc)}"
        elif isinstance(exc, openai.APIResponseValidationError):
            message, retryable = f"{where}: malformed response: {server_message(exc)}", False
        elif isinstance(exc, openai.APIError):  # an error event inside a stream
            in_stream = body_status(exc)
            retryable = in_stream is None or in_stream in RETRYABLE_STATUSES or in_stream >= 500
            message = f"{where}: error during the stream: {server_message(exc)}"
        else:
            message, retryable = f"{where}: {type(exc).__name__}: {exc}", False
        return BackendError(self._redact(message), retryable=retryable)

    # ------------------------------------------------------------------ requests

    def _params(self, request: GenerationRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [turn_to_message(turn) for turn in request.turns],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.stop:
            params["stop"] = list(request.stop)
        return params

    async def _create(self, **params: Any) -> Any:
        """``chat.completions.create`` with errors mapped and one retry on a stale connection."""
        import openai

        client = await self._ensure_client()
        self.requests_started += 1
        for attempt in (1, 2):
            try:
                return await client.chat.completions.create(**params)
            except openai.APIConnectionError as exc:
                if attempt == 1 and not isinstance(exc, openai.APITimeoutError) and is_stale_connection(exc):
                    self.stale_connection_retries += 1
                    log.debug("openai_compat.stale_connection_retry base_url=%s", self.display_url)
                    continue
                raise self.map_error(exc) from exc
            except openai.OpenAIError as exc:
                raise self.map_error(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _first_chunk(self, params: dict[str, Any]) -> tuple[Any, Any]:
        """Open a stream and read its first chunk (``None`` for an empty stream).

        The response headers can arrive on a pooled connection that the server then
        drops before the body (llama-cpp-python's server after an aborted stream):
        nothing has reached the caller yet, so that is retried once on a fresh
        connection like a stale connection in :meth:`_create`.
        """
        import openai

        for attempt in (1, 2):
            chunks = await self._create(stream=True, **params)
            try:
                return chunks, await chunks.__anext__()
            except StopAsyncIteration:
                return chunks, None
            except Exception as exc:
                await chunks.close()
                # While the body is read the transport's own error (httpx's
                # RemoteProtocolError) surfaces unwrapped; during the request openai
                # wraps it in APIConnectionError.
                stale = type(exc).__name__ in STALE_CONNECTION_ERRORS or (
                    isinstance(exc, openai.APIConnectionError)
                    and not isinstance(exc, openai.APITimeoutError)
                    and is_stale_connection(exc)
                )
                if attempt == 1 and stale:
                    self.stale_connection_retries += 1
                    log.debug("openai_compat.stale_stream_retry base_url=%s", self.display_url)
                    continue
                if isinstance(exc, openai.OpenAIError):
                    raise self.map_error(exc) from exc
                if stale:
                    raise BackendError(
                        f"{self.name} backend ({self.display_url}): the connection dropped before the reply began",
                        retryable=True,
                    ) from exc
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        return self._open_stream(request, StreamStats())

    async def _open_stream(self, request: GenerationRequest, stats: StreamStats) -> AsyncIterator[Delta]:
        import openai

        params = self._params(request)
        if self.include_usage:
            params["stream_options"] = {"include_usage": True}
        chunks, first = await self._first_chunk(params)
        got_chunk = False
        got_text = False
        finish_reason: str | None = None
        try:
            try:
                async for chunk in prepend(first, chunks):
                    got_chunk = True
                    usage = getattr(chunk, "usage", None)
                    if usage is not None:
                        if usage.prompt_tokens is not None:
                            stats.prompt_tokens = usage.prompt_tokens
                        if usage.completion_tokens is not None:
                            stats.completion_tokens = usage.completion_tokens
                    for choice in chunk.choices or ():
                        if choice.index not in (0, None):
                            continue
                        text = choice.delta.content if choice.delta is not None else None
                        if text:
                            got_text = True
                            yield Delta(text)
                        if choice.finish_reason:
                            finish_reason = choice.finish_reason
            except openai.OpenAIError as exc:
                raise self.map_error(exc) from exc
            except Exception as exc:
                if type(exc).__name__ not in STALE_CONNECTION_ERRORS:
                    raise
                raise BackendError(
                    f"{self.name} backend ({self.display_url}): the stream was cut off before it finished",
                    retryable=True,
                ) from exc
        finally:
            await chunks.close()
        if finish_reason is None:
            where = f"{self.name} backend ({self.display_url}, model {self.model!r})"
            if got_chunk or got_text:
                raise BackendError(f"{where}: the stream was cut off before it finished", retryable=True)
            raise BackendError(
                f"{where}: the server ended the stream without a reply or an error "
                "(llama.cpp's server does this when the prompt does not fit its context window)",
                retryable=False,
            )
        stats.finish_reason = finish_reason

    async def complete_with_tools(
        self,
        request: GenerationRequest,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
    ) -> ToolCompletion:
        """One non-streaming chat completion with function tools.

        ``tools``/``tool_choice`` default to ``request.tools``/``request.tool_choice``
        when the request carries them (proposed addition to GenerationRequest).
        Without tools this is a plain non-streaming completion.
        """
        if tools is None:
            tools = getattr(request, "tools", None) or ()
        if tool_choice is None:
            tool_choice = getattr(request, "tool_choice", None)
        return await self.complete_chat(
            [turn_to_message(turn) for turn in request.turns],
            tools,
            tool_choice,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            stop=request.stop,
        )

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
        """:meth:`complete_with_tools` on raw OpenAI chat messages (the transcript of a
        tool loop: assistant turns with ``tool_calls``, ``tool`` turns with results)."""
        check_chat_turn(messages, max_tokens)
        tool_list = normalize_tools(tools)
        names = [tool["function"]["name"] for tool in tool_list]
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [wire_message(m) for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if stop:
            params["stop"] = [stop] if isinstance(stop, str) else list(stop)
        if tool_list:
            params["tools"] = tool_list
            params["tool_choice"] = normalize_tool_choice(tool_choice, names)
        t0 = time.perf_counter()
        response = await self._create(stream=False, **params)
        total_ms = (time.perf_counter() - t0) * 1000.0
        if not response.choices:
            raise BackendError(f"{self.name} backend ({self.display_url}): the response has no choices")
        choice = response.choices[0]
        message = choice.message
        text = (message.content or "") if message is not None else ""
        calls: list[ToolCall] = []
        for raw_call in (getattr(message, "tool_calls", None) or ()) if message is not None else ():
            function = getattr(raw_call, "function", None)
            calls.append(
                parse_tool_call(
                    getattr(raw_call, "id", None),
                    getattr(function, "name", None),
                    getattr(function, "arguments", None),
                    names,
                )
            )
        legacy = getattr(message, "function_call", None) if message is not None else None
        if not calls and legacy is not None:  # servers that still answer with the pre-tools field
            calls.append(parse_tool_call("call_0", legacy.name, legacy.arguments, names))
        usage = response.usage
        if usage is not None and usage.prompt_tokens is not None and usage.completion_tokens is not None:
            counts = Usage(usage.prompt_tokens, usage.completion_tokens)
        else:
            counts = Usage(
                sum(estimate_tokens(str(m.get("content") or "")) for m in messages),
                estimate_tokens(text) + sum(estimate_tokens(call.raw_arguments) + 1 for call in calls),
                estimated=True,
            )
        finish_reason = choice.finish_reason or ("tool_calls" if calls else "stop")
        return ToolCompletion(
            text=text, tool_calls=tuple(calls), usage=counts, finish_reason=finish_reason, total_ms=total_ms
        )

    def tool_loop_completer(
        self, *, max_tokens: int = 256, temperature: float = 0.2, tool_choice: str | Mapping[str, Any] = "auto"
    ) -> Callable[[list[dict[str, Any]], list[dict[str, Any]]], Awaitable[tuple[str, list[dict[str, Any]]]]]:
        """The ``complete(messages, tools) -> (text, tool_calls)`` callable of
        ``inference.tools.run_tool_loop``: tool calls as OpenAI dicts, arguments as the
        model wrote them (the loop validates them and answers bad ones to the model)."""

        async def complete(messages: list[dict[str, Any]], tools: list[dict[str, Any]]):
            result = await self.complete_chat(
                messages,
                tools,
                tool_choice if tools else None,
                max_tokens=max_tokens,
                temperature=temperature,
            )
            return result.text, [tool_call_to_openai(call) for call in result.tool_calls]

        return complete

    async def models(self) -> list[str]:
        """Model ids the server lists (``GET /models``): a cheap readiness probe."""
        import openai

        client = await self._ensure_client()
        try:
            page = await client.models.list()
        except openai.OpenAIError as exc:
            raise self.map_error(exc) from exc
        return [model.id for model in page.data]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} model={self.model!r} base_url={self.display_url!r}>"
