"""A 5,000-entry plain FAQ: how long until it answers, how big its snapshot is, what one
edit costs, how long a decision takes. Questions are BANKING77 train questions (distinct),
each with a Bitext response of up to 600 characters as its answer.

    .venv/bin/python tools/quality/bench_plain_faq_scale.py      # prints one JSON line
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from inference.knowledge import AnswerPolicy, FaqEntry, KnowledgeBase  # noqa: E402
from inference.knowledge.router import router_bytes  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def main(entries_wanted: int = 5000) -> None:
    questions = list(csv.DictReader((DATA / "banking77" / "train.csv").open()))
    responses = list(
        csv.DictReader(
            (DATA / "bitext_customer_support" / "Bitext_Sample_Customer_Support_Training_Dataset_4514.csv").open()
        )
    )
    entries, seen = [], set()
    for i, row in enumerate(questions):
        if row["text"] in seen:
            continue
        seen.add(row["text"])
        answer = " ".join(responses[i % len(responses)]["response"].split())[:600]
        entries.append(FaqEntry(f"e{i}", row["text"], answer))
        if len(entries) == entries_wanted:
            break
    held_out = [r["text"] for r in questions if r["text"] not in seen][:300]
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        kb = KnowledgeBase.open(Path(tmp))
        kb.upsert_faq(entries)
        upsert_s = time.perf_counter() - t
        policy = AnswerPolicy(kb)
        t = time.perf_counter()
        router = policy.prepare()
        router_s = time.perf_counter() - t
        snapshot = Path(tmp) / "snapshot.db"
        kb.export_snapshot(snapshot, {"router": router_bytes(router)})
        snapshot_mb = snapshot.stat().st_size / 1e6
        for q in held_out[:10]:
            policy.decide(q)  # warm-up
        times = []
        for q in held_out:
            t = time.perf_counter()
            policy.decide(q)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        t = time.perf_counter()
        kb.upsert_faq([FaqEntry("e5", "How do I change my PIN code?", "Go to Card settings > PIN. It takes a minute.")])
        AnswerPolicy(kb).prepare()
        edit_s = time.perf_counter() - t
        kb.close()
    print(
        json.dumps(
            {
                "entries": len(entries),
                "router_rows": len(router.owners),
                "upsert_s": round(upsert_s, 1),
                "router_s": round(router_s, 1),
                "ready_s": round(upsert_s + router_s, 1),
                "snapshot_mb": round(snapshot_mb, 1),
                "edit_one_entry_s": round(edit_s, 1),
                "decide_p50_ms": round(times[len(times) // 2], 1),
                "decide_p99_ms": round(times[int(len(times) * 0.99)], 1),
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
