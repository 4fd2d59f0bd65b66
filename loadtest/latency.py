"""Latency the mesh adds, measured with an asyncio gRPC client (locust's gevent-based
gRPC client adds tens of milliseconds of its own, so it measures throughput, not this):
N concurrent conversations, each sending a message every `pacing` seconds; for every
message, send -> first streamed token and send -> final reply.

    python -m loadtest.latency --gateway 127.0.0.1:50051 --widget-key wk_... -n 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import grpc

from frontdesk_pb.auth.v1 import auth_pb2, auth_pb2_grpc
from frontdesk_pb.chat.v1 import chat_pb2, chat_pb2_grpc


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2) if ordered else float("nan")


async def conversation(channel, widget_key: str, seconds: float, pacing: float, first: list, final: list, errors: list):
    auth = auth_pb2_grpc.AuthServiceStub(channel)
    chat = chat_pb2_grpc.ChatServiceStub(channel)
    session = await auth.CreateVisitorSession(auth_pb2.CreateVisitorSessionRequest(widget_key=widget_key), timeout=10)
    md = (("authorization", f"Bearer {session.token}"),)
    conv = (await chat.StartConversation(chat_pb2.StartConversationRequest(), metadata=md, timeout=10)).conversation.id
    events = chat.StreamEvents(chat_pb2.StreamEventsRequest(conversation_id=conv), metadata=md)
    await events.read()
    await asyncio.sleep(pacing * (hash(conv) % 1000) / 1000)  # spread the conversations over the pacing interval
    end = time.perf_counter() + seconds
    try:
        while time.perf_counter() < end:
            started = time.perf_counter()
            try:
                sent = await chat.SendMessage(
                    chat_pb2.SendMessageRequest(conversation_id=conv, text="How do I reset my password?"),
                    metadata=md,
                    timeout=10,
                )
                first_at = None
                while (ev := await asyncio.wait_for(events.read(), 30)) is not grpc.aio.EOF:
                    kind = ev.WhichOneof("kind")
                    if kind == "token" and first_at is None and ev.token.in_reply_to == sent.message.id:
                        first_at = time.perf_counter()
                    if kind == "message" and ev.message.in_reply_to == sent.message.id:
                        break
                done = time.perf_counter()
                first.append((first_at or done) - started)
                final.append(done - started)
            except (TimeoutError, grpc.aio.AioRpcError) as err:
                errors.append(type(err).__name__)
            await asyncio.sleep(max(0.0, pacing - (time.perf_counter() - started)))
    finally:
        events.cancel()


async def measure(gateway: str, widget_key: str, n: int, seconds: float, pacing: float) -> dict:
    channels = [grpc.aio.insecure_channel(gateway) for _ in range(4)]
    first: list[float] = []
    final: list[float] = []
    errors: list[str] = []
    await asyncio.gather(
        *(conversation(channels[i % 4], widget_key, seconds, pacing, first, final, errors) for i in range(n))
    )
    for ch in channels:
        await ch.close()
    return {
        "conversations": n,
        "pacing_s": pacing,
        "messages": len(final),
        "errors": len(errors),
        "first_token_ms_p50": percentile(first, 0.5),
        "first_token_ms_p99": percentile(first, 0.99),
        "reply_ms_p50": percentile(final, 0.5),
        "reply_ms_p99": percentile(final, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--widget-key", required=True)
    parser.add_argument("-n", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--pacing", type=float, default=1.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.gateway, args.widget_key, args.n, args.seconds, args.pacing))))


if __name__ == "__main__":
    main()
