from __future__ import annotations

import json

import pytest

from inference.knowledge import evaluate
from tests.inference.knowledge import FAQ, GUIDE

pytestmark = pytest.mark.unit


def _kb_lines():
    lines = [
        json.dumps({"id": f.id, "question": f.question, "answer": f.answer, "examples": list(f.examples)}) for f in FAQ
    ]
    lines.append(json.dumps({"id": "desktop-guide", "title": "Desktop app guide", "text": GUIDE}))
    lines.insert(2, "{broken")
    return lines


def test_evaluate_reports_the_metrics():
    cases = [
        {"question": "I forgot my password, help", "expect": "reset-password"},
        {"question": "are you open on saturday?", "expect": "opening-hours"},
        {"question": "how do I remove my account", "expect": "delete-account"},
        {"question": "where do I enter the licence key", "expect": "desktop-guide"},
        {"question": "what is the tallest mountain in the world?", "expect": None},
        {"question": "I want to talk to a human", "expect": None},
    ]
    case_lines = [json.dumps(c) for c in cases] + ['{"question": "x", "expect": "no-such-id"}', "nope"]
    result = evaluate(_kb_lines(), case_lines, details=True)
    assert result["cases"] == 6
    assert result["in_scope_cases"] == 4 and result["out_of_scope_cases"] == 2
    assert result["in_scope_accuracy"] == 1.0
    assert result["handoff_recall"] == 1.0
    assert result["handoff_precision"] == 1.0
    assert result["p50_ms"] > 0 and result["p99_ms"] >= result["p50_ms"]
    assert result["kb_errors"] == [{"line": 3, "error": result["kb_errors"][0]["error"]}]
    assert sorted(e["line"] for e in result["case_errors"]) == [7, 8]
    assert result["handoff_reasons"]["customer_request"] == 1
    assert json.loads(json.dumps(result))["cases"] == 6  # JSON-able


def test_evaluate_with_no_handoffs_has_no_precision():
    result = evaluate(_kb_lines(), [json.dumps({"question": "reset my password", "expect": "reset-password"})])
    assert result["handoff_precision"] is None and result["handoff_recall"] is None


def test_multi_turn_cases_are_reported_per_category():
    cases = [
        {"turns": ["hi there"], "expect": "reply", "category": "small_talk"},
        {
            "turns": ["I want my money back", "and how long does that take?"],
            "expect": "refund",
            "category": "follow_up",
        },
        {"turns": ["Wie setze ich mein Passwort zurück?"], "expect": "reset-password", "category": "language"},
        {"turns": ["what is the tallest mountain in the world?"], "expect": "handoff", "category": "out_of_scope"},
        {
            "turns": ["hello"],
            "expect": "handoff",
            "category": "out_of_scope",
        },  # small talk where a handoff was expected
        {"turns": ["can I export my data?"], "expect": "reply"},  # not small talk: answered where a reply was expected
    ]
    case_lines = [json.dumps(c) for c in cases] + ['{"turns": []}', '{"turns": ["x"], "expect": ""}']
    result = evaluate(_kb_lines(), case_lines, details=True)
    assert result["cases"] == 6
    assert sorted(e["line"] for e in result["case_errors"]) == [7, 8]
    by = result["by_category"]
    assert set(by) == {"small_talk", "follow_up", "language", "out_of_scope"}
    # the uncategorised "reply" case counts as small talk; it is not small talk, so not right
    assert by["small_talk"]["cases"] == 2 and by["small_talk"]["answered_right"] == 0.5
    assert by["language"]["answered_right"] == 1.0
    assert by["out_of_scope"] == {"cases": 2, "answered_right": 0.5, "answered_wrong": 0.5, "handed_off": 0.0}
    outcomes = [d["outcome"] for d in result["details"]]
    assert outcomes[0] == "right" and outcomes[4] == "wrong"
    assert result["answered_wrong"] == round(outcomes.count("wrong") / 6, 4)
    assert result["answered_right"] + result["answered_wrong"] + result["handed_off"] == pytest.approx(1.0, abs=1e-3)
