"""AnalyticsService at the edge: operators (and API keys) of a tenant read their own
tenant's figures; the analytics service gets the signed caller context, so the tenant
comes from the credentials, never from the request."""

from __future__ import annotations

from frontdesk.analytics.v1 import analytics_pb2_grpc
from frontdesk.errors import rpc
from gateway.access import current_caller
from gateway.servicers import Forwarder


class AnalyticsServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    def __init__(self, forwarder: Forwarder, analytics: analytics_pb2_grpc.AnalyticsServiceStub):
        self.fwd = forwarder
        self.analytics = analytics

    async def _call(self, method: str, request, context, timeout_s: float | None = None):
        caller = current_caller()  # admitted by gateway.access (Backfill: admins)
        options = self.fwd.call_options(caller, context)
        if timeout_s:
            options["timeout"] = timeout_s
        return await getattr(self.analytics, method)(request, **options)

    @rpc
    async def GetOverview(self, request, context):
        return await self._call("GetOverview", request, context)

    @rpc
    async def GetDailyStats(self, request, context):
        return await self._call("GetDailyStats", request, context)

    @rpc
    async def GetHourlyStats(self, request, context):
        return await self._call("GetHourlyStats", request, context)

    @rpc
    async def GetTopUnanswered(self, request, context):
        return await self._call("GetTopUnanswered", request, context)

    @rpc
    async def GetSentiment(self, request, context):
        return await self._call("GetSentiment", request, context)

    @rpc
    async def Backfill(self, request, context):
        # re-reads up to 7 days of the tenant's events (or a range of its logs): give it time
        return await self._call("Backfill", request, context, timeout_s=300)

    @rpc
    async def ListConversationSentiment(self, request, context):
        return await self._call("ListConversationSentiment", request, context)

    @rpc
    async def GetConversationSentiment(self, request, context):
        return await self._call("GetConversationSentiment", request, context)
