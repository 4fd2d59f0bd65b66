"""The evaluation runner: a KB and a set of cases in, one JSON-able dict of metrics out.

KB.jsonl lines are FAQ entries ``{"id", "question", "answer", "examples"?}`` or documents
``{"id", "title", "text"}``; CASES.jsonl lines are ``{"question", "expect": "<kb id>"}`` or
``{"question", "expect": null}`` (must hand off), optionally with ``"history": [...]``.

The KB is loaded into a fresh temporary knowledge base and every case goes through the
same :class:`AnswerPolicy` the inference worker uses.

- ``in_scope_accuracy``: share of cases with an expected id whose top citation is that id
  (a handoff counts as a miss);
- ``handoff_recall``: share of ``expect: null`` cases that were handed off;
- ``handoff_precision``: share of handoffs that were ``expect: null`` cases;
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


def parse_cases(lines: Iterable[str | bytes]) -> tuple[list[dict], list[LineError]]:
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
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str) or not obj["question"].strip():
            errors.append(LineError(number, "expected an object with a non-empty question"))
            continue
        if "expect" not in obj or not (obj["expect"] is None or isinstance(obj["expect"], str)):
            errors.append(LineError(number, "expect must be a KB id or null"))
            continue
        history = obj.get("history") or []
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            errors.append(LineError(number, "history must be a list of strings"))
            continue
        cases.append({"line": number, "question": obj["question"], "expect": obj["expect"], "history": history})
    return cases, errors


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
            unknown = [c for c in cases if c["expect"] is not None and c["expect"] not in known]
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
                        "kind": decision.kind,
                        "reason": decision.reason,
                        "top": top,
                        "confidence": round(decision.confidence, 4),
                    }
                )
        finally:
            kb.close()

    in_scope = [r for r in rows if r["expect"] is not None]
    out_scope = [r for r in rows if r["expect"] is None]
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
        "handoff_precision": share(sum(r["expect"] is None for r in handed), len(handed)),
        "in_scope_handoff_rate": share(sum(r["kind"] == "handoff" for r in in_scope), len(in_scope)),
        "answered_accuracy": share(sum(r["top"] == r["expect"] for r in answered_in), len(answered_in)),
        "p50_ms": round(float(np.percentile(lat, 50)), 3),
        "p99_ms": round(float(np.percentile(lat, 99)), 3),
        "handoff_reasons": dict(Counter(r["reason"] for r in handed)),
        "kb_entries": len(report.faqs) + len(report.documents),
        "kb_errors": [{"line": e.line, "error": e.message} for e in report.errors],
        "case_errors": [{"line": e.line, "error": e.message} for e in case_errors],
        "calibration": {
            "oos_threshold": round(router.calibration.oos_threshold, 4),
            "margin_threshold": round(router.calibration.margin_threshold, 4),
            "held_out": router.calibration.held_out,
            "held_out_accuracy": router.calibration.held_out_accuracy,
            "calibrated": router.calibration.calibrated,
        },
        "ingest_seconds": round(ingest_s, 2),
        "train_seconds": round(train_s, 2),
        "total_seconds": round(time.perf_counter() - started, 2),
    }
    if details:
        result["details"] = rows
    return result


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
