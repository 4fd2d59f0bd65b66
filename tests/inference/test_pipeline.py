"""What the writing model is asked for: an answer from the passages in the customer's own
language, or the cited entry translated when the customer writes in another language."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from inference.pipeline import build_answer_request

pytestmark = pytest.mark.unit


@dataclass
class Passage:
    title: str
    text: str


HOURS = Passage(
    "When are you open?",
    "Our shop is open Tuesday to Friday from 9:30 to 18:30 and on Saturday from 10:00 to 17:00. "
    "We are closed on Sundays, Mondays and public holidays.",
)


def test_a_question_in_the_entrys_language_gets_an_answer_written_from_the_passages():
    plan = build_answer_request("are you open on sundays?", [HOURS], "en", 160)
    assert plan.translates == ""
    system, user = plan.request.turns
    assert "ONLY the knowledge below" in system.content and HOURS.text in system.content
    assert user.content == "are you open on sundays?"


@pytest.mark.parametrize(("code", "name"), [("de", "German"), ("es", "Spanish"), ("fr", "French")])
def test_a_question_in_another_language_gets_the_cited_entry_translated(code, name):
    plan = build_answer_request("Habt ihr sonntags geöffnet?", [HOURS], code, 40, system_prompt="Be warm.")
    request = plan.request
    assert plan.translates == HOURS.text
    system, user = request.turns
    assert system.content.startswith("Be warm.") and f"into {name}" in system.content
    assert user.content == HOURS.text  # the entry itself, not the customer's question
    assert request.temperature == 0.0 and request.max_tokens >= len(HOURS.text) // 2  # room for all of it


def test_an_entry_whose_language_is_unclear_or_unknown_is_answered_as_usual():
    short = Passage("Price", "€4.90")
    assert "ONLY the knowledge" in build_answer_request("Was kostet das?", [short], "de", 160).request.turns[0].content
    # a language we have no name for: the model is told to use the customer's language
    assert "ONLY the knowledge" in build_answer_request("Quanto costa?", [HOURS], "it", 160).request.turns[0].content
