"""Operators' inboxes under load: open N StreamInbox calls on one gateway (as the tenant's
operator, each on its own HTTP/2 connection group as separate browsers would be), wait until
each has caught up, then have customers send messages at a steady total rate for some
seconds. Every message is one `customer_message` inbox event, and every inbox must receive
each of them. Prints one JSON line: how many inboxes received every event, the fewest any
inbox received, and the delay from sending to arriving (p50/p99 over all inboxes).

    python -m loadtest.inbox --gateway 127.0.0.1:50051 --widget-key wk_... \\
        --tenant demo --email owner@demo.example --password ... -n 100 --rate 50 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import grpc

from frontdesk_pb.admin.v1 import admin_pb2, admin_pb2_grpc
from frontdesk_pb.auth.v1 import auth_pb2, auth_pb2_grpc
from frontdesk_pb.chat.v1 import chat_pb2, chat_pb2_grpc

STREAMS_PER_CHANNEL = 25
CUSTOMERS = 50  # conversations the messages are spread over
TAG = "inbox-load "


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


async def run(args) -> dict:
    channels = [
        grpc.aio.insecure_channel(args.gateway, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range((args.n + STREAMS_PER_CHANNEL - 1) // STREAMS_PER_CHANNEL + 1)
    ]
    auth = auth_pb2_grpc.AuthServiceStub(channels[0])
    login = await auth.OperatorLogin(
        auth_pb2.OperatorLoginRequest(tenant=args.tenant, email=args.email, password=args.password), timeout=10
    )
    operator = (("authorization", f"Bearer {login.token}"),)
    sent_at: dict[str, float] = {}
    received: list[set[str]] = [set() for _ in range(args.n)]
    delays: list[float] = []
    caught_up = [asyncio.Event() for _ in range(args.n)]

    async def read(i: int) -> None:
        stub = admin_pb2_grpc.AdminServiceStub(channels[1 + i // STREAMS_PER_CHANNEL])
        call = stub.StreamInbox(admin_pb2.StreamInboxRequest(), metadata=operator)
        async for event in call:
            kind = event.WhichOneof("kind")
            if kind == "caught_up":
                caught_up[i].set()
            elif kind == "customer_message" and event.customer_message.text.startswith(TAG):
                tag = event.customer_message.text
                received[i].add(tag)
                if tag in sent_at:
                    delays.append((time.perf_counter() - sent_at[tag]) * 1000)

    readers = [asyncio.create_task(read(i)) for i in range(args.n)]
    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in caught_up)), 120)
    open_s = time.perf_counter() - started

    # the customers: one conversation each, messages spread evenly over them
    chat = chat_pb2_grpc.ChatServiceStub(channels[0])
    customers = []
    for _ in range(CUSTOMERS):
        s = await auth.CreateVisitorSession(
            auth_pb2.CreateVisitorSessionRequest(widget_key=args.widget_key), timeout=10
        )
        md = (("authorization", f"Bearer {s.token}"),)
        conv = (await chat.StartConversation(chat_pb2.StartConversationRequest(), metadata=md, timeout=10)).conversation
        customers.append((md, conv.id))
    total = int(args.rate * args.seconds)
    errors = 0

    async def send(k: int) -> None:
        nonlocal errors
        md, conv = customers[k % len(customers)]
        tag = f"{TAG}{k}"
        sent_at[tag] = time.perf_counter()
        try:
            await chat.SendMessage(chat_pb2.SendMessageRequest(conversation_id=conv, text=tag), metadata=md, timeout=30)
        except grpc.aio.AioRpcError:
            errors += 1
            sent_at.pop(tag, None)

    sending = []
    load_started = time.perf_counter()
    for k in range(total):
        due = load_started + k / args.rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        sending.append(asyncio.create_task(send(k)))
    await asyncio.gather(*sending)
    load_s = time.perf_counter() - load_started
    expected = set(sent_at)
    deadline = time.perf_counter() + args.drain_s
    while time.perf_counter() < deadline and not all(expected <= r for r in received):
        await asyncio.sleep(0.2)
    for task in readers:
        task.cancel()
    for ch in channels:
        await ch.close()
    counts = [len(expected & r) for r in received]
    return {
        "inboxes": args.n,
        "inboxes_caught_up_s": round(open_s, 2),
        "messages_sent": len(expected),
        "send_errors": errors,
        "sent_per_s": round(len(expected) / load_s, 1),
        "inboxes_with_every_event": sum(1 for c in counts if c == len(expected)),
        "fewest_events_in_an_inbox": min(counts) if counts else 0,
        "delivery_ms_p50": percentile(delays, 0.5),
        "delivery_ms_p99": percentile(delays, 0.99),
        "delivery_ms_mean": round(statistics.fmean(delays), 2) if delays else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--widget-key", required=True)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("-n", type=int, default=100, help="open inbox streams")
    parser.add_argument("--rate", type=float, default=50.0, help="customer messages per second, in all")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--drain-s", type=float, default=30.0, help="how long to wait for the last events")
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
