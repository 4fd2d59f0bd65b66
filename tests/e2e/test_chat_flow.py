"""A customer's question travels gateway -> conversation -> JetStream -> inference and
the answer streams back, is stored and is in history."""

from __future__ import annotations

from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from tests.e2e.helpers import Client


async def test_question_gets_streamed_reply_that_is_stored_in_history(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(mesh.demo["widget_key"])
        conv = await c.start(md)
        sent, deltas, reply = await c.ask(md, conv, "How do I reset my password?")

        assert sent.role == common.ROLE_CUSTOMER and sent.text == "How do I reset my password?"
        assert len(deltas) >= 2, "the reply should arrive as several token deltas"
        assert [d.index for d in deltas] == list(range(len(deltas)))
        assert "".join(d.text for d in deltas).strip() == reply.text
        assert reply.role == common.ROLE_AI and "reset my password" in reply.text
        assert all(d.reply_id == reply.id for d in deltas)

        history = await c.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=conv), metadata=md, timeout=10)
        assert [m.id for m in history.messages] == [sent.id, reply.id]
        conversation = await c.chat.GetConversation(chat_pb2.GetConversationRequest(conversation_id=conv), metadata=md)
        assert conversation.message_count == 2 and conversation.status == common.CONVERSATION_STATUS_AI


async def test_history_pages_go_back_in_time(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(mesh.demo["widget_key"])
        conv = await c.start(md)
        for i in range(3):
            await c.ask(md, conv, f"question {i}")
        page1 = await c.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=conv, page_size=4), metadata=md)
        page2 = await c.chat.ListMessages(
            chat_pb2.ListMessagesRequest(conversation_id=conv, page_size=4, page_token=page1.next_page_token),
            metadata=md,
        )
        assert [m.text for m in page2.messages][0] == "question 0"
        assert page2.next_page_token == ""
        ids = [m.id for m in page2.messages] + [m.id for m in page1.messages]
        assert ids == sorted(ids) and len(ids) == 6


async def test_resending_with_the_same_client_message_id_stores_once(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(mesh.demo["widget_key"])
        conv = await c.start(md)
        req = chat_pb2.SendMessageRequest(conversation_id=conv, text="only once please", client_message_id="abc-1")
        first = await c.chat.SendMessage(req, metadata=md, timeout=10)
        second = await c.chat.SendMessage(req, metadata=md, timeout=10)
        assert first.message.id == second.message.id
        history = await c.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=conv), metadata=md)
        assert [m.text for m in history.messages].count("only once please") == 1


async def test_reconnecting_stream_replays_missed_messages_without_duplicates(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(mesh.demo["widget_key"])
        conv = await c.start(md)
        first, _, first_reply = await c.ask(md, conv, "first")
        _, _, second_reply = await c.ask(md, conv, "second")
        events = c.chat.StreamEvents(
            chat_pb2.StreamEventsRequest(conversation_id=conv, after_message_id=first_reply.id), metadata=md
        )
        replayed = []
        async for ev in events:
            if ev.WhichOneof("kind") != "message":
                break
            replayed.append(ev.message.text)
        events.cancel()
        assert replayed == ["second", second_reply.text]


async def test_customer_can_ask_for_a_person(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(mesh.demo["widget_key"])
        conv = await c.start(md)
        updated = await c.chat.RequestHuman(
            chat_pb2.RequestHumanRequest(conversation_id=conv, reason="billing"), metadata=md
        )
        assert updated.status == common.CONVERSATION_STATUS_HANDOFF
        sent = await c.chat.SendMessage(chat_pb2.SendMessageRequest(conversation_id=conv, text="hello?"), metadata=md)
        assert not sent.queued_for_ai, "a conversation waiting for a human is not answered by the AI"


async def test_status_command_reports_every_service_serving(mesh):
    result = mesh.cli("status")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("gateway", "conversation", "inference", "nats"):
        assert name in result.stdout
    assert "UNREACHABLE" not in result.stdout


async def test_ask_command_streams_the_reply(mesh):
    result = mesh.cli("ask", "How do I reset my password?", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "reset my password" in result.stdout
