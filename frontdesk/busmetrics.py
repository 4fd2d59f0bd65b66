"""JetStream depth and consumer lag as Prometheus gauges.

One process per deployment role polls them (the conversation service, which feeds the
JOBS stream), so the figures exist even when every worker is down — which is exactly
when the queue grows. Totals per stream, not per consumer: consumers are per tenant,
and a label per tenant would not scale."""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client import Gauge

from frontdesk import logs

log = logs.get("busmetrics")

STREAM_MESSAGES = Gauge("frontdesk_stream_messages", "Messages stored in a JetStream stream", ["stream"])
STREAM_BYTES = Gauge("frontdesk_stream_bytes", "Bytes stored in a JetStream stream", ["stream"])
CONSUMER_LAG = Gauge(
    "frontdesk_consumer_lag",
    "Messages not yet delivered to any consumer of the stream (sum over consumers)",
    ["stream"],
)
ACK_PENDING = Gauge(
    "frontdesk_consumer_ack_pending", "Messages delivered and not yet acknowledged (sum over consumers)", ["stream"]
)
REDELIVERED = Gauge(
    "frontdesk_consumer_redelivered",
    "Messages delivered more than once and still pending (sum over consumers)",
    ["stream"],
)
CONSUMERS = Gauge("frontdesk_consumers", "Consumers bound to the stream", ["stream"])


async def sample(js, streams: tuple[str, ...]) -> None:
    for name in streams:
        info = await js.stream_info(name)
        STREAM_MESSAGES.labels(name).set(info.state.messages or 0)
        STREAM_BYTES.labels(name).set(info.state.bytes or 0)
        consumers = await js.consumers_info(name)
        CONSUMERS.labels(name).set(len(consumers))
        CONSUMER_LAG.labels(name).set(sum(c.num_pending or 0 for c in consumers))
        ACK_PENDING.labels(name).set(sum(c.num_ack_pending or 0 for c in consumers))
        REDELIVERED.labels(name).set(sum(c.num_redelivered or 0 for c in consumers))


async def watch(js, streams: tuple[str, ...], stop: asyncio.Event, every_s: float = 5.0) -> None:
    while not stop.is_set():
        try:
            await sample(js, streams)
        except Exception as err:  # noqa: BLE001 - metrics must never take the service down
            log.debug("busmetrics.sample_failed", error=str(err))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
