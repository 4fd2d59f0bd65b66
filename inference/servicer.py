"""The gRPC layer of the inference service: every inference worker serves both.

KnowledgeService (operators manage their tenant's knowledge base through the gateway): the
knowledge base lives in the shared stores (inference/kbshare.py), every change is published
as a new version that every worker loads, and ImportFile queues an ingestion job
(inference/ingestion.py) that any worker runs while GetIngestionJob reports its progress.
Only owners, admins and API keys may change knowledge; agents may read and search.

InferenceService: what the gateway forwards that the workers own; for now the AI's
tool-call record of a conversation (AdminService.ListToolCalls).

The tenant comes from the signed caller context, never from the request; callers are
checked through frontdesk.caller.require_operator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nats.errors

from frontdesk.caller import Caller, CallerCodec
from frontdesk.clock import ts_from_ms, ts_from_s
from frontdesk.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable, rpc
from frontdesk.stores.base import LogStore
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.inference.v1 import inference_pb2_grpc
from frontdesk_pb.knowledge.v1 import knowledge_pb2 as kpb
from frontdesk_pb.knowledge.v1 import knowledge_pb2_grpc
from inference.grounding import Grounding
from inference.ingestion import MAX_FILE_BYTES, IngestionJobs, JobRecord, check_upload
from inference.kbshare import KnowledgeShare
from inference.knowledge import FaqEntry, KnowledgeError, evaluate
from inference.knowledge.documents import check_url
from inference.knowledge.router import DOCUMENTS_CLASS
from inference.summary import BriefWriter

MAX_ENTRIES_PER_CALL = 5_000


MAX_EVALUATION_CASES = 5000
# a question, not a document: searching 10 MB took 43 s of a worker shared by every tenant
MAX_QUERY_CHARS = 2000
MAX_FILENAME_CHARS = 255  # what file systems allow; error messages name the file


def job_message(record: JobRecord) -> kpb.IngestionJob:
    return kpb.IngestionJob(
        id=record.id,
        state=record.state,
        total=record.total,
        done=record.done,
        errors=[kpb.LineError(line=line, error=error) for line, error in record.errors],
        error=record.error,
    )


class KnowledgeServicer(knowledge_pb2_grpc.KnowledgeServiceServicer):
    def __init__(self, share: KnowledgeShare, grounding: Grounding, codec: CallerCodec, jobs: IngestionJobs, js):
        self.share = share
        self.grounding = grounding
        self.codec = codec
        self.jobs = jobs
        self.js = js
        self._writes: set[asyncio.Future] = set()

    async def _caller(self, context, write: bool = False) -> Caller:
        return await self.codec.require_operator(
            context,
            "the knowledge base is managed by operators and API keys",
            roles=("owner", "admin") if write else (),
        )

    async def _kb(self, caller: Caller):
        """The caller's knowledge base at the published version (checked on every admin
        call, so an operator always reads what was just written through another worker)."""
        return await self.share.sync(caller.tenant_id, force=True)

    async def _write(self, caller: Caller, change):
        """Apply and publish a change; it includes training the answer policy's router on
        the new content, which on a large knowledge base can outlast the caller's deadline:
        the write then still completes (and is published) after the call was cancelled."""
        task = asyncio.ensure_future(self.share.write(caller.tenant_id, change))
        self._writes.add(task)
        task.add_done_callback(self._written)
        result, _ = await asyncio.shield(task)
        return result

    def _written(self, task: asyncio.Future) -> None:
        self._writes.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved here when the caller had gone; raised to it otherwise

    async def _run(self, tenant_id: str, fn, *args):
        """On the knowledge thread, in the tenant's turn (inference/turns.py)."""
        return await self.grounding.turns.run(tenant_id, fn, *args)

    @rpc
    async def UpsertFaqEntries(self, request, context):
        caller = await self._caller(context, write=True)
        if not request.entries or len(request.entries) > MAX_ENTRIES_PER_CALL:
            raise InvalidArgument(f"send 1 to {MAX_ENTRIES_PER_CALL} entries")
        entries = []
        for i, e in enumerate(request.entries):
            if not e.id.strip() or not e.question.strip() or not e.answer.strip():
                raise InvalidArgument(f"entry {i}: id, question and answer are required")
            try:
                url = check_url(e.url.strip())
            except KnowledgeError as err:
                raise InvalidArgument(f"entry {i}: {err.message}") from None
            entries.append(FaqEntry(e.id.strip(), e.question.strip(), e.answer.strip(), tuple(e.examples), url))
        count = await self._write(caller, lambda kb: kb.upsert_faq(entries))
        return kpb.UpsertFaqEntriesResponse(upserted=count)

    @rpc
    async def ImportFile(self, request, context):
        """Stores the upload, queues its ingestion job and answers at once (state queued);
        GetIngestionJob follows it."""
        caller = await self._caller(context, write=True)
        if not request.data:
            raise InvalidArgument("the file is empty")
        if len(request.data) > MAX_FILE_BYTES:
            raise InvalidArgument(f"the file is larger than {MAX_FILE_BYTES} bytes")
        if len(request.filename) > MAX_FILENAME_CHARS:
            raise InvalidArgument(f"the file name is longer than {MAX_FILENAME_CHARS} characters")
        name = Path(request.filename.strip() or "upload").name
        try:
            check_upload(name, request.content_type, request.data)
        except KnowledgeError as err:
            raise InvalidArgument(f"{name}: {err}") from None
        try:
            record = await self.jobs.submit(self.js, caller.tenant_id, name, request.content_type, request.data)
        except (TimeoutError, ConnectionError, nats.errors.Error) as err:
            raise Unavailable(f"the ingestion queue cannot be reached: {err}") from None
        return job_message(record)

    @rpc
    async def GetIngestionJob(self, request, context):
        caller = await self._caller(context)
        if not request.job_id:
            raise InvalidArgument("job_id is required")
        record = await self.jobs.get(caller.tenant_id, request.job_id)
        if record is None:
            raise NotFound("ingestion job not found")
        return job_message(record)

    @rpc
    async def ListEntries(self, request, context):
        caller = await self._caller(context)
        entries = await self._run(caller.tenant_id, (await self._kb(caller)).entries)
        return kpb.ListEntriesResponse(
            entries=[
                kpb.Entry(id=e.id, kind=e.kind, title=e.title, chunks=e.chunks, updated_at=ts_from_s(e.updated_at))
                for e in entries
            ]
        )

    @rpc
    async def DeleteEntry(self, request, context):
        caller = await self._caller(context, write=True)
        if not request.id or not await self._write(caller, lambda kb: kb.delete(request.id)):
            raise NotFound("knowledge entry not found")
        return kpb.DeleteEntryResponse()

    @rpc
    async def Search(self, request, context):
        caller = await self._caller(context)
        if not request.query.strip():
            raise InvalidArgument("query is empty")
        if len(request.query) > MAX_QUERY_CHARS:
            raise InvalidArgument(f"query is longer than {MAX_QUERY_CHARS} characters")
        if request.limit < 0:
            raise InvalidArgument("limit must not be negative")
        limit = min(request.limit or 5, 20)
        kb = await self._kb(caller)
        hits = await self._run(caller.tenant_id, kb.search, request.query, limit)
        decision = await self.grounding.decide(caller.tenant_id, request.query, [])
        ranked = []
        for entry_id, score in decision.scores.get("ranking", [])[:limit]:
            entry = kb.get(entry_id) if entry_id != DOCUMENTS_CLASS else None
            if isinstance(entry, FaqEntry):
                ranked.append(
                    kpb.SearchHit(
                        entry_id=entry.id,
                        chunk_id=f"{entry.id}#0",
                        title=entry.question,
                        text=entry.answer,
                        score=float(score),
                        url=entry.url,
                    )
                )
        return kpb.SearchResponse(
            ranked=ranked,
            hits=[
                kpb.SearchHit(
                    entry_id=h.entry_id, chunk_id=h.chunk_id, title=h.title, text=h.text, score=h.score, url=h.url
                )
                for h in hits
            ],
            confidence=decision.confidence,
        )

    @rpc
    async def RunEvaluation(self, request, context):
        caller = await self._caller(context)
        if not request.cases:
            raise InvalidArgument("send the cases to evaluate")
        if len(request.cases) > MAX_EVALUATION_CASES:
            raise InvalidArgument(f"at most {MAX_EVALUATION_CASES} cases per evaluation")
        if request.entries:
            kb_lines = [
                json.dumps({"id": e.id, "question": e.question, "answer": e.answer, "examples": list(e.examples)})
                for e in request.entries
            ]
        else:  # the tenant's own FAQ, as published now: a tenant gates a change on it
            kb = await self._kb(caller)
            kb_lines = [
                json.dumps(
                    {"id": e.id, "question": e.question, "answer": e.answer, "examples": list(e.examples), "url": e.url}
                )
                for e in (kb.get(info.id) for info in kb.entries() if info.kind == "faq")
                if isinstance(e, FaqEntry)
            ]
            if not kb_lines:
                raise FailedPrecondition("the knowledge base has no FAQ entries to evaluate")
        case_lines = [
            json.dumps(
                {
                    "turns": [*c.history, c.question],
                    "expect": c.expect or "handoff",
                    **({"category": c.category} if c.category else {}),
                }
            )
            for c in request.cases
        ]
        report = await asyncio.to_thread(evaluate, kb_lines, case_lines)
        if report["case_errors"]:
            first = report["case_errors"][0]
            raise InvalidArgument(f"case {first['line']}: {first['error']}")
        return kpb.EvaluationReport(
            cases=report["cases"],
            in_scope_accuracy=report["in_scope_accuracy"] or 0.0,
            handoff_recall=report["handoff_recall"] or 0.0,
            handoff_precision=report["handoff_precision"] or 0.0,
            p50_ms=report["p50_ms"] or 0.0,
            p99_ms=report["p99_ms"] or 0.0,
            answered_right=report["answered_right"] or 0.0,
            answered_wrong=report["answered_wrong"] or 0.0,
            handed_off=report["handed_off"] or 0.0,
            categories=[
                kpb.EvaluationCategory(category=name, **figures) for name, figures in report["by_category"].items()
            ],
        )


