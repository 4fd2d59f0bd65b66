"""Tokens per second of the inference service's llama.cpp backend vs raw llama-cpp-python,
on the same model, prompt and threads, alternating runs; plus the grounded answer's time
to first checked sentence and full reply, and the process's memory.

    .venv/bin/python loadtest/model_speed.py [--model qwen2.5-1.5b] [--threads 2] [--runs 3]

Prints one JSON line. Run it on an otherwise idle machine: on 2 shared cores any other
process changes the figures more than the code does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inference import models  # noqa: E402
from inference.backends.llamacpp import LlamaCppBackend  # noqa: E402
from inference.factcheck import Sources  # noqa: E402
from inference.grounded import write_checked  # noqa: E402
from inference.pipeline import build_grounded_request  # noqa: E402
from launcher.demo_tenant import DEMO_FAQ  # noqa: E402

QUESTION = "How long does delivery take to Austria?"


class _Passage:
    def __init__(self, entry: dict):
        self.title, self.text = entry["question"], entry["answer"]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def raw_run(llm, request, max_tokens: int) -> dict:
    """llama-cpp-python alone: the same chat completion, streamed."""
    t0 = time.perf_counter()
    first = None
    pieces = 0
    for chunk in llm.create_chat_completion(
        messages=[{"role": t.role, "content": t.content} for t in request.turns],
        max_tokens=max_tokens,
        temperature=0.0,
        stream=True,
    ):
        if chunk["choices"][0].get("delta", {}).get("content"):
            first = first or time.perf_counter()
            pieces += 1
    end = time.perf_counter()
    return {"first_ms": (first - t0) * 1000, "tokens": pieces, "gen_s": end - first}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="qwen2.5-1.5b")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=96)
    args = ap.parse_args()
    import llama_cpp

    spec = models.spec(args.model)
    path = str(models.installed_path(spec.name))
    passages = [_Passage(e) for e in DEMO_FAQ if e["id"] == "shipping-time"]
    request = build_grounded_request(QUESTION, passages, args.max_tokens, temperature=0.0)
    before = rss_mb()
    backend = LlamaCppBackend(path, n_threads=args.threads, n_ctx=spec.context, writes=spec.writes, tools=spec.tools)
    await backend.start()
    await backend.generate(request)  # warm-up: weights paged in, so RSS counts them
    service_rss = rss_mb() - before
    raw = llama_cpp.Llama(
        model_path=path, n_ctx=spec.context, n_threads=args.threads, n_threads_batch=args.threads, verbose=False
    )
    service, direct = [], []
    for _ in range(args.runs):  # alternating, so drift of the machine hits both alike
        t0 = time.perf_counter()
        result = await backend.generate(request)
        end = time.perf_counter()
        gen_s = end - t0 - result.first_token_ms / 1000
        service.append({"first_ms": result.first_token_ms, "tokens": result.completion_tokens, "gen_s": gen_s})
        direct.append(await asyncio.to_thread(raw_run, raw, request, args.max_tokens))
    raw.close()

    def tps(runs):
        return statistics.median(r["tokens"] / r["gen_s"] for r in runs if r["gen_s"] > 0)

    entry = next(e for e in DEMO_FAQ if e["id"] == "shipping-time")
    sources = Sources([entry["question"], entry["answer"], QUESTION])
    grounded = []
    for _ in range(args.runs):
        shown: list[float] = []
        t0 = time.perf_counter()

        async def release(_text: str, shown=shown, t0=t0) -> None:
            if not shown:
                shown.append((time.perf_counter() - t0) * 1000)

        written = await write_checked(backend, request, sources, "en", release)
        grounded.append(
            {"first_sentence_ms": shown[0] if shown else None, "full_ms": (time.perf_counter() - t0) * 1000}
        )
    await backend.close()
    print(
        json.dumps(
            {
                "model": spec.name,
                "threads": args.threads,
                "runs": args.runs,
                "prompt_tokens": result.prompt_tokens,
                "service_tokens_per_s": round(tps(service), 1),
                "raw_tokens_per_s": round(tps(direct), 1),
                "service_vs_raw": round(tps(service) / tps(direct), 3),
                "service_first_token_ms": round(statistics.median(r["first_ms"] for r in service)),
                "raw_first_token_ms": round(statistics.median(r["first_ms"] for r in direct)),
                "grounded_first_sentence_ms": round(
                    statistics.median(g["first_sentence_ms"] for g in grounded if g["first_sentence_ms"])
                ),
                "grounded_full_ms": round(statistics.median(g["full_ms"] for g in grounded)),
                "grounded_answer": written.text,
                "model_rss_mb": round(service_rss),
                "process_rss_mb": round(rss_mb()),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
