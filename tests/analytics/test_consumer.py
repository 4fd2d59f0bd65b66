"""The durable consumer and the backfill against a real nats-server with JetStream."""

from __future__ import annotations

import asyncio
import time

import pytest
from nats.js.errors import NotFoundError

from analytics.aggregate import Sentiment
from analytics.store_sqlite import SqliteAnalyticsStore
from analytics.worker import DURABLE, EventCounter, backfill, consume
from frontdesk import bus
from frontdesk.settings import load
from tests.analytics.test_aggregate import A, B, question, subject

DAY = ("2026-03-10T00", "2026-03-10T23")


@pytest.fixture(scope="module")
def sentiment():
    return Sentiment()


async def publish(js, e, tenant: str = A, msg_id: str | None = None):
    await js.publish(subject(e, tenant), e.SerializeToString(), headers={"Nats-Msg-Id": msg_id or e.event_id})


async def questions(store, tenant: str) -> int:
    return sum(b.counters.get("questions", 0) for b in (await store.hours(tenant, *DAY)).values())


async def settled(js) -> None:
    """Until the consumer has acknowledged everything in the stream."""
    deadline = time.monotonic() + 30
    while True:
        try:
            info = await js.consumer_info(bus.EVENTS_STREAM, DURABLE)
        except NotFoundError:  # the consumer task has not created it yet
            info = None
        if info is not None and info.num_pending == 0 and info.num_ack_pending == 0:
            return
        assert time.monotonic() < deadline, info
        await asyncio.sleep(0.05)


async def test_the_consumer_counts_every_event_once_and_backfill_changes_nothing_counted(
    nats_server, tmp_path, sentiment
):
    settings = load(env={}, nats_url=nats_server.url, data_dir=tmp_path)
    nc = await bus.connect(settings, "test")
    js = nc.jetstream()
    await bus.ensure_streams(js, settings)
    store = SqliteAnalyticsStore(tmp_path / "analytics.db")
    stop = asyncio.Event()
    try:
        for i in range(5):
            await publish(js, question(i), A)
        for i in range(5, 7):
            await publish(js, question(i), B)
        # the same event again under another message id: past JetStream's dedupe, a real duplicate in the stream
        await publish(js, question(0), A, msg_id="sneaky-copy")
        consumer = asyncio.create_task(consume(js, EventCounter(store, sentiment), stop))
        await settled(js)
        assert await questions(store, A) == 5
        assert await questions(store, B) == 2

        stop.set()
        await consumer
        # a second process takes over the durable consumer and sees only what is new
        stop = asyncio.Event()
        await publish(js, question(7), A)
        consumer = asyncio.create_task(consume(js, EventCounter(store, sentiment), stop))
        await settled(js)
        assert await questions(store, A) == 6

        # backfill: everything is already counted
        tally = await backfill(js, EventCounter(store, sentiment), A)
        assert (tally.scanned, tally.applied, tally.duplicates) == (7, 0, 7)
        assert await questions(store, A) == 6

        # into an empty store (say, a new keyspace), backfill rebuilds the tenant, and only that tenant
        fresh = SqliteAnalyticsStore(tmp_path / "fresh.db")
        try:
            tally = await backfill(js, EventCounter(fresh, sentiment), A)
            assert (tally.scanned, tally.applied, tally.duplicates) == (7, 6, 1)
            assert await questions(fresh, A) == 6
            assert await questions(fresh, B) == 0
            again = await backfill(js, EventCounter(fresh, sentiment), A)
            assert (again.applied, again.duplicates) == (0, 7)
        finally:
            await fresh.close()
        empty = await backfill(js, EventCounter(store, sentiment), "t_01nothinghere")
        assert empty.scanned == 0
        with pytest.raises(ValueError):
            await backfill(js, EventCounter(store, sentiment), "*")
    finally:
        stop.set()
        await asyncio.gather(
            *(t for t in asyncio.all_tasks() if t.get_coro().__name__ == "consume"), return_exceptions=True
        )
        await nc.close()
        await store.close()