MAX_TOOL_CALLS_PAGE = 500


MAX_TRANSCRIPT = 500


class InferenceServicer(inference_pb2_grpc.InferenceServiceServicer):
    def __init__(self, store: LogStore, codec: CallerCodec):
        self.store = store
        self.codec = codec
        self.brief_writer: BriefWriter | None = None  # set once the model is loaded

    @rpc
    async def Summarize(self, request, context):
        caller = await self.codec.require_operator(context, "the copilot is for operators and API keys")
        if len(request.transcript) > MAX_TRANSCRIPT:
            raise InvalidArgument(f"at most {MAX_TRANSCRIPT} messages in a transcript")
        if self.brief_writer is None:
            raise Unavailable("the model is still loading; try again in a moment")
        return await self.brief_writer(caller.tenant_id, list(request.transcript))

    @rpc
    async def ListToolCalls(self, request, context):
        caller = await self.codec.require_operator(context, "tool calls are shown to operators and API keys")
        if not request.conversation_id:
            raise InvalidArgument("conversation_id is required")
        if request.page_size < 0:
            raise InvalidArgument("page_size must not be negative")
        # another tenant's conversation answers exactly like a missing one
        if await self.store.get_conversation(caller.tenant_id, request.conversation_id) is None:
            raise NotFound("conversation not found")
        calls = await self.store.list_tool_calls(
            caller.tenant_id, request.conversation_id, limit=min(request.page_size or 100, MAX_TOOL_CALLS_PAGE)
        )
        return admin_pb2.ListToolCallsResponse(
            calls=[
                admin_pb2.ToolCallRecord(
                    job_id=c.job_id,
                    call_id=c.call_id,
                    tool=c.tool,
                    arguments=c.arguments,
                    ok=c.ok,
                    error=c.error,
                    duration_ms=c.duration_ms,
                    started_at=ts_from_ms(c.started_ms),
                    result_bytes=c.result_bytes,
                    result_preview=c.result_preview,
                )
                for c in calls
            ]
        )
