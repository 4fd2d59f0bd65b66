"""Answering one AI job: the domain core of the inference service (worker.py feeds it jobs).

Per job: a reply already stored for it (a redelivery) is re-announced; otherwise the answer
policy decides (answer from the knowledge base, small talk, or a person), the model writes or
the knowledge base is quoted (checked for made-up facts), or the tool loop runs; tokens
stream to the conversation's live subject, the reply is stored idempotently (dedupe key
`reply:<job id>`) through conversation/rules.py, and `reply_completed` is published. A job
that can never be answered hands the conversation to a person (`dead_letter`).
"""

from __future__ import annotations

import time

import httpx

from conversation import rules
from frontdesk import ids, logs, metrics
from frontdesk.clock import now_ts
from frontdesk.publish import Publisher
from frontdesk.settings import Settings
from frontdesk.stores.base import LogStore, ToolCallEntry
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.events.v1 import events_pb2 as ev
from frontdesk_pb.inference.v1 import inference_pb2
from inference import tools as tooling
from inference.backends.base import Backend, BackendError, ChatTurn, GenerationRequest, GenerationResult
from inference.backends.echo import EchoBackend
from inference.factcheck import Sources, problems
from inference.grounded import PASSED, REGENERATED, REJECTED, RETRY_NOTE, write_checked
from inference.grounding import Grounding, citations
from inference.knowledge import language
from inference.knowledge.policy import CUSTOMER_REQUEST, EMPTY_QUESTION, FRUSTRATED, LOW_CONFIDENCE, SMALL_TALK
from inference.pipeline import build_answer_request, build_request, build_tool_messages
from inference.tenants import BackendPool, TenantAi, TenantConfigs

log = logs.get("inference.service")


# streams a knowledge-base answer word by word, exactly as written
QUOTE = EchoBackend(model="knowledge-base", prefix="")


# what the answer policy settles before a model with tools gets a turn
CODE_DECIDES = frozenset({SMALL_TALK, FRUSTRATED, CUSTOMER_REQUEST, EMPTY_QUESTION})

HISTORY_TURNS = 20  # latest messages given to the model and the answer policy


class DeltaBatcher:
    """Streams token deltas without flooding: the first one goes out at once (that is the
    latency a customer feels), later ones are merged while they arrive faster than
    COALESCE_S apart. A fast model sends a few larger deltas; a slow one sends each token."""

    COALESCE_S = 0.04

    def __init__(self, send):
        self._send = send
        self._buffer: list[str] = []
        self._last = 0.0
        self.index = 0
        self.first_at_ms = 0.0

    async def add(self, text: str) -> None:
        self._buffer.append(text)
        now = time.monotonic()
        if self.index == 0:
            self.first_at_ms = time.time() * 1000
        if self.index == 0 or now - self._last >= self.COALESCE_S:
            await self.flush(now)

    async def flush(self, now: float | None = None) -> None:
        if self._buffer:
            text, self._buffer = "".join(self._buffer), []
            await self._send(text, self.index)
            self.index += 1
            self._last = time.monotonic() if now is None else now


_AUTHOR_ROLE = {
    common.ROLE_CUSTOMER: "customer",
    common.ROLE_AI: "assistant",
    common.ROLE_AGENT: "agent",
    common.ROLE_SYSTEM: "system",
}


