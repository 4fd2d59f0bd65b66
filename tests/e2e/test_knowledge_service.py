"""Operators manage their tenant's knowledge base through the gateway; customers then get
answers from it. Each tenant sees only its own knowledge."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest

from frontdesk_pb.knowledge.v1 import knowledge_pb2 as kpb
from frontdesk_pb.knowledge.v1 import knowledge_pb2_grpc
from tests.conftest import PLATFORM_TOKEN
from tests.e2e.helpers import Client, bearer, create_tenant
from tests.e2e.test_grounded_answers import ask_until_settled, grounded_mesh  # noqa: F401 - module fixture


async def test_operators_manage_knowledge_and_customers_get_answers_from_it(grounded_mesh):  # noqa: F811
    async with grounded_mesh.channel() as ch:
        c = Client(ch)
        kb = knowledge_pb2_grpc.KnowledgeServiceStub(ch)
        owner = await c.operator("demo", grounded_mesh.demo["owner_email"], grounded_mesh.demo["owner_password"])
        entry = kpb.FaqEntry(
            id="loyalty",
            question="Do you have a loyalty programme?",
            answer="Yes: every 10 EUR spent earns one point; 100 points are a 10 EUR voucher.",
            examples=["do I get points", "rewards program", "bonus points for purchases"],
        )
        assert (await kb.UpsertFaqEntries(kpb.UpsertFaqEntriesRequest(entries=[entry]), metadata=owner)).upserted == 1
        listed = await kb.ListEntries(kpb.ListEntriesRequest(), metadata=owner)
        assert "loyalty" in [e.id for e in listed.entries] and "reset-password" in [e.id for e in listed.entries]
        found = await kb.Search(kpb.SearchRequest(query="rewards points", limit=3), metadata=owner)
        assert found.hits[0].entry_id == "loyalty"

        job = await kb.ImportFile(
            kpb.ImportFileRequest(
                filename="more.jsonl",
                content_type="application/x-ndjson",
                data=b'{"id": "ok", "question": "Q?", "answer": "A."}\nnot json\n',
            ),
            metadata=owner,
        )
        assert (job.state, job.done) == ("queued", 0)
        job, _ = await follow_job(kb, owner, job.id)
        assert (job.state, job.done, job.total, [e.line for e in job.errors]) == ("done", 1, 1, [2])
        _, visitor = await c.visitor(grounded_mesh.demo["widget_key"])
        conv = await c.start(visitor)
        kind, reply = await ask_until_settled(c, visitor, conv, "Do I collect points when I buy something?")
        assert kind == "answer" and reply.citations[0].source_id == "loyalty"

        await kb.DeleteEntry(kpb.DeleteEntryRequest(id="ok"), metadata=owner)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await kb.DeleteEntry(kpb.DeleteEntryRequest(id="ok"), metadata=owner)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND

        # customers may not touch it; another tenant sees only its own (empty) knowledge
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await kb.ListEntries(kpb.ListEntriesRequest(), metadata=visitor)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        other = await create_tenant(c, PLATFORM_TOKEN, "kb-other")
        theirs = await kb.ListEntries(kpb.ListEntriesRequest(), metadata=bearer(other.api_key))
        assert [e.id for e in theirs.entries] == []
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await kb.DeleteEntry(kpb.DeleteEntryRequest(id="loyalty"), metadata=bearer(other.api_key))
        assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def follow_job(kb, metadata, job_id: str):
    """Poll GetIngestionJob until the job ends; returns (final job, every state seen)."""
    seen = []

    async def poll():
        while True:
            job = await kb.GetIngestionJob(kpb.GetIngestionJobRequest(job_id=job_id), metadata=metadata)
            seen.append(job)
            if job.state in ("done", "failed"):
                return job
            await asyncio.sleep(0.1)

    # a bound against hanging, not a speed check: the job trains the router on 2,500 entries
    return await asyncio.wait_for(poll(), 600), seen


@pytest.mark.timeout(900)
async def test_ingestion_progress_through_the_gateway_until_done(grounded_mesh):  # noqa: F811
    lines = [
        json.dumps({"id": f"item-{i}", "question": f"Where is item {i} stored?", "answer": f"Shelf {i}."})
        for i in range(1, 2501)
    ]
    lines[9] = "{broken json"
    lines[1999] = json.dumps({"id": "no-answer", "question": "Q?"})
    async with grounded_mesh.channel() as ch:
        c = Client(ch)
        kb = knowledge_pb2_grpc.KnowledgeServiceStub(ch)
        owner = await c.operator("demo", grounded_mesh.demo["owner_email"], grounded_mesh.demo["owner_password"])
        queued = await kb.ImportFile(
            kpb.ImportFileRequest(filename="items.jsonl", data="\n".join(lines).encode()), metadata=owner
        )
        assert queued.state == "queued" and queued.id.startswith("ing_")
        job, seen = await follow_job(kb, owner, queued.id)
        assert (job.state, job.done, job.total, job.error) == ("done", 2498, 2498, "")
        assert [e.line for e in job.errors] == [10, 2000]
        states = ["queued", "running", "training", "done"]
        assert [states.index(j.state) for j in seen] == sorted(states.index(j.state) for j in seen)
        assert [j.done for j in seen] == sorted(j.done for j in seen)
        assert all(j.total in (0, 2498) and j.done <= 2498 for j in seen)
        listed = await kb.ListEntries(kpb.ListEntriesRequest(), metadata=owner)
        assert {f"item-{i}" for i in range(1, 2501) if i not in (10, 2000)} <= {e.id for e in listed.entries}

        # a document that cannot be read fails its job with the reason
        bad = await kb.ImportFile(
            kpb.ImportFileRequest(filename="scan.pdf", data=b"%PDF-1.4 nothing here %%EOF"), metadata=owner
        )
        failed, _ = await follow_job(kb, owner, bad.id)
        assert failed.state == "failed" and failed.error.startswith("scan.pdf: ")
        # an unknown format is refused at once
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await kb.ImportFile(kpb.ImportFileRequest(filename="data.xlsx", data=b"PK\x03\x04"), metadata=owner)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_an_ingestion_job_of_another_tenant_or_unknown_is_not_found(grounded_mesh):  # noqa: F811
    async with grounded_mesh.channel() as ch:
        c = Client(ch)
        kb = knowledge_pb2_grpc.KnowledgeServiceStub(ch)
        owner = await c.operator("demo", grounded_mesh.demo["owner_email"], grounded_mesh.demo["owner_password"])
        job = await kb.ImportFile(
            kpb.ImportFileRequest(filename="one.jsonl", data=b'{"id": "one", "question": "Q1?", "answer": "A1."}'),
            metadata=owner,
        )
        other = await create_tenant(c, PLATFORM_TOKEN, "kb-jobs-other")
        for who, job_id in (
            (bearer(other.api_key), job.id),
            (owner, "ing_" + "0" * 32),
            (owner, "../" + job.id),
            (owner, "nonsense"),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await kb.GetIngestionJob(kpb.GetIngestionJobRequest(job_id=job_id), metadata=who)
            assert (info.value.code(), info.value.details()) == (grpc.StatusCode.NOT_FOUND, "ingestion job not found")
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await kb.GetIngestionJob(kpb.GetIngestionJobRequest(job_id=""), metadata=owner)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (await kb.GetIngestionJob(kpb.GetIngestionJobRequest(job_id=job.id), metadata=owner)).id == job.id
