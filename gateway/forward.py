"""How the gateway passes a call on to the internal service that owns it: with the caller's
signed context (the tenant comes from the credentials, never from the request), a request id
and a deadline. Most public RPCs are nothing more than that, so they are declared in one
table per service (`forwards`) instead of one hand-written method each."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from frontdesk.caller import REQUEST_ID_KEY, Caller, CallerCodec
from frontdesk.errors import rpc
from frontdesk.settings import Settings
from frontdesk_pb.conversation.v1 import conversation_pb2, conversation_pb2_grpc
from gateway import live
from gateway.abuse import client_address
from gateway.access import current_caller
from gateway.auth import Authenticator


def request_id(context) -> str:
    """The caller's x-request-id when it sent a usable one, else a new one."""
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_KEY and 0 < len(value) <= 64:
            return value
    return uuid.uuid4().hex[:16]


class Forwarder:
    """What every edge servicer shares: call options for the caller, the client's address,
    and the live event stream (served here from NATS after conversation's OpenStream)."""

    def __init__(
        self,
        settings: Settings,
        auth: Authenticator,
        codec: CallerCodec,
        conversation: conversation_pb2_grpc.ConversationServiceStub,
        hub: live.LiveHub,
    ):
        self.settings = settings
        self.auth = auth
        self.codec = codec
        self.conv = conversation
        self.hub = hub
        self._trusted_proxies = frozenset(p.strip() for p in settings.trusted_proxies.split(",") if p.strip())

    def client_address(self, context) -> str:
        return client_address(context, self._trusted_proxies)

    def call_options(self, caller: Caller, context, timeout_s: float | None = None) -> dict:
        return {
            "metadata": self.codec.metadata(caller, request_id(context)),
            "timeout": timeout_s or self.settings.rpc_timeout_s,
        }

    async def unary(self, method: str, request, context):
        """Conversation's `method` for the current caller."""
        return await getattr(self.conv, method)(request, **self.call_options(current_caller(), context))

    async def events(self, request, context):
        caller = current_caller()
        options = self.call_options(caller, context)
        open_request = conversation_pb2.OpenStreamRequest(
            conversation_id=request.conversation_id, after_message_id=request.after_message_id
        )
        async for event in live.stream(
            self.hub,
            caller,
            request.conversation_id,
            request.after_message_id,
            lambda: self.conv.OpenStream(open_request, **options),
        ):
            yield event


@dataclass(frozen=True)
class To:
    """Where a forwarded RPC goes: the method of the owning service's stub (the same name
    when empty) and a deadline longer than the default where the work takes longer."""

    method: str = ""
    timeout_s: float | None = None


def forwards(stub: str, table: dict[str, To]) -> Callable[[type], type]:
    """Class decorator: each public RPC in `table` calls `self.<stub>.<To.method>` with the
    caller's context. Client-streaming RPCs pass their request iterator on unchanged; the
    access rules (gateway/access.py) have admitted the caller before any of this runs."""

    def make(name: str, to: To) -> Any:
        target = to.method or name

        @rpc
        async def method(self, request, context):
            options = self.fwd.call_options(current_caller(), context, to.timeout_s)
            return await getattr(getattr(self, stub), target)(request, **options)

        method.__name__ = method.__qualname__ = name
        return method

    def decorate(cls: type) -> type:
        for name, to in table.items():
            setattr(cls, name, make(name, to))
        return cls

    return decorate
