"""The knowledge base is shared by every inference worker: imported through worker A (the
mesh's, behind gateway A), it is what worker B (a second inference process with a cache
directory of its own, behind gateway B) searches and answers from. Nothing on A's disk is
visible to B: B loads the version A published to the blob store and NATS."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys

import grpc

from frontdesk_pb.knowledge.v1 import knowledge_pb2 as kpb
from frontdesk_pb.knowledge.v1 import knowledge_pb2_grpc
from tests.conftest import ROOT, service_port, start_mesh
from tests.e2e.helpers import Client
from tests.e2e.test_grounded_answers import ask_until_settled
from tests.e2e.test_knowledge_service import follow_job
from tests.e2e.test_scale_out import wait_serving

GIFT = (
    '{"id": "gift-wrap", "question": "Do you offer gift wrapping?", "answer": "Yes: gift wrapping costs 3 EUR '
    'per parcel and includes a card.", "examples": ["can you wrap my present", "gift wrap option", '
    '"wrap the order as a gift"]}\n'
)


def _event(line: str) -> dict:
    """A log line as {"event": ..., field: value} (JSON or text format)."""
    if line.startswith("{"):
        return json.loads(line)
    words = line.split()
    event = next((w for w in words if w.startswith("knowledge.")), "")
    return {"event": event, **dict(re.findall(r"(\w+)=(\S+)", line))}


async def test_a_knowledge_base_imported_through_one_worker_is_used_by_another(tmp_path):
    mesh = start_mesh(tmp_path / "data", answer_policy="knowledge")
    extra: list[subprocess.Popen] = []
    try:
        ports = {"gateway": service_port(), "inference": service_port()}
        env = dict(mesh.env)
        env.update({f"FRONTDESK_{name.upper()}_PORT": str(port) for name, port in ports.items()})
        env["FRONTDESK_WEB_PORT"] = str(service_port())
        env["FRONTDESK_KNOWLEDGE_CACHE_DIR"] = str(tmp_path / "worker-b-cache")
        for name in ("inference", "gateway"):
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
            kb_a, kb_b = knowledge_pb2_grpc.KnowledgeServiceStub(ch_a), knowledge_pb2_grpc.KnowledgeServiceStub(ch_b)
            owner = await a.operator("demo", mesh.demo["owner_email"], mesh.demo["owner_password"])
            job = await kb_a.ImportFile(
                kpb.ImportFileRequest(filename="gifts.jsonl", data=GIFT.encode()), metadata=owner
            )
            job, _ = await follow_job(kb_a, owner, job.id)
            assert (job.state, job.done) == ("done", 1)
            # the job can be followed through either gateway (any worker reads the record)
            assert (
                await kb_b.GetIngestionJob(kpb.GetIngestionJobRequest(job_id=job.id), metadata=owner)
            ).state == "done"

            # worker B (behind gateway B) searches and decides from what was imported through A
            found = await kb_b.Search(
                kpb.SearchRequest(query="could you wrap it as a present?", limit=3), metadata=owner
            )
            assert found.hits[0].entry_id == "gift-wrap"
            listed = await kb_b.ListEntries(kpb.ListEntriesRequest(), metadata=owner)
            assert {"gift-wrap", "reset-password"} <= {e.id for e in listed.entries}

            # a deletion through B reaches A
            await kb_b.DeleteEntry(kpb.DeleteEntryRequest(id="shipping-time"), metadata=owner)
            listed = await kb_a.ListEntries(kpb.ListEntriesRequest(), metadata=owner)
            assert "shipping-time" not in {e.id for e in listed.entries} and "gift-wrap" in {
                e.id for e in listed.entries
            }

            # customers are answered from it by whichever worker takes their question
            _, visitor = await b.visitor(mesh.demo["widget_key"])
            for _ in range(2):
                conv = await b.start(visitor)
                kind, reply = await ask_until_settled(b, visitor, conv, "Can you wrap my present as a gift?")
                assert kind == "answer" and reply.citations[0].source_id == "gift-wrap"
        worker_b_log = (tmp_path / "inference-b.log").read_text()
        assert "knowledge.loaded" in worker_b_log, "worker B loaded the published snapshot"
        events = [_event(line) for line in worker_b_log.splitlines()]
        loaded = [e for e in events if e.get("event") == "knowledge.loaded"]
        # ... with the router trained by whoever wrote each version: B trained only for the
        # versions it published itself (the deletion, and the import when JetStream gave B
        # that ingestion job: any worker may take it), never for one it loaded
        assert loaded and all(e["router"] == "loaded" for e in loaded)
        trained = [e for e in events if e.get("event") == "knowledge.router_trained"]
        published = [e for e in events if e.get("event") == "knowledge.published"]
        assert [e["reason"] for e in trained] == ["write"] * len(published) and 1 <= len(published) <= 2
        assert not (tmp_path / "data" / "knowledge").samefile(tmp_path / "worker-b-cache")
    finally:
        for p in extra:
            p.terminate()
        for p in extra:
            p.wait(timeout=30)
        mesh.stop()
        await asyncio.sleep(0)
