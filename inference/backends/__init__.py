"""Model backends of the inference service.

``make_backend(name, **options)`` builds one by name: ``"llamacpp"`` (the
default, llama.cpp in-process) or ``"echo"`` (instant, for benchmarks).
Importing this package does not import llama_cpp; that happens in
``LlamaCppBackend.start()``.
"""

from __future__ import annotations

from .base import (
    Backend,
    BackendError,
    ChatTurn,
    Delta,
    GenerationRequest,
    GenerationResult,
    StreamStats,
)
from .echo import EchoBackend
from .llamacpp import LlamaCppBackend, bundled_model_path
from .openai_compat import OpenAICompatBackend

DEFAULT_BACKEND = "llamacpp"

BACKENDS: dict[str, type[Backend]] = {
    "llamacpp": LlamaCppBackend,
    "openai": OpenAICompatBackend,  # vLLM, Ollama, llama.cpp's server, OpenAI
    "echo": EchoBackend,
}


def make_backend(name: str = DEFAULT_BACKEND, **options) -> Backend:
    """Instantiate the backend registered under ``name`` with ``options``.

    Raises ValueError for an unknown name (listing the known ones) or for
    options the backend does not accept.  The backend is not started.
    """
    key = name.strip().lower() if isinstance(name, str) else name
    try:
        cls = BACKENDS[key]
    except (KeyError, TypeError):
        raise ValueError(f"unknown inference backend {name!r}; known backends: {', '.join(sorted(BACKENDS))}") from None
    try:
        return cls(**options)
    except TypeError as exc:
        raise ValueError(f"invalid options for backend {key!r}: {exc}") from exc


__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "Backend",
    "BackendError",
    "ChatTurn",
    "Delta",
    "EchoBackend",
    "GenerationRequest",
    "GenerationResult",
    "LlamaCppBackend",
    "OpenAICompatBackend",
    "StreamStats",
    "bundled_model_path",
    "make_backend",
]
