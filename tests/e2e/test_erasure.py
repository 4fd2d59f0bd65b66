"""Erasing a customer through the real mesh (embedded stores; tests/e2e/test_real_stores.py erases
on Cassandra and MinIO): AdminService.EraseCustomerData removes their conversations, messages,
notes, feedback, attachments, voice recording and transcription record, the search's index of
their words, analytics' sentiment of their conversations, and the platform's events and jobs
about them; another customer's data stays. Afterwards no file under the data directory (the
SQLite files, the blobs, NATS's stream files) holds the customer's words, name, email or id,
nor their conversations' ids, except the audit log, which keeps who erased which customer id and
when (that record is the point of it), and the services' logs, which name conversations by id
(never the customer, never their words).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import grpc
import nats
import pytest
from nats.js.errors import NotFoundError

from frontdesk import bus
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.speech.v1 import speech_pb2_grpc
from tests.conftest import start_mesh
from tests.e2e.helpers import Client, bearer
from tests.e2e.test_data_rights import NOTE, customer_with_history, export
from tests.e2e.test_roles import code_of, denied, tenant_with_staff

ANGRY = "This is awful, quuxerased never came and I hate this terrible useless service"
KEPT = "another customer's question stays"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory):
    m = start_mesh(tmp_path_factory.mktemp("erasure"))
    yield m
    m.stop()


def erase(c: Client, md, visitor_id: str):
    return c.admin.EraseCustomerData(
        admin_pb2.EraseCustomerDataRequest(visitor_id=visitor_id), metadata=md, timeout=120
    )


async def until(check, timeout: float = 120):
    async def loop():
        while not await check():
            await asyncio.sleep(0.5)

    await asyncio.wait_for(loop(), timeout)


def today() -> analytics_pb2.DateRange:
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    return analytics_pb2.DateRange(from_day=day, to_day=day)


async def stream_leftovers(port: int, wanted: list[str]) -> list[str]:
    """Every message still in the streams that names one of `wanted`."""
    nc = await nats.connect(f"nats://127.0.0.1:{port}")
    js = nc.jetstream()
    found = []
    try:
        for stream in (bus.EVENTS_STREAM, bus.JOBS_STREAM, bus.SPEECH_STREAM, bus.TIMERS_STREAM):
            info = await js.stream_info(stream)
            for seq in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
                try:
                    msg = await js.get_msg(stream, seq)
                except NotFoundError:
                    continue
                found += [f"{stream}#{seq}: {w}" for w in wanted if w.encode() in (msg.data or b"")]
    finally:
        await nc.close()
    return found


async def test_an_admin_erases_a_customer_and_nothing_of_theirs_is_left(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        speech = speech_pb2_grpc.SpeechServiceStub(ch)
        analytics = analytics_pb2_grpc.AnalyticsServiceStub(ch)
        created, owner, admin, agent, _ = await tenant_with_staff(c, "erasure")
        jo = await customer_with_history(c, created.tenant.widget_key, speech)
        await c.ask(jo["md"], jo["first"], ANGRY)
        await c.admin.AddNote(admin_pb2.AddNoteRequest(conversation_id=jo["first"], text=NOTE), metadata=agent)
        _, other = await c.visitor(created.tenant.widget_key)
        kept = await c.start(other)
        await c.chat.SendMessage(chat_pb2.SendMessageRequest(conversation_id=kept, text=KEPT), metadata=other)

        async def voice_posted():
            page = await c.admin.ListMessages(
                admin_pb2.ListMessagesRequest(conversation_id=jo["second"]), metadata=owner
            )
            return any(m.voice for m in page.messages)

        async def counted_as_negative():
            report = await analytics.GetSentiment(analytics_pb2.GetSentimentRequest(range=today()), metadata=owner)
            return any(m.conversation_id == jo["first"] for m in report.most_negative)

        await until(voice_posted)
        await until(counted_as_negative)

        # agents and customers may not; admins may (owners and API keys too, as for the export)
        await denied(erase(c, agent, jo["visitor"]))
        await denied(erase(c, jo["md"], jo["visitor"]))
        done = await erase(c, admin, jo["visitor"])
        assert done.conversations == 2 and done.messages >= 6 and done.files == 2  # the photo and the recording
        assert done.queued_items > 0 and done.analytics_items > 0 and done.erased_at.seconds > 0

        # nothing of theirs can be read any more, through any RPC
        assert await code_of(erase(c, admin, jo["visitor"])) == grpc.StatusCode.NOT_FOUND
        assert await code_of(export(c, owner, jo["visitor"])) == grpc.StatusCode.NOT_FOUND
        for conversation_id in (jo["first"], jo["second"]):
            got = c.admin.GetConversation(
                admin_pb2.GetConversationRequest(conversation_id=conversation_id), metadata=owner
            )
            assert await code_of(got) == grpc.StatusCode.NOT_FOUND
        listed = await c.admin.ListConversations(admin_pb2.ListConversationsRequest(page_size=100), metadata=owner)
        assert [conv.id for conv in listed.conversations] == [kept]
        found = await c.admin.SearchConversations(
            admin_pb2.SearchConversationsRequest(query="quuxerased"), metadata=owner
        )
        assert list(found.hits) == []
        report = await analytics.GetSentiment(analytics_pb2.GetSentimentRequest(range=today()), metadata=owner)
        assert all(m.conversation_id not in (jo["first"], jo["second"]) for m in report.most_negative)
        scores = await analytics.GetConversationSentiment(
            analytics_pb2.GetConversationSentimentRequest(conversation_ids=[jo["first"]]), metadata=owner
        )
        assert list(scores.conversations) == []
        # the other customer is untouched
        page = await c.admin.ListMessages(admin_pb2.ListMessagesRequest(conversation_id=kept), metadata=owner)
        assert KEPT in [m.text for m in page.messages]
        # the audit log says who erased whom
        log = await c.admin.ListAuditLog(admin_pb2.ListAuditLogRequest(), metadata=owner)
        erased = [e for e in log.entries if e.method == "AdminService.EraseCustomerData" and e.outcome == "ok"]
        assert erased and erased[-1].target["visitor_id"] == jo["visitor"]

        # and nothing is left behind: not in the streams, not in any file but the audit log's
        words = ["quuxerased", "here is the label", "Jo Example", "jo@example.com"]
        traces = [jo["visitor"], jo["first"], jo["second"], jo["audio"], *words]
        assert await stream_leftovers(mesh.ports["nats"], traces) == []
        await asyncio.sleep(1)  # the stores' last writes reach their files
        leftovers = []
        for path in sorted(p for p in mesh.data_dir.rglob("*") if p.is_file()):
            data = path.read_bytes()
            if path.name.startswith("accounts.db"):
                looked_for = words  # the audit log keeps the erased customer's id, nothing else of theirs
            elif path.parent.name == "logs":
                looked_for = [jo["visitor"], *words]  # the logs name conversations by id, never the customer
            else:
                looked_for = traces
            leftovers += [f"{path.relative_to(mesh.data_dir)}: {t}" for t in looked_for if t.encode() in data]
            assert jo["png"] not in data, path
        assert leftovers == [], "\n".join(leftovers)
        # an API key can erase too (here: a customer with nothing stored is NOT_FOUND, not refused)
        assert await code_of(erase(c, bearer(created.api_key), jo["visitor"])) == grpc.StatusCode.NOT_FOUND


async def test_unknown_foreign_and_malformed_customers_are_refused(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, _, _ = await tenant_with_staff(c, "erasure-a")
        _, other_owner, _, _, _ = await tenant_with_staff(c, "erasure-b")
        visitor, md = await c.visitor(created.tenant.widget_key)
        conversation = await c.start(md)
        assert await code_of(erase(c, other_owner, visitor)) == grpc.StatusCode.NOT_FOUND
        assert await code_of(erase(c, owner, "v_" + "0" * 26)) == grpc.StatusCode.NOT_FOUND
        for bad in ("", "someone@example.com", "v_../../etc", "v_" + "a" * 10_000):
            assert await code_of(erase(c, owner, bad)) == grpc.StatusCode.INVALID_ARGUMENT
        # the other tenant's try erased nothing
        got = await c.admin.GetConversation(
            admin_pb2.GetConversationRequest(conversation_id=conversation), metadata=owner
        )
        assert got.visitor_id == visitor
