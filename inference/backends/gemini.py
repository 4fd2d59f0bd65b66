"""Gemini through Google's official SDK (PyPI ``google-genai``), for tenants who bring a key.

Streaming reads ``models/{model}:streamGenerateContent?alt=sse`` (each event a
``GenerateContentResponse``: candidate parts with text, ``finishReason``, ``usageMetadata``);
``complete_chat()`` is one ``generateContent`` turn with function declarations, taking and
returning the OpenAI-format transcript of the worker's tool loop:

* ``system`` messages become ``system_instruction``; ``assistant`` is role ``model``;
* an assistant turn's ``tool_calls`` become ``functionCall`` parts, a ``tool`` result a
  ``functionResponse`` part (named after the call it answers);
* ``tool_choice`` auto / required / none / a name map to function-calling modes AUTO / ANY /
  NONE / ANY restricted to that name. The SDK's automatic function calling is off: the
  worker's loop runs the tools.

Errors become :class:`BackendError`: 401/403 and other 4xx are permanent, 408/429/5xx and
transport failures retryable, with a 429's Retry-After (header, or the RetryInfo detail)
kept in ``retry_after_s``. The SDK retries nothing itself (the job queue does).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from .anthropic import _arguments, _text, retry_after_seconds
from .base import Backend, BackendError, Delta, GenerationRequest, StreamStats, ToolCompletion, Usage
from .openai_compat import normalize_tools, parse_tool_call

RETRYABLE_STATUSES = frozenset({408, 429})
_FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}


def to_gemini(messages) -> tuple[str, list[dict]]:
    """(system_instruction, contents) from an OpenAI-format transcript."""
    system: list[str] = []
    contents: list[dict] = []
    names: dict[str, str] = {}  # tool call id -> function name, for the functionResponse

    def add(role: str, parts: list[dict]) -> None:
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})

    for m in messages:
        role = m.get("role")
        if role == "system":
            system.append(_text(m.get("content")))
        elif role == "user":
            add("user", [{"text": _text(m.get("content")) or " "}])
        elif role == "assistant":
            parts: list[dict[str, Any]] = [{"text": _text(m.get("content"))}] if _text(m.get("content")) else []
            for call in m.get("tool_calls") or ():
                fn = call.get("function") or {}
                names[call.get("id") or ""] = fn.get("name") or ""
                parts.append({"function_call": {"name": fn.get("name") or "", "args": _arguments(fn.get("arguments"))}})
            if parts:
                add("model", parts)
        elif role == "tool":
            content = _text(m.get("content"))
            try:
                result = json.loads(content)
            except ValueError:
                result = content
            add(
                "user",
                [
                    {
                        "function_response": {
                            "name": names.get(m.get("tool_call_id") or "", ""),
                            "response": result if isinstance(result, dict) else {"result": result},
                        }
                    }
                ],
            )
    return "\n\n".join(s for s in system if s), contents


def _calling_config(choice: Any, names: list[str]) -> dict:
    if choice in (None, "auto"):
        return {"mode": "AUTO"}
    if choice == "required":
        return {"mode": "ANY"}
    if choice == "none":
        return {"mode": "NONE"}
    if isinstance(choice, Mapping) and isinstance(choice.get("function"), Mapping):
        choice = choice["function"].get("name")
    if isinstance(choice, str) and choice in names:
        return {"mode": "ANY", "allowed_function_names": [choice]}
    raise BackendError(f"tool_choice {choice!r} is neither auto/none/required nor one of the tools {names}")


def _retry_info(details: Any) -> float | None:
    """The RetryInfo detail of a Google API error ({"retryDelay": "7s"})."""
    error = details.get("error") if isinstance(details, Mapping) else None
    for item in (error or {}).get("details", []) if isinstance(error, Mapping) else []:
        delay = item.get("retryDelay") if isinstance(item, Mapping) else None
        match = re.fullmatch(r"(\d+(?:\.\d+)?)s", delay or "")
        if match:
            return float(match.group(1))
    return None


class GeminiBackend(Backend):
    name = "gemini"
    supports_tools = True
    can_write = True

    def __init__(self, model: str, api_key: str, base_url: str | None = None, timeout_s: float = 60.0) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ValueError("model must be a non-empty string")
        self.model = model.strip()
        self.base_url = base_url
        self.timeout_s = float(timeout_s)
        self._api_key = api_key or ""
        self._client: Any = None

    async def start(self) -> None:
        if self._client is None:
            from google import genai
            from google.genai import types

            options = types.HttpOptions(timeout=int(self.timeout_s * 1000), base_url=self.base_url or None)
            self._client = genai.Client(api_key=self._api_key or "missing", http_options=options)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aio.aclose()

    def map_error(self, exc: BaseException) -> BackendError:
        from google.genai import errors

        if isinstance(exc, BackendError):
            return exc
        where = f"gemini backend (model {self.model!r})"
        retry_after = None
        if isinstance(exc, errors.APIError):
            status = int(exc.code or 0)
            retryable = status in RETRYABLE_STATUSES or status >= 500
            if status == 429:
                retry_after = retry_after_seconds(getattr(exc.response, "headers", None)) or _retry_info(exc.details)
            message = f"{where}: HTTP {status} {exc.status or ''}: {exc.message or ''}"
        elif isinstance(exc, (TimeoutError, OSError)) or type(exc).__module__.split(".")[0] in (
            "httpx",
            "httpx2",
            "aiohttp",
        ):
            message, retryable = f"{where}: cannot reach the API ({type(exc).__name__})", True
        else:
            message, retryable = f"{where}: {type(exc).__name__}: {exc}", False
        if self._api_key and self._api_key in message:
            message = message.replace(self._api_key, "***")
        return BackendError(message[:800], retryable=retryable, retry_after_s=retry_after)

    def _config(self, system: str, max_tokens: int, temperature: float, stop=()) -> dict:
        config: dict[str, Any] = {
            "max_output_tokens": max_tokens,
            "temperature": temperature,
            "automatic_function_calling": {"disable": True},
        }
        if system:
            config["system_instruction"] = system
        if stop:
            config["stop_sequences"] = list(stop)
        return config

    def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        return self._open_stream(request, StreamStats())

    async def _open_stream(self, request: GenerationRequest, stats: StreamStats) -> AsyncIterator[Delta]:
        await self.start()
        system, contents = to_gemini([{"role": t.role, "content": t.content} for t in request.turns])
        config = self._config(system, request.max_tokens, request.temperature, request.stop)
        try:
            chunks = await self._client.aio.models.generate_content_stream(
                model=self.model, contents=contents, config=config
            )
            async for chunk in chunks:
                for candidate in (chunk.candidates or ())[:1]:
                    for part in (candidate.content.parts if candidate.content else None) or ():
                        if part.text and not part.thought:
                            yield Delta(part.text)
                    if candidate.finish_reason:
                        reason = getattr(candidate.finish_reason, "value", str(candidate.finish_reason))
                        stats.finish_reason = _FINISH.get(reason, reason.lower())
                usage = chunk.usage_metadata
                if usage is not None:
                    if usage.prompt_token_count is not None:
                        stats.prompt_tokens = usage.prompt_token_count
                    if usage.candidates_token_count is not None:
                        stats.completion_tokens = usage.candidates_token_count
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001 - the SDK's and its transports' errors, mapped
            raise self.map_error(exc) from exc
        if stats.finish_reason is None:
            raise BackendError(
                f"gemini backend (model {self.model!r}): the stream was cut off before it finished", retryable=True
            )

    async def complete_chat(
        self, messages, tools=None, tool_choice=None, *, max_tokens=256, temperature=0.2, stop=()
    ) -> ToolCompletion:
        await self.start()
        tool_list = normalize_tools(tools)
        names = [t["function"]["name"] for t in tool_list]
        system, contents = to_gemini(messages)
        config = self._config(system, max_tokens, temperature, stop)
        if tool_list:
            config["tools"] = [
                {
                    "function_declarations": [
                        {
                            "name": t["function"]["name"],
                            "description": t["function"].get("description", ""),
                            "parameters_json_schema": t["function"]["parameters"],
                        }
                        for t in tool_list
                    ]
                }
            ]
            config["tool_config"] = {"function_calling_config": _calling_config(tool_choice, names)}
        t0 = time.perf_counter()
        try:
            response = await self._client.aio.models.generate_content(
                model=self.model, contents=contents, config=config
            )
        except Exception as exc:  # noqa: BLE001 - mapped
            raise self.map_error(exc) from exc
        total_ms = (time.perf_counter() - t0) * 1000
        text: list[str] = []
        calls = []
        candidate = (response.candidates or [None])[0]
        parts = (candidate.content.parts if candidate is not None and candidate.content else None) or ()
        for i, part in enumerate(parts):
            if part.function_call is not None:
                fc = part.function_call
                calls.append(parse_tool_call(fc.id or f"call_{i}", fc.name, dict(fc.args or {}), names))
            elif part.text and not part.thought:
                text.append(part.text)
        reason = (
            getattr(candidate.finish_reason, "value", "STOP")
            if candidate is not None and candidate.finish_reason
            else "STOP"
        )
        usage = response.usage_metadata
        counts = Usage(usage.prompt_token_count or 0, usage.candidates_token_count or 0) if usage else Usage(0, 0, True)
        return ToolCompletion(
            text="".join(text),
            tool_calls=tuple(calls),
            usage=counts,
            finish_reason="tool_calls" if calls else _FINISH.get(reason, reason.lower()),
            total_ms=total_ms,
        )

    def __repr__(self) -> str:
        return f"<GeminiBackend model={self.model!r} base_url={self.base_url!r}>"
