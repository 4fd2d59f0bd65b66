"""JetStream depth and consumer lag reach Prometheus (frontdesk/busmetrics.py), sampled
by the conversation service from the real nats-server."""

from __future__ import annotations

import asyncio
import json

from tests.e2e.helpers import Client
from tests.e2e.test_metrics import scrape


async def test_stream_depth_and_consumer_lag_are_exported(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(mesh.demo["widget_key"])
        conv = await c.start(md)
        await c.ask(md, conv, "count the queue")
    url = json.loads((mesh.data_dir / "runtime.json").read_text())["metrics"]["conversation"]
    samples: dict[str, float] = {}
    for _ in range(40):  # the gauges are sampled every few seconds
        samples = scrape(url)
        if samples.get('frontdesk_stream_messages{stream="EVENTS"}', 0) >= 1:
            break
        await asyncio.sleep(0.5)
    # the question produced domain events, kept in EVENTS
    assert samples['frontdesk_stream_messages{stream="EVENTS"}'] >= 1
    # every stream is watched; the answered job left no lag behind
    for stream in ("JOBS", "EVENTS", "SPEECH"):
        assert f'frontdesk_consumer_lag{{stream="{stream}"}}' in samples
    assert samples['frontdesk_consumers{stream="JOBS"}'] >= 1  # the demo tenant's consumer
    assert samples['frontdesk_consumer_lag{stream="JOBS"}'] == 0
