"""The tenant's knowledge base and the grounded answer policy (pure library, no I/O beyond
the tenant's directory).

    kb = KnowledgeBase.open(tenant_dir)                  # loads the persisted index
    kb.upsert_faq([FaqEntry("reset", "How do I reset my password?", "Use 'Forgot password'.")])
    kb.upsert_document("guide", "Setup guide", markdown_text)
    kb.upsert_file("terms", pdf_bytes, filename="terms.pdf")
    hits = kb.search("password reset", limit=5)          # [Hit(entry_id, chunk_id, title, text, score, ...)]
    policy = AnswerPolicy(kb)                            # thresholds calibrated per tenant
    policy.prepare()                                     # train the router now (else on first question)
    decision = policy.decide("I forgot my password")     # Decision(kind, text, reason, confidence,
                                                         #          citations, passages, scores)
    evaluate(kb_lines, case_lines)                       # the metrics dict (see evaluate.py)

See docs/quality.md for measured quality and how the thresholds were calibrated.
"""

from .documents import (
    Chunk,
    DocumentRecord,
    FaqEntry,
    KnowledgeError,
    LineError,
    ParseReport,
    chunk_text,
    extract_text,
    parse_faq_csv,
    parse_kb_jsonl,
)
from .evaluate import evaluate, parse_cases
from .handoff import asks_for_person
from .index import EntryInfo, Hit, KnowledgeBase
from .policy import (
    ANSWER,
    HANDOFF,
    AnswerPolicy,
    Citation,
    Decision,
    Thresholds,
)

__all__ = [
    "ANSWER",
    "HANDOFF",
    "AnswerPolicy",
    "Chunk",
    "Citation",
    "Decision",
    "DocumentRecord",
    "EntryInfo",
    "FaqEntry",
    "Hit",
    "KnowledgeBase",
    "KnowledgeError",
    "LineError",
    "ParseReport",
    "Thresholds",
    "asks_for_person",
    "chunk_text",
    "evaluate",
    "extract_text",
    "parse_cases",
    "parse_faq_csv",
    "parse_kb_jsonl",
]
