"""Locust scenario: customers open a conversation, send messages and read the streamed
reply over gRPC (the generated stubs, through gevent).

    locust -f loadtest/locustfile.py --host 127.0.0.1:50051      # against `make run`

Reported request types: `SendMessage` (the RPC), `first_token` (send -> first streamed
token of the reply) and `reply` (send -> final stored reply on the stream).
The widget key comes from FRONTDESK_WIDGET_KEY or data/demo.json; FRONTDESK_LOAD_PACING_S
paces each customer (one message every that many seconds).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import grpc.experimental.gevent as grpc_gevent

grpc_gevent.init_gevent()  # grpc's sync API cooperates with locust's greenlets

import gevent  # noqa: E402
import grpc  # noqa: E402
from gevent.event import Event  # noqa: E402
from locust import User, constant, constant_pacing, events, task  # noqa: E402

from frontdesk_pb.auth.v1 import auth_pb2, auth_pb2_grpc  # noqa: E402
from frontdesk_pb.chat.v1 import chat_pb2, chat_pb2_grpc  # noqa: E402


def widget_key() -> str:
    if os.environ.get("FRONTDESK_WIDGET_KEY"):
        return os.environ["FRONTDESK_WIDGET_KEY"]
    data = Path(os.environ.get("FRONTDESK_DATA_DIR", "data"))
    return json.loads((data / "demo.json").read_text())["widget_key"]


class _Reply:
    """What the stream reader has seen of the reply to one message."""

    def __init__(self):
        self.first_token_at = 0.0
        self.first_token = Event()
        self.done_at = 0.0
        self.done = Event()


class ChatCustomer(User):
    """One customer with one conversation, asking one question after another."""

    # FRONTDESK_LOAD_PACING_S=1: each customer asks once a second (latency at a given load);
    # unset: back to back (throughput at saturation)
    wait_time = (
        constant_pacing(float(os.environ["FRONTDESK_LOAD_PACING_S"]))
        if os.environ.get("FRONTDESK_LOAD_PACING_S")
        else constant(0)
    )
    question = "How do I reset my password?"

    def on_start(self):
        self.channel = grpc.insecure_channel(self.host)
        auth = auth_pb2_grpc.AuthServiceStub(self.channel)
        self.chat = chat_pb2_grpc.ChatServiceStub(self.channel)
        session = auth.CreateVisitorSession(auth_pb2.CreateVisitorSessionRequest(widget_key=widget_key()), timeout=10)
        self.md = (("authorization", f"Bearer {session.token}"),)
        conv = self.chat.StartConversation(chat_pb2.StartConversationRequest(), metadata=self.md, timeout=10)
        self.conversation_id = conv.conversation.id
        self.replies: dict[str, _Reply] = {}
        self.stream = self.chat.StreamEvents(
            chat_pb2.StreamEventsRequest(conversation_id=self.conversation_id), metadata=self.md
        )
        next(self.stream)  # the status snapshot: subscribed
        self.reader = gevent.spawn(self._read)

    def _reply(self, message_id: str) -> _Reply:
        return self.replies.setdefault(message_id, _Reply())

    def _read(self):
        try:
            for ev in self.stream:
                kind = ev.WhichOneof("kind")
                if kind == "token" and ev.token.index == 0:
                    r = self._reply(ev.token.in_reply_to)
                    r.first_token_at = time.perf_counter()
                    r.first_token.set()
                elif kind == "message" and ev.message.in_reply_to:
                    r = self._reply(ev.message.in_reply_to)
                    r.done_at = time.perf_counter()
                    r.done.set()
        except grpc.RpcError:
            pass  # cancelled at stop

    def _fire(self, name: str, started: float, ended: float, exc=None):
        events.request.fire(
            request_type="grpc",
            name=name,
            response_time=(ended - started) * 1000,
            response_length=0,
            exception=exc,
            context={},
        )

    @task
    def ask(self):
        started = time.perf_counter()
        try:
            sent = self.chat.SendMessage(
                chat_pb2.SendMessageRequest(conversation_id=self.conversation_id, text=self.question),
                metadata=self.md,
                timeout=10,
            )
        except grpc.RpcError as err:
            self._fire("SendMessage", started, time.perf_counter(), err)
            return
        self._fire("SendMessage", started, time.perf_counter())
        reply = self._reply(sent.message.id)
        if not reply.done.wait(timeout=30):
            self._fire("reply", started, time.perf_counter(), TimeoutError("no reply within 30 s"))
            return
        if reply.first_token_at:
            self._fire("first_token", started, reply.first_token_at)
        self._fire("reply", started, reply.done_at)
        self.replies.pop(sent.message.id, None)

    def on_stop(self):
        self.stream.cancel()
        self.reader.join(timeout=5)
        self.channel.close()
