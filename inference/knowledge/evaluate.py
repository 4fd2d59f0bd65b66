"""The evaluation runner: a KB and a set of cases in, one JSON-able dict of metrics out.

KB.jsonl lines are FAQ entries ``{"id", "question", "answer", "examples"?}`` or documents
``{"id", "title", "text"}``. CASES.jsonl lines are either multi-turn cases
``{"turns": ["first message", ..., "last message"], "expect": "<kb id>" | "handoff" | "reply",
"category"?: "paraphrase"}`` (the expectation is for the last turn; "reply" = a small-talk
reply, not a handoff) or single questions ``{"question", "expect": "<kb id>" | null,
"history"?: [...]}`` (null = must hand off).

The KB is loaded into a fresh temporary knowledge base and every case goes through the
same :class:`AnswerPolicy` the inference worker uses.

- ``in_scope_accuracy``: share of cases with an expected id whose top citation is that id
  (a handoff counts as a miss);
- ``handoff_recall``: share of ``expect: null`` cases that were handed off;
- ``handoff_precision``: share of handoffs that were ``expect: null`` cases;
- ``answered_right`` / ``answered_wrong`` / ``handed_off``: shares of all cases answered as
  expected, answered from another entry (or where a handoff was expected), and handed to a
  person where an answer was expected; also per ``category`` (``by_category``). A tenant
  gates on ``answered_wrong``: a wrong answer is worse than a handoff;
- ``p50_ms`` / ``p99_ms``: per-case latency of ``AnswerPolicy.decide``.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .documents import LineError, parse_kb_jsonl
from .index import KnowledgeBase
from .policy import AnswerPolicy, Thresholds

HANDOFF_EXPECTED, REPLY_EXPECTED = "handoff", "reply"
MAX_TURNS = 20


def parse_cases(lines: Iterable[str | bytes]) -> tuple[list[dict], list[LineError]]:
    """Cases as dicts ``{"line", "question", "history", "expect", "category"}``, where
    ``expect`` is an entry id, "handoff" or "reply"; bad lines are reported by number."""
    cases: list[dict] = []
    errors: list[LineError] = []
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(LineError(number, f"not JSON: {exc.msg} at column {exc.colno}"))
            continue
        if not isinstance(obj, dict):
            errors.append(LineError(number, "expected an object"))
            continue
        if "turns" in obj:
            turns = obj["turns"]
            if not isinstance(turns, list) or not turns or not all(isinstance(t, str) and t.strip() for t in turns):
                errors.append(LineError(number, "turns must be a non-empty list of messages"))
                continue
            if len(turns) > MAX_TURNS:
                errors.append(LineError(number, f"at most {MAX_TURNS} turns"))
                continue
            question, history = turns[-1], turns[:-1]
        else:
            question, history = obj.get("question"), obj.get("history") or []
            if not isinstance(question, str) or not question.strip():
                errors.append(LineError(number, "expected turns, or a non-empty question"))
                continue
            if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
                errors.append(LineError(number, "history must be a list of strings"))
                continue
        expect = obj.get("expect", "missing")
        if expect is None:
            expect = HANDOFF_EXPECTED
        if not isinstance(expect, str) or not expect.strip():
            errors.append(LineError(number, 'expect must be a KB id, "handoff" or "reply" (null = handoff)'))
            continue
        category = obj.get("category")
        if category is not None and not isinstance(category, str):
            errors.append(LineError(number, "category must be a string"))
            continue
        if not category:
            category = (
                "out_of_scope"
                if expect == HANDOFF_EXPECTED
                else "small_talk"
                if expect == REPLY_EXPECTED
                else "in_scope"
            )
        cases.append(
            {
                "line": number,
                "question": question,
                "history": history,
                "expect": expect.strip(),
                "category": category[:50],
            }
        )
    return cases, errors


def outcome(expect: str, kind: str, reason: str, top: str | None) -> str:
    """right / wrong / handed_off for one decision against its expectation."""
    if kind == "handoff":
        return "right" if expect == HANDOFF_EXPECTED else "handed_off"
    if reason == "small_talk":
        return "right" if expect == REPLY_EXPECTED else ("wrong" if expect == HANDOFF_EXPECTED else "handed_off")
    if expect in (HANDOFF_EXPECTED, REPLY_EXPECTED):
        return "wrong"
    return "right" if top == expect else "wrong"


def evaluate(
    kb_lines: Iterable[str | bytes],
    case_lines: Iterable[str | bytes],
    thresholds: Thresholds | None = None,
    workdir: Path | None = None,
    details: bool = False,
) -> dict:
    """Build a temporary KB, run every case through the answer policy, return metrics."""
    started = time.perf_counter()
    report = parse_kb_jsonl(kb_lines)
    cases, case_errors = parse_cases(case_lines)
    with tempfile.TemporaryDirectory(prefix="kb-eval-", dir=workdir) as tmp:
        kb = KnowledgeBase.open(Path(tmp))
        try:
            t0 = time.perf_counter()
            if report.faqs:
                kb.upsert_faq(report.faqs)
            if report.documents:
                kb.upsert_documents(report.documents)
            ingest_s = time.perf_counter() - t0
            policy = AnswerPolicy(kb, thresholds)
            t0 = time.perf_counter()
            router = policy.prepare()
            train_s = time.perf_counter() - t0
            known = {e.id for e in kb.entries()}
            special = (HANDOFF_EXPECTED, REPLY_EXPECTED)
            unknown = [c for c in cases if c["expect"] not in special and c["expect"] not in known]
            for c in unknown:
                case_errors.append(LineError(c["line"], f"expect {c['expect']!r} is not a KB id"))
            cases = [c for c in cases if c not in unknown]

            latencies: list[float] = []
            rows: list[dict] = []
            for case in cases:
                t0 = time.perf_counter()
                decision = policy.decide(case["question"], case["history"])
                latencies.append((time.perf_counter() - t0) * 1000.0)
                top = decision.citations[0].entry_id if decision.citations else None
                rows.append(
                    {
                        "question": case["question"],
                        "expect": case["expect"],
                        "category": case["category"],
                        "kind": decision.kind,
                        "reason": decision.reason,
                        "top": top,
                        "confidence": round(decision.confidence, 4),
                        "outcome": outcome(case["expect"], decision.kind, decision.reason, top),
                    }
                )
        finally:
            kb.close()

    in_scope = [r for r in rows if r["expect"] not in (HANDOFF_EXPECTED, REPLY_EXPECTED)]
    out_scope = [r for r in rows if r["expect"] == HANDOFF_EXPECTED]
    handed = [r for r in rows if r["kind"] == "handoff"]
    answered_in = [r for r in in_scope if r["kind"] == "answer"]

    def share(num: int, den: int) -> float | None:
        return round(num / den, 4) if den else None

    lat = np.array(latencies) if latencies else np.zeros(1)
    result = {
        "cases": len(rows),
        "in_scope_cases": len(in_scope),
        "out_of_scope_cases": len(out_scope),
        "in_scope_accuracy": share(sum(r["top"] == r["expect"] for r in in_scope), len(in_scope)),
        "handoff_recall": share(sum(r["kind"] == "handoff" for r in out_scope), len(out_scope)),
        "handoff_precision": share(sum(r["expect"] == HANDOFF_EXPECTED for r in handed), len(handed)),
        "answered_right": share(sum(r["outcome"] == "right" for r in rows), len(rows)),
        "answered_wrong": share(sum(r["outcome"] == "wrong" for r in rows), len(rows)),
        "handed_off": share(sum(r["outcome"] == "handed_off" for r in rows), len(rows)),
        "by_category": _by_category(rows),
        "in_scope_handoff_rate": share(sum(r["kind"] == "handoff" for r in in_scope), len(in_scope)),
        "answered_accuracy": share(sum(r["top"] == r["expect"] for r in answered_in), len(answered_in)),
        "p50_ms": round(float(np.percentile(lat, 50)), 3),
        "p99_ms": round(float(np.percentile(lat, 99)), 3),
        "handoff_reasons": dict(Counter(r["reason"] for r in handed)),
        "kb_entries": len(report.faqs) + len(report.documents),
        "kb_errors": [{"line": e.line, "error": e.message} for e in report.errors],
        "case_errors": [{"line": e.line, "error": e.message} for e in case_errors],
        "calibration": {
            "background_pass": round(router.calibration.background_pass, 4),
            "background_lines": router.calibration.held_out,
            "answer_at": router.calibration.answer_at,
            "calibrated": router.calibration.calibrated,
        },
        "ingest_seconds": round(ingest_s, 2),
        "train_seconds": round(train_s, 2),
        "total_seconds": round(time.perf_counter() - started, 2),
    }
    if details:
        result["details"] = rows
    return result


def _by_category(rows: list[dict]) -> dict[str, dict]:
    grouped: dict[str, list[dict]] = {}
    for r in rows:
        grouped.setdefault(r["category"], []).append(r)
    return {
        category: {
            "cases": len(group),
            "answered_right": round(sum(r["outcome"] == "right" for r in group) / len(group), 4),
            "answered_wrong": round(sum(r["outcome"] == "wrong" for r in group) / len(group), 4),
            "handed_off": round(sum(r["outcome"] == "handed_off" for r in group) / len(group), 4),
        }
        for category, group in sorted(grouped.items())
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m inference.knowledge.evaluate KB.jsonl CASES.jsonl`` prints the metrics."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Evaluate the answer policy on a KB and cases.")
    parser.add_argument("kb", type=Path)
    parser.add_argument("cases", type=Path)
    parser.add_argument("--details", action="store_true", help="include every case's decision")
    args = parser.parse_args(argv)
    with open(args.kb, encoding="utf-8") as kb_file, open(args.cases, encoding="utf-8") as case_file:
        result = evaluate(kb_file, case_file, details=args.details)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
