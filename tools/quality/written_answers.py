"""Written answers on the plain-FAQ tenants: the capable model vs quoting, with the fact check.

For each tenant's dev cases the production answer policy decides first (as in the worker).
Where it answers from an FAQ entry, the capable model writes the answer from the passages
through the same sentence gate as the worker (inference/grounded.py). Reported per run:

- how often the model's first answer stated a fact that is in no passage nor the question
  (the gate caught it: outcome regenerated, truncated or rejected),
- the outcomes (passed / regenerated / truncated / rejected = quoted instead),
- time to the first released sentence and to the full answer, tokens,
- every written answer with its passage in --out, for reading by a person (what the check
  cannot see: a wrong claim made of ordinary words).

Right / wrong / handed off do not change with the writer: the written answer cites the
entry the policy chose, so those figures are plain_faq.py's.

    .venv/bin/python tools/quality/written_answers.py --per-tenant 8 --out /tmp/written.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "quality"))

from plain_faq import SETS, load_cases, tenant_sets  # noqa: E402

from inference import models  # noqa: E402
from inference.backends.llamacpp import LlamaCppBackend  # noqa: E402
from inference.factcheck import Sources  # noqa: E402
from inference.grounded import write_checked  # noqa: E402
from inference.knowledge import KnowledgeBase  # noqa: E402
from inference.knowledge import language as lang  # noqa: E402
from inference.knowledge.documents import parse_kb_jsonl  # noqa: E402
from inference.knowledge.policy import AnswerPolicy  # noqa: E402
from inference.pipeline import build_answer_request  # noqa: E402


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="qwen2.5-1.5b")
    ap.add_argument("--per-tenant", type=int, default=8, help="answered cases per tenant")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--split", default="dev")
    ap.add_argument("--category", action="append", help="only these case categories (repeatable)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/written_answers.jsonl"))
    args = ap.parse_args()
    spec = models.spec(args.model)
    backend = LlamaCppBackend(
        str(models.installed_path(spec.name)), n_threads=args.threads, n_ctx=spec.context, writes=True
    )
    await backend.start()
    outcomes: Counter = Counter()
    first_ms: list[float] = []
    full_ms: list[float] = []
    tokens = 0
    languages: Counter = Counter()  # (customer's language, written answer in it)
    rows = []
    for name in tenant_sets():
        report = parse_kb_jsonl((SETS / f"{name}.faq.jsonl").read_text().splitlines())
        with tempfile.TemporaryDirectory() as tmp:
            kb = KnowledgeBase.open(Path(tmp))
            kb.upsert_faq(report.faqs)
            policy = AnswerPolicy(kb)
            policy.prepare()
            done = 0
            for case in load_cases(name, args.split):
                if done >= args.per_tenant:
                    break
                if args.category and case.get("category") not in args.category:
                    continue
                turns = case["turns"]
                decision = policy.decide(turns[-1], history=turns[:-1])
                if decision.kind != "answer" or decision.reason == "small_talk":
                    continue
                done += 1
                question = turns[-1]
                plan = build_answer_request(question, decision.passages, decision.language, 160, temperature=0.1)
                sources = Sources([f"{p.title}\n{p.text}" for p in decision.passages[:4]])
                shown: list[float] = []
                t0 = time.perf_counter()

                async def release(_text: str, shown=shown, t0=t0) -> None:
                    if not shown:
                        shown.append((time.perf_counter() - t0) * 1000)

                written = await write_checked(
                    backend,
                    plan.request,
                    sources,
                    lang.texts_language(decision.language),
                    release,
                    customer=Sources([question]),
                    restates=[p.text for p in decision.passages[:1]],
                    translation_of=plan.translates,
                )
                total = (time.perf_counter() - t0) * 1000
                outcomes[written.outcome] += 1
                asked_in = lang.texts_language(decision.language)
                answered_in = lang.detect(written.text, default="") if written.text else ""
                if written.text:  # a rejected answer is quoted from the entry instead
                    languages[(asked_in, answered_in == asked_in)] += 1
                if shown:
                    first_ms.append(shown[0])
                full_ms.append(total)
                tokens += written.result.completion_tokens if written.result else 0
                rows.append(
                    {
                        "tenant": name,
                        "question": question,
                        "entry": decision.citations[0].entry_id if decision.citations else "",
                        "expected": case["expect"],
                        "category": case.get("category", ""),
                        "translated": bool(plan.translates),
                        "language": asked_in,
                        "answer_language": answered_in,
                        "outcome": written.outcome,
                        "answer": written.text,
                        "unsupported_first": [f.text for f in written.unsupported],
                        "passage": decision.passages[0].text if decision.passages else "",
                        "ms": round(total),
                    }
                )
                print(f"{name:<12} {written.outcome:<11} {round(total):>6} ms  {question[:60]!r}", file=sys.stderr)
            kb.close()
    await backend.close()
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    n = sum(outcomes.values())
    first_ms.sort()
    full_ms.sort()
    print(
        json.dumps(
            {
                "model": spec.name,
                "threads": args.threads,
                "answers": n,
                "first_answer_with_unsupported_fact": round((n - outcomes["passed"]) / n, 3),
                "outcomes": {k: round(v / n, 3) for k, v in sorted(outcomes.items())},
                "shown_with_unsupported_fact": 0.0,  # by the check's own definition; see --out for a reading
                "thrown_away_quoted_instead": round(outcomes["rejected"] / n, 3),
                "in_the_customers_language": {
                    code: f"{languages[(code, True)]}/{languages[(code, True)] + languages[(code, False)]}"
                    for code in sorted({code for code, _ in languages})
                },
                "first_sentence_p50_ms": round(first_ms[len(first_ms) // 2]) if first_ms else None,
                "full_answer_p50_ms": round(full_ms[len(full_ms) // 2]),
                "full_answer_p90_ms": round(full_ms[int(len(full_ms) * 0.9)]),
                "mean_completion_tokens": round(tokens / max(n - outcomes["rejected"] - outcomes["truncated"], 1), 1),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
