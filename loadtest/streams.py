"""How many live event streams one gateway process holds: open N StreamEvents calls on
one conversation, wait until each is subscribed (its status snapshot arrived), then send
one message and count the streams that receive the reply.

    python -m loadtest.streams --gateway 127.0.0.1:50051 --widget-key wk_... -n 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import grpc

from frontdesk_pb.auth.v1 import auth_pb2, auth_pb2_grpc
from frontdesk_pb.chat.v1 import chat_pb2, chat_pb2_grpc

STREAMS_PER_CHANNEL = 500  # HTTP/2 connections, each multiplexing this many streams
WAVE = 250


async def hold_streams(gateway: str, widget_key: str, n: int, timeout_s: float = 120) -> dict:
    # a connection of its own per channel, as separate browsers would have
    channels = [
        grpc.aio.insecure_channel(gateway, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range((n + STREAMS_PER_CHANNEL - 1) // STREAMS_PER_CHANNEL)
    ]
    auth = auth_pb2_grpc.AuthServiceStub(channels[0])
    session = await auth.CreateVisitorSession(auth_pb2.CreateVisitorSessionRequest(widget_key=widget_key), timeout=10)
    md = (("authorization", f"Bearer {session.token}"),)
    chat = chat_pb2_grpc.ChatServiceStub(channels[0])
    conv = (await chat.StartConversation(chat_pb2.StartConversationRequest(), metadata=md, timeout=10)).conversation.id
    stubs = [chat_pb2_grpc.ChatServiceStub(ch) for ch in channels]
    calls, opened = [], []
    started = time.perf_counter()
    # browsers arrive over time, not in one instant: open in waves and wait for each wave
    for wave in range(0, n, WAVE):
        batch = [
            stubs[i // STREAMS_PER_CHANNEL].StreamEvents(
                chat_pb2.StreamEventsRequest(conversation_id=conv), metadata=md
            )
            for i in range(wave, min(wave + WAVE, n))
        ]
        calls += batch
        opened += await asyncio.gather(*(asyncio.wait_for(c.read(), timeout_s) for c in batch), return_exceptions=True)
    open_s = time.perf_counter() - started
    errors: dict[str, int] = {}
    for r in opened:
        if isinstance(r, grpc.aio.AioRpcError):
            errors[r.code().name] = errors.get(r.code().name, 0) + 1
        elif isinstance(r, BaseException):
            errors[type(r).__name__] = errors.get(type(r).__name__, 0) + 1
    subscribed = sum(1 for r in opened if not isinstance(r, BaseException))
    sent = await chat.SendMessage(
        chat_pb2.SendMessageRequest(conversation_id=conv, text="hello everyone"), metadata=md, timeout=10
    )

    async def got_reply(call) -> bool:
        while (ev := await call.read()) is not grpc.aio.EOF:
            if ev.WhichOneof("kind") == "message" and ev.message.in_reply_to == sent.message.id:
                return True
        return False

    live = [c for c, r in zip(calls, opened, strict=False) if not isinstance(r, BaseException)]
    results = await asyncio.gather(*(asyncio.wait_for(got_reply(c), timeout_s) for c in live), return_exceptions=True)
    delivered = sum(1 for r in results if r is True)
    for c in calls:
        c.cancel()
    for ch in channels:
        await ch.close()
    return {
        "streams_requested": n,
        "streams_open": subscribed,
        "open_seconds": round(open_s, 2),
        "reply_delivered_to": delivered,
        "open_errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--widget-key", required=True)
    parser.add_argument("-n", type=int, default=10_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(hold_streams(args.gateway, args.widget_key, args.n))))


if __name__ == "__main__":
    main()
