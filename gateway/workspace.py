"""AdminService's workspace methods, the operators' side of a conversation: the live inbox,
assignment and presence (forwarded to conversation, which owns them), the copilot
(gateway/copilot.py) and the tenant's saved replies (gateway/canned.py, the account store).
AdminEdge (gateway/servicer.py) inherits them; callers were admitted by gateway/access.py."""

from __future__ import annotations

import time

from nats.js import JetStreamContext

from frontdesk.caller import Kind
from frontdesk.errors import FailedPrecondition, InvalidArgument, NotFound, rpc
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.conversation.v1 import conversation_pb2, conversation_pb2_grpc
from frontdesk_pb.events.v1.events_pb2 import PresenceState
from gateway import canned, inbox
from gateway.access import current_caller
from gateway.copilot import Copilot
from gateway.forward import Forwarder
from gateway.service import Accounts


class WorkspaceMethods:
    """Needs, from the servicer: fwd (Forwarder), conv (conversation stub), js (JetStream),
    accounts (Accounts) and copilot (Copilot)."""

    fwd: Forwarder
    conv: conversation_pb2_grpc.ConversationServiceStub
    js: JetStreamContext
    accounts: Accounts
    copilot: Copilot

    @rpc
    async def StreamInbox(self, request, context):
        caller = current_caller()
        still_here = None
        if caller.kind == Kind.OPERATOR:  # an open inbox keeps the operator's presence fresh
            options = self.fwd.call_options(caller, context)

            async def still_here():
                await self.conv.SetPresence(conversation_pb2.PresenceUpdate(), **options)

        after = request.after_cursor if request.HasField("after_cursor") else None
        async for event in inbox.stream(self.js, caller.tenant_id, after, still_here):
            yield event

    @rpc
    async def SummarizeConversation(self, request, context):
        return await self.copilot.summarize(
            request.conversation_id, self.fwd.call_options(current_caller(), context), write=request.write
        )

    @rpc
    async def SuggestReplies(self, request, context):
        caller = current_caller()
        return await self.copilot.suggest(caller, request.conversation_id, self.fwd.call_options(caller, context))

    @rpc
    async def SetPresence(self, request, context):
        if request.state == PresenceState.PRESENCE_STATE_UNSPECIFIED:
            raise InvalidArgument("state is required: online, away or offline")
        update = conversation_pb2.PresenceUpdate(state=request.state, capacity=request.capacity)
        return await self.conv.SetPresence(update, **self.fwd.call_options(current_caller(), context))

    @rpc
    async def AssignConversation(self, request, context):
        caller = current_caller()
        name = ""
        if request.operator_id:  # one of the caller's tenant, or NOT_FOUND like a missing one
            name = (await self.accounts.operator(caller.tenant_id, request.operator_id)).display_name
        assign = conversation_pb2.AssignRequest(
            conversation_id=request.conversation_id, operator_id=request.operator_id, display_name=name
        )
        return await self.conv.AssignConversation(assign, **self.fwd.call_options(caller, context))

    # -- canned responses ----------------------------------------------------------------

    @rpc
    async def ListCannedResponses(self, request, context):
        caller = current_caller()
        if len(request.query) > 200:
            raise InvalidArgument("query is longer than 200 characters")
        saved = await self.accounts.store.list_canned_responses(caller.tenant_id)
        return admin_pb2.ListCannedResponsesResponse(
            responses=[canned.to_pb(r) for r in saved if canned.matches(r, request.query)]
        )

    @rpc
    async def SaveCannedResponse(self, request, context):
        caller = current_caller()
        record = canned.checked(caller.tenant_id, request.response, caller.subject, int(time.time() * 1000))
        saved = await self.accounts.store.list_canned_responses(caller.tenant_id)
        if len(saved) >= canned.MAX_PER_TENANT and all(r.shortcut != record.shortcut for r in saved):
            raise FailedPrecondition(f"a tenant may keep at most {canned.MAX_PER_TENANT} canned responses")
        await self.accounts.store.save_canned_response(record)
        return canned.to_pb(record)

    @rpc
    async def DeleteCannedResponse(self, request, context):
        caller = current_caller()
        shortcut = canned.shortcut_of(request.shortcut)
        if not await self.accounts.store.delete_canned_response(caller.tenant_id, shortcut):
            raise NotFound("canned response not found")
        return admin_pb2.DeleteCannedResponseResponse()
