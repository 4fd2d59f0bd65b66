"""Conversation statuses set by the team, through the real mesh: open (the AI answers),
pending (waiting for a person), snoozed until a time (woken by that time or by the customer),
resolved. A conversation released to the AI resumes cleanly: the AI answers the next question
and the earlier handoff is not repeated."""

from __future__ import annotations

import time

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.knowledge.v1 import knowledge_pb2 as kpb
from frontdesk_pb.knowledge.v1 import knowledge_pb2_grpc
from tests.conftest import start_mesh
from tests.e2e.helpers import Client, conversation_when
from tests.e2e.test_roles import code_of, denied, tenant_with_staff

S = common.ConversationStatus
HOURS = kpb.FaqEntry(id="hours", question="When are you open?", answer="We are open 9:00 to 17:00, Monday to Friday.")


@pytest.fixture(scope="module")
def mesh(tmp_path_factory):
    m = start_mesh(tmp_path_factory.mktemp("statuses"), answer_policy="knowledge")
    yield m
    m.stop()


def at(seconds_from_now: float) -> Timestamp:
    ts = Timestamp()
    ts.FromMilliseconds(int((time.time() + seconds_from_now) * 1000))
    return ts


def set_status(c: Client, md, conv: str, status, until: Timestamp | None = None):
    request = admin_pb2.SetConversationStatusRequest(conversation_id=conv, status=status)
    if until is not None:
        request.snooze_until.CopyFrom(until)
    return c.admin.SetConversationStatus(request, metadata=md)


async def status_of(c: Client, md, conv: str, want, timeout: float = 20.0) -> common.Conversation:
    return await conversation_when(c, md, conv, lambda got: got.status == want, timeout)


async def test_a_snooze_ends_on_time_or_when_the_customer_writes(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, agent, ids = await tenant_with_staff(c, "snooze")
        _, visitor = await c.visitor(created.tenant.widget_key)
        conv = await c.start(visitor)
        await c.chat.RequestHuman(chat_pb2.RequestHumanRequest(conversation_id=conv), metadata=visitor)
        await c.admin.AssignConversation(
            admin_pb2.AssignConversationRequest(conversation_id=conv, operator_id=ids["agent"]), metadata=agent
        )
        snoozed = await set_status(c, agent, conv, S.CONVERSATION_STATUS_SNOOZED, at(2.0))
        assert snoozed.status == S.CONVERSATION_STATUS_SNOOZED and snoozed.snoozed_until.seconds > 0
        listed = await c.admin.ListConversations(
            admin_pb2.ListConversationsRequest(status=S.CONVERSATION_STATUS_SNOOZED), metadata=agent
        )
        assert [x.id for x in listed.conversations] == [conv]
        # its time comes: waiting for a person again, with its owner
        woken = await status_of(c, agent, conv, S.CONVERSATION_STATUS_HANDOFF)
        assert woken.status == S.CONVERSATION_STATUS_HANDOFF and woken.assigned_operator_id == ids["agent"]
        assert not woken.HasField("snoozed_until")

        # snoozed for an hour, but the customer writes: pending at once, and the AI stays out
        await set_status(c, agent, conv, S.CONVERSATION_STATUS_SNOOZED, at(3600))
        await c.chat.SendMessage(chat_pb2.SendMessageRequest(conversation_id=conv, text="any news?"), metadata=visitor)
        back = await c.admin.GetConversation(admin_pb2.GetConversationRequest(conversation_id=conv), metadata=agent)
        assert back.status == S.CONVERSATION_STATUS_HANDOFF and back.assigned_operator_id == ids["agent"]
        # resolved, then a new message opens it with the AI
        resolved = await set_status(c, owner, conv, S.CONVERSATION_STATUS_CLOSED)
        assert resolved.status == S.CONVERSATION_STATUS_CLOSED and resolved.assigned_operator_id == ""


async def test_released_to_the_ai_it_answers_again_without_repeating_the_handoff(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, agent, _ = await tenant_with_staff(c, "release")
        kb = knowledge_pb2_grpc.KnowledgeServiceStub(ch)
        await kb.UpsertFaqEntries(kpb.UpsertFaqEntriesRequest(entries=[HOURS]), metadata=owner, timeout=120)
        _, visitor = await c.visitor(created.tenant.widget_key)
        conv = await c.start(visitor)
        await c.chat.SendMessage(
            chat_pb2.SendMessageRequest(conversation_id=conv, text="I want to talk to a human please"), metadata=visitor
        )
        handed = await status_of(c, agent, conv, S.CONVERSATION_STATUS_HANDOFF, timeout=60)
        assert handed.status == S.CONVERSATION_STATUS_HANDOFF and handed.handoff_reason == "customer_request"
        opened = await set_status(c, agent, conv, S.CONVERSATION_STATUS_AI)
        assert opened.status == S.CONVERSATION_STATUS_AI and opened.handoff_reason == ""
        _, _, answer = await c.ask(visitor, conv, "When are you open?")
        assert answer.role == common.ROLE_AI and "9:00 to 17:00" in answer.text
        history = await c.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=conv), metadata=visitor)
        notices = [m for m in history.messages if m.role == common.ROLE_SYSTEM]
        assert len(notices) == 1, [m.text for m in notices]
        now = await c.admin.GetConversation(admin_pb2.GetConversationRequest(conversation_id=conv), metadata=agent)
        assert now.status == S.CONVERSATION_STATUS_AI


