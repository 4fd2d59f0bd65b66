"""Fit the router's calibrator (router.CALIBRATOR): P(the best entry is the right one) as a
logistic function of the router's features (Router.features), on the dev halves of the
plain-FAQ sets (tools/quality/plain_faq.py), each set weighted equally so the thousands of
BANKING77/Bitext questions do not drown the hand-written tenants. Prints the coefficients
to copy into router.py, and for a few answer thresholds the answered-right and
answered-wrong shares per set (dev only: the test halves are for reporting).

    .venv/bin/python tools/quality/fit_calibrator.py
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "quality"))

import plain_faq  # noqa: E402

from inference.knowledge import KnowledgeBase, embedding, language, smalltalk  # noqa: E402
from inference.knowledge.documents import parse_kb_jsonl  # noqa: E402
from inference.knowledge.policy import _FOLLOW_UP, SHORT_FOLLOW_UP_WORDS, AnswerPolicy  # noqa: E402

RETRIEVAL = ("paraphrase", "out_of_scope", "language", "follow_up")


def rows(split: str) -> list[dict]:
    import tempfile

    out = []
    for name in ["banking77", "bitext", *plain_faq.tenant_sets()]:
        report = parse_kb_jsonl((plain_faq.SETS / f"{name}.faq.jsonl").read_text().splitlines())
        with tempfile.TemporaryDirectory() as tmp:
            kb = KnowledgeBase.open(Path(tmp))
            kb.upsert_faq(report.faqs)
            router = AnswerPolicy(kb).prepare()
            for case in plain_faq.load_cases(name, split):
                if case["category"] not in RETRIEVAL:
                    continue
                q = smalltalk.strip_greeting(case["turns"][-1])
                history = case["turns"][:-1]
                texts = [q]
                if history and (len(q.split()) <= SHORT_FOLLOW_UP_WORDS or _FOLLOW_UP.search(q)):
                    texts.append(f"{history[-1]} {q}")  # read as the policy reads a follow-up
                lang = language.detect(q, history)
                vs = embedding.embed(texts)
                ves = embedding.embed_en(texts) if router.uses_english_model(lang) else None
                served = [(t, vs[i], ves[i] if ves is not None else None) for i, t in enumerate(texts)]
                multi = [(t, vs[i], None) for i, t in enumerate(texts)]
                for mode, scores in (
                    ("as_served", router.score_readings(served)),
                    ("multilingual", router.score_readings(multi)),
                ):
                    out.append(
                        {
                            "set": name,
                            "mode": mode,
                            "english": scores.english,
                            "features": router.features(scores),
                            "correct": int(case["expect"] not in ("handoff", "reply") and scores.top == case["expect"]),
                            "in_scope": int(case["expect"] not in ("handoff", "reply")),
                        }
                    )
            kb.close()
    return out


def main() -> None:
    every = rows("dev")
    for title, name, dev in (
        (
            "both models (English questions, English FAQ)",
            "CALIBRATOR",
            [r for r in every if r["mode"] == "as_served" and r["english"]],
        ),
        ("multilingual model alone", "CALIBRATOR_MULTILINGUAL", [r for r in every if r["mode"] == "multilingual"]),
    ):
        print(f"-- {title}: {len(dev)} questions")
        fit(name, dev)


def fit(name: str, dev: list[dict]) -> None:
    from sklearn.linear_model import LogisticRegression

    counts: dict[str, int] = defaultdict(int)
    for r in dev:
        counts[r["set"]] += 1
    x = np.array([r["features"] for r in dev])
    y = np.array([r["correct"] for r in dev])
    w = np.array([len(dev) / (len(counts) * counts[r["set"]]) for r in dev])
    model = LogisticRegression(C=1.0).fit(x, y, sample_weight=w)
    coef = [round(float(model.intercept_[0]), 3), *(round(float(c), 3) for c in model.coef_[0])]
    print(f"{name} =", tuple(coef))
    p = model.predict_proba(x)[:, 1]
    for at in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9):
        by: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for r, pi in zip(dev, p, strict=True):
            s = by[r["set"]]
            s[0] += 1
            s[3] += r["in_scope"]
            if pi >= at:
                s[1 if r["correct"] else 2] += 1
        cells = {k: f"{v[1] / max(v[3], 1):.2f}/{v[2] / v[0]:.3f}" for k, v in by.items()}
        wrong = np.mean([v[2] / v[0] for v in by.values()])
        print(f"answer at {at}: mean wrong {wrong:.3f}  right/wrong per set {cells}")


if __name__ == "__main__":
    main()
