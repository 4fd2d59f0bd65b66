"""A model writes the answer from the passages; the customer sees only checked sentences.

The reply streams a sentence at a time: each sentence is released to the customer only
once the fact check (factcheck.py) found every fact in it in the sources. A sentence with
an unsupported fact stops the model. If nothing had been released yet, the answer is
written once more with a stricter prompt (temperature 0, told which facts were not in
the knowledge); if that fails too, the caller quotes the knowledge base or hands off. If
some sentences had been released, the answer ends with them: nothing shown is taken
back, and nothing unchecked is shown. A model that starts repeating a sentence (small
models loop) is stopped the same way, at the first repetition, and one that goes on to write
the customer's next question (after a blank line) is stopped before it.

A translation of the cited entry (a customer writing in another language) is held back
until it is whole: then it must also keep every number, day, e-mail and link of the entry
(factcheck.left_out) and be about as long, else it is written once more, then quoted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from inference.backends.base import Backend, ChatTurn, GenerationRequest, GenerationResult
from inference.factcheck import Fact, Sources, left_out, problems, split_sentences

PASSED = "passed"  # the first answer held
REGENERATED = "regenerated"  # the second one did
TRUNCATED = "truncated"  # ended at the last checked sentence
REJECTED = "rejected"  # neither held: nothing was shown

TRANSLATION_RETRY_PLAIN = "Translate only the customer-support answer, all of it and nothing else."
TRANSLATION_RETRY_NOTE = (
    "Your previous translation left out or changed {facts}. Translate the answer again, keeping "
    "every number, day, date, e-mail address and link of it exactly."
)
RETRY_NOTE = (
    "Your previous answer stated {facts}, which the knowledge does not say. Answer again using "
    "only facts, numbers and names that appear word for word in the knowledge; leave out "
    "anything it does not say."
)


# a translation is about as long as what it translates (French and German run ~10-30%
# longer); far off, it is something else: a reply to the entry, or the prompt translated
_TRANSLATION_LENGTH = (0.6, 1.8)


class _Unsupported(Exception):
    pass


class _Ended(Exception):
    """The answer is complete; what the model writes next is not part of it."""


class SentenceGate:
    """Collects streamed text and releases whole sentences whose facts all check out."""

    def __init__(
        self,
        sources: Sources,
        language: str,
        release: Callable[[str], Awaitable[None]],
        customer: Sources | None = None,
        restates: Sequence[str] | None = None,
        translation_of: str = "",
    ):
        self.translation_of = translation_of  # a translation is shown only once it is whole
        self.sources = sources
        self.customer = customer
        self.restates = list(restates) if restates is not None else sources.passages
        self.language = language
        self.release = release
        self.pending = ""
        self.released: list[str] = []
        self.failed: list[Fact] = []  # what an answer stated that the sources do not
        self.left_out: list[Fact] = []  # what a translation did not keep

    async def _offer(self, sentence: str) -> None:
        before = "".join(self.released)
        gap = before[len(before.rstrip()) :] + sentence[: len(sentence) - len(sentence.lstrip())]
        if before.strip() and gap.count("\n") >= 2 and sentence.strip().endswith("?"):
            raise _Ended  # after a blank line, a question: the model writes the customer's next turn
        if not sentence.strip():  # a line break on its own: nothing to check
            self.released.append(sentence)
            if not self.translation_of:
                await self.release(sentence)
            return
        if " ".join(sentence.lower().split()) in {" ".join(r.lower().split()) for r in self.released}:
            # the model repeats itself: the answer ends here (a held translation, before the loop)
            raise _Ended if self.translation_of else _Unsupported(sentence)
        bad = problems(sentence, self.sources, language=self.language, customer=self.customer, restates=self.restates)
        if bad:
            self._fail(bad)
        self.released.append(sentence)
        if not self.translation_of:
            await self.release(sentence)

    def _fail(self, facts: list[Fact]) -> None:
        self.failed = facts
        if self.translation_of:
            self.released = []  # held, never shown: the whole translation is written again
        raise _Unsupported(facts[0].text)

    async def settle(self) -> None:
        """A translation, once whole, must keep every fact of the entry; then it is shown."""
        if not self.translation_of or not self.text:
            return
        missing = left_out(self.translation_of, self.text)
        ratio = len(self.text) / max(len(self.translation_of.strip()), 1)
        if not missing and not _TRANSLATION_LENGTH[0] <= ratio <= _TRANSLATION_LENGTH[1]:
            missing = [Fact("length", f"{len(self.text)} characters for {len(self.translation_of.strip())}")]
        if missing:
            self.failed = []  # no fact stated wrongly: kept empty, so the retry names what was lost
            self.left_out = missing
            self.released = []
            raise _Unsupported(missing[0].text)
        for sentence in self.released:
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
        await self.settle()

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


def _retry(request: GenerationRequest, facts: Sequence[Fact], translating: bool = False) -> GenerationRequest:
    names = ", ".join(dict.fromkeys(f'"{f.text}"' for f in facts if f.kind != "length"))
    if not translating:
        turns = (*request.turns, ChatTurn("system", RETRY_NOTE.format(facts=names)))
        return dataclasses.replace(request, turns=turns, temperature=0.0)
    # the text to translate stays the last turn: a note after it would be translated too
    note = TRANSLATION_RETRY_NOTE.format(facts=names) if names else TRANSLATION_RETRY_PLAIN
    first, *rest = request.turns
    if first.role == "system":
        return dataclasses.replace(request, turns=(ChatTurn("system", f"{first.content}\n\n{note}"), *rest))
    return dataclasses.replace(request, turns=(ChatTurn("system", note), *request.turns))


async def write_checked(
    backend: Backend,
    request: GenerationRequest,
    sources: Sources,
    language: str,
    release: Callable[[str], Awaitable[None]],
    customer: Sources | None = None,
    restates: Sequence[str] | None = None,
    translation_of: str = "",
) -> Written:
    """Generate ``request`` on ``backend`` through a :class:`SentenceGate`; at most two
    attempts. ``customer``: the customer's message, which vouches for some facts only;
    ``restates``: the passage the answer is about (the cited entry), whose negations and
    restrictions it must keep (default: every source); ``translation_of``: the entry that
    ``request`` translates, held back until the whole translation has kept its facts."""
    first_failure: list[Fact] = []
    attempt_request = request
    for attempt in (1, 2):
        gate = SentenceGate(sources, language, release, customer, restates, translation_of)
        try:
            try:
                result = await backend.generate(attempt_request, on_delta=gate.add)
                await gate.finish(cut_off=result.finish_reason == "length")
            except _Ended:
                await gate.settle()
                outcome = PASSED if attempt == 1 else REGENERATED
                return Written(outcome, gate.text, None, attempt, first_failure)
        except _Unsupported:
            first_failure = first_failure or gate.failed or gate.left_out
            if gate.released:
                return Written(TRUNCATED, gate.text, None, attempt, first_failure)
            attempt_request = _retry(request, gate.failed or gate.left_out, translating=bool(translation_of))
            continue
        if not gate.text:
            return Written(REJECTED, "", result, attempt, first_failure)
        outcome = PASSED if attempt == 1 else REGENERATED
        return Written(outcome, gate.text, dataclasses.replace(result, text=gate.text), attempt, first_failure)
    return Written(REJECTED, "", None, 2, first_failure)
