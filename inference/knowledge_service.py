"""KnowledgeService: operators manage their tenant's knowledge base through the gateway.

Served by every inference worker (they share the tenant's knowledge directory in the
embedded default). The tenant comes from the signed caller context, never the request;
only owners, admins and API keys may change knowledge, agents may read and search."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp

from frontdesk.caller import Caller, CallerCodec
from frontdesk.errors import InvalidArgument, NotFound, PermissionDenied, rpc
from frontdesk.knowledge.v1 import knowledge_pb2 as kpb
from frontdesk.knowledge.v1 import knowledge_pb2_grpc
from inference.grounding import Grounding
from inference.knowledge import FaqEntry, KnowledgeError, evaluate, parse_faq_csv, parse_kb_jsonl

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ENTRIES_PER_CALL = 5_000


def _ts(seconds: float) -> Timestamp:
    ts = Timestamp()
    ts.FromMilliseconds(int(seconds * 1000))
    return ts


class KnowledgeServicer(knowledge_pb2_grpc.KnowledgeServiceServicer):
    def __init__(self, data_dir: Path, grounding: Grounding, codec: CallerCodec):
        self.data_dir = data_dir
        self.grounding = grounding
        self.codec = codec

    async def _caller(self, context, write: bool = False) -> Caller:
        caller = await self.codec.require(context)
        if not caller.is_operator_side:
            raise PermissionDenied("the knowledge base is managed by operators and API keys")
        if write and caller.role not in ("owner", "admin"):
            raise PermissionDenied("needs the owner or admin role")
        return caller

    def _kb(self, caller: Caller):
        return self.grounding.knowledge(caller.tenant_id)

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.grounding.executor, fn, *args)

    @rpc
    async def UpsertFaqEntries(self, request, context):
        caller = await self._caller(context, write=True)
        if not request.entries or len(request.entries) > MAX_ENTRIES_PER_CALL:
            raise InvalidArgument(f"send 1 to {MAX_ENTRIES_PER_CALL} entries")
        entries = []
        for i, e in enumerate(request.entries):
            if not e.id.strip() or not e.question.strip() or not e.answer.strip():
                raise InvalidArgument(f"entry {i}: id, question and answer are required")
            entries.append(FaqEntry(e.id.strip(), e.question.strip(), e.answer.strip(), tuple(e.examples), e.url))
        count = await self._run(self._kb(caller).upsert_faq, entries)
        return kpb.UpsertFaqEntriesResponse(upserted=count)

    @rpc
    async def ImportFile(self, request, context):
        """Imported at once; the job reports what was rejected, line by line."""
        caller = await self._caller(context, write=True)
        if not request.data:
            raise InvalidArgument("the file is empty")
        if len(request.data) > MAX_FILE_BYTES:
            raise InvalidArgument(f"the file is larger than {MAX_FILE_BYTES} bytes")
        kb = self._kb(caller)
        name = request.filename.strip() or "upload"
        suffix = Path(name).suffix.lower()
        job = kpb.IngestionJob(id=f"import-{int(time.time() * 1000)}", state="done")

        def work():
            if suffix in (".jsonl", ".csv"):
                text = request.data.decode("utf-8", "replace")
                report = parse_kb_jsonl(text.splitlines()) if suffix == ".jsonl" else parse_faq_csv(text)
                done = (kb.upsert_faq(report.faqs) if report.faqs else 0) + len(report.documents)
                if report.documents:
                    kb.upsert_documents(report.documents)
                return done, len(report.faqs) + len(report.documents) + len(report.errors), report.errors
            kb.upsert_file(Path(name).stem, request.data, filename=name, content_type=request.content_type)
            return 1, 1, []

        try:
            done, total, errors = await self._run(work)
        except KnowledgeError as err:
            raise InvalidArgument(f"{name}: {err}") from None
        job.done, job.total = done, total
        job.errors.extend(kpb.LineError(line=e.line, error=e.message) for e in errors)
        return job

    @rpc
    async def ListEntries(self, request, context):
        caller = await self._caller(context)
        entries = await self._run(self._kb(caller).entries)
        return kpb.ListEntriesResponse(entries=[
            kpb.Entry(id=e.id, kind=e.kind, title=e.title, chunks=e.chunks, updated_at=_ts(e.updated_at))
            for e in entries])

    @rpc
    async def DeleteEntry(self, request, context):
        caller = await self._caller(context, write=True)
        if not await self._run(self._kb(caller).delete, request.id):
            raise NotFound("knowledge entry not found")
        return kpb.DeleteEntryResponse()

    @rpc
    async def Search(self, request, context):
        caller = await self._caller(context)
        if not request.query.strip():
            raise InvalidArgument("query is empty")
        limit = min(max(request.limit, 1) if request.limit else 5, 20)
        hits = await self._run(self._kb(caller).search, request.query, limit)
        decision = await self.grounding.decide(caller.tenant_id, request.query, [])
        return kpb.SearchResponse(
            hits=[kpb.SearchHit(entry_id=h.entry_id, chunk_id=h.chunk_id, title=h.title, text=h.text, score=h.score)
                  for h in hits],
            confidence=decision.confidence)

    @rpc
    async def RunEvaluation(self, request, context):
        await self._caller(context)
        if not request.entries or not request.cases:
            raise InvalidArgument("send the knowledge entries and the cases to evaluate")
        kb_lines = [json.dumps({"id": e.id, "question": e.question, "answer": e.answer, "examples": list(e.examples)})
                    for e in request.entries]
        case_lines = [json.dumps({"question": c.question, "expect": c.expect or None}) for c in request.cases]
        report = await asyncio.to_thread(evaluate, kb_lines, case_lines)
        return kpb.EvaluationReport(
            cases=report["cases"], in_scope_accuracy=report["in_scope_accuracy"] or 0.0,
            handoff_recall=report["handoff_recall"] or 0.0, handoff_precision=report["handoff_precision"] or 0.0,
            p50_ms=report["p50_ms"] or 0.0, p99_ms=report["p99_ms"] or 0.0)

