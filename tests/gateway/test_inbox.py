"""The inbox's cursor arithmetic and which domain events it shows (gateway/inbox.py)."""

from __future__ import annotations

import pytest

from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.events.v1 import events_pb2 as ev
from gateway.inbox import start_point, to_inbox_event

pytestmark = pytest.mark.unit


def test_a_new_inbox_starts_after_the_last_event_and_a_resumed_one_after_its_cursor():
    assert start_point(None, 5, 40) == (41, False)
    assert start_point(12, 5, 40) == (13, False)
    assert start_point(40, 5, 40) == (41, False)  # nothing missed
    assert start_point(4, 5, 40) == (5, False)  # the very next event is the oldest kept
    assert start_point(0, 0, 0) == (1, False)  # opened on an empty stream, resumed later


def test_a_cursor_the_stream_no_longer_holds_asks_for_a_reload():
    assert start_point(2, 10, 40) == (41, True)  # events 3..9 aged out
    assert start_point(90, 1, 40) == (41, True)  # the stream was recreated meanwhile


def event(**kind) -> ev.DomainEvent:
    return ev.DomainEvent(event_id="e", tenant_id="t_1", conversation_id="c_1", **kind)


def test_customer_messages_handoffs_and_status_show_and_the_rest_does_not():
    said = to_inbox_event(7, event(message_received=ev.MessageReceived(role=common.ROLE_CUSTOMER, text="help")))
    assert said is not None and said.cursor == 7 and said.customer_message.text == "help"
    assert said.conversation_id == "c_1"
    handed = to_inbox_event(8, event(handoff_requested=ev.HandoffRequested(reason="frustrated")))
    assert handed is not None and handed.handed_off.reason == "frustrated"
    assigned = to_inbox_event(9, event(conversation_assigned=ev.ConversationAssigned(operator_id="o_1")))
    assert assigned is not None and assigned.assigned.operator_id == "o_1"
    # an agent's or the AI's message, analytics' own records: not what the team waits on
    assert to_inbox_event(10, event(message_received=ev.MessageReceived(role=common.ROLE_AGENT))) is None
    assert to_inbox_event(11, event(reply_completed=ev.ReplyCompleted(answered=True))) is None
    assert to_inbox_event(12, event(tool_called=ev.ToolCalled(tool="x"))) is None
