"""The copilot's extractive summary and saved-reply ranking (gateway/copilot.py)."""

from __future__ import annotations

import pytest

from frontdesk.stores.base import CannedResponseRecord
from frontdesk_pb.common.v1 import common_pb2 as common
from gateway.copilot import details_in, fill, overlap, summarize

pytestmark = pytest.mark.unit


def msg(role, text: str) -> common.Message:
    return common.Message(id=f"m_{abs(hash(text))}", role=role, text=text)


def test_details_are_what_an_operator_needs_once_each_in_order():
    found = details_in(
        [
            "Order #A-20931 never came, write to jo.smith+shop@mail.example.com",
            "I paid $129.99 on 03/11/2026, call +49 30 1234 5678. Order #A-20931 again",
        ]
    )
    assert "jo.smith+shop@mail.example.com" in found
    assert any("20931" in d for d in found) and sum("20931" in d for d in found) == 1
    assert "$129.99" in found and "03/11/2026" in found
    assert any(d.replace(" ", "").endswith("12345678") for d in found)
    assert details_in(["hello, how are you?"]) == []


def test_the_summary_quotes_the_customer_and_the_ai_and_says_why_it_was_handed_over():
    conv = common.Conversation(id="c_1", handoff_reason="frustrated")
    summary = summarize(
        conv,
        [
            msg(common.ROLE_CUSTOMER, "My  bike\nis broken " + "x" * 400),
            msg(common.ROLE_AI, "Sorry to hear that. Our workshop repairs bikes within 3 days."),
            msg(common.ROLE_SYSTEM, "A person from our team will reply here shortly."),
            msg(common.ROLE_CUSTOMER, "THIRD TIME. I want my money back"),
        ],
    )
    assert summary.customer_wants.startswith("My bike") and len(summary.customer_wants) <= 300
    assert summary.customer_wants.endswith("…")
    assert summary.customer_latest == "THIRD TIME. I want my money back"
    assert summary.ai_said.startswith("Sorry to hear that")
    assert summary.handoff_explained == "the customer is upset or it is urgent"
    assert summary.customer_messages == 2


def test_saved_replies_rank_by_shared_words_and_fill_only_what_is_known():
    refund = CannedResponseRecord(
        tenant_id="t", shortcut="refund-status", title="Refund status", text="Your refund is on its way", updated_ms=0
    )
    hours = CannedResponseRecord(tenant_id="t", shortcut="hours", title="Opening hours", text="9 to 5", updated_ms=0)
    asked = "where is my refund?"
    assert overlap(asked, refund) > overlap(asked, hours) == 0.0
    assert fill("Hi {customer_name}, {agent_name} here", {"agent_name": "Sam", "customer_name": ""}) == (
        "Hi {customer_name}, Sam here"
    )
