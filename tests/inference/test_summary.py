"""The copilot's written brief (inference/summary.py) with small backends of our own interface:
a brief whose facts are all in the conversation is kept; one that invents an order number is
written again, then dropped with the reason; a model that cannot write is not asked."""

from __future__ import annotations

from frontdesk_pb.common.v1 import common_pb2 as common
from inference.backends.base import Backend, Delta
from inference.summary import BriefWriter, transcript_text, write_brief

CHAT = [
    common.Message(role=common.ROLE_CUSTOMER, text="My order 4711 arrived damaged, I want a refund."),
    common.Message(role=common.ROLE_AI, text="Sorry to hear that. Refunds take 5 working days once approved."),
    common.Message(role=common.ROLE_SYSTEM, text="A person from our team will reply here shortly."),
]


class Scripted(Backend):
    name, model, can_write = "scripted", "scripted-1", True

    def __init__(self, *replies: str):
        self.replies = list(replies)
        self.prompts: list[str] = []

    async def stream(self, request):
        self.prompts.append(request.turns[-1].content)
        yield Delta(self.replies.pop(0))


async def test_a_brief_that_keeps_to_the_facts_is_kept():
    backend = Scripted("Brief: The customer wants a refund for damaged order 4711. Refunds take 5 working days.")
    brief = await write_brief(backend, CHAT)
    assert brief.text == "The customer wants a refund for damaged order 4711. Refunds take 5 working days."
    assert (brief.model, brief.missing) == ("scripted-1", "")
    assert "Customer: My order 4711 arrived damaged" in backend.prompts[0]


async def test_an_invented_fact_is_written_again_then_dropped():
    backend = Scripted(
        "The customer wants a refund for order 4712.",  # not the number they gave
        "The customer was promised a refund by Friday.",  # a day nobody said
    )
    brief = await write_brief(backend, CHAT)
    assert brief.text == "" and "facts the conversation does not" in brief.missing
    assert len(backend.prompts) == 2
    fixed = Scripted("Order 4711 is wrong: 10 EUR off.", "The customer wants a refund for damaged order 4711.")
    assert (await write_brief(fixed, CHAT)).text == "The customer wants a refund for damaged order 4711."


async def test_nothing_to_sum_up_and_models_that_do_not_write():
    assert "not written anything" in (await write_brief(Scripted("x"), CHAT[2:])).missing

    class Tenants:
        async def get(self, tenant_id):
            class Ai:
                own_backend = False

            return Ai()

    class Pool:
        def __init__(self, backend):
            self.backend = backend

        async def get(self, ai):
            return self.backend

    quoting = Scripted("never asked")
    quoting.can_write = False
    refused = await BriefWriter(Tenants(), Pool(quoting), grounded_generation=False)("t_1", CHAT)
    assert refused.text == "" and "does not write" in refused.missing and quoting.prompts == []
    writer = Scripted("The customer wants a refund for order 4711.")
    written = await BriefWriter(Tenants(), Pool(writer), grounded_generation=False)("t_1", CHAT)
    assert written.text == "The customer wants a refund for order 4711."


def test_the_transcript_names_who_said_what_and_keeps_the_latest():
    long = [common.Message(role=common.ROLE_CUSTOMER, text=f"message {i}") for i in range(40)]
    text = transcript_text(long)
    assert text.splitlines()[0] == "Customer: message 10" and text.splitlines()[-1] == "Customer: message 39"
