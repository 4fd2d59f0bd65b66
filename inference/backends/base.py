"""Model-backend interface for the inference service.

A backend turns a :class:`GenerationRequest` (a chat transcript plus sampling
limits) into a stream of :class:`Delta` pieces.  ``stream()`` is the only
method a backend must implement; :meth:`Backend.generate` drives it, times the
first token and assembles a :class:`GenerationResult`.

Backends that know better token counts / finish reasons than "one delta = one
token" override :meth:`Backend._open_stream` and fill in the
:class:`StreamStats` they are handed.
"""

from __future__ import annotations

import abc
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ROLES = frozenset({"system", "user", "assistant"})


@dataclass(frozen=True)
class ChatTurn:
    role: str  # "system" | "user" | "assistant"
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"invalid chat role {self.role!r}; expected one of {sorted(ROLES)}")
        if not isinstance(self.content, str):
            raise TypeError(f"ChatTurn.content must be str, not {type(self.content).__name__}")


@dataclass(frozen=True)
class GenerationRequest:
    turns: tuple[ChatTurn, ...]
    max_tokens: int = 256
    temperature: float = 0.2
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Accept lists for convenience but keep the dataclass hashable/immutable.
        if not isinstance(self.turns, tuple):
            object.__setattr__(self, "turns", tuple(self.turns))
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        elif not isinstance(self.stop, tuple):
            object.__setattr__(self, "stop", tuple(self.stop))
        if not self.turns:
            raise ValueError("GenerationRequest.turns must not be empty")
        for turn in self.turns:
            if not isinstance(turn, ChatTurn):
                raise TypeError(f"turns must be ChatTurn instances, got {type(turn).__name__}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if any(not s for s in self.stop):
            raise ValueError("stop sequences must be non-empty strings")

    def last_user_text(self) -> str:
        """Content of the last ``user`` turn ("" if there is none)."""
        for turn in reversed(self.turns):
            if turn.role == "user":
                return turn.content
        return ""


@dataclass(frozen=True)
class Delta:
    text: str  # one streamed piece of the reply


@dataclass(frozen=True)
class GenerationResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    first_token_ms: float  # time to first non-empty delta (== total_ms if there was none)
    total_ms: float
    finish_reason: str  # "stop" | "length" | backend-specific


@dataclass(frozen=True)
class ToolCall:
    """One function call proposed by the model.

    ``arguments`` is always a dict (empty when the model's arguments could not be
    used); ``raw_arguments`` is the string exactly as the server sent it; ``error``
    says why the call is unusable (invalid JSON, not an object, unknown tool),
    ``None`` when it is fine.
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict, hash=False)
    raw_arguments: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False  # True when the server sent no usage and these are estimates


@dataclass(frozen=True)
class ToolCompletion:
    """Result of a non-streaming completion with tools."""

    text: str  # assistant text ("" when the model only called tools)
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    finish_reason: str  # "stop" | "length" | "tool_calls" | ...
    total_ms: float


class BackendError(Exception):
    """A backend failed to serve a request.

    ``retryable`` tells the caller whether the same request may succeed if
    retried (here or on another worker): timeouts, overload and shutdown are
    retryable; malformed / oversized requests and missing models are not.
    """

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool = False, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s  # what a rate-limited API asked for (Retry-After), if anything


@dataclass
class StreamStats:
    """Filled in by a backend's stream when it knows the true numbers."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None


def check_chat_turn(messages: Sequence[Mapping[str, Any]], max_tokens: int) -> None:
    """The arguments of :meth:`Backend.complete_chat` every backend refuses alike."""
    if not messages or not all(isinstance(m, Mapping) and m.get("role") for m in messages):
        raise BackendError("messages must be a non-empty list of OpenAI chat messages (dicts with a role)")
    if max_tokens < 1:
        raise BackendError(f"max_tokens must be >= 1, got {max_tokens}")


def estimate_tokens(text: str) -> int:
    """Crude token estimate (whitespace-separated words) for backends without a tokenizer."""
    return len(text.split())


async def _aclose(iterator: AsyncIterator[Delta]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


class Backend(abc.ABC):
    """Base class of all model backends.  One instance serves many requests."""

    name: str = "backend"
    model: str = ""

    async def start(self) -> None:  # noqa: B027 - optional hook: backends without a model to load need nothing
        """Load the model etc.  Must be idempotent."""

    async def close(self) -> None:  # noqa: B027 - optional hook, as start
        """Release resources.  Must be idempotent."""

    @abc.abstractmethod
    def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        """Async iterator (normally an async generator) of reply deltas.

        Consumers that stop early should ``aclose()`` the iterator (or cancel
        the task iterating it) so the backend can stop generating.
        """

    def _open_stream(self, request: GenerationRequest, stats: StreamStats) -> AsyncIterator[Delta]:
        """Like :meth:`stream`, but may record true counts in ``stats``.

        The default just calls :meth:`stream`; :meth:`generate` then falls back
        to counting deltas and estimating prompt tokens.
        """
        return self.stream(request)

    #: whether complete_chat() can offer tools to the model (the worker's tool loop)
    supports_tools: bool = False
    #: whether the model can write an answer from retrieved passages: the worker then
    #: generates grounded answers (fact-checked); otherwise it quotes the knowledge base
    can_write: bool = False

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
        """One non-streaming turn on OpenAI-format chat messages (system, user, assistant with
        ``tool_calls``, ``tool`` results) with OpenAI function ``tools``; ``tool_choice`` is
        auto, none, required or a tool name. Backends with ``supports_tools`` implement it."""
        raise BackendError(f"the {self.name} backend cannot call tools", retryable=False)

    async def generate(
        self,
        request: GenerationRequest,
        on_delta: Callable[[str], Awaitable[None]] | None = None,
    ) -> GenerationResult:
        """Drive the stream to completion, optionally forwarding each delta.

        If ``on_delta`` raises (or the calling task is cancelled) the stream is
        closed, which stops generation in the backend.
        """
        stats = StreamStats()
        parts: list[str] = []
        n_deltas = 0
        first: float | None = None
        t0 = time.perf_counter()
        iterator = self._open_stream(request, stats)
        try:
            async for delta in iterator:
                if not delta.text:
                    continue
                if first is None:
                    first = time.perf_counter()
                parts.append(delta.text)
                n_deltas += 1
                if on_delta is not None:
                    await on_delta(delta.text)
        finally:
            await _aclose(iterator)
        end = time.perf_counter()
        total_ms = (end - t0) * 1000.0
        first_token_ms = (first - t0) * 1000.0 if first is not None else total_ms

        completion_tokens = stats.completion_tokens if stats.completion_tokens is not None else n_deltas
        if stats.prompt_tokens is not None:
            prompt_tokens = stats.prompt_tokens
        else:
            prompt_tokens = sum(estimate_tokens(t.content) for t in request.turns)
        finish_reason = stats.finish_reason or ("length" if completion_tokens >= request.max_tokens else "stop")
        return GenerationResult(
            text="".join(parts),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            first_token_ms=first_token_ms,
            total_ms=total_ms,
            finish_reason=finish_reason,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} model={self.model!r}>"
