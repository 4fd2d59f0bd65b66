"""Instant, deterministic backend for benchmarks and pipeline tests (never the default)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from .base import Backend, Delta, GenerationRequest, StreamStats, estimate_tokens

# Word-sized pieces that concatenate back to the original string exactly:
# each piece is a word with its leading whitespace (like BPE tokens), plus
# trailing whitespace as its own piece.
_PIECE_RE = re.compile(r"\s*\S+|\s+")


class EchoBackend(Backend):
    """Streams back ``"You said: <last user turn>"`` word by word, with no delay
    unless ``token_delay_s`` asks it to behave like a model of that speed (crash tests
    need a reply that is still streaming when a process is killed).

    Honors ``max_tokens`` (one word piece = one token, finish_reason "length")
    and ``stop`` (reply cut before the first stop sequence, finish_reason
    "stop").  Token counts are whitespace words.
    """

    name = "echo"

    def __init__(self, model: str = "echo", prefix: str = "You said: ", token_delay_s: float = 0.0) -> None:
        self.model = model
        self.prefix = prefix
        self.token_delay_s = token_delay_s

    def reply_for(self, request: GenerationRequest) -> str:
        return f"{self.prefix}{request.last_user_text()}"

    @staticmethod
    def split(text: str) -> list[str]:
        return _PIECE_RE.findall(text)

    def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        return self._open_stream(request, StreamStats())

    async def _open_stream(self, request: GenerationRequest, stats: StreamStats) -> AsyncIterator[Delta]:
        reply = self.reply_for(request)
        finish_reason = "stop"
        cut = min((i for i in (reply.find(s) for s in request.stop) if i >= 0), default=-1)
        if cut >= 0:
            reply = reply[:cut]
        pieces = self.split(reply)
        if len(pieces) > request.max_tokens:
            pieces = pieces[: request.max_tokens]
            finish_reason = "length"
        stats.prompt_tokens = sum(estimate_tokens(t.content) for t in request.turns)
        stats.completion_tokens = len(pieces)
        stats.finish_reason = finish_reason
        for piece in pieces:
            if self.token_delay_s:
                await asyncio.sleep(self.token_delay_s)
            yield Delta(piece)
