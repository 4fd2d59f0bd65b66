"""The capable CPU model (qwen2.5-1.5b, real GGUF through llama.cpp in process): function
calling decided by the model and made parseable by a grammar, and fact-checked answers.

`make test` fetches the model first (`make models`, cached in ~/.cache/frontdesk/models).
Temperature 0 throughout, so the model's choices are repeatable on one build."""

from __future__ import annotations

import pytest
import pytest_asyncio

from inference import models
from inference.backends.base import ChatTurn, GenerationRequest
from inference.backends.llamacpp import LlamaCppBackend
from inference.factcheck import Sources, unsupported
from inference.grounded import PASSED, REGENERATED, REJECTED, TRUNCATED, write_checked
from inference.pipeline import TOOLS_PROMPT, build_grounded_request

aio = pytest.mark.asyncio(loop_scope="module")

ORDER_TOOL = {
    "type": "function",
    "function": {
        "name": "order_status",
        "description": "Look up the status of a customer's order by its order number.",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string", "description": "the order number"}},
            "required": ["order_id"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search_knowledge_base",
        "description": "Search the shop's FAQ and policies: delivery, returns, warranty, payment, opening hours.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
}
TOOLS = [ORDER_TOOL, SEARCH_TOOL]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def qwen() -> LlamaCppBackend:
    spec = models.spec("qwen2.5-1.5b")
    backend = LlamaCppBackend(
        str(models.installed_path(spec.name)), n_threads=2, n_ctx=spec.context, writes=True, tools=True
    )
    await backend.start()
    yield backend
    await backend.close()


def ask(text: str) -> list[dict]:
    return [{"role": "system", "content": TOOLS_PROMPT}, {"role": "user", "content": text}]


@aio
async def test_auto_picks_the_order_tool_with_the_customers_order_number(qwen):
    done = await qwen.complete_chat(ask("Where is my order 4711?"), TOOLS, "auto", temperature=0.0)
    assert done.finish_reason == "tool_calls" and not done.text
    (call,) = done.tool_calls
    assert call.ok and call.name == "order_status" and call.arguments == {"order_id": "4711"}
    assert done.usage.prompt_tokens > 100 and done.usage.completion_tokens > 0


@aio
async def test_auto_searches_the_knowledge_base_for_a_policy_question(qwen):
    done = await qwen.complete_chat(ask("How long does delivery to Austria take?"), TOOLS, "auto", temperature=0.0)
    (call,) = done.tool_calls
    assert call.ok and call.name == "search_knowledge_base"
    assert "austria" in call.arguments["query"].lower()


@aio
async def test_a_named_tool_is_forced_by_the_grammar(qwen):
    # a greeting would never call the order tool by itself; forced, it must, in valid JSON
    done = await qwen.complete_chat(ask("hello!"), TOOLS, "order_status", temperature=0.0)
    (call,) = done.tool_calls
    assert call.ok and call.name == "order_status" and isinstance(call.arguments.get("order_id"), str)


@aio
async def test_none_writes_text_from_the_tool_result(qwen):
    messages = ask("Where is my order 4711?") + [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "order_status", "arguments": '{"order_id": "4711"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"status": "shipped", "carrier": "DHL", "eta": "Friday"}'},
    ]
    done = await qwen.complete_chat(messages, TOOLS, "none", max_tokens=80, temperature=0.0)
    assert not done.tool_calls and done.finish_reason in ("stop", "length")
    assert "shipped" in done.text.lower() or "dhl" in done.text.lower()


@aio
async def test_an_unknown_tool_choice_is_refused(qwen):
    from inference.backends.base import BackendError

    with pytest.raises(BackendError, match="names no offered tool"):
        await qwen.complete_chat(ask("hi"), TOOLS, "delete_everything")


FAQ_TITLE = "How long does delivery take?"
FAQ_TEXT = (
    "We ship to Germany within 1-2 business days and to Austria and Switzerland within 3-5 business days. "
    "Shipping costs €4.90 and is free for orders over €50."
)


class _Passage:
    title = FAQ_TITLE
    text = FAQ_TEXT


@aio
async def test_a_written_answer_states_only_facts_from_the_passage(qwen):
    question = "How long does delivery take to Austria?"
    request = build_grounded_request(question, [_Passage()], 120, temperature=0.0)
    shown: list[str] = []

    async def release(text: str) -> None:
        shown.append(text)

    sources = Sources([f"{FAQ_TITLE}\n{FAQ_TEXT}", question])
    written = await write_checked(qwen, request, sources, "en", release)
    assert written.outcome in (PASSED, REGENERATED, TRUNCATED), written
    assert written.text and "".join(shown).strip() == written.text
    assert not unsupported(written.text, sources)
    assert "3" in written.text and "5" in written.text  # the Austria figure, not Germany's
    assert written.text != FAQ_TEXT  # written, not quoted


@aio
async def test_an_answer_that_cannot_hold_is_never_shown(qwen):
    # the passage says nothing about prices in dollars or weekdays; asked to state them,
    # the model's sentences fail the check and the customer sees nothing of them
    request = GenerationRequest(
        turns=(
            ChatTurn("system", "Reply with exactly: Delivery costs $99 and arrives on Sunday via FedEx."),
            ChatTurn("user", "How much is delivery?"),
        ),
        max_tokens=40,
        temperature=0.0,
    )
    shown: list[str] = []

    async def release(text: str) -> None:
        shown.append(text)

    written = await write_checked(qwen, request, Sources([FAQ_TEXT]), "en", release)
    assert written.outcome == REJECTED and not written.text and not shown
    assert {f.text for f in written.unsupported} & {"99", "Sunday", "FedEx"}


HOURS_TEXT = (
    "Our shop is open Tuesday to Friday from 9:30 to 18:30 and on Saturday from 10:00 to 17:00. "
    "We are closed on Sundays, Mondays and public holidays."
)


class _Hours:
    title = "When are you open?"
    text = HOURS_TEXT


@aio
async def test_a_customer_writing_in_german_gets_the_entry_translated_with_every_fact_kept(qwen):
    from inference.factcheck import left_out
    from inference.knowledge import language
    from inference.pipeline import build_answer_request

    # asked "are you open on Sundays?" and told to answer, the 1.5B model says "yes"; asked to
    # translate the entry, it says when the shop is open and that it is closed on Sundays
    question = "Habt ihr sonntags geöffnet?"
    plan = build_answer_request(question, [_Hours()], "de", 160)
    assert plan.translates == HOURS_TEXT
    shown: list[str] = []

    async def release(text: str) -> None:
        shown.append(text)

    sources = Sources([f"{_Hours.title}\n{HOURS_TEXT}"])
    written = await write_checked(
        qwen, plan.request, sources, "de", release, customer=Sources([question]), translation_of=plan.translates
    )
    assert written.outcome in (PASSED, REGENERATED), written
    assert "".join(shown).strip() == written.text and language.detect(written.text) == "de"
    assert not unsupported(written.text, sources, language="de") and not left_out(HOURS_TEXT, written.text)
    assert "sonntag" in written.text.lower() and "geschlossen" in written.text.lower()


@aio
async def test_the_model_writes_a_brief_of_a_handed_over_conversation_with_only_its_facts(qwen):
    from frontdesk_pb.common.v1 import common_pb2 as common
    from inference.summary import write_brief

    chat = [
        common.Message(role=common.ROLE_CUSTOMER, text="Hi, my order A-17 arrived with a cracked frame."),
        common.Message(
            role=common.ROLE_AI,
            text="I'm sorry about that. Frame damage on delivery is covered: we replace the frame free of charge.",
        ),
        common.Message(role=common.ROLE_CUSTOMER, text="I'd rather have my money back. Can a person help?"),
        common.Message(role=common.ROLE_SYSTEM, text="A person from our team will reply here shortly."),
    ]
    brief = await write_brief(qwen, chat)
    assert brief.text, brief.missing
    text = brief.text.lower()
    assert "a-17" in text and any(w in text for w in ("refund", "money back", "return")), brief.text
    assert unsupported(brief.text, Sources([m.text for m in chat])) == []
