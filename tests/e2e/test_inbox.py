"""The operators' live inbox and assignment through the real mesh (NATS JetStream underneath).

StreamInbox: one stream of the tenant's conversations (started, a customer wrote, handed off,
status changed, assigned); another tenant's never show; a client that reconnects with its last
cursor gets what it missed, once; a cursor the stream no longer holds says so (reset).
AssignConversation: an owner on the team, never another tenant's operator."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.events.v1 import events_pb2 as ev_pb
from tests.conftest import start_mesh
from tests.e2e.helpers import Client, bearer, conversation_when
from tests.e2e.test_roles import code_of, denied, tenant_with_staff

HANDOFF = common.CONVERSATION_STATUS_HANDOFF
HUMAN = common.CONVERSATION_STATUS_HUMAN


@pytest.fixture(scope="module")
def mesh(tmp_path_factory):
    m = start_mesh(tmp_path_factory.mktemp("inbox"))
    yield m
    m.stop()


class Inbox:
    """One operator's open StreamInbox, read in the background."""

    def __init__(self, c: Client, md, after_cursor: int | None = None):
        request = admin_pb2.StreamInboxRequest(after_cursor=after_cursor)
        self.call = c.admin.StreamInbox(request, metadata=md)
        self.events: list[admin_pb2.InboxEvent] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for event in self.call:
            self.events.append(event)
            self._changed.set()

    async def until(self, predicate, timeout: float = 20.0) -> list[admin_pb2.InboxEvent]:
        async def wait():
            while not predicate(self.events):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)
        return self.events

    def kinds(self, conversation_id: str) -> list[str]:
        return [e.WhichOneof("kind") for e in self.events if e.conversation_id == conversation_id]

    def close(self) -> None:
        self.call.cancel()
        self._task.cancel()


def has_all(conversation_id: str, *kinds: str):
    def check(events):
        seen = {e.WhichOneof("kind") for e in events if e.conversation_id == conversation_id}
        return set(kinds) <= seen

    return check


