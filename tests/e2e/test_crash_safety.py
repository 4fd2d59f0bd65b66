"""Crash safety with real processes: kill -9 an inference worker mid-reply, kill -9 the
conversation service and the nats-server under load. Afterwards every accepted message
has exactly one stored AI reply (or an explicit handoff): none lost, none duplicated."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import grpc

from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from tests.conftest import start_mesh
from tests.e2e.helpers import Client

RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.INTERNAL}


def kill9(mesh, service: str) -> int:
    pid = json.loads((mesh.data_dir / "runtime.json").read_text())["pids"][service]
    os.kill(pid, signal.SIGKILL)
    return pid


async def send_until_accepted(
    c: Client, md, conv: str, text: str, key: str, deadline_s: float = 90
) -> chat_pb2.SendMessageResponse:
    """What a well-behaved client does: resend with the same client_message_id until accepted."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            return await c.chat.SendMessage(
                chat_pb2.SendMessageRequest(conversation_id=conv, text=text, client_message_id=key),
                metadata=md,
                timeout=5,
            )
        except grpc.aio.AioRpcError as err:
            if err.code() not in RETRYABLE or time.monotonic() > end:
                raise
            await asyncio.sleep(0.2)


async def history(c: Client, md, conv: str) -> list[common.Message]:
    for _ in range(100):
        try:
            r = await c.chat.ListMessages(
                chat_pb2.ListMessagesRequest(conversation_id=conv, page_size=200), metadata=md, timeout=5
            )
            return list(r.messages)
        except grpc.aio.AioRpcError as err:
            if err.code() not in RETRYABLE:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("history unreachable")


async def wait_for_answers(
    c: Client, md, conv: str, question_ids: list[str], timeout_s: float = 90
) -> list[common.Message]:
    """Until every question has its reply (or the conversation was handed off), then the history."""
    end = time.monotonic() + timeout_s
    while True:
        msgs = await history(c, md, conv)
        answered = {m.in_reply_to for m in msgs if m.role == common.ROLE_AI}
        handed_off = any(m.role == common.ROLE_SYSTEM for m in msgs)
        if set(question_ids) <= answered or handed_off:
            return msgs
        if time.monotonic() > end:
            raise AssertionError(f"unanswered after {timeout_s} s: {set(question_ids) - answered}")
        await asyncio.sleep(0.25)


def assert_exactly_one_reply_each(msgs: list[common.Message], question_ids: list[str]) -> None:
    replies = [m.in_reply_to for m in msgs if m.role == common.ROLE_AI]
    assert sorted(replies) == sorted(set(replies)), "a question was answered twice"
    assert set(replies) <= set(question_ids)
    customer = [m.id for m in msgs if m.role == common.ROLE_CUSTOMER]
    assert sorted(customer) == sorted(question_ids), "every accepted message is stored exactly once"
    if not any(m.role == common.ROLE_SYSTEM for m in msgs):
        assert set(replies) == set(question_ids)


async def test_killing_an_inference_worker_mid_reply_loses_nothing(tmp_path):
    mesh = start_mesh(tmp_path / "data", echo_token_delay_ms=150, job_ack_wait_s=2)
    try:
        async with mesh.channel() as ch:
            c = Client(ch)
            _, md = await c.visitor(mesh.demo["widget_key"])
            conv = await c.start(md)
            events = c.chat.StreamEvents(chat_pb2.StreamEventsRequest(conversation_id=conv), metadata=md)
            await events.read()  # subscribed
            sent = await c.chat.SendMessage(
                chat_pb2.SendMessageRequest(conversation_id=conv, text="please answer me even if your worker crashes"),
                metadata=md,
            )
            while (await asyncio.wait_for(events.read(), 20)).WhichOneof("kind") != "token":
                pass
            killed = kill9(mesh, "inference")  # mid-stream: more tokens were still to come

            async def final_on_stream():
                while (ev := await events.read()) is not grpc.aio.EOF:
                    if ev.WhichOneof("kind") == "message" and ev.message.in_reply_to == sent.message.id:
                        return ev.message

            final = await asyncio.wait_for(final_on_stream(), 60)
            events.cancel()
            assert final.text == f"You said: {sent.message.text}"
            msgs = await wait_for_answers(c, md, conv, [sent.message.id])
            assert_exactly_one_reply_each(msgs, [sent.message.id])
            pids = json.loads((mesh.data_dir / "runtime.json").read_text())["pids"]
            assert pids["inference"] != killed, "the supervisor restarted the worker"
    finally:
        mesh.stop()


