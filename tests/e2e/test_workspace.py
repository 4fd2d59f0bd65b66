"""The operators' workspace through the real mesh.

Canned responses: admins save and delete the tenant's saved replies, every operator role lists
them (by what was typed so far), visitors never; bad input answers INVALID_ARGUMENT with the
reason, an unknown (or another tenant's) shortcut NOT_FOUND.

Private notes: the team sees them with the conversation; the customer, watching the same
conversation live and reading its history, never does."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from tests.conftest import start_mesh
from tests.e2e.helpers import Client, bearer
from tests.e2e.test_roles import code_of, denied, tenant_with_staff


@pytest.fixture(scope="module")
def mesh(tmp_path_factory):
    m = start_mesh(tmp_path_factory.mktemp("workspace"))
    yield m
    m.stop()


def save(c: Client, md, shortcut: str, text: str, title: str = ""):
    return c.admin.SaveCannedResponse(
        admin_pb2.SaveCannedResponseRequest(
            response=admin_pb2.CannedResponse(shortcut=shortcut, title=title, text=text)
        ),
        metadata=md,
    )


async def invalid(call) -> str:
    try:
        await call
    except grpc.aio.AioRpcError as err:
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
        return err.details()
    raise AssertionError("the call was accepted")


async def test_admins_save_every_role_lists_and_a_save_replaces_by_shortcut(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, admin, agent, _ = await tenant_with_staff(c, "canned-roles")
        saved = await save(c, admin, "/Refund", "Hi {customer_name}, your refund is on its way. {agent_name}", "Refund")
        assert saved.shortcut == "refund" and list(saved.variables) == ["customer_name", "agent_name"]
        assert saved.updated_by and saved.updated_at.seconds > 0
        await save(c, owner, "hours", "We are open 9 to 17, Monday to Friday.", "Opening hours")
        await save(c, bearer(created.api_key), "refund", "Refunds take 5 working days.", "Refund")  # replaces
        for who in (owner, admin, agent, bearer(created.api_key)):
            listed = await c.admin.ListCannedResponses(admin_pb2.ListCannedResponsesRequest(), metadata=who)
            assert [(r.shortcut, r.text) for r in listed.responses] == [
                ("hours", "We are open 9 to 17, Monday to Friday."),
                ("refund", "Refunds take 5 working days."),
            ]
        typed = await c.admin.ListCannedResponses(admin_pb2.ListCannedResponsesRequest(query="/ref"), metadata=agent)
        assert [r.shortcut for r in typed.responses] == ["refund"]
        by_title = await c.admin.ListCannedResponses(admin_pb2.ListCannedResponsesRequest(query="open"), metadata=agent)
        assert [r.shortcut for r in by_title.responses] == ["hours"]
        # an agent uses them but does not change the team's replies
        await denied(save(c, agent, "mine", "An agent's own"))
        await denied(
            c.admin.DeleteCannedResponse(admin_pb2.DeleteCannedResponseRequest(shortcut="refund"), metadata=agent)
        )
        await c.admin.DeleteCannedResponse(admin_pb2.DeleteCannedResponseRequest(shortcut="/refund"), metadata=admin)
        listed = await c.admin.ListCannedResponses(admin_pb2.ListCannedResponsesRequest(), metadata=agent)
        assert [r.shortcut for r in listed.responses] == ["hours"]


async def test_bad_input_is_refused_with_the_reason_and_unknown_shortcuts_are_not_found(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, _, _ = await tenant_with_staff(c, "canned-input")
        assert "shortcut" in await invalid(save(c, owner, "", "text"))
        assert "shortcut" in await invalid(save(c, owner, "two words", "text"))
        assert "shortcut" in await invalid(save(c, owner, "x" * 33, "text"))
        assert "text is required" in await invalid(save(c, owner, "empty", "   "))
        assert "10000" in await invalid(save(c, owner, "long", "a" * 10_001))
        assert "title" in await invalid(save(c, owner, "titled", "ok", title="t" * 201))
        message = await invalid(save(c, owner, "typo", "Hello {custmer_name}"))
        assert "{custmer_name}" in message and "{customer_name}" in message
        assert await save(c, owner, "braces", "Use the code {1234} or a JSON {} object")  # not variables
        missing = await code_of(
            c.admin.DeleteCannedResponse(admin_pb2.DeleteCannedResponseRequest(shortcut="nothing"), metadata=owner)
        )
        assert missing == grpc.StatusCode.NOT_FOUND
        # a visitor sees none of it
        _, visitor = await c.visitor(created.tenant.widget_key)
        await denied(c.admin.ListCannedResponses(admin_pb2.ListCannedResponsesRequest(), metadata=visitor))
        await denied(save(c, visitor, "v", "visitor text"))


async def test_a_note_is_for_the_team_and_never_reaches_the_customer(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, agent, _ = await tenant_with_staff(c, "notes")
        _, visitor = await c.visitor(created.tenant.widget_key)
        conv = await c.start(visitor)
        await c.chat.SendMessage(
            chat_pb2.SendMessageRequest(conversation_id=conv, text="My parcel never arrived"), metadata=visitor
        )
        # the customer watches the conversation live while the team writes a note
        events = c.chat.StreamEvents(chat_pb2.StreamEventsRequest(conversation_id=conv), metadata=visitor)
        seen = [await asyncio.wait_for(events.read(), 10)]
        secret = "Customer was rude last week; offer no refund beyond 20 EUR"
        note = await c.admin.AddNote(admin_pb2.AddNoteRequest(conversation_id=conv, text=secret), metadata=agent)
        assert note.id.startswith("n_") and note.text == secret and note.author_id and note.created_at.seconds > 0
        await c.admin.AddNote(
            admin_pb2.AddNoteRequest(conversation_id=conv, text="Checked the carrier"), metadata=owner
        )
        # a reply after the notes: once the customer has it, anything announced before it has arrived too
        reply = await c.admin.SendAgentMessage(
            admin_pb2.SendAgentMessageRequest(conversation_id=conv, text="We are looking into it."), metadata=agent
        )

        async def until_reply():
            while (ev := await events.read()) is not grpc.aio.EOF:
                seen.append(ev)
                if ev.WhichOneof("kind") == "message" and ev.message.id == reply.id:
                    return

        await asyncio.wait_for(until_reply(), 20)
        events.cancel()
        assert all(secret not in str(ev) and "carrier" not in str(ev) for ev in seen)
        history = await c.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=conv), metadata=visitor)
        assert [m.text for m in history.messages][-1] == "We are looking into it."
        assert all(secret not in m.text and "carrier" not in m.text for m in history.messages)
        conversation = await c.chat.GetConversation(
            chat_pb2.GetConversationRequest(conversation_id=conv), metadata=visitor
        )
        assert secret not in str(conversation)
        # the team sees both notes, oldest first, beside (not among) the messages
        team = await c.admin.ListMessages(admin_pb2.ListMessagesRequest(conversation_id=conv), metadata=agent)
        assert [n.text for n in team.notes] == [secret, "Checked the carrier"]
        assert all(secret not in m.text for m in team.messages)


async def test_notes_refuse_bad_input_visitors_and_unknown_conversations(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, _, _ = await tenant_with_staff(c, "notes-input")
        _, visitor = await c.visitor(created.tenant.widget_key)
        conv = await c.start(visitor)
        assert "empty" in await invalid(
            c.admin.AddNote(admin_pb2.AddNoteRequest(conversation_id=conv, text="  "), metadata=owner)
        )
        assert "10000" in await invalid(
            c.admin.AddNote(admin_pb2.AddNoteRequest(conversation_id=conv, text="n" * 10_001), metadata=owner)
        )
        unknown = await code_of(
            c.admin.AddNote(admin_pb2.AddNoteRequest(conversation_id="c_" + "0" * 26, text="x"), metadata=owner)
        )
        assert unknown == grpc.StatusCode.NOT_FOUND
        await denied(c.admin.AddNote(admin_pb2.AddNoteRequest(conversation_id=conv, text="hi"), metadata=visitor))


async def test_the_team_searches_its_conversations_and_nobody_else_can(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, agent, _ = await tenant_with_staff(c, "search")
        other, other_owner, _, _, _ = await tenant_with_staff(c, "search-other")
        asked = []
        for text in ("Where is order 4711? It was due Monday", "Can I change the delivery address?"):
            _, visitor = await c.visitor(created.tenant.widget_key, name="Jo")
            conv = await c.start(visitor)
            await c.ask(visitor, conv, text)  # and the AI's answer is stored
            asked.append(conv)
        await c.admin.SendAgentMessage(
            admin_pb2.SendAgentMessageRequest(conversation_id=asked[0], text="Order 4711 left our warehouse today."),
            metadata=agent,
        )
        _, stranger = await c.visitor(other.tenant.widget_key)
        theirs = await c.start(stranger)
        await c.chat.SendMessage(
            chat_pb2.SendMessageRequest(conversation_id=theirs, text="order 4711 is mine too"), metadata=stranger
        )

        def find(md, query, **filters):
            return c.admin.SearchConversations(
                admin_pb2.SearchConversationsRequest(query=query, **filters), metadata=md
            )

        found = await find(agent, "ORDER 4711")
        # newest first, every hit from the one conversation that has both words
        assert {h.conversation.id for h in found.hits} == {asked[0]}
        assert found.hits[0].role == common.ROLE_AGENT and found.hits[-1].role == common.ROLE_CUSTOMER
        assert found.hits[-1].snippet == "Where is order 4711? It was due Monday"
        assert found.hits[0].message_id.startswith("m_") and found.hits[0].created_at.seconds > 0
        assert {h.conversation.id for h in (await find(owner, "delivery address")).hits} == {asked[1]}
        assert {h.conversation.id for h in (await find(other_owner, "4711")).hits} == {theirs}
        # the agent's reply made the conversation theirs; none is the owner's
        assert {h.conversation.id for h in (await find(agent, "4711", assignee="me")).hits} == {asked[0]}
        assert (await find(owner, "4711", assignee="me")).hits == []
        assert "at least one word" in await invalid(find(agent, " ?! "))
        assert "8 words" in await invalid(find(agent, "a1 b2 c3 d4 e5 f6 g7 h8 i9"))
        assert "page_token" in await invalid(find(agent, "order", page_token="not a token"))
        _, visitor = await c.visitor(created.tenant.widget_key)
        await denied(find(visitor, "order"))