async def test_the_inbox_shows_the_tenants_conversations_live_and_no_one_elses(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, _, _, agent, _ = await tenant_with_staff(c, "inbox-live")
        other, _, _, _, _ = await tenant_with_staff(c, "inbox-other")
        inbox = Inbox(c, agent)
        try:
            first = (await inbox.until(lambda evs: len(evs) >= 1))[0]
            assert first.WhichOneof("kind") == "caught_up" and not first.caught_up.reset
            _, visitor = await c.visitor(created.tenant.widget_key)
            conv = await c.start(visitor)
            await c.chat.SendMessage(
                chat_pb2.SendMessageRequest(conversation_id=conv, text="Where is my order 1234?"), metadata=visitor
            )
            await c.chat.RequestHuman(
                chat_pb2.RequestHumanRequest(conversation_id=conv, reason="late"), metadata=visitor
            )
            # the other tenant's customer does the same meanwhile
            _, stranger = await c.visitor(other.tenant.widget_key)
            foreign = await c.start(stranger)
            await c.chat.SendMessage(
                chat_pb2.SendMessageRequest(conversation_id=foreign, text="A secret question"), metadata=stranger
            )
            await c.chat.RequestHuman(chat_pb2.RequestHumanRequest(conversation_id=foreign), metadata=stranger)

            events = await inbox.until(
                has_all(conv, "started", "customer_message", "handed_off", "status_changed"), timeout=30
            )
            mine = [e for e in events if e.conversation_id == conv]
            said = next(e for e in mine if e.WhichOneof("kind") == "customer_message")
            assert said.customer_message.text == "Where is my order 1234?"
            assert said.customer_message.role == common.ROLE_CUSTOMER
            handed = next(e for e in mine if e.WhichOneof("kind") == "handed_off")
            assert handed.handed_off.reason == "customer_request"
            assert any(e.status_changed.status == HANDOFF for e in mine if e.WhichOneof("kind") == "status_changed")
            cursors = [e.cursor for e in events]
            assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
            # the AI's own replies are not inbox events, and another tenant never shows; the
            # other tenant's handoff is on the stream by now (it was published before ours
            # finished), so waiting a moment longer proves nothing more
            await asyncio.sleep(1.0)
            assert all(e.conversation_id != foreign for e in inbox.events)
            assert "A secret question" not in str(inbox.events)
        finally:
            inbox.close()


async def test_a_reconnecting_inbox_gets_what_it_missed_once(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, _, _, agent, ids = await tenant_with_staff(c, "inbox-resume")
        _, visitor = await c.visitor(created.tenant.widget_key)
        conv = await c.start(visitor)
        inbox = Inbox(c, agent)
        await c.chat.SendMessage(chat_pb2.SendMessageRequest(conversation_id=conv, text="first"), metadata=visitor)
        events = await inbox.until(lambda evs: any(e.customer_message.text == "first" for e in evs))
        cursor = events[-1].cursor
        inbox.close()
        # while the operator's connection is down
        await c.chat.SendMessage(chat_pb2.SendMessageRequest(conversation_id=conv, text="second"), metadata=visitor)
        await c.chat.RequestHuman(chat_pb2.RequestHumanRequest(conversation_id=conv), metadata=visitor)
        await c.admin.AssignConversation(
            admin_pb2.AssignConversationRequest(conversation_id=conv, operator_id=ids["agent"]), metadata=agent
        )
        again = Inbox(c, agent, after_cursor=cursor)
        try:
            # what happened while it was away comes first (replayed, or live if it was published
            # only now: domain events are published off the request path); caught_up once
            replayed = await again.until(
                lambda evs: (
                    {"caught_up", "handed_off", "assigned"} <= {e.WhichOneof("kind") for e in evs}
                    and any(e.customer_message.text == "second" for e in evs)
                )
            )
            kinds = [e.WhichOneof("kind") for e in replayed]
            assert kinds.count("caught_up") == 1
            missed = [e for e in replayed if e.WhichOneof("kind") != "caught_up"]
            assert all(e.cursor > cursor for e in missed)
            assert [e.customer_message.text for e in missed if e.WhichOneof("kind") == "customer_message"] == ["second"]
            assigned = next(e for e in missed if e.WhichOneof("kind") == "assigned")
            assert assigned.assigned.operator_id == ids["agent"] and assigned.assigned.display_name
            # and it stays live after the replay
            await c.chat.SendMessage(chat_pb2.SendMessageRequest(conversation_id=conv, text="third"), metadata=visitor)
            await again.until(lambda evs: any(e.customer_message.text == "third" for e in evs))
            texts = [e.customer_message.text for e in again.events if e.WhichOneof("kind") == "customer_message"]
            assert texts == ["second", "third"]
        finally:
            again.close()


async def test_a_cursor_the_stream_no_longer_holds_asks_for_a_reload(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        _, _, _, agent, _ = await tenant_with_staff(c, "inbox-reset")
        inbox = Inbox(c, agent, after_cursor=10**15)
        try:
            first = (await inbox.until(lambda evs: len(evs) >= 1))[0]
            assert first.WhichOneof("kind") == "caught_up" and first.caught_up.reset
            assert first.cursor < 10**15
        finally:
            inbox.close()


async def test_assignment_stays_in_the_tenant_and_unassigning_a_live_chat_waits_for_a_person(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, agent, ids = await tenant_with_staff(c, "assign")
        _, _, _, _, other_ids = await tenant_with_staff(c, "assign-other")
        _, visitor = await c.visitor(created.tenant.widget_key)
        conv = await c.start(visitor)
        await c.chat.RequestHuman(chat_pb2.RequestHumanRequest(conversation_id=conv), metadata=visitor)

        assigned = await c.admin.AssignConversation(
            admin_pb2.AssignConversationRequest(conversation_id=conv, operator_id=ids["agent"]), metadata=owner
        )
        assert assigned.assigned_operator_id == ids["agent"] and assigned.status == HANDOFF  # still waiting
        for wrong in (other_ids["agent"], "o_" + "0" * 26, "not an id"):
            code = await code_of(
                c.admin.AssignConversation(
                    admin_pb2.AssignConversationRequest(conversation_id=conv, operator_id=wrong), metadata=owner
                )
            )
            assert code == grpc.StatusCode.NOT_FOUND, wrong
        missing = await code_of(
            c.admin.AssignConversation(
                admin_pb2.AssignConversationRequest(conversation_id="c_" + "0" * 26, operator_id=ids["agent"]),
                metadata=owner,
            )
        )
        assert missing == grpc.StatusCode.NOT_FOUND
        await denied(
            c.admin.AssignConversation(
                admin_pb2.AssignConversationRequest(conversation_id=conv, operator_id=ids["agent"]), metadata=visitor
            )
        )
        await denied(c.admin.StreamInbox(admin_pb2.StreamInboxRequest(), metadata=visitor).read())

        # the owner takes it over (the owner is now the one answering), then hands it to nobody:
        # it waits for a person again instead of going quietly back to the AI
        taken = await c.admin.TakeOver(admin_pb2.TakeOverRequest(conversation_id=conv), metadata=owner)
        assert taken.status == HUMAN and taken.assigned_operator_id == created.owner.id
        moved = await c.admin.AssignConversation(
            admin_pb2.AssignConversationRequest(conversation_id=conv, operator_id=ids["agent"]), metadata=owner
        )
        assert moved.status == HUMAN and moved.assigned_operator_id == ids["agent"]
        nobody = await c.admin.AssignConversation(
            admin_pb2.AssignConversationRequest(conversation_id=conv, operator_id=""), metadata=agent
        )
        assert nobody.status == HANDOFF and nobody.assigned_operator_id == ""


async def presence(c: Client, md, state, capacity: int = 0):
    return await c.admin.SetPresence(admin_pb2.SetPresenceRequest(state=state, capacity=capacity), metadata=md)


async def test_handoffs_go_to_online_operators_under_capacity_and_move_on_when_one_goes_offline(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, admin, agent, ids = await tenant_with_staff(c, "auto-assign")
        inbox = Inbox(c, owner)
        try:
            await inbox.until(lambda evs: len(evs) >= 1)
            got = await presence(c, agent, ev_pb.PRESENCE_STATE_ONLINE, capacity=1)
            assert got.state == ev_pb.PRESENCE_STATE_ONLINE and got.capacity == 1 and got.operator_id == ids["agent"]
            await presence(c, admin, ev_pb.PRESENCE_STATE_ONLINE, capacity=1)
            await inbox.until(
                lambda evs: (
                    {e.presence.operator_id for e in evs if e.WhichOneof("kind") == "presence"}
                    >= {ids["agent"], ids["admin"]}
                )
            )

            async def waiting_customer(text: str) -> str:
                _, visitor = await c.visitor(created.tenant.widget_key)
                conv = await c.start(visitor)
                await c.chat.SendMessage(chat_pb2.SendMessageRequest(conversation_id=conv, text=text), metadata=visitor)
                await c.chat.RequestHuman(chat_pb2.RequestHumanRequest(conversation_id=conv), metadata=visitor)
                return conv

            first = await waiting_customer("first customer")
            one = await conversation_when(c, owner, first, lambda cv: cv.assigned_operator_id)
            second = await waiting_customer("second customer")
            two = await conversation_when(c, owner, second, lambda cv: cv.assigned_operator_id)
            # one each: the least loaded gets the next one
            assert {one.assigned_operator_id, two.assigned_operator_id} == {ids["agent"], ids["admin"]}
            assert one.status == two.status == HANDOFF
            third = await waiting_customer("third customer")
            await asyncio.sleep(2.0)  # the worker has had its chance: both are at capacity
            queued = await conversation_when(c, owner, third, lambda cv: False, timeout=0)
            assert queued.assigned_operator_id == "" and queued.status == HANDOFF

            # the agent signs off: their customer goes back to the queue (the admin is full)
            agents = first if one.assigned_operator_id == ids["agent"] else second
            await presence(c, agent, ev_pb.PRESENCE_STATE_OFFLINE)
            back = await conversation_when(c, owner, agents, lambda cv: cv.assigned_operator_id == "", timeout=0)
            assert back.assigned_operator_id == "" and back.status == HANDOFF
            # the admin makes room for three: the two waiting ones come to them, oldest first
            await presence(c, admin, ev_pb.PRESENCE_STATE_ONLINE, capacity=3)
            for conv_id in (agents, third):
                taken = await conversation_when(
                    c, owner, conv_id, lambda cv: cv.assigned_operator_id == ids["admin"], timeout=0
                )
                assert taken.assigned_operator_id == ids["admin"], conv_id
            # and the team's inboxes were told (the event is published off the request path)
            await inbox.until(
                lambda evs: any(
                    e.WhichOneof("kind") == "assigned"
                    and e.conversation_id == third
                    and e.assigned.operator_id == ids["admin"]
                    for e in evs
                )
            )
        finally:
            inbox.close()


async def test_presence_is_an_operators_and_refuses_bad_input(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, _, _ = await tenant_with_staff(c, "presence-input")
        _, visitor = await c.visitor(created.tenant.widget_key)
        await denied(presence(c, visitor, ev_pb.PRESENCE_STATE_ONLINE))
        await denied(presence(c, bearer(created.api_key), ev_pb.PRESENCE_STATE_ONLINE))
        for state, capacity, words in (
            (ev_pb.PRESENCE_STATE_UNSPECIFIED, 0, "state is required"),
            (99, 0, "state must be"),
            (ev_pb.PRESENCE_STATE_ONLINE, 51, "capacity"),
            (ev_pb.PRESENCE_STATE_ONLINE, -1, "capacity"),
        ):
            try:
                await presence(c, owner, state, capacity)
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and words in err.details(), err.details()
            else:
                raise AssertionError(f"accepted state={state} capacity={capacity}")
        away = await presence(c, owner, ev_pb.PRESENCE_STATE_AWAY)
        assert away.state == ev_pb.PRESENCE_STATE_AWAY and away.capacity == 5  # the default