async def test_killing_conversation_and_nats_under_load_loses_and_duplicates_nothing(tmp_path):
    mesh = start_mesh(tmp_path / "data", echo_token_delay_ms=20, job_ack_wait_s=3, visitor_rate=50, visitor_burst=100)
    try:
        async with mesh.channel() as ch:
            c = Client(ch)
            customers = []
            for _ in range(4):
                _, md = await c.visitor(mesh.demo["widget_key"])
                customers.append((md, await c.start(md)))
            accepted: dict[str, list[str]] = {conv: [] for _, conv in customers}

            async def customer(md, conv, n):
                for i in range(8):
                    r = await send_until_accepted(c, md, conv, f"question {n}.{i}", key=f"{conv}-{i}")
                    accepted[conv].append(r.message.id)
                    await asyncio.sleep(0.15)

            async def chaos():
                await asyncio.sleep(0.6)
                kill9(mesh, "conversation")
                await asyncio.sleep(1.2)
                kill9(mesh, "nats")

            await asyncio.gather(chaos(), *(customer(md, conv, n) for n, (md, conv) in enumerate(customers)))
            for md, conv in customers:
                assert len(set(accepted[conv])) == 8
                msgs = await wait_for_answers(c, md, conv, accepted[conv])
                assert_exactly_one_reply_each(msgs, accepted[conv])
    finally:
        mesh.stop()


async def test_sigterm_lets_a_worker_finish_the_reply_it_is_writing(tmp_path):
    """Graceful shutdown: a worker told to stop mid-reply finishes and stores it, then exits 0."""
    mesh = start_mesh(tmp_path / "data", echo_token_delay_ms=150, job_ack_wait_s=30)
    try:
        async with mesh.channel() as ch:
            c = Client(ch)
            _, md = await c.visitor(mesh.demo["widget_key"])
            conv = await c.start(md)
            events = c.chat.StreamEvents(chat_pb2.StreamEventsRequest(conversation_id=conv), metadata=md)
            await events.read()
            sent = await c.chat.SendMessage(
                chat_pb2.SendMessageRequest(conversation_id=conv, text="finish this sentence before you go"),
                metadata=md,
            )
            while (await asyncio.wait_for(events.read(), 20)).WhichOneof("kind") != "token":
                pass
            pid = json.loads((mesh.data_dir / "runtime.json").read_text())["pids"]["inference"]
            os.kill(pid, signal.SIGTERM)
            while True:  # the same stream gets the whole reply
                ev = await asyncio.wait_for(events.read(), 20)
                if ev.WhichOneof("kind") == "message" and ev.message.in_reply_to == sent.message.id:
                    break
            events.cancel()
            assert ev.message.text == f"You said: {sent.message.text}"
            msgs = await wait_for_answers(c, md, conv, [sent.message.id])
            assert_exactly_one_reply_each(msgs, [sent.message.id])
        # the stopping worker stored it while draining (ack_wait is 30 s: no redelivery yet)
        lines = (mesh.data_dir / "logs" / "inference.log").read_text().splitlines()
        draining = next(i for i, line in enumerate(lines) if "worker.draining" in line)
        stored = next(i for i, line in enumerate(lines) if "reply.stored" in line and sent.message.id in line)
        stopped = next(i for i, line in enumerate(lines) if "inference.stopping" in line)
        assert stopped < draining < stored
    finally:
        mesh.stop()
