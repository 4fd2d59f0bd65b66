"""Operators manage their tenant's knowledge base through the gateway; customers then get
answers from it. Each tenant sees only its own knowledge."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from frontdesk.knowledge.v1 import knowledge_pb2 as kpb
from frontdesk.knowledge.v1 import knowledge_pb2_grpc
from tests.conftest import PLATFORM_TOKEN
from tests.e2e.helpers import Client, bearer, create_tenant
from tests.e2e.test_grounded_answers import ask_until_settled, grounded_mesh  # noqa: F401 - module fixture


async def test_operators_manage_knowledge_and_customers_get_answers_from_it(grounded_mesh):  # noqa: F811
    async with grounded_mesh.channel() as ch:
        c = Client(ch)
        kb = knowledge_pb2_grpc.KnowledgeServiceStub(ch)
        owner = await c.operator("demo", grounded_mesh.demo["owner_email"], grounded_mesh.demo["owner_password"])
        entry = kpb.FaqEntry(id="loyalty", question="Do you have a loyalty programme?",
                             answer="Yes: every 10 EUR spent earns one point; 100 points are a 10 EUR voucher.",
                             examples=["do I get points", "rewards program", "bonus points for purchases"])
        assert (await kb.UpsertFaqEntries(kpb.UpsertFaqEntriesRequest(entries=[entry]), metadata=owner)).upserted == 1
        listed = await kb.ListEntries(kpb.ListEntriesRequest(), metadata=owner)
        assert "loyalty" in [e.id for e in listed.entries] and "reset-password" in [e.id for e in listed.entries]
        found = await kb.Search(kpb.SearchRequest(query="rewards points", limit=3), metadata=owner)
        assert found.hits[0].entry_id == "loyalty"

        job = await kb.ImportFile(kpb.ImportFileRequest(
            filename="more.jsonl", content_type="application/x-ndjson",
            data=b'{"id": "ok", "question": "Q?", "answer": "A."}\nnot json\n'), metadata=owner)
        assert (job.state, job.done, [e.line for e in job.errors]) == ("done", 1, [2])

        await asyncio.sleep(1.5)  # workers look for knowledge changes once a second
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


async def test_an_operation_not_built_yet_says_so(grounded_mesh):  # noqa: F811
    async with grounded_mesh.channel() as ch:
        c = Client(ch)
        kb = knowledge_pb2_grpc.KnowledgeServiceStub(ch)
        owner = await c.operator("demo", grounded_mesh.demo["owner_email"], grounded_mesh.demo["owner_password"])
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await kb.GetIngestionJob(kpb.GetIngestionJobRequest(job_id="x"), metadata=owner)
        assert (info.value.code(), info.value.details()) == (grpc.StatusCode.UNIMPLEMENTED, "this operation is not available yet")
