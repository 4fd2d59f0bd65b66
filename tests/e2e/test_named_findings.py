"""The outside tester's named cases of malformed input and hangs, each asked once through the
real mesh (the fuzz suite, tests/fuzz, reaches them only by chance among its draws): each gets
a clear status and a short message, well within its deadline; none is accepted silently."""

from __future__ import annotations

import uuid

import grpc
import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.knowledge.v1 import knowledge_pb2, knowledge_pb2_grpc
from frontdesk_pb.speech.v1 import speech_pb2
from tests.e2e.helpers import Client
from tests.e2e.test_bad_input import status_of
from tests.e2e.test_roles import tenant_with_staff

DEADLINE_S = 30.0  # a hang would run into it: every answer here comes long before


def plain(code: grpc.StatusCode, details: str, *wanted: grpc.StatusCode) -> None:
    assert code in wanted, (code, details)
    assert len(details) <= 500 and "Traceback" not in details, details


@pytest.fixture
async def staff(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        created, owner, _, _, _ = await tenant_with_staff(c, f"findings-{uuid.uuid4().hex[:8]}")
        visitor, md = await c.visitor(created.tenant.widget_key)
        conversation = await c.start(md)
        yield c, ch, owner, md, conversation


async def test_a_conversation_id_with_a_trailing_newline_is_not_found(staff):
    c, _, _, md, conversation = staff
    events = c.chat.StreamEvents(
        chat_pb2.StreamEventsRequest(conversation_id=conversation + "\n"), metadata=md, timeout=DEADLINE_S
    )
    plain(*await status_of(events), grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)


async def test_a_page_token_past_any_number_and_a_negative_page_size_are_refused(staff):
    c, _, owner, _, _ = staff
    for request in (
        admin_pb2.ListConversationsRequest(page_token="99999999999999999999"),
        admin_pb2.ListConversationsRequest(page_size=-1),
    ):
        code, details = await status_of(c.admin.ListConversations(request, metadata=owner, timeout=DEADLINE_S))
        plain(code, details, grpc.StatusCode.INVALID_ARGUMENT)


async def test_an_unknown_status_is_refused_not_ignored(staff):
    c, _, owner, _, _ = staff
    code, details = await status_of(
        c.admin.ListConversations(admin_pb2.ListConversationsRequest(status=99), metadata=owner, timeout=DEADLINE_S)
    )
    plain(code, details, grpc.StatusCode.INVALID_ARGUMENT)


async def test_an_analytics_range_in_year_one_is_refused(staff):
    _, ch, owner, _, _ = staff
    analytics = analytics_pb2_grpc.AnalyticsServiceStub(ch)
    request = analytics_pb2.GetOverviewRequest(
        range=analytics_pb2.DateRange(from_day="0001-01-01", to_day="0001-01-31")
    )
    plain(
        *await status_of(analytics.GetOverview(request, metadata=owner, timeout=DEADLINE_S)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )


async def test_a_megabyte_file_name_is_refused_without_being_echoed(staff):
    _, ch, owner, _, _ = staff
    knowledge = knowledge_pb2_grpc.KnowledgeServiceStub(ch)
    request = knowledge_pb2.ImportFileRequest(filename="x" * 1_000_000, content_type="text/csv", data=b"q,a\n")
    code, details = await status_of(knowledge.ImportFile(request, metadata=owner, timeout=DEADLINE_S))
    plain(code, details, grpc.StatusCode.INVALID_ARGUMENT)
    assert "x" * 200 not in details


async def test_a_three_megabyte_knowledge_search_is_refused_at_once(staff):
    _, ch, owner, _, _ = staff
    knowledge = knowledge_pb2_grpc.KnowledgeServiceStub(ch)
    request = knowledge_pb2.SearchRequest(query="refund " * 450_000)
    plain(
        *await status_of(knowledge.Search(request, metadata=owner, timeout=DEADLINE_S)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )


async def test_a_corrupt_frame_in_an_audio_stream_ends_the_call_instead_of_hanging(staff):
    _, ch, _, md, conversation = staff
    header = speech_pb2.AudioChunk(
        header=speech_pb2.AudioHeader(conversation_id=conversation, content_type="audio/wav", filename="q.wav")
    ).SerializeToString()
    corrupt = b"\x12\xff\xff\xff\x0f" + b"\x00" * 10  # a data field announcing 4 GB
    call = ch.stream_unary(
        "/frontdesk.speech.v1.SpeechService/SubmitAudioStream",
        request_serializer=None,
        response_deserializer=speech_pb2.SubmitAudioResponse.FromString,
    )
    code, details = await status_of(call(iter([header, corrupt]), metadata=md, timeout=DEADLINE_S))
    plain(code, details, grpc.StatusCode.INVALID_ARGUMENT)
