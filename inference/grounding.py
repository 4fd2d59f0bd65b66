"""The answer policy in the worker: each tenant's knowledge base decides whether the AI
answers (from the tenant's own knowledge, with citations) or hands off to a person.

With a KnowledgeShare (every inference process) a question is answered from the version
of the tenant's shared knowledge base this process serves (inference/kbshare.py), router
included: a newer version is loaded beside it in the background and swapped in when
ready, so a question never waits for a download or a training. Without one (tests, tools)
it is one KnowledgeBase + AnswerPolicy per tenant in a local directory, kept for the life
of the worker. Decisions are CPU-bound, so they run in a worker thread; one at a time per
process, since both cores are shared anyway.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from frontdesk_pb.common.v1 import common_pb2 as common
from inference.knowledge import AnswerPolicy, Decision, KnowledgeBase
from inference.knowledge.policy import HANDOFF, HANDOFF_TEXT, LOW_CONFIDENCE, SMALL_TALK
from inference.turns import TenantTurns


def knowledge_dir(data_dir: Path, tenant_id: str) -> Path:
    return data_dir / "knowledge" / tenant_id


class Grounding:
    def __init__(self, data_dir: Path, share=None):
        self.data_dir = data_dir
        self.share = share  # inference.kbshare.KnowledgeShare, or None: local directories only
        self._policies: dict[str, AnswerPolicy] = {}
        self.executor = (
            share.executor if share is not None else ThreadPoolExecutor(max_workers=1, thread_name_prefix="knowledge")
        )
        self.turns = TenantTurns(self.executor)  # decisions and searches, tenants in turn

    def _policy(self, tenant_id: str) -> AnswerPolicy:
        policy = self._policies.get(tenant_id)
        if policy is None:
            policy = AnswerPolicy(KnowledgeBase.open(knowledge_dir(self.data_dir, tenant_id)))
            self._policies[tenant_id] = policy
        return policy

    async def policy(self, tenant_id: str) -> AnswerPolicy:
        """The policy to answer from now: the served version's (never waits for a newer one
        to load, unless this worker has none yet), or the local directory's."""
        if self.share is not None:
            return (await self.share.serving(tenant_id)).policy
        return self._policy(tenant_id)

    async def decide(
        self,
        tenant_id: str,
        question: str,
        history: list[common.Message],
        min_confidence: float = 0.0,
        greeting: str = "",
        tenant_name: str = "",
        language: str = "",
    ) -> Decision:
        """The policy's decision; `min_confidence` (a tenant's answer_threshold, 0 = the
        calibrated policy alone) can only make it stricter: a less confident answer hands off.
        `language`: what voice transcription heard, when the message was spoken."""
        earlier = [m.text for m in history if m.role == common.ROLE_CUSTOMER and m.text != question][-5:]
        policy = await self.policy(tenant_id)
        decision = await self.turns.run(
            tenant_id,
            lambda: policy.decide(
                question, earlier, greeting=greeting, tenant_name=tenant_name, default_language=language or "en"
            ),
        )
        if not decision.handoff and decision.reason == SMALL_TALK:
            return decision
        if not decision.handoff and decision.confidence < min_confidence:
            return dataclasses.replace(
                decision, kind=HANDOFF, text=HANDOFF_TEXT[LOW_CONFIDENCE], reason=LOW_CONFIDENCE, citations=()
            )
        return decision

    async def search(self, tenant_id: str, query: str, limit: int) -> list:
        """The tenant's best knowledge-base passages for a query (the search tool)."""
        kb = (await self.policy(tenant_id)).kb
        return await self.turns.run(tenant_id, lambda: kb.search(query, limit))

    def close(self) -> None:
        self.executor.shutdown(wait=False)


def citations(decision: Decision) -> list[common.Citation]:
    return [
        common.Citation(source_id=c.entry_id, title=c.title, url=c.url, score=float(c.score))
        for c in decision.citations
    ]
