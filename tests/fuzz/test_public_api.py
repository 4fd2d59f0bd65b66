"""Every public RPC (from the descriptors) against a running mesh: generated messages with
edge values, malformed protobuf bytes, 1 ms deadlines and cancelled streams. Every answer
must be a status a person understands: never UNKNOWN or INTERNAL, never a traceback or the
request echoed back in the message, always within the call's deadline; and every service
is still healthy afterwards.

The calls carry credentials the RPC's access rule admits (gateway/access.py), so the
servicer code behind the gate is what gets fuzzed, not only the gate."""

from __future__ import annotations

import asyncio
import os
import random
import time

import grpc
import pytest
from google.protobuf import message_factory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.analytics.v1 import analytics_pb2
from frontdesk_pb.auth.v1 import auth_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.knowledge.v1 import knowledge_pb2
from frontdesk_pb.speech.v1 import speech_pb2
from gateway import access
from tests.conftest import PLATFORM_TOKEN, start_mesh
from tests.e2e.helpers import Client, bearer
from tests.fuzz.strategies import build, message_dicts

EXAMPLES = int(os.environ.get("FRONTDESK_FUZZ_EXAMPLES", "8"))
CALL_DEADLINE_S = 20.0
STREAM_DEADLINE_S = 4.0
BAD = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS}
LEAKS = ("Traceback", 'File "', "<class", "Exception", "Error parsing", "object at 0x", "/site-packages/")
MAX_DETAILS = 1_000  # a status message that long is echoing the input

PUBLIC = (chat_pb2, auth_pb2, admin_pb2, knowledge_pb2, speech_pb2, analytics_pb2)
METHODS = [
    method for module in PUBLIC for service in module.DESCRIPTOR.services_by_name.values() for method in service.methods
]


def method_id(method) -> str:
    return f"{method.containing_service.name}.{method.name}"


class Fuzzer:
    """A mesh, credentials of every kind, and a loop that calls any method with raw bytes."""

    def __init__(self, mesh):
        self.mesh = mesh
        self.loop = asyncio.new_event_loop()
        self.credentials: dict[str, tuple] = {}
        self.loop.run_until_complete(self._setup())

    async def _setup(self) -> None:
        self.channel = grpc.aio.insecure_channel(self.mesh.gateway)
        c = Client(self.channel)
        demo = self.mesh.demo
        _, visitor = await c.visitor(demo["widget_key"])
        self.conversation = await c.start(visitor)
        owner = await c.operator("demo", demo["owner_email"], demo["owner_password"])
        tenant = await c.admin.GetTenant(admin_pb2.GetTenantRequest(), metadata=owner)
        self.known = {
            "conversation_id": [self.conversation, self.conversation + "\n", self.conversation.upper()],
            "conversation_ids": [self.conversation],
            "widget_key": [demo["widget_key"]],
            "tenant": ["demo"],
            "email": [demo["owner_email"]],
            "tenant_id": [tenant.id],
            "operator_id": [tenant.id.replace("t_", "op_")],
            "from_day": ["2026-12-01", "0001-01-01"],
            "to_day": ["2026-12-02", "9999-12-31"],
            "page_token": ["99999999999999999999", "-5", "abc"],
        }
        self.credentials = {
            access.VISITOR: visitor,
            access.OPERATOR: owner,
            access.API_KEY: bearer(demo["api_key"]),
            access.PLATFORM: bearer(PLATFORM_TOKEN),
        }

    def metadata_for(self, method) -> tuple:
        rule = access.RULES[f"/{method.containing_service.full_name}/{method.name}"]
        for kind in (access.OPERATOR, access.VISITOR, access.PLATFORM, access.API_KEY):
            if kind in rule.kinds:
                return self.credentials[kind]
        return ()  # a public RPC

    def call(self, method, bodies: list[bytes], timeout: float | None = None) -> tuple[grpc.StatusCode, str, float]:
        return self.loop.run_until_complete(self._call(method, bodies, timeout))

    async def _call(self, method, bodies: list[bytes], timeout: float | None) -> tuple[grpc.StatusCode, str, float]:
        path = f"/{method.containing_service.full_name}/{method.name}"
        md = self.metadata_for(method)
        started = time.monotonic()
        try:
            if method.client_streaming:

                async def requests():
                    for body in bodies:
                        yield body

                call = self.channel.stream_unary(path, request_serializer=None, response_deserializer=None)
                await call(requests(), metadata=md, timeout=timeout or CALL_DEADLINE_S)
            elif method.server_streaming:
                call = self.channel.unary_stream(path, request_serializer=None, response_deserializer=None)
                stream = call(bodies[0], metadata=md, timeout=timeout or STREAM_DEADLINE_S)
                for _ in range(3):  # a live event stream stays open: three events are enough
                    if await stream.read() is grpc.aio.EOF:
                        break
                stream.cancel()
            else:
                call = self.channel.unary_unary(path, request_serializer=None, response_deserializer=None)
                await call(bodies[0], metadata=md, timeout=timeout or CALL_DEADLINE_S)
        except grpc.aio.AioRpcError as err:
            return err.code(), err.details() or "", time.monotonic() - started
        except asyncio.CancelledError:
            return grpc.StatusCode.CANCELLED, "", time.monotonic() - started
        return grpc.StatusCode.OK, "", time.monotonic() - started

    def close(self) -> None:
        self.loop.run_until_complete(self.channel.close())
        self.loop.close()


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    # rate limits out of the way: a limited call answers RESOURCE_EXHAUSTED before the code
    # under test runs, which would pass every check without testing anything
    unlimited = {f"{who}_{what}": 10**6 for who in ("tenant", "visitor", "operator") for what in ("rate", "burst")}
    mesh = start_mesh(tmp_path_factory.mktemp("fuzz") / "data", answer_policy="knowledge", **unlimited)
    fuzzer = Fuzzer(mesh)
    yield fuzzer
    fuzzer.close()
    mesh.stop()


