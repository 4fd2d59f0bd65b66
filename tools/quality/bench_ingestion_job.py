"""The ingestion *job* on a 10k-chunk knowledge base, end to end: submit (upload + record +
JetStream), a worker runs it (parse, chunk, embed, index, train the answer policy's router,
snapshot, publish), and a second worker's cache loads the published snapshot (router
included: it trains nothing). Real nats-server, embedded blob store. `training_s` is the
time the job spent in state `training`; `chunks_per_s_without_training` leaves it out.

    .venv/bin/python tools/quality/bench_ingestion_job.py      # prints one JSON object
"""

import asyncio
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import nats

from frontdesk import bus
from frontdesk.settings import Settings
from frontdesk.stores.localblob import LocalBlobStore
from inference.ingestion import IngestionJobs
from inference.kbshare import KnowledgeShare
from inference.knowledge import embedding
from inference.worker import IngestionWorker
from launcher.supervisor import nats_server_binary

spec = importlib.util.spec_from_file_location("rq", ROOT / "tools" / "quality" / "run_quality.py")
rq = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rq)
T = "t_01bench0000000000000000000"


def kb_router_s(share, tenant):
    return share._state(tenant).served.policy.router().train_seconds


async def main():
    docs = rq._synthetic_documents(ROOT.parent / "shared" / "data", 10_000)
    data = "\n".join(json.dumps({"id": d.id, "title": d.title, "text": d.text}) for d in docs).encode()
    embedding.embed(["warm up"])
    tmp = Path(tempfile.mkdtemp())
    from tests.conftest import service_port

    port = service_port()
    proc = subprocess.Popen(
        [str(nats_server_binary()), "-js", "-sd", str(tmp / "nats"), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    try:
        nc = await nats.connect(f"nats://127.0.0.1:{port}")
        js = nc.jetstream()
        await bus.ensure_streams(js, Settings())
        heads = await bus.knowledge_heads(js, Settings())
        blobs = LocalBlobStore(tmp / "blobs")
        a = KnowledgeShare(blobs, heads, tmp / "a", ThreadPoolExecutor(1), nc)
        b = KnowledgeShare(blobs, heads, tmp / "b", ThreadPoolExecutor(1), None, 0)
        jobs = IngestionJobs(blobs)
        t_submit = time.perf_counter()
        rec = await jobs.submit(js, T, "docs.jsonl", "", data)
        submit_ms = (time.perf_counter() - t_submit) * 1000
        stop = asyncio.Event()
        task = asyncio.create_task(IngestionWorker(a, jobs, js).run(stop))
        t_run = t_train = None
        while True:
            r = await jobs.get(T, rec.id)
            if r.state == "running" and t_run is None:
                t_run = time.perf_counter()
            if r.state == "training" and t_train is None:
                t_train = time.perf_counter()
            if r.state in ("done", "failed"):
                break
            await asyncio.sleep(0.02)
        t_done = time.perf_counter()
        stop.set()
        await task
        t0 = time.perf_counter()
        kb = await b.sync(T)
        load = time.perf_counter() - t0
        snap = [p for p in (tmp / "blobs").rglob("*.db")]
        print(
            json.dumps(
                {
                    "state": r.state,
                    "total": r.total,
                    "submit_ms": round(submit_ms, 1),
                    "job_seconds_from_submit": round(t_done - t_submit, 2),
                    "chunks_per_s_from_submit": round(r.total / (t_done - t_submit)),
                    "chunks_per_s_from_running": round(r.total / (t_done - t_run)) if t_run else None,
                    "training_s": round(t_done - t_train, 2) if t_train else None,
                    "chunks_per_s_without_training": round(r.total / (t_done - t_submit - (t_done - t_train)))
                    if t_train
                    else None,
                    "router_train_s": round(kb_router_s(b, T), 2),
                    "other_worker_trained": b._state(T).served.trained_here,
                    "snapshot_mb": round(snap[0].stat().st_size / 1e6, 1),
                    "other_worker_load_s": round(load, 2),
                    "loaded_rows": kb.row_count,
                }
            )
        )
        await nc.close()
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


asyncio.run(main())
