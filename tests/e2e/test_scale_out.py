"""Scale-out: two gateways, two conversation services and two inference workers on one
NATS server. A client watching through gateway A sees the replies to messages it sends
through gateway B, produced by whichever worker took each job."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import grpc

from frontdesk import grpcutil
from frontdesk_pb.chat.v1 import chat_pb2
from tests.conftest import ROOT, service_port, start_mesh
from tests.e2e.helpers import Client


async def wait_serving(address: str, timeout_s: float = 60) -> None:
    for _ in range(int(timeout_s / 0.1)):
        if await grpcutil.check_health(address, timeout_s=1) == "SERVING":
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{address} never became healthy")


async def test_two_of_each_service_share_one_nats(tmp_path):
    mesh = start_mesh(tmp_path / "data", echo_token_delay_ms=20, worker_concurrency=1)
    extra: list[subprocess.Popen] = []
    try:
        ports = {"gateway": service_port(), "conversation": service_port(), "inference": service_port()}
        env = dict(mesh.env)
        env.update({f"FRONTDESK_{name.upper()}_PORT": str(port) for name, port in ports.items()})
        env["FRONTDESK_WEB_PORT"] = str(service_port())
        for name in ("conversation", "inference", "gateway"):
            log = open(tmp_path / f"{name}-b.log", "wb")
            extra.append(
                subprocess.Popen(
                    [sys.executable, "-m", "launcher", name], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
                )
            )
        for port in ports.values():
            await wait_serving(f"127.0.0.1:{port}")

        async with mesh.channel() as ch_a, grpc.aio.insecure_channel(f"127.0.0.1:{ports['gateway']}") as ch_b:
            a, b = Client(ch_a), Client(ch_b)
            _, md = await a.visitor(mesh.demo["widget_key"])  # one visitor, both gateways
            conv = await a.start(md)
            events = a.chat.StreamEvents(chat_pb2.StreamEventsRequest(conversation_id=conv), metadata=md)
            await events.read()
            sent_ids = []
            for i in range(8):
                r = await b.chat.SendMessage(
                    chat_pb2.SendMessageRequest(conversation_id=conv, text=f"via B {i}"), metadata=md, timeout=10
                )
                sent_ids.append(r.message.id)

            async def replies():
                got = {}
                while len(got) < len(sent_ids):
                    ev = await events.read()
                    if ev.WhichOneof("kind") == "message" and ev.message.in_reply_to in sent_ids:
                        got[ev.message.in_reply_to] = ev.message
                return got

            got = await asyncio.wait_for(replies(), 60)
            events.cancel()
            assert {m.text for m in got.values()} == {f"You said: via B {i}" for i in range(8)}
        worker_b_log = (tmp_path / "inference-b.log").read_text()
        worker_a_log = (mesh.data_dir / "logs" / "inference.log").read_text()
        assert "reply.stored" in worker_a_log and "reply.stored" in worker_b_log, "both workers took jobs"
    finally:
        for p in extra:
            p.terminate()
        for p in extra:
            p.wait(timeout=20)
        mesh.stop()