def check(method, code: grpc.StatusCode, details: str, elapsed: float, deadline: float, what: str) -> None:
    name = method_id(method)
    assert code != grpc.StatusCode.RESOURCE_EXHAUSTED or "rate limit" not in details, f"{name}: rate-limited"
    assert code not in BAD, f"{name} ({what}) answered {code.name}: {details[:300]!r}"
    assert not any(leak in details for leak in LEAKS), f"{name} ({what}) leaks internals: {details[:300]!r}"
    assert len(details) <= MAX_DETAILS, f"{name} ({what}) status message of {len(details)} characters"
    # a stream's deadline ends it as DEADLINE_EXCEEDED; anything past the deadline is a hang
    assert elapsed <= deadline + 2.0, f"{name} ({what}) took {elapsed:.1f} s (deadline {deadline} s)"


def request_class(method):
    return message_factory.GetMessageClass(method.input_type)


def deadline_of(method) -> float:
    return STREAM_DEADLINE_S if method.server_streaming and not method.client_streaming else CALL_DEADLINE_S


@pytest.mark.parametrize("method", METHODS, ids=method_id)
@settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples on every run in CI; make fuzz draws more
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_generated_messages_get_a_clear_answer(fuzz, method, data):
    values = data.draw(message_dicts(method.input_type, known=fuzz.known), label="request")
    request = build(request_class(method), values)
    bodies = [request.SerializeToString()] * (data.draw(st.integers(1, 3)) if method.client_streaming else 1)
    code, details, elapsed = fuzz.call(method, bodies)
    check(method, code, details, elapsed, deadline_of(method), f"fields {sorted(values)}")


def _corruptions(valid: bytes, rng: random.Random) -> list[tuple[str, bytes]]:
    out = [
        ("random bytes", bytes(rng.randrange(256) for _ in range(64))),
        ("length past the end", b"\x0a\xff\xff\x03ab"),
        ("invalid UTF-8 in field 1", b"\x0a\x03\xff\xfe\xfd"),
        ("unknown field numbers", b"\xf8\xff\xff\xff\x0f\x01" + valid),
        ("deep nesting", b"\x0a\x80\x01" * 50),
    ]
    if valid:
        flipped = bytearray(valid)
        flipped[rng.randrange(len(flipped))] ^= 0xFF
        out += [("a flipped byte", bytes(flipped)), ("truncated", valid[: max(1, len(valid) // 2)])]
    return out


@pytest.mark.parametrize("method", METHODS, ids=method_id)
def test_malformed_bytes_are_refused_plainly(fuzz, method):
    rng = random.Random(f"{method.full_name}")
    cls = request_class(method)
    valid = cls().SerializeToString()
    if "conversation_id" in cls.DESCRIPTOR.fields_by_name:
        valid = cls(conversation_id=fuzz.conversation).SerializeToString()
    for what, body in _corruptions(valid, rng):
        code, details, elapsed = fuzz.call(method, [body])
        check(method, code, details, elapsed, deadline_of(method), what)


@pytest.mark.parametrize("method", METHODS, ids=method_id)
def test_a_one_millisecond_deadline_is_kept(fuzz, method):
    cls = request_class(method)
    fields = cls.DESCRIPTOR.fields_by_name
    request = cls(conversation_id=fuzz.conversation) if "conversation_id" in fields else cls()
    code, details, elapsed = fuzz.call(method, [request.SerializeToString()], timeout=0.001)
    check(method, code, details, elapsed, 0.001, "1 ms deadline")


def test_cancelled_streams_leave_nothing_stuck(fuzz):
    async def run():
        md = fuzz.credentials[access.VISITOR]
        for _ in range(20):
            stream = fuzz.channel.unary_stream(
                "/frontdesk.chat.v1.ChatService/StreamEvents", request_serializer=None, response_deserializer=None
            )(chat_pb2.StreamEventsRequest(conversation_id=fuzz.conversation).SerializeToString(), metadata=md)
            stream.cancel()

        async def chunks():
            yield speech_pb2.AudioChunk(
                header=speech_pb2.AudioHeader(conversation_id=fuzz.conversation, content_type="audio/wav")
            ).SerializeToString()
            await asyncio.sleep(30)  # cancelled before this ends

        upload = fuzz.channel.stream_unary(
            "/frontdesk.speech.v1.SpeechService/SubmitAudioStream", request_serializer=None, response_deserializer=None
        )(chunks(), metadata=md)
        await asyncio.sleep(0.2)
        upload.cancel()
        # the conversation still answers at once
        got = await Client(fuzz.channel).chat.GetConversation(
            chat_pb2.GetConversationRequest(conversation_id=fuzz.conversation), metadata=md, timeout=5
        )
        assert got.id == fuzz.conversation

    fuzz.loop.run_until_complete(run())


def test_every_service_is_healthy_after_the_fuzzing(fuzz):
    from frontdesk.grpcutil import check_health

    ports = fuzz.mesh.ports
    for name in ("gateway", "conversation", "inference", "speech", "analytics"):
        status = fuzz.loop.run_until_complete(check_health(f"127.0.0.1:{ports[name]}", timeout_s=5))
        assert status == "SERVING", name
