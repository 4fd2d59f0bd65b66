"""Process entry point of an inference worker: the model backend, the JetStream job
loop, and a small gRPC server for health checks."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from frontdesk import bus, grpcutil, logs, metrics, stores
from frontdesk.caller import CallerCodec
from frontdesk.publish import Publisher
from frontdesk.secretbox import SecretBox
from frontdesk.settings import Settings, StartupError
from frontdesk_pb.inference.v1 import inference_pb2, inference_pb2_grpc
from frontdesk_pb.knowledge.v1 import knowledge_pb2, knowledge_pb2_grpc
from inference import models, ratelimit
from inference.backends import make_backend
from inference.grounding import Grounding
from inference.ingestion import IngestionJobs
from inference.kbsetup import open_share
from inference.servicer import InferenceServicer, KnowledgeServicer
from inference.summary import BriefWriter
from inference.tenants import BackendPool, TenantConfigs
from inference.worker import IngestionWorker, Worker

log = logs.get("inference")


def backend_options(settings: Settings) -> dict:
    if settings.backend == "llamacpp":
        model, path, problem = models.resolve(settings.model)
        if problem:
            log.warning("inference.model_unavailable", problem=problem)
        return {
            "model_path": str(path),
            "n_threads": settings.llama_threads,
            "n_ctx": model.context,
            "writes": model.writes,
            "tools": model.tools,
        }
    if settings.backend == "openai":
        if not settings.openai_base_url or not settings.openai_model:
            raise StartupError("backend=openai needs FRONTDESK_OPENAI_BASE_URL and FRONTDESK_OPENAI_MODEL")
        return {
            "base_url": settings.openai_base_url,
            "model": settings.openai_model,
            "api_key": settings.openai_api_key,
        }
    if settings.backend == "echo":
        return {"token_delay_s": settings.echo_token_delay_ms / 1000}
    return {}


KNOWLEDGE_SERVICE = knowledge_pb2.DESCRIPTOR.services_by_name["KnowledgeService"].full_name
INFERENCE_SERVICE = inference_pb2.DESCRIPTOR.services_by_name["InferenceService"].full_name


async def serve(settings: Settings) -> None:
    metrics.serve(settings.metrics_port, settings.host)
    server = grpcutil.Server([KNOWLEDGE_SERVICE, INFERENCE_SERVICE])
    codec = CallerCodec(settings.secret_bytes())
    # the knowledge bases live in the blob store and NATS; this process keeps a cache
    nc = await bus.connect(settings, "inference")
    js = nc.jetstream()
    await bus.ensure_streams(js, settings)
    blobs = stores.open_blob_store(settings)
    await blobs.start()
    share = await open_share(settings, nc, ThreadPoolExecutor(max_workers=1, thread_name_prefix="knowledge"), blobs)
    await share.listen()
    grounding = Grounding(settings.data_dir, share)
    jobs = IngestionJobs(blobs)
    knowledge_pb2_grpc.add_KnowledgeServiceServicer_to_server(
        KnowledgeServicer(share, grounding, codec, jobs, js), server.grpc
    )
    store = stores.open_log_store(settings)
    inference_servicer = InferenceServicer(store, codec)
    inference_pb2_grpc.add_InferenceServiceServicer_to_server(inference_servicer, server.grpc)
    port = server.bind(settings.host, settings.inference_port)
    await server.start(serving=False)  # not ready until the model is loaded and the consumer bound
    stop = grpcutil.stop_event()
    backend = make_backend(settings.backend, **backend_options(settings))
    await backend.start()
    # tenants' AI settings and tools: read through the account store, as the gateway writes them
    accounts = stores.open_account_store(settings)
    # model backends behind request allowances shared by every worker (inference/ratelimit.py)
    limits_kv = await ratelimit.open_bucket(js, settings.stream_replicas)
    backend = ratelimit.guard(
        backend,
        limits_kv,
        settings,
        per_minute=settings.backend_requests_per_minute,
        key_parts=(settings.backend, settings.openai_base_url, settings.openai_model, settings.openai_api_key),
    )
    backends = BackendPool(backend, settings, limits_kv=limits_kv)
    publisher = Publisher(nc, js)
    tenants = TenantConfigs(accounts, SecretBox.from_settings(settings), settings)
    worker = Worker(
        settings,
        store,
        js,
        publisher,
        backend,
        grounding if settings.answer_policy == "knowledge" else None,
        tenants=tenants,
        backends=backends,
        knowledge=grounding,
    )
    inference_servicer.brief_writer = BriefWriter(tenants, backends, settings.grounded_generation)
    loop_task = asyncio.create_task(worker.run(stop))
    ingestion = IngestionWorker(
        share, jobs, js, ack_wait_s=settings.job_ack_wait_s, max_deliver=settings.job_max_deliver
    )
    ingest_task = asyncio.create_task(ingestion.run(stop))
    await server.set_serving(True)
    log.info("inference.serving", address=f"{settings.host}:{port}", backend=backend.name, model=backend.model)
    await stop.wait()
    log.info("inference.stopping", in_flight=len(worker.in_flight))
    await server.set_serving(False)
    await loop_task  # finishes the jobs in hand before letting go
    await ingest_task  # finishes the ingestion job in hand (or leaves it for redelivery)
    await share.close()
    await server.stop()
    await publisher.flush()
    await nc.drain()
    await backends.close()
    await backend.close()
    await store.close()
    await accounts.close()
    await blobs.close()
