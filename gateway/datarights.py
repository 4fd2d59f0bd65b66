"""A customer's data rights at the gateway: AdminService.ExportCustomerData (GDPR article 15)
and AdminService.EraseCustomerData (article 17).

The conversation service yields the customer's files (conversation/export.py); the gateway
adds what analytics holds about the same conversations (their sentiment) and a manifest, and
streams it all as one zip archive, a member at a time: the archive is never whole in memory,
only the member being written.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile

import grpc

from frontdesk import logs
from frontdesk.clock import now_ms, now_ts
from frontdesk.errors import Unavailable, rpc
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.analytics.v1 import analytics_pb2, analytics_pb2_grpc, erasure_pb2, erasure_pb2_grpc
from frontdesk_pb.conversation.v1 import conversation_pb2, conversation_pb2_grpc
from gateway.access import current_caller
from gateway.forward import Forwarder

log = logs.get("gateway.datarights")

CHUNK_BYTES = 256 * 1024
TEXTS_PER_CALL = 2000  # of at most 1,000 characters each (conversation/erase.py): ~2 MB a call
MAX_SENTIMENT_IDS = 100  # AnalyticsService.GetConversationSentiment's limit per call


class _Sink(io.RawIOBase):
    """What zipfile writes, kept until taken (zipfile copes with a stream it cannot seek)."""

    def __init__(self):
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.buffer += data
        return len(data)

    def take(self):
        while self.buffer:
            chunk, self.buffer = bytes(self.buffer[:CHUNK_BYTES]), self.buffer[CHUNK_BYTES:]
            yield chunk


class DataRightsMethods:
    """AdminService's data-rights RPCs, mixed into gateway/servicer.py's AdminEdge. Needs, from
    the servicer: fwd (Forwarder), conv (conversation stub), analytics and erasure (analytics'
    stubs, or None)."""

    fwd: Forwarder
    conv: conversation_pb2_grpc.ConversationServiceStub
    analytics: analytics_pb2_grpc.AnalyticsServiceStub | None
    erasure: erasure_pb2_grpc.AnalyticsErasureServiceStub | None

    @rpc
    async def ExportCustomerData(self, request, context):
        caller = current_caller()
        options = self.fwd.call_options(caller, context, timeout_s=600)
        sink = _Sink()
        archive = zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED)
        name = f"customer-{request.visitor_id}.zip"
        first = True
        pending: dict[str, list[bytes]] = {}
        conversation_ids: list[str] = []
        files = 0

        def chunks():
            nonlocal first
            for data in sink.take():
                yield admin_pb2.ExportChunk(data=data, filename=name if first else "")
                first = False

        async for part in self.conv.ExportVisitor(request, **options):
            pending.setdefault(part.path, []).append(part.data)
            if not part.last:
                continue
            data = b"".join(pending.pop(part.path))
            archive.writestr(part.path, data)
            files += 1
            if part.path == "conversations.json":
                conversation_ids = [c["id"] for c in json.loads(data)]
            for chunk in chunks():
                yield chunk
        sentiment = await self._sentiment(conversation_ids, options)
        archive.writestr("analytics/sentiment.json", json.dumps(sentiment, indent=1))
        manifest = {
            "tenant_id": caller.tenant_id,
            "visitor_id": request.visitor_id,
            "exported_at_ms": now_ms(),
            "exported_by": caller.subject,
            "conversations": len(conversation_ids),
            "files": files + 1,
            "left_out": "the team's private notes and its own fields on conversations (labels, snooze, "
            "response times): they are the team's, not the customer's",
        }
        archive.writestr("export.json", json.dumps(manifest, indent=1))
        archive.close()
        for chunk in chunks():
            yield chunk
        log.info("customer.exported", tenant=caller.tenant_id, conversations=len(conversation_ids), files=files)

    @rpc
    async def EraseCustomerData(self, request, context):
        """Analytics is scrubbed before the conversations go (so an analytics that cannot be
        reached stops the erasure while a second call can still find everything), and again
        after (what it counted in between, and a conversation begun meanwhile)."""
        caller = current_caller()
        options = self.fwd.call_options(caller, context, timeout_s=600)
        ask = conversation_pb2.EraseVisitorRequest(visitor_id=request.visitor_id)
        ask.only_describe = True
        found = await self.conv.EraseVisitor(ask, **options)
        first = await self._erase_in_analytics(found, options, events_gone=False)
        ask.only_describe = False
        erased = await self.conv.EraseVisitor(ask, **options)
        second = 0
        for attempt in range(3):  # the conversations are gone now: a second call could not find them
            try:
                second = await self._erase_in_analytics(erased, options, events_gone=True)
                break
            except Unavailable:
                if attempt == 2:
                    # what the first pass left is what analytics counted in these few seconds
                    log.error("customer.erased_analytics_once", tenant=caller.tenant_id)
                else:
                    await asyncio.sleep(2.0 * (attempt + 1))
        log.info("customer.erased", tenant=caller.tenant_id, conversations=len(erased.conversations))
        return admin_pb2.EraseCustomerDataResponse(
            conversations=len(erased.conversations),
            messages=erased.messages,
            files=erased.files,
            queued_items=erased.queued_items,
            analytics_items=first + second,
            erased_at=now_ts(),
        )

    async def _erase_in_analytics(
        self, found: conversation_pb2.ErasedVisitor, options: dict, *, events_gone: bool
    ) -> int:
        """Analytics' scrub of these conversations, the customer's texts sent a share at a time
        (a message of every text a long-time customer wrote could pass gRPC's size limit)."""
        if self.erasure is None:
            return 0
        done = 0
        texts = list(found.customer_texts)
        for start in range(0, max(len(texts), 1), TEXTS_PER_CALL):
            request = erasure_pb2.EraseConversationsRequest(
                customer_texts=texts[start : start + TEXTS_PER_CALL], events_gone=events_gone
            )
            for c in found.conversations:
                request.conversations.add(conversation_id=c.id, created_ms=c.created_ms, updated_ms=c.updated_ms)
            try:
                got = await self.erasure.EraseConversations(request, **options)
            except grpc.aio.AioRpcError as err:
                if err.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise  # analytics' own answer (a request it refuses) passes through as it is
                log.warning("customer.erase_analytics_failed", code=err.code().name)
                raise Unavailable(
                    f"analytics could not be reached ({err.code().name}); nothing more was erased: try again"
                ) from None
            done += got.sentiment_scores + got.unanswered_questions + got.negative_messages
        return done

    async def _sentiment(self, conversation_ids: list[str], options: dict) -> dict:
        """Analytics' scores of the customer's conversations, or why there are none."""
        if self.analytics is None or not conversation_ids:
            return {"conversations": []}
        out: list[dict] = []
        try:
            for start in range(0, len(conversation_ids), MAX_SENTIMENT_IDS):
                got = await self.analytics.GetConversationSentiment(
                    analytics_pb2.GetConversationSentimentRequest(
                        conversation_ids=conversation_ids[start : start + MAX_SENTIMENT_IDS]
                    ),
                    **options,
                )
                out += [
                    {
                        "conversation_id": s.conversation_id,
                        "messages": s.messages,
                        "mean_compound": s.mean_compound,
                        "min_compound": s.min_compound,
                        "label": s.label,
                    }
                    for s in got.conversations
                ]
        except grpc.aio.AioRpcError as err:
            log.warning("customer.export_without_analytics", code=err.code().name)
            return {"unavailable": f"analytics could not be read ({err.code().name}); export again later"}
        return {"conversations": out}