class Answerer:
    """`tenants` (per-tenant AI settings and tools) and `backends` (the tenant's own model
    backends) are optional: without them every tenant gets the deployment's defaults.
    `knowledge` serves the search tool; it defaults to `grounding`."""

    def __init__(
        self,
        settings: Settings,
        store: LogStore,
        publisher: Publisher,
        backend: Backend,
        grounding: Grounding | None = None,
        *,
        tenants: TenantConfigs | None = None,
        backends: BackendPool | None = None,
        knowledge: Grounding | None = None,
    ):
        self.settings = settings
        self.store = store
        self.pub = publisher
        self.backend = backend
        self.grounding = grounding
        self.knowledge = knowledge or grounding
        self.tenants = tenants
        self.backends = backends or BackendPool(backend, settings)
        self.tool_allowlist = tooling.Allowlist(
            [e.strip() for e in settings.tool_url_allowlist.split(",") if e.strip()]
        )
        self._http: httpx.AsyncClient | None = None  # one client for every tenant tool call, made on first use

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def answer(self, tenant_id: str, job: inference_pb2.AiJob) -> str:
        """Answer one job; returns the outcome (answered, duplicate, skipped)."""
        dedupe = f"reply:{job.job_id}"
        # the stored reply (if redelivered), the conversation and its history: one store round trip
        existing, conv, history = await self.store.job_context(
            tenant_id, job.conversation_id, dedupe_key=dedupe, history_limit=HISTORY_TURNS
        )
        if existing is not None:  # redelivered after the reply was stored: announce again, no second reply
            await self.pub.live(tenant_id, job.conversation_id, message=existing)
            return "duplicate"
        if not rules.ai_answers(conv):
            log.info("job.skipped", tenant=tenant_id, job=job.job_id, reason="no longer handled by the AI")
            return "skipped"
        started = time.monotonic()
        enqueued_ms = job.enqueued_at.ToMilliseconds()
        queue_wait_ms = max(time.time() * 1000 - enqueued_ms, 0.0)
        ai = await self.tenants.get(tenant_id) if self.tenants is not None else TenantAi()
        backend = await self.backends.get(ai)
        max_tokens = ai.max_tokens or self.settings.max_reply_tokens
        reply_id = ids.new_id("message", after=job.message_id)
        await self.pub.live(tenant_id, job.conversation_id, typing=ev.Typing(role=common.ROLE_AI, active=True))
        deltas = DeltaBatcher(
            lambda text, index: self.pub.live(
                tenant_id,
                job.conversation_id,
                token=ev.TokenDelta(reply_id=reply_id, in_reply_to=job.message_id, text=text, index=index),
            )
        )
        cited: list[common.Citation] = []
        reply_language = job.language
        author = backend.model
        registry = self._registry(tenant_id, job, ai) if backend.supports_tools else None
        decision = None
        if registry is not None and self.grounding is not None:
            # our code, not the model, decides small talk and when a person is needed
            decision = await self._decide(tenant_id, job, history, ai)
            if decision.reason in CODE_DECIDES:
                registry = None
        if registry is not None:
            outcome = await self._answer_with_tools(tenant_id, job, conv, ai, backend, registry, history, deltas)
            if outcome is None:
                return "handed_off"
            result, cited = outcome
        elif self.grounding is not None:
            if decision is None:
                decision = await self._decide(tenant_id, job, history, ai)
            reply_language = decision.language
            if decision.handoff:
                await self._hand_off(tenant_id, conv, job, decision.reason, decision.language, decision.confidence)
                return "handed_off"
            cited = citations(decision)
            written = None
            # a model that can write (or a tenant's own model) writes the answer, checked
            # sentence by sentence; small talk is ours to answer, from the fixed texts
            if self._writes(backend, ai) and decision.reason != SMALL_TALK:
                plan = build_answer_request(
                    job.text, decision.passages, decision.language, max_tokens, ai.system_prompt, ai.temperature
                )
                passages = [f"{p.title}\n{p.text}" for p in decision.passages[:4]]
                written = await write_checked(
                    backend,
                    plan.request,
                    Sources([*passages, ai.name, ai.system_prompt]),
                    language.texts_language(decision.language),
                    deltas.add,
                    customer=Sources([job.text]),
                    restates=[p.text for p in decision.passages[:1]],  # the entry itself, not its title
                    translation_of=plan.translates,
                )
                metrics.FACT_CHECKS.labels(written.outcome).inc()
                if written.unsupported:
                    log.info(
                        "reply.unsupported_facts",
                        tenant=tenant_id,
                        job=job.job_id,
                        outcome=written.outcome,
                        facts=[f.text for f in written.unsupported][:10],
                    )
                if written.outcome == REJECTED:
                    written = None  # quote the knowledge base instead
            if written is not None:
                result = written.result or GenerationResult(written.text, 0, 0, 0.0, 0.0, "stop")
            else:  # the knowledge base's own words, streamed like a model's
                author = QUOTE.model
                result = await QUOTE.generate(
                    GenerationRequest(turns=(ChatTurn("user", decision.text),), max_tokens=10_000), on_delta=deltas.add
                )
        else:
            request = build_request(history, job.message_id, max_tokens, ai.system_prompt, ai.temperature)
            result = await backend.generate(request, on_delta=deltas.add)
        await deltas.flush()
        first_token_ms = deltas.first_at_ms - enqueued_ms if deltas.first_at_ms else 0.0
        text = result.text.strip()
        if not text:
            raise RuntimeError("the model returned an empty reply")
        reply = common.Message(
            id=reply_id,
            conversation_id=job.conversation_id,
            role=common.ROLE_AI,
            text=text,
            created_at=now_ts(),
            author_id=author,
            author_name="Assistant",
            in_reply_to=job.message_id,
            citations=cited,
            language=reply_language,
        )
        stored = await rules.store_ai_reply(self.store, self.pub, tenant_id, reply, dedupe)
        total_ms = time.time() * 1000 - enqueued_ms
        await self.pub.domain(
            tenant_id,
            job.conversation_id,
            dedupe,
            reply_completed=ev.ReplyCompleted(
                reply_id=stored.id,
                in_reply_to=job.message_id,
                backend=backend.name,
                model=backend.model,
                queue_wait_ms=queue_wait_ms,
                first_token_ms=first_token_ms,
                total_ms=total_ms,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                answered=True,
                cited_ids=[c.source_id for c in cited],
                question=job.text[:500],
            ),
        )
        log.info(
            "reply.stored",
            tenant=tenant_id,
            conversation=job.conversation_id,
            job=job.job_id,
            tokens=result.completion_tokens,
            ms=round((time.monotonic() - started) * 1000, 1),
        )
        metrics.QUEUE_WAIT.observe(queue_wait_ms / 1000)
        if first_token_ms:
            metrics.FIRST_TOKEN.observe(first_token_ms / 1000)
        metrics.TOKENS.labels(backend.name, backend.model).inc(result.completion_tokens)
        metrics.GENERATION_SECONDS.labels(backend.name, backend.model).inc(result.total_ms / 1000)
        return "answered"

    def _writes(self, backend: Backend, ai: TenantAi) -> bool:
        return backend.can_write or self.settings.grounded_generation or ai.own_backend

    async def _decide(self, tenant_id: str, job: inference_pb2.AiJob, history, ai: TenantAi):
        assert self.grounding is not None
        return await self.grounding.decide(
            tenant_id,
            job.text,
            history,
            min_confidence=ai.answer_threshold,
            greeting=ai.greeting,
            tenant_name=ai.name,
            language=job.language,
        )

    async def _hand_off(self, tenant_id, conv, job, reason: str, lang: str, confidence: float = 0.0) -> None:
        await rules.hand_off(
            self.store,
            self.pub,
            tenant_id,
            conv,
            reason,
            job.text[:500],
            dedupe_key=f"handoff:{job.job_id}",
            language=language.texts_language(lang),
        )
        log.info(
            "reply.handed_off",
            tenant=tenant_id,
            conversation=job.conversation_id,
            job=job.job_id,
            reason=reason,
            confidence=round(confidence, 3),
        )

    # -- function calling ----------------------------------------------------------------

    def _http_client(self):
        if self._http is None:
            self._http = tooling.make_client()
        return self._http

    def _registry(self, tenant_id: str, job: inference_pb2.AiJob, ai: TenantAi) -> tooling.ToolRegistry | None:
        """The tools this tenant enabled (built-ins and its HTTP tools), or None: no tool loop."""
        if not ai.enabled_tools:
            return None
        http_tools = []
        for record in ai.tools:
            if record.name not in ai.enabled_tools:
                continue
            try:
                http_tools.append(
                    tooling.HttpTool.from_spec(
                        record,
                        allowlist=self.tool_allowlist,
                        secret=ai.secret_for(record.name) or None,
                        client=self._http_client(),
                    )
                )
            except ValueError as err:  # e.g. the deployment's allowlist no longer covers its URL
                log.warning("tool.unusable", tenant=tenant_id, tool=record.name, error=str(err))

        async def log_call(call: tooling.ToolCallRecord) -> None:
            entry = ToolCallEntry(
                job_id=job.job_id,
                call_id=call.call_id,
                tool=call.tool,
                arguments=call.arguments,
                ok=call.ok,
                error=call.error,
                duration_ms=call.duration_ms,
                started_ms=int(call.started_at * 1000),
                result_bytes=call.result_bytes,
                result_preview=call.result_preview,
            )
            await self.store.record_tool_call(tenant_id, job.conversation_id, entry)
            await self.pub.domain(
                tenant_id,
                job.conversation_id,
                f"tool:{job.job_id}:{call.call_id}",
                tool_called=ev.ToolCalled(
                    tool=call.tool, ok=call.ok, duration_ms=call.duration_ms, error=call.error[:500]
                ),
            )

        registry = tooling.ToolRegistry(
            tooling.BUILTIN_TOOLS, http_tools, enabled=set(ai.enabled_tools), on_call=log_call
        )
        return registry if registry.names() else None

    async def _answer_with_tools(
        self,
        tenant_id,
        job,
        conv,
        ai: TenantAi,
        backend: Backend,
        registry: tooling.ToolRegistry,
        history,
        deltas: DeltaBatcher,
    ):
        """The model answers with tools: (result, citations), or None when the conversation
        was handed to a person (by the handoff tool, or because the loop found no answer)."""
        cited: dict[str, common.Citation] = {}
        read: list[str] = []  # the entries the model was given, whose meaning its answer must keep
        handed_off = False

        async def search(query: str, limit: int) -> list[dict]:
            if self.knowledge is None:
                return []
            hits = await self.knowledge.search(tenant_id, query, limit)
            for hit in hits[:3]:
                read.append(hit.text)
                cited.setdefault(
                    hit.entry_id,
                    common.Citation(source_id=hit.entry_id, title=hit.title, url=hit.url, score=float(hit.score)),
                )
            return [tooling.hit_to_dict(h) for h in hits]

        async def earlier(limit: int) -> list[dict]:
            messages, _ = await self.store.list_messages(tenant_id, job.conversation_id, limit=limit)
            return [{"role": _AUTHOR_ROLE.get(m.role, "system"), "text": m.text} for m in messages if m.text]

        async def request_handoff(reason: str) -> None:
            nonlocal handed_off
            await rules.hand_off(
                self.store,
                self.pub,
                tenant_id,
                conv,
                "ai_requested",
                job.text[:500],
                dedupe_key=f"handoff:{job.job_id}",
            )
            log.info(
                "reply.handed_off",
                tenant=tenant_id,
                conversation=job.conversation_id,
                job=job.job_id,
                reason="ai_requested",
                detail=reason[:200],
            )
            handed_off = True

        ctx = tooling.ToolContext(
            tenant_id, job.conversation_id, job.job_id, search=search, history=earlier, request_handoff=request_handoff
        )
        max_rounds = max(1, self.settings.tool_max_rounds)
        max_tokens = ai.max_tokens or self.settings.max_reply_tokens
        temperature = 0.2 if ai.temperature is None else ai.temperature
        first = ai.tool_choice if ai.tool_choice in ("auto", "required") or ai.tool_choice in registry else "auto"
        turns = 0
        prompt_tokens = completion_tokens = 0
        t0 = time.perf_counter()

        async def complete(messages, specs):
            nonlocal turns, prompt_tokens, completion_tokens
            turns += 1
            # the last turn offers no tool, so the loop ends in text rather than a handoff
            choice = "none" if turns >= max_rounds else first if turns == 1 else "auto"
            done = await backend.complete_chat(messages, specs, choice, max_tokens=max_tokens, temperature=temperature)
            prompt_tokens += done.usage.prompt_tokens
            completion_tokens += done.usage.completion_tokens
            return done.text, [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.raw_arguments}}
                for c in done.tool_calls
            ]

        loop = await tooling.run_tool_loop(
            complete,
            registry,
            ctx,
            build_tool_messages(history, job.message_id, ai.system_prompt),
            max_rounds=max_rounds,
        )
        if loop.stopped_reason == tooling.HANDOFF or handed_off:
            return None
        if loop.needs_handoff:
            await rules.hand_off(
                self.store, self.pub, tenant_id, conv, "ai_failure", job.text[:500], dedupe_key=f"handoff:{job.job_id}"
            )
            log.info(
                "reply.handed_off",
                tenant=tenant_id,
                conversation=job.conversation_id,
                job=job.job_id,
                reason=loop.stopped_reason,
                rounds=loop.rounds,
            )
            return None
        text = loop.text
        # the same fact check as a grounded answer, against what the tools returned; the
        # customer's own words vouch only for what they may (factcheck._CUSTOMER_MAY_STATE)
        tool_results = [str(m.get("content") or "") for m in loop.messages if m.get("role") == "tool"]
        sources = Sources([*tool_results, ai.name, ai.system_prompt])
        customer = Sources([str(m.get("content") or "") for m in loop.messages if m.get("role") == "user"])
        check_lang = language.texts_language(job.language or language.detect(job.text) or "en")
        bad = problems(text, sources, language=check_lang, customer=customer, restates=read)
        if bad:
            names = ", ".join(dict.fromkeys(f'"{f.text}"' for f in bad))
            retry = [
                *loop.messages,
                {"role": "assistant", "content": text},
                {"role": "system", "content": RETRY_NOTE.format(facts=names)},
            ]
            log.info("reply.unsupported_facts", tenant=tenant_id, job=job.job_id, facts=[f.text for f in bad][:10])
            try:
                done = await backend.complete_chat(retry, None, "none", max_tokens=max_tokens, temperature=0.0)
            except BackendError as err:  # the tools have run: no redelivery that would run them again
                log.warning("reply.rewrite_failed", tenant=tenant_id, job=job.job_id, error=str(err)[:300])
                done = None
            if done is not None:
                prompt_tokens += done.usage.prompt_tokens
                completion_tokens += done.usage.completion_tokens
            text = done.text.strip() if done is not None else ""
            still = problems(text, sources, language=check_lang, customer=customer, restates=read) if text else bad
            metrics.FACT_CHECKS.labels(REJECTED if still else REGENERATED).inc()
            if still:
                await self._hand_off(tenant_id, conv, job, LOW_CONFIDENCE, job.language or "en")
                return None
        else:
            metrics.FACT_CHECKS.labels(PASSED).inc()
        # the answer came in one piece; it streams to the customer like any other
        await QUOTE.generate(GenerationRequest(turns=(ChatTurn("user", text),), max_tokens=10_000), on_delta=deltas.add)
        total_ms = (time.perf_counter() - t0) * 1000
        result = GenerationResult(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            first_token_ms=total_ms,
            total_ms=total_ms,
            finish_reason="stop",
        )
        return result, list(cited.values())

    async def dead_letter(self, tenant_id: str, job: inference_pb2.AiJob, deliveries: int, err: Exception) -> None:
        """The AI could not answer: a person takes over, and the admin sees why."""
        conv = await self.store.get_conversation(tenant_id, job.conversation_id)
        if conv is not None and rules.ai_answers(conv):
            await rules.hand_off(
                self.store, self.pub, tenant_id, conv, "ai_failure", job.text[:500], dedupe_key=f"failed:{job.job_id}"
            )
        await self.pub.domain(
            tenant_id,
            job.conversation_id,
            f"failed:{job.job_id}",
            job_failed=ev.JobFailed(job_id=job.job_id, deliveries=deliveries, error=str(err)[:500]),
        )
