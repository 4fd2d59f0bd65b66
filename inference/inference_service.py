"""InferenceService on every worker: what the gateway forwards that the workers own. For
now that is the AI's tool-call record of a conversation (AdminService.ListToolCalls); the
tenant comes from the signed caller context, never from the request."""

from __future__ import annotations

from frontdesk.admin.v1 import admin_pb2
from frontdesk.caller import CallerCodec
from frontdesk.clock import ts_from_ms
from frontdesk.errors import InvalidArgument, NotFound, PermissionDenied, rpc
from frontdesk.inference.v1 import inference_pb2_grpc
from frontdesk.stores.base import LogStore

MAX_PAGE = 500


class InferenceServicer(inference_pb2_grpc.InferenceServiceServicer):
    def __init__(self, store: LogStore, codec: CallerCodec):
        self.store = store
        self.codec = codec

    @rpc
    async def ListToolCalls(self, request, context):
        caller = await self.codec.require(context)
        if not caller.is_operator_side:
            raise PermissionDenied("tool calls are shown to operators and API keys")
        if not request.conversation_id:
            raise InvalidArgument("conversation_id is required")
        if request.page_size < 0:
            raise InvalidArgument("page_size must not be negative")
        # another tenant's conversation answers exactly like a missing one
        if await self.store.get_conversation(caller.tenant_id, request.conversation_id) is None:
            raise NotFound("conversation not found")
        calls = await self.store.list_tool_calls(
            caller.tenant_id, request.conversation_id, limit=min(request.page_size or 100, MAX_PAGE)
        )
        return admin_pb2.ListToolCallsResponse(
            calls=[
                admin_pb2.ToolCallRecord(
                    job_id=c.job_id,
                    call_id=c.call_id,
                    tool=c.tool,
                    arguments=c.arguments,
                    ok=c.ok,
                    error=c.error,
                    duration_ms=c.duration_ms,
                    started_at=ts_from_ms(c.started_ms),
                    result_bytes=c.result_bytes,
                    result_preview=c.result_preview,
                )
                for c in calls
            ]
        )
