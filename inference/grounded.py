"""A model writes the answer from the passages; the customer sees only checked sentences.

The reply streams a sentence at a time: each sentence is released to the customer only
once the fact check (factcheck.py) found every fact in it in the sources. A sentence with
an unsupported fact stops the model. If nothing had been released yet, the answer is
written once more with a stricter prompt (temperature 0, told which facts were not in
the knowledge); if that fails too, the caller quotes the knowledge base or hands off. If
some sentences had been released, the answer ends with them: nothing shown is taken
back, and nothing unchecked is shown. A model that starts repeating a sentence (small
models loop) is stopped the same way, at the first repetition.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from inference.backends.base import Backend, ChatTurn, GenerationRequest, GenerationResult
from inference.factcheck import Fact, Sources, contradicts, split_sentences, unsupported

PASSED = "passed"  # the first answer held
REGENERATED = "regenerated"  # the second one did
TRUNCATED = "truncated"  # ended at the last checked sentence
REJECTED = "rejected"  # neither held: nothing was shown

RETRY_NOTE = (
    "Your previous answer stated {facts}, which the knowledge does not say. Answer again using "
    "only facts, numbers and names that appear word for word in the knowledge; leave out "
    "anything it does not say."
)


class _Unsupported(Exception):
    pass


class SentenceGate:
    """Collects streamed text and releases whole sentences whose facts all check out."""

    def __init__(
        self,
        sources: Sources,
        language: str,
        release: Callable[[str], Awaitable[None]],
        customer: Sources | None = None,
        restates: Sequence[str] | None = None,
    ):
        self.sources = sources
        self.customer = customer
        self.restates = list(restates) if restates is not None else sources.passages
        self.language = language
        self.release = release
        self.pending = ""
        self.released: list[str] = []
        self.failed: list[Fact] = []

    async def _offer(self, sentence: str) -> None:
        if " ".join(sentence.lower().split()) in {" ".join(r.lower().split()) for r in self.released}:
            raise _Unsupported(sentence)  # the model repeats itself: the answer ends here
        bad = unsupported(sentence, self.sources, language=self.language, customer=self.customer)
        if not bad and contradicts(sentence, self.restates):
            bad = [Fact("meaning", " ".join(sentence.split())[:80])]
        if bad:
            self.failed = bad
            raise _Unsupported(sentence)
        self.released.append(sentence)
        await self.release(sentence)

    async def add(self, text: str) -> None:
        self.pending += text
        done, self.pending = split_sentences(self.pending)
        for sentence in done:
            await self._offer(sentence)

    async def finish(self, cut_off: bool = False) -> None:
        """Offer the unfinished rest, unless the model was cut off mid-sentence (max_tokens)."""
        if cut_off:
            self.pending = ""
        if self.pending.strip():
            rest, self.pending = self.pending, ""
            await self._offer(rest)

    @property
    def text(self) -> str:
        return "".join(self.released).strip()


@dataclass
class Written:
    outcome: str  # passed | regenerated | truncated | rejected
    text: str  # what the customer was shown ("" when rejected)
    result: GenerationResult | None
    attempts: int
    unsupported: list[Fact] = field(default_factory=list)  # what the first failing attempt stated


def _retry(request: GenerationRequest, facts: Sequence[Fact]) -> GenerationRequest:
    names = ", ".join(dict.fromkeys(f'"{f.text}"' for f in facts))
    turns = (*request.turns, ChatTurn("system", RETRY_NOTE.format(facts=names)))
    return dataclasses.replace(request, turns=turns, temperature=0.0)


async def write_checked(
    backend: Backend,
    request: GenerationRequest,
    sources: Sources,
    language: str,
    release: Callable[[str], Awaitable[None]],
    customer: Sources | None = None,
    restates: Sequence[str] | None = None,
) -> Written:
    """Generate ``request`` on ``backend`` through a :class:`SentenceGate`; at most two
    attempts. ``customer``: the customer's message, which vouches for some facts only;
    ``restates``: the passage the answer is about (the cited entry), whose negations and
    restrictions it must keep (default: every source)."""
    first_failure: list[Fact] = []
    attempt_request = request
    for attempt in (1, 2):
        gate = SentenceGate(sources, language, release, customer, restates)
        try:
            result = await backend.generate(attempt_request, on_delta=gate.add)
            await gate.finish(cut_off=result.finish_reason == "length")
        except _Unsupported:
            first_failure = first_failure or gate.failed
            if gate.released:
                return Written(TRUNCATED, gate.text, None, attempt, first_failure)
            attempt_request = _retry(request, gate.failed)
            continue
        if not gate.text:
            return Written(REJECTED, "", result, attempt, first_failure)
        outcome = PASSED if attempt == 1 else REGENERATED
        return Written(outcome, gate.text, dataclasses.replace(result, text=gate.text), attempt, first_failure)
    return Written(REJECTED, "", None, 2, first_failure)
