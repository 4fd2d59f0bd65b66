"""Locust customers of the chaos soak (loadtest/soak.py runs them; not meant to be run alone).

Each customer keeps one conversation and sends a message every FRONTDESK_LOAD_PACING_S
seconds with a client message id of its own. A send that fails because a process was killed
(UNAVAILABLE, a deadline, a dropped connection) is retried with the same client message id,
as the widget does, until the mesh answers; what it answers is written to
FRONTDESK_SOAK_LOG as one JSON line per message: accepted (with the stored message id) or
refused (with the status). soak.py then reads the stores for what became of each.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import grpc.experimental.gevent as grpc_gevent

grpc_gevent.init_gevent()  # grpc's sync API cooperates with locust's greenlets

import gevent  # noqa: E402
import grpc  # noqa: E402
from locust import User, constant_pacing, task  # noqa: E402

from frontdesk_pb.auth.v1 import auth_pb2, auth_pb2_grpc  # noqa: E402
from frontdesk_pb.chat.v1 import chat_pb2, chat_pb2_grpc  # noqa: E402

RETRIED = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
GIVE_UP_AFTER_S = 120.0  # a mesh that answers nothing for this long has failed the soak anyway
_LOG = open(os.environ["FRONTDESK_SOAK_LOG"], "a", buffering=1)  # noqa: SIM115 - one file for the run


def _write(**record) -> None:
    _LOG.write(json.dumps(record) + "\n")


def _retrying(call):
    """call() until it answers with anything but a killed process's error."""
    deadline = time.monotonic() + GIVE_UP_AFTER_S
    while True:
        try:
            return call()
        except grpc.RpcError as err:
            if err.code() not in RETRIED or time.monotonic() > deadline:
                raise
            gevent.sleep(0.5)


class SoakCustomer(User):
    wait_time = constant_pacing(float(os.environ.get("FRONTDESK_LOAD_PACING_S", "3")))

    def on_start(self):
        self.channel = grpc.insecure_channel(self.host)
        auth = auth_pb2_grpc.AuthServiceStub(self.channel)
        self.chat = chat_pb2_grpc.ChatServiceStub(self.channel)
        key = os.environ["FRONTDESK_WIDGET_KEY"]
        session = _retrying(
            lambda: auth.CreateVisitorSession(auth_pb2.CreateVisitorSessionRequest(widget_key=key), timeout=10)
        )
        self.md = (("authorization", f"Bearer {session.token}"),)
        started = _retrying(
            lambda: self.chat.StartConversation(chat_pb2.StartConversationRequest(), metadata=self.md, timeout=10)
        )
        self.conversation = started.conversation.id
        self.sent = 0

    @task
    def send(self):
        self.sent += 1
        client_id = uuid.uuid4().hex
        request = chat_pb2.SendMessageRequest(
            conversation_id=self.conversation, text=f"soak question {self.sent}", client_message_id=client_id
        )
        began = time.perf_counter()
        try:
            response = _retrying(lambda: self.chat.SendMessage(request, metadata=self.md, timeout=10))
        except grpc.RpcError as err:
            _write(conversation=self.conversation, client_id=client_id, refused=err.code().name)
            self._fire(began, err)
            return
        _write(conversation=self.conversation, client_id=client_id, message_id=response.message.id)
        self._fire(began)

    def _fire(self, began: float, exc=None):
        self.environment.events.request.fire(
            request_type="grpc",
            name="SendMessage",
            response_time=(time.perf_counter() - began) * 1000,
            response_length=0,
            exception=exc,
            context={},
        )

    def on_stop(self):
        self.channel.close()
