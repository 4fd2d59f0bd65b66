"""Claude through Anthropic's official SDK (PyPI ``anthropic``), for tenants who bring a key.

Streaming (``stream()``) reads the Messages API's server-sent events (``message_start``,
``content_block_delta`` / ``text_delta``, ``message_delta`` with the stop reason and output
tokens); ``complete_chat()`` is one non-streaming turn with tools, taking and returning the
OpenAI-format transcript the worker's tool loop speaks (the SDK's Messages API takes no
sampling temperature any more, so a tenant's temperature does not apply to Claude):

* ``system`` messages become the ``system`` parameter;
* an assistant turn's ``tool_calls`` become ``tool_use`` blocks, ``tool`` results become
  ``tool_result`` blocks in a user turn (consecutive same-role turns are merged: the API
  wants them alternating);
* ``tool_choice`` auto / required / none / a name map to ``auto`` / ``any`` / ``none`` /
  ``{"type": "tool", "name": ...}``.

Errors become :class:`BackendError`: 401/403 and other 4xx are permanent (a wrong key does
not get better by retrying), 408/409/429/5xx/529 and transport failures are retryable, and a
429's ``retry-after`` is kept in ``retry_after_s``. The key is never in a message or repr.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from .base import Backend, BackendError, Delta, GenerationRequest, StreamStats, ToolCompletion, Usage
from .openai_compat import normalize_tools, parse_tool_call

RETRYABLE_STATUSES = frozenset({408, 409, 429, 529})
_STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


def retry_after_seconds(headers: Any) -> float | None:
    """The Retry-After header in seconds (a number of seconds; dates are not sent by these APIs)."""
    try:
        value = headers.get("retry-after") if headers is not None else None
        return max(float(value), 0.0) if value is not None else None
    except (TypeError, ValueError):
        return None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


def _arguments(raw: Any) -> dict:
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = json.loads(raw) if isinstance(raw, str) and raw.strip() else {}
    except ValueError:
        value = {}
    return value if isinstance(value, dict) else {}


def to_anthropic(messages: Sequence[Mapping[str, Any]]) -> tuple[str, list[dict]]:
    """(system, messages) for the Messages API from an OpenAI-format transcript."""
    system: list[str] = []
    out: list[dict] = []

    def add(role: str, blocks: list[dict]) -> None:
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for m in messages:
        role = m.get("role")
        if role == "system":
            system.append(_text(m.get("content")))
        elif role == "user":
            add("user", [{"type": "text", "text": _text(m.get("content")) or " "}])
        elif role == "assistant":
            blocks: list[dict[str, Any]] = (
                [{"type": "text", "text": _text(m.get("content"))}] if _text(m.get("content")) else []
            )
            for call in m.get("tool_calls") or ():
                fn = call.get("function") or {}
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call.get("id") or "",
                        "name": fn.get("name") or "",
                        "input": _arguments(fn.get("arguments")),
                    }
                )
            if blocks:
                add("assistant", blocks)
        elif role == "tool":
            add(
                "user",
                [
                    {
                        "type": "tool_result",
                        "tool_use_id": m.get("tool_call_id") or "",
                        "content": _text(m.get("content")),
                    }
                ],
            )
    return "\n\n".join(s for s in system if s), out


def _tool_choice(choice: Any, names: Sequence[str]) -> dict:
    if choice in (None, "auto"):
        return {"type": "auto"}
    if choice == "required":
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    if isinstance(choice, str) and choice in names:
        return {"type": "tool", "name": choice}
    if isinstance(choice, Mapping) and isinstance(choice.get("function"), Mapping):  # OpenAI's forced form
        return {"type": "tool", "name": choice["function"].get("name", "")}
    raise BackendError(f"tool_choice {choice!r} is neither auto/none/required nor one of the tools {list(names)}")


class AnthropicBackend(Backend):
    name = "anthropic"
    supports_tools = True
    can_write = True

    def __init__(
        self, model: str, api_key: str, base_url: str | None = None, timeout_s: float = 60.0, max_retries: int = 0
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ValueError("model must be a non-empty string")
        self.model = model.strip()
        self.base_url = base_url
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)  # 0: the job queue retries, with backoff
        self._api_key = api_key or ""
        self._client: Any = None

    async def start(self) -> None:
        if self._client is None:
            import anthropic

            self._client = anthropic.AsyncAnthropic(
                api_key=self._api_key or "missing",
                base_url=self.base_url,
                timeout=self.timeout_s,
                max_retries=self.max_retries,
            )

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    def map_error(self, exc: BaseException) -> BackendError:
        import anthropic

        if isinstance(exc, BackendError):
            return exc
        where = f"anthropic backend (model {self.model!r})"
        retry_after = None
        if isinstance(exc, anthropic.APITimeoutError):
            message, retryable = f"{where}: timed out after {self.timeout_s:g}s", True
        elif isinstance(exc, anthropic.APIConnectionError):
            message, retryable = f"{where}: cannot reach the API ({type(exc.__cause__ or exc).__name__})", True
        elif isinstance(exc, anthropic.APIStatusError):
            status = exc.status_code
            body = exc.body if isinstance(exc.body, Mapping) else {}
            error: Mapping[str, Any] = body["error"] if isinstance(body.get("error"), Mapping) else {}
            # an error event inside a 200 stream carries its kind in the body only
            retryable = (
                status in RETRYABLE_STATUSES
                or status >= 500
                or error.get("type") in ("overloaded_error", "api_error", "rate_limit_error")
            )
            retry_after = retry_after_seconds(getattr(exc.response, "headers", None))
            message = f"{where}: HTTP {status}: {error.get('message') or exc.message}"
        elif isinstance(exc, anthropic.APIError):  # an error event inside a stream
            body = exc.body if isinstance(exc.body, Mapping) else {}
            kind = body.get("error", {}).get("type", "") if isinstance(body.get("error"), Mapping) else ""
            retryable = kind in ("overloaded_error", "api_error", "rate_limit_error", "") or "overloaded" in str(exc)
            message = f"{where}: error during the stream: {exc.message}"
        else:
            message, retryable = f"{where}: {type(exc).__name__}: {exc}", False
        if self._api_key and self._api_key in message:
            message = message.replace(self._api_key, "***")
        return BackendError(message[:800], retryable=retryable, retry_after_s=retry_after)

    async def _call(self, **params: Any) -> Any:
        import anthropic

        await self.start()
        try:
            return await self._client.messages.create(**params)
        except anthropic.AnthropicError as exc:
            raise self.map_error(exc) from exc

    def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        return self._open_stream(request, StreamStats())

    async def _open_stream(self, request: GenerationRequest, stats: StreamStats) -> AsyncIterator[Delta]:
        import anthropic

        system, messages = to_anthropic([{"role": t.role, "content": t.content} for t in request.turns])
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": messages,
            "stream": True,
        }
        if system:
            params["system"] = system
        if request.stop:
            params["stop_sequences"] = list(request.stop)
        events = await self._call(**params)
        finished = False
        try:
            async for event in events:
                kind = getattr(event, "type", "")
                if kind == "message_start":
                    usage = getattr(event.message, "usage", None)
                    if usage is not None and usage.input_tokens is not None:
                        stats.prompt_tokens = usage.input_tokens
                elif kind == "content_block_delta" and getattr(event.delta, "type", "") == "text_delta":
                    if event.delta.text:
                        yield Delta(event.delta.text)
                elif kind == "message_delta":
                    reason = getattr(event.delta, "stop_reason", None)
                    if reason:
                        stats.finish_reason = _STOP_REASONS.get(reason, reason)
                    usage = getattr(event, "usage", None)
                    if usage is not None and usage.output_tokens is not None:
                        stats.completion_tokens = usage.output_tokens
                elif kind == "message_stop":
                    finished = True
        except anthropic.AnthropicError as exc:
            raise self.map_error(exc) from exc
        finally:
            await events.close()
        if not finished:
            raise BackendError("anthropic backend: the stream was cut off before it finished", retryable=True)

    async def complete_chat(
        self, messages, tools=None, tool_choice=None, *, max_tokens=256, temperature=0.2, stop=()
    ) -> ToolCompletion:
        tool_list = normalize_tools(tools)
        names = [t["function"]["name"] for t in tool_list]
        system, converted = to_anthropic(messages)
        params: dict[str, Any] = {"model": self.model, "max_tokens": max_tokens, "messages": converted}
        if system:
            params["system"] = system
        if stop:
            params["stop_sequences"] = list(stop)
        if tool_list:
            params["tools"] = [
                {
                    "name": t["function"]["name"],
                    "description": t["function"].get("description", ""),
                    "input_schema": t["function"]["parameters"],
                }
                for t in tool_list
            ]
            params["tool_choice"] = _tool_choice(tool_choice, names)
        t0 = time.perf_counter()
        response = await self._call(**params)
        total_ms = (time.perf_counter() - t0) * 1000
        text, calls = [], []
        for block in response.content or ():
            if block.type == "text":
                text.append(block.text)
            elif block.type == "tool_use":
                calls.append(parse_tool_call(block.id, block.name, block.input, names))
        usage = response.usage
        reason = _STOP_REASONS.get(response.stop_reason or "", response.stop_reason or "stop")
        return ToolCompletion(
            text="".join(text),
            tool_calls=tuple(calls),
            usage=Usage(usage.input_tokens or 0, usage.output_tokens or 0),
            finish_reason=reason,
            total_ms=total_ms,
        )

    def __repr__(self) -> str:
        return f"<AnthropicBackend model={self.model!r} base_url={self.base_url!r}>"
