"""One customer message is one OpenTelemetry trace, across gRPC (gateway → conversation)
and NATS (conversation → JetStream → inference worker): real processes, real
nats-server, spans read back from the JSON-lines exporter."""

from __future__ import annotations

import json

import pytest

from tests.conftest import start_mesh
from tests.e2e.helpers import Client


def load_spans(directory) -> list[dict]:
    spans = []
    for path in sorted(directory.glob("*.jsonl")):
        spans += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return spans


def service_of(span: dict) -> str:
    return span["resource"]["attributes"]["service.name"]


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    root = tmp_path_factory.mktemp("traced")
    mesh = start_mesh(root / "data", traces="jsonl", traces_dir=str(root / "traces"))
    yield mesh, root / "traces"
    mesh.stop()


async def test_a_message_is_one_trace_from_gateway_to_worker(traced):
    mesh, traces = traced
    async with mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(mesh.demo["widget_key"])
        conv = await c.start(md)
        sent, _, reply = await c.ask(md, conv, "follow me through the mesh")
    assert reply.text

    spans = load_spans(traces)
    by_id = {s["context"]["span_id"]: s for s in spans}
    jobs = [s for s in spans if s["name"] == "inference.job" and s["attributes"].get("frontdesk.message_id") == sent.id]
    assert len(jobs) == 1, [s["name"] for s in spans]
    job = jobs[0]
    assert service_of(job) == "frontdesk-inference"
    assert job["attributes"]["frontdesk.conversation_id"] == conv

    # walk up from the worker's span: conversation's SendMessage, then the gateway's
    chain = []
    span = job
    while span.get("parent_id"):
        span = by_id[span["parent_id"]]
        chain.append((service_of(span), span["name"]))
    assert ("frontdesk-conversation", "/frontdesk.conversation.v1.ConversationService/SendMessage") in chain
    assert chain[-1] == ("frontdesk-gateway", "/frontdesk.chat.v1.ChatService/SendMessage")
    assert {s["context"]["trace_id"] for s in [job, span]} == {job["context"]["trace_id"]}


async def test_log_lines_carry_the_trace_id(traced):
    mesh, traces = traced
    async with mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(mesh.demo["widget_key"])
        conv = await c.start(md)
        sent, _, _ = await c.ask(md, conv, "and log it")
    job = next(
        s
        for s in load_spans(traces)
        if s["name"] == "inference.job" and s["attributes"].get("frontdesk.message_id") == sent.id
    )
    trace_id = job["context"]["trace_id"].removeprefix("0x")
    logs = (mesh.data_dir / "logs" / "inference.log").read_text()
    assert f"trace_id={trace_id}" in logs or f'"trace_id": "{trace_id}"' in logs
