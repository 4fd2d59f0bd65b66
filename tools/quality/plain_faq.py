"""Plain-FAQ quality: one question and one answer per FAQ entry, as tenants paste them.

Sets (tools/quality/plain_faq/, README.md there):
- banking77: 77 hand-written questions, one per BANKING77 intent (no answers: the dataset
  has none); cases are BANKING77's test questions; out of scope: Bitext questions of
  shopping intents.
- bitext: 27 hand-written questions with one Bitext response each as the answer; cases
  are Bitext's instructions; out of scope: BANKING77 questions of card and ATM intents.
- the hand-written tenants (<slug>.faq.jsonl with <slug>.dev/test.jsonl): multi-turn cases
  in categories (paraphrase, follow-up, language, small talk, human request, out of
  scope, frustration).
The public sets are split in halves by a hash of the text: dev (tuning) and test (report).

    .venv/bin/python tools/quality/plain_faq.py --split dev [--set bitext] [--details]

Prints one JSON line per set and category: answered right / answered wrong / handed off,
and p50/p99 decision time; and the overall share answered wrong.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from inference.knowledge import KnowledgeBase  # noqa: E402
from inference.knowledge.documents import parse_kb_jsonl  # noqa: E402
from inference.knowledge.policy import AnswerPolicy  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SETS = ROOT / "tools" / "quality" / "plain_faq"

# out-of-scope questions for each public set: the other set's intents that the FAQ does not cover
B77_UNRELATED_TO_SHOPPING = {
    "atm_support",
    "card_arrival",
    "card_linking",
    "card_swallowed",
    "change_pin",
    "exchange_rate",
    "exchange_via_app",
    "fiat_currency_support",
    "get_physical_card",
    "getting_spare_card",
    "pin_blocked",
    "top_up_by_cash_or_cheque",
    "virtual_card_not_working",
    "visa_or_mastercard",
    "wrong_amount_of_cash_received",
    "disposable_card_limits",
    "beneficiary_not_allowed",
    "age_limit",
    "country_support",
    "lost_or_stolen_phone",
}
BITEXT_UNRELATED_TO_BANKING = {
    "newsletter_subscription",
    "review",
    "delivery_options",
    "delivery_period",
    "track_order",
    "place_order",
    "change_order",
    "cancel_order",
    "set_up_shipping_address",
    "change_shipping_address",
}


def half(text: str) -> str:
    return "dev" if hashlib.blake2b(text.encode(), digest_size=2).digest()[0] % 2 == 0 else "test"


def banking77(split: str) -> list[dict]:
    path = DATA / "banking77" / "test.csv"
    cases = []
    with path.open() as f:
        for row in csv.DictReader(f):
            if half(row["text"]) == split:
                cases.append({"turns": [row["text"]], "expect": row["category"], "category": "paraphrase"})
    bitext = DATA / "bitext_customer_support" / "Bitext_Sample_Customer_Support_Training_Dataset_4514.csv"
    with bitext.open() as f:
        oos = [r["instruction"] for r in csv.DictReader(f) if r["intent"] in BITEXT_UNRELATED_TO_BANKING]
    cases += [{"turns": [t], "expect": "handoff", "category": "out_of_scope"} for t in oos if half(t) == split][:400]
    return cases


def bitext(split: str) -> list[dict]:
    path = DATA / "bitext_customer_support" / "Bitext_Sample_Customer_Support_Training_Dataset_4514.csv"
    cases = []
    with path.open() as f:
        for row in csv.DictReader(f):
            if half(row["instruction"]) == split:
                cases.append({"turns": [row["instruction"]], "expect": row["intent"], "category": "paraphrase"})
    with (DATA / "banking77" / "test.csv").open() as f:
        oos = [r["text"] for r in csv.DictReader(f) if r["category"] in B77_UNRELATED_TO_SHOPPING]
    cases += [{"turns": [t], "expect": "handoff", "category": "out_of_scope"} for t in oos if half(t) == split][:400]
    return cases


def tenant_sets() -> list[str]:
    return sorted(
        p.name.removesuffix(".faq.jsonl")
        for p in SETS.glob("*.faq.jsonl")
        if p.name.split(".")[0] not in ("banking77", "bitext")
    )


def load_cases(name: str, split: str) -> list[dict]:
    if name == "banking77":
        return banking77(split)
    if name == "bitext":
        return bitext(split)
    return [json.loads(line) for line in (SETS / f"{name}.{split}.jsonl").read_text().splitlines() if line.strip()]


def outcome(case: dict, decision) -> str:
    expect = case["expect"]
    if decision.kind == "handoff":
        if expect == "handoff":
            reason = case.get("reason")
            return "right" if not reason or reason == decision.reason else "handoff_wrong_reason"
        return "handed_off"
    if decision.reason == "small_talk":
        return "right" if expect == "reply" else ("wrong" if expect == "handoff" else "handed_off")
    if expect in ("reply", "handoff"):
        return "wrong"
    top = decision.citations[0].entry_id if decision.citations else None
    return "right" if top == expect else "wrong"


def run(name: str, split: str, details: bool = False) -> list[dict]:
    report = parse_kb_jsonl((SETS / f"{name}.faq.jsonl").read_text().splitlines())
    cases = load_cases(name, split)
    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase.open(Path(tmp))
        t0 = time.perf_counter()
        kb.upsert_faq(report.faqs)
        policy = AnswerPolicy(kb)
        policy.prepare()
        ingest_s = time.perf_counter() - t0
        by_cat: dict[str, Counter] = defaultdict(Counter)
        times: list[float] = []
        for case in cases:
            turns = case["turns"]
            t = time.perf_counter()
            decision = policy.decide(turns[-1], history=turns[:-1])
            times.append((time.perf_counter() - t) * 1000)
            result = outcome(case, decision)
            by_cat[case["category"]][result] += 1
            by_cat["all"][result] += 1
            if details and result != "right":
                top = decision.citations[0].entry_id if decision.citations else decision.reason
                print(
                    f"  [{case['category']}] {result}: {turns!r} -> {top} (expected {case['expect']})", file=sys.stderr
                )
        kb.close()
    times.sort()
    rows = []
    for cat, c in sorted(by_cat.items()):
        n = sum(c.values())
        rows.append(
            {
                "set": name,
                "split": split,
                "category": cat,
                "cases": n,
                "right": round(c["right"] / n, 3),
                "wrong": round(c["wrong"] / n, 3),
                "handed_off": round((c["handed_off"] + c["handoff_wrong_reason"]) / n, 3),
                **(
                    {
                        "p50_ms": round(times[len(times) // 2], 2),
                        "p99_ms": round(times[int(len(times) * 0.99)], 2),
                        "entries": len(report.faqs),
                        "ingest_s": round(ingest_s, 2),
                    }
                    if cat == "all"
                    else {}
                ),
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["dev", "test"], default="dev")
    ap.add_argument("--set", action="append", help="banking77, bitext or a tenant slug (default: all)")
    ap.add_argument("--details", action="store_true", help="print every case not answered right")
    args = ap.parse_args()
    names = args.set or ["banking77", "bitext", *tenant_sets()]
    for name in names:
        for row in run(name, args.split, args.details):
            print(json.dumps(row))


if __name__ == "__main__":
    main()
