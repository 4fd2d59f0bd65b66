"""Process entry point of the analytics service: AnalyticsService over gRPC and the
durable consumer of the domain events."""

from __future__ import annotations

import asyncio

from analytics.aggregate import Sentiment
from analytics.prices import PriceTable, parse_prices
from analytics.service import AnalyticsCore
from analytics.servicer import AnalyticsServicer, ErasureServicer
from analytics.store import AnalyticsStore, open_analytics_store
from analytics.worker import EventCounter, consume
from frontdesk import bus, grpcutil, logs, metrics
from frontdesk.caller import CallerCodec
from frontdesk.settings import Settings, StartupError
from frontdesk_pb.analytics.v1 import analytics_pb2, analytics_pb2_grpc, erasure_pb2, erasure_pb2_grpc

log = logs.get("analytics")
SERVICE_NAME = analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name
ERASURE_NAME = erasure_pb2.DESCRIPTOR.services_by_name["AnalyticsErasureService"].full_name


async def open_store(settings: Settings) -> AnalyticsStore:
    store = open_analytics_store(settings)
    await store.connect()
    return store


def load_prices(settings: Settings) -> PriceTable:
    """The price table, checked at start: a malformed one stops the service with a clear message."""
    try:
        return parse_prices(settings.model_prices)
    except ValueError as err:
        raise StartupError(f"analytics cannot start: {err}") from None


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
    server = grpcutil.Server([SERVICE_NAME, ERASURE_NAME])
    analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(
        AnalyticsServicer(
            AnalyticsCore(store, prices=prices), CallerCodec(settings.secret_bytes()), js, counter, log_store
        ),
        server.grpc,
    )
    erasure_pb2_grpc.add_AnalyticsErasureServiceServicer_to_server(
        ErasureServicer(store, CallerCodec(settings.secret_bytes())), server.grpc
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
    await server.stop()
    await stopping
    await asyncio.gather(
        consumer, return_exceptions=True
    )  # finishes the message in hand; unacked ones are redelivered to the next process
    await nc.drain()
    await store.close()
    await log_store.close()
    if consumer.exception() is not None:
        raise StartupError("the event consumer stopped; the service exits to be restarted")