async def test_bad_statuses_and_snooze_times_are_refused_with_the_reason(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, _, _ = await tenant_with_staff(c, "status-input")
        _, visitor = await c.visitor(created.tenant.widget_key)
        conv = await c.start(visitor)
        for status, until, words in (
            (S.CONVERSATION_STATUS_SNOOZED, at(-60), "in the future"),
            (S.CONVERSATION_STATUS_SNOOZED, None, "in the future"),
            (S.CONVERSATION_STATUS_SNOOZED, at(91 * 86400), "90 days"),
            (S.CONVERSATION_STATUS_CLOSED, at(60), "only for SNOOZED"),
            (S.CONVERSATION_STATUS_HUMAN, None, "TakeOver"),
            (S.CONVERSATION_STATUS_UNSPECIFIED, None, "status must be"),
            (42, None, "status must be"),
        ):
            try:
                await set_status(c, owner, conv, status, until)
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and words in err.details(), err.details()
            else:
                raise AssertionError(f"accepted status {status}")
        await denied(set_status(c, visitor, conv, S.CONVERSATION_STATUS_CLOSED))
        missing = await code_of(set_status(c, owner, "c_" + "0" * 26, S.CONVERSATION_STATUS_CLOSED))
        assert missing == grpc.StatusCode.NOT_FOUND
        unchanged = await c.admin.GetConversation(
            admin_pb2.GetConversationRequest(conversation_id=conv), metadata=owner
        )
        assert unchanged.status == S.CONVERSATION_STATUS_AI


async def test_labels_and_filters_by_owner_and_label_are_the_teams_alone(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, agent, ids = await tenant_with_staff(c, "labels")
        _, visitor = await c.visitor(created.tenant.widget_key)
        first, second = await c.start(visitor), await c.start(visitor)
        labelled = await c.admin.SetConversationLabels(
            admin_pb2.SetConversationLabelsRequest(conversation_id=first, labels=["VIP", " Refund  request ", "vip"]),
            metadata=agent,
        )
        assert list(labelled.labels) == ["refund request", "vip"]
        await c.admin.AssignConversation(
            admin_pb2.AssignConversationRequest(conversation_id=second, operator_id=ids["agent"]), metadata=owner
        )

        async def listed(**filters) -> list[str]:
            got = await c.admin.ListConversations(admin_pb2.ListConversationsRequest(**filters), metadata=agent)
            return sorted(x.id for x in got.conversations)

        assert await listed(label="vip") == [first]
        assert await listed(label="Refund request") == [first]
        assert await listed(assignee="me") == [second]
        assert await listed(assignee=ids["agent"]) == [second]
        assert await listed(assignee="none") == [first]
        assert await listed(assignee="none", label="vip") == [first]
        # the customer never sees the team's labels
        seen = await c.chat.GetConversation(chat_pb2.GetConversationRequest(conversation_id=first), metadata=visitor)
        assert list(seen.labels) == []
        mine = await c.chat.ListConversations(chat_pb2.ListConversationsRequest(), metadata=visitor)
        assert all(list(x.labels) == [] for x in mine.conversations)
        # bad input
        for labels, words in ((["x" * 33], "32"), (["-dash"], "must be"), ([f"l{i}" for i in range(11)], "at most 10")):
            try:
                await c.admin.SetConversationLabels(
                    admin_pb2.SetConversationLabelsRequest(conversation_id=first, labels=labels), metadata=agent
                )
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and words in err.details(), err.details()
            else:
                raise AssertionError(f"accepted {labels}")
        for filters in ({"assignee": "someone"}, {"status": 42}, {"label": "!"}):
            code = await code_of(
                c.admin.ListConversations(admin_pb2.ListConversationsRequest(**filters), metadata=agent)
            )
            assert code == grpc.StatusCode.INVALID_ARGUMENT, filters
        await denied(
            c.admin.SetConversationLabels(
                admin_pb2.SetConversationLabelsRequest(conversation_id=first, labels=["x"]), metadata=visitor
            )
        )


async def test_a_conversation_quiet_for_the_tenants_idle_time_is_resolved_and_the_customer_told(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, agent, _ = await tenant_with_staff(c, "auto-resolve")
        tenant = await c.admin.UpdateTenant(admin_pb2.UpdateTenantRequest(auto_resolve_after_minutes=1), metadata=owner)
        assert tenant.auto_resolve_after_minutes == 1
        for bad in (-1, 43_201):
            assert (
                await code_of(
                    c.admin.UpdateTenant(admin_pb2.UpdateTenantRequest(auto_resolve_after_minutes=bad), metadata=owner)
                )
                == grpc.StatusCode.INVALID_ARGUMENT
            )
        await denied(c.admin.UpdateTenant(admin_pb2.UpdateTenantRequest(auto_resolve_after_minutes=5), metadata=agent))
        renamed = await c.admin.UpdateTenant(admin_pb2.UpdateTenantRequest(name="Auto Resolve Ltd"), metadata=owner)
        assert renamed.auto_resolve_after_minutes == 1  # unset = unchanged
        _, visitor = await c.visitor(created.tenant.widget_key)
        quiet = await c.start(visitor)
        await c.ask(visitor, quiet, "hello")  # answered by the AI, then nobody writes
        waiting = await c.start(visitor)
        await c.chat.RequestHuman(chat_pb2.RequestHumanRequest(conversation_id=waiting), metadata=visitor)
        # the timer is held by JetStream for the minute, then the conversation is read
        await status_of(c, owner, quiet, S.CONVERSATION_STATUS_CLOSED, timeout=120)
        history = await c.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=quiet), metadata=visitor)
        assert history.messages[-1].role == common.ROLE_SYSTEM and "quiet for a while" in history.messages[-1].text
        # the customer waiting for a person is not dropped
        still = await c.admin.GetConversation(admin_pb2.GetConversationRequest(conversation_id=waiting), metadata=owner)
        assert still.status == S.CONVERSATION_STATUS_HANDOFF
        # a new message reopens it (with the AI, which may answer or hand over)
        await c.chat.SendMessage(chat_pb2.SendMessageRequest(conversation_id=quiet, text="thanks!"), metadata=visitor)
        reopened = await conversation_when(c, owner, quiet, lambda got: got.status != S.CONVERSATION_STATUS_CLOSED)
        assert reopened.status in (S.CONVERSATION_STATUS_AI, S.CONVERSATION_STATUS_HANDOFF)
