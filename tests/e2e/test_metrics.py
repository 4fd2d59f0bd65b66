"""Every service serves Prometheus metrics; the supervisor says where."""

from __future__ import annotations

import json
import urllib.request

from tests.e2e.helpers import Client


def scrape(url: str) -> dict[str, float]:
    samples = {}
    for line in urllib.request.urlopen(url, timeout=5).read().decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def test_metrics_of_every_service_count_the_work_done(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(mesh.demo["widget_key"])
        conv = await c.start(md)
        await c.ask(md, conv, "count me")
    urls = json.loads((mesh.data_dir / "runtime.json").read_text())["metrics"]
    assert set(urls) == {"gateway", "conversation", "inference", "speech", "analytics"}
    assert any("metrics of gateway: http://" in line for line in mesh.output)

    gateway = scrape(urls["gateway"])
    assert gateway['frontdesk_rpc_total{code="OK",method="SendMessage",service="ChatService"}'] >= 1
    assert "frontdesk_open_event_streams" in gateway
    conversation = scrape(urls["conversation"])
    assert conversation['frontdesk_rpc_total{code="OK",method="SendMessage",service="ConversationService"}'] >= 1
    inference = scrape(urls["inference"])
    assert inference['frontdesk_jobs_total{outcome="answered"}'] >= 1
    assert inference['frontdesk_model_tokens_total{backend="echo",model="echo"}'] >= 1
    assert inference["frontdesk_first_token_seconds_count"] >= 1
