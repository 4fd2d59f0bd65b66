"""The gRPC layer of the analytics service: AnalyticsService answers figures of the caller's
own tenant (from the signed caller context) for its operators and API keys."""

from __future__ import annotations

from analytics.erasure import erase_conversations
from analytics.rebuild import backfill_from_logs
from analytics.service import AnalyticsCore, parse_range
from analytics.worker import EventCounter, backfill
from frontdesk import logs
from frontdesk.caller import Caller, CallerCodec
from frontdesk.errors import FailedPrecondition, InvalidArgument, rpc
from frontdesk_pb.analytics.v1 import analytics_pb2, analytics_pb2_grpc, erasure_pb2_grpc

log = logs.get("analytics.servicer")
MAX_ERASED_CONVERSATIONS = 50_000  # ~2 MB of ids and spans in one request


class AnalyticsServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    """Figures of the caller's own tenant, for its operators (and its API keys)."""

    def __init__(self, core: AnalyticsCore, codec: CallerCodec, js, counter: EventCounter, log_store=None):
        self.core = core
        self.codec = codec
        self.js = js
        self.counter = counter
        self.log_store = log_store  # read only: the rebuild from the logs

    async def _operator(self, context) -> Caller:
        return await self.codec.require_operator(context, "analytics are for the tenant's operators")

    @rpc
    async def GetOverview(self, request, context):
        caller = await self._operator(context)
        return await self.core.overview(caller.tenant_id, request.range)

    @rpc
    async def GetDailyStats(self, request, context):
        caller = await self._operator(context)
        return await self.core.daily(caller.tenant_id, request.range)

    @rpc
    async def GetHourlyStats(self, request, context):
        caller = await self._operator(context)
        return await self.core.hourly(caller.tenant_id, request.range)

    @rpc
    async def GetTopUnanswered(self, request, context):
        caller = await self._operator(context)
        return await self.core.top_unanswered(caller.tenant_id, request.range, request.limit)

    @rpc
    async def GetSentiment(self, request, context):
        caller = await self._operator(context)
        return await self.core.sentiment(caller.tenant_id, request.range, request.limit)

    @rpc
    async def Backfill(self, request, context):
        caller = await self.codec.require_operator(
            context, "analytics are for the tenant's operators", roles=("owner", "admin", "service")
        )
        if request.from_logs:
            if self.log_store is None:
                raise FailedPrecondition("this analytics process has no log store to rebuild from")
            start, end = parse_range(request.range, self.core.today())
            tally = await backfill_from_logs(self.log_store, self.counter, caller.tenant_id, start, end)
        else:
            tally = await backfill(self.js, self.counter, caller.tenant_id)
        log.info("analytics.backfilled", tenant=caller.tenant_id, from_logs=request.from_logs, **tally.__dict__)
        return analytics_pb2.BackfillResponse(**tally.__dict__)

    @rpc
    async def ListConversationSentiment(self, request, context):
        caller = await self._operator(context)
        return await self.core.list_conversation_sentiment(
            caller.tenant_id, request.range, request.page_size, request.page_token
        )

    @rpc
    async def GetConversationSentiment(self, request, context):
        caller = await self._operator(context)
        return await self.core.conversation_sentiment(caller.tenant_id, request.conversation_ids)


class ErasureServicer(erasure_pb2_grpc.AnalyticsErasureServiceServicer):
    """The gateway's second step of AdminService.EraseCustomerData (analytics/erasure.py)."""

    def __init__(self, store, codec: CallerCodec):
        self.store = store
        self.codec = codec

    @rpc
    async def EraseConversations(self, request, context):
        caller = await self.codec.require_operator(
            context, "a customer's data is erased by the tenant's owners and admins", roles=("owner", "admin")
        )
        if len(request.conversations) > MAX_ERASED_CONVERSATIONS:
            raise InvalidArgument(f"at most {MAX_ERASED_CONVERSATIONS} conversations per call")
        erased = await erase_conversations(self.store, caller.tenant_id, request)
        log.info("analytics.erased", tenant=caller.tenant_id, conversations=len(request.conversations))
        return erased
