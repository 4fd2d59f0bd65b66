"""From ImportFile of a ~2,500-entry FAQ to the first customer answer from it, on another
worker: real nats-server, embedded blob store, two processes as in production: an
ingestion worker (this script with --ingest) and an answering worker (this process: a
KnowledgeShare listening for notices, questions through Grounding, as the inference worker
asks them). The answering worker starts at version 1 (a small FAQ) and asks a question of
the new FAQ every 50 ms throughout; each answer records its latency and the version that
answered it.

The FAQ: BANKING77 train (../shared/data, CC BY 4.0) cut into entries of 4 questions of one
intent (the first is the entry's question, the other three its examples): 2,535 entries.

    .venv/bin/python tools/quality/bench_router_swap.py      # prints one JSON object
"""

import asyncio
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import nats  # noqa: E402

from frontdesk import bus  # noqa: E402
from frontdesk.settings import Settings  # noqa: E402
from frontdesk.stores.localblob import LocalBlobStore  # noqa: E402
from inference.ingestion import IngestionJobs  # noqa: E402
from inference.kbshare import KnowledgeShare  # noqa: E402
from inference.knowledge import FaqEntry, embedding  # noqa: E402
from inference.worker import IngestionWorker  # noqa: E402

T = "t_01benchswap00000000000000"


def faq_lines(data: Path, per_entry: int = 4) -> list[str]:
    by: dict[str, list[str]] = {}
    with open(data / "banking77" / "train.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            by.setdefault(r["category"], []).append(r["text"])
    lines = []
    for label, texts in sorted(by.items()):
        for k in range(0, len(texts), per_entry):
            group = texts[k : k + per_entry]
            lines.append(
                json.dumps(
                    {
                        "id": f"{label}-{k // per_entry}",
                        "question": group[0],
                        "answer": f"Answer {k // per_entry} about {label.replace('_', ' ')}.",
                        "examples": group[1:],
                    }
                )
            )
    return lines


async def ingest_worker(url: str, blob_dir: str, cache: str) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    heads = await bus.knowledge_heads(js, Settings())
    blobs = LocalBlobStore(Path(blob_dir))
    share = KnowledgeShare(blobs, heads, Path(cache), ThreadPoolExecutor(1), nc)
    stop = asyncio.Event()
    await IngestionWorker(share, IngestionJobs(blobs), js, ack_wait_s=60).run(stop)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1) if values else 0.0


async def main() -> None:
    lines = faq_lines(ROOT.parent / "shared" / "data")
    data = "\n".join(lines).encode()
    new_ids = {json.loads(line)["id"] for line in lines}
    probe = json.loads(lines[len(lines) // 2])
    question = probe["examples"][0]
    embedding.embed(["warm up"])
    tmp = Path(tempfile.mkdtemp())
    from launcher.supervisor import nats_server_binary
    from tests.conftest import service_port

    port = service_port()
    url = f"nats://127.0.0.1:{port}"
    nats_proc = subprocess.Popen(
        [str(nats_server_binary()), "-js", "-sd", str(tmp / "nats"), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = None
    try:
        await asyncio.sleep(1)
        nc = await nats.connect(url)
        js = nc.jetstream()
        await bus.ensure_streams(js, Settings())
        heads = await bus.knowledge_heads(js, Settings())
        blobs = LocalBlobStore(tmp / "blobs")
        from inference.grounding import Grounding

        b = KnowledgeShare(blobs, heads, tmp / "b", ThreadPoolExecutor(1), nc)
        await b.listen()
        grounding = Grounding(tmp / "unused", share=b)
        small = [
            FaqEntry(
                "opening-hours",
                "What are your opening hours?",
                "9:00-17:00, Monday to Friday.",
                ("when are you open", "what time do you open", "are you open on weekends"),
            ),
            FaqEntry(
                "contact",
                "How do I contact you?",
                "Write to help@example.test.",
                ("what is your email", "how can I reach support", "contact details"),
            ),
        ]
        _, head = await b.write(T, lambda kb: kb.upsert_faq(small))
        first = await grounding.decide(T, question, [])
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        worker = subprocess.Popen(
            [sys.executable, __file__, "--ingest", url, str(tmp / "blobs"), str(tmp / "a")], env=env
        )
        jobs = IngestionJobs(blobs)
        states: dict[str, float] = {}
        answers: list[tuple[float, float, int, str]] = []  # (t since submit, ms, version, cited)
        t0 = time.perf_counter()
        record = await jobs.submit(js, T, "banking-faq.jsonl", "application/x-ndjson", data)
        first_new = None
        after = 0
        while after < 20:
            rec = await jobs.get(T, record.id)
            states.setdefault(rec.state, round(time.perf_counter() - t0, 2))
            started = time.perf_counter()
            version = b._state(T).served.version if b._state(T).served else 0
            decision = await grounding.decide(T, question, [])
            ms = (time.perf_counter() - started) * 1000
            cited = decision.citations[0].entry_id if decision.citations else decision.reason
            answers.append((round(started - t0, 3), ms, version, cited))
            if first_new is None and cited in new_ids:
                first_new = (round(time.perf_counter() - t0, 2), round(ms, 1), cited == probe["id"])
            if first_new is not None:
                after += 1
            await asyncio.sleep(0.05)
        before = [ms for _, ms, _, c in answers if c not in new_ids]
        swapped = [ms for _, ms, _, c in answers if c in new_ids]
        served = b._state(T).served
        print(
            json.dumps(
                {
                    "entries": len(lines),
                    "first_answer_before_import": first.reason,
                    "job_states_s_from_submit": states,
                    "first_new_answer_s_from_submit": first_new[0] if first_new else None,
                    "first_new_answer_ms": first_new[1] if first_new else None,
                    "first_new_answer_is_the_probe_entry": first_new[2] if first_new else None,
                    "questions_during_import": len(before),
                    "during_import_ms": {
                        "p50": pct(before, 0.5),
                        "p99": pct(before, 0.99),
                        "max": round(max(before), 1),
                    },
                    "after_swap_ms": {"p50": pct(swapped, 0.5), "max": round(max(swapped), 1)},
                    "answering_worker_trained_router": served.trained_here,
                    "router_train_seconds_on_ingest_worker": round(served.policy.router().train_seconds, 1),
                }
            )
        )
        await b.close()
        await nc.close()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait()
        nats_proc.terminate()
        nats_proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--ingest"]:
        asyncio.run(ingest_worker(*sys.argv[2:5]))
    else:
        asyncio.run(main())
