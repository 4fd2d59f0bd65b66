"""Process entry point of the analytics service: AnalyticsService over gRPC and the
durable consumer of the domain events."""

from __future__ import annotations

import asyncio

from analytics.aggregate import Sentiment
from analytics.consumer import EventCounter, backfill, consume
from analytics.prices import PriceTable, parse_prices
from analytics.rebuild import backfill_from_logs
from analytics.service import AnalyticsCore, parse_range
from analytics.store import AnalyticsStore, open_analytics_store
from frontdesk import bus, grpcutil, logs, metrics
from frontdesk.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from frontdesk.caller import Caller, CallerCodec
from frontdesk.errors import FailedPrecondition, PermissionDenied, rpc
from frontdesk.settings import Settings

log = logs.get("analytics")
SERVICE_NAME = analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name


class AnalyticsServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    """Figures of the caller's own tenant, for its operators (and its API keys)."""

    def __init__(self, core: AnalyticsCore, codec: CallerCodec, js, counter: EventCounter, log_store=None):
        self.core = core
        self.codec = codec
        self.js = js
        self.counter = counter
        self.log_store = log_store  # read only: the rebuild from the logs

    async def _operator(self, context) -> Caller:
        caller = await self.codec.require(context)
        if not caller.is_operator_side:
            raise PermissionDenied("analytics are for the tenant's operators")
        return caller

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
        caller = await self._operator(context)
        if caller.role not in ("owner", "admin", "service"):
            raise PermissionDenied("needs the owner or admin role")
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


async def open_store(settings: Settings) -> AnalyticsStore:
    store = open_analytics_store(settings)
    await store.connect()
    return store


def load_prices(settings: Settings) -> PriceTable:
    """The price table, checked at start: a malformed one stops the service with a clear message."""
    try:
        return parse_prices(settings.model_prices)
    except ValueError as err:
        raise SystemExit(f"analytics cannot start: {err}") from None


async def serve(settings: Settings) -> None:
    prices = load_prices(settings)
    metrics.serve(settings.metrics_port, settings.host)
    store = await open_store(settings)
    from frontdesk import stores

    log_store = stores.open_log_store(settings)
    nc = await bus.connect(settings, "analytics")
    js = nc.jetstream()
    await bus.ensure_streams(js, settings)
    counter = EventCounter(store, await asyncio.to_thread(Sentiment))
    server = grpcutil.Server([SERVICE_NAME])
    analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(
        AnalyticsServicer(
            AnalyticsCore(store, prices=prices), CallerCodec(settings.secret_bytes()), js, counter, log_store
        ),
        server.grpc,
    )
    port = server.bind(settings.host, settings.analytics_port)
    stop = grpcutil.stop_event()
    await server.start()
    consumer = asyncio.create_task(consume(js, counter, stop))
    log.info("analytics.serving", address=f"{settings.host}:{port}")
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait([stopping, consumer], return_when=asyncio.FIRST_COMPLETED)
    if consumer.done() and consumer.exception() is not None:
        # without its consumer the service would answer stale figures forever: exit, and be restarted
        log.error("analytics.consumer_failed", exc_info=consumer.exception())
        stop.set()
    log.info("analytics.stopping")
    await server.stop(grace_s=3)
    await stopping
    await asyncio.gather(
        consumer, return_exceptions=True
    )  # finishes the message in hand; unacked ones are redelivered to the next process
    await nc.drain()
    await store.close()
    await log_store.close()
    if consumer.exception() is not None:
        raise SystemExit(1)


async def run_backfill(
    settings: Settings, slug: str, from_logs: bool = False, from_day: str = "", to_day: str = ""
) -> analytics_pb2.BackfillResponse:
    """`frontdesk analytics backfill --tenant SLUG [--from-logs --from DAY --to DAY]`:
    the same backfill, from the shell."""
    from frontdesk import stores
    from frontdesk.errors import InvalidArgument

    if from_logs:
        from analytics.service import _today

        try:
            start, end = parse_range(analytics_pb2.DateRange(from_day=from_day, to_day=to_day), _today())
        except InvalidArgument as err:
            raise SystemExit(str(err)) from None

    tenant = await stores.tenant_by_slug(settings, slug)
    if tenant is None:
        raise SystemExit(f"no tenant with slug {slug!r}")
    store = await open_store(settings)
    counter = EventCounter(store, await asyncio.to_thread(Sentiment))
    if from_logs:
        log_store = stores.open_log_store(settings)
        try:
            tally = await backfill_from_logs(log_store, counter, tenant.id, start, end)
        finally:
            await log_store.close()
            await store.close()
        return analytics_pb2.BackfillResponse(**tally.__dict__)
    nc = await bus.connect(settings, "analytics-backfill")
    try:
        tally = await backfill(nc.jetstream(), counter, tenant.id)
    finally:
        await nc.drain()
        await store.close()
    return analytics_pb2.BackfillResponse(**tally.__dict__)
