"""Prometheus metrics of every service, served on its own HTTP port (/metrics).

RPC counts, errors and latencies come from one server interceptor; the worker and the
gateway add their own (jobs, tokens, queue, open streams)."""

from __future__ import annotations

import time

import grpc
from prometheus_client import Counter, Gauge, Histogram, start_http_server

RPCS = Counter("frontdesk_rpc_total", "gRPC calls handled", ["service", "method", "code"])
RPC_SECONDS = Histogram(
    "frontdesk_rpc_seconds",
    "gRPC call duration (streams: until closed)",
    ["service", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60),
)
OPEN_STREAMS = Gauge("frontdesk_open_event_streams", "Live event streams this gateway serves")
JOBS = Counter("frontdesk_jobs_total", "AI jobs finished by this worker", ["outcome"])
QUEUE_WAIT = Histogram(
    "frontdesk_job_queue_wait_seconds",
    "Enqueue to pick-up of an AI job",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120),
)
FIRST_TOKEN = Histogram(
    "frontdesk_first_token_seconds",
    "Enqueue to first streamed token",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
FACT_CHECKS = Counter(
    "frontdesk_fact_checks_total",
    "Written answers by fact-check outcome (passed, regenerated, truncated, rejected)",
    ["outcome"],
)
TOKENS = Counter("frontdesk_model_tokens_total", "Tokens generated", ["backend", "model"])
GENERATION_SECONDS = Counter("frontdesk_model_generation_seconds_total", "Time spent generating", ["backend", "model"])
JOBS_QUEUED = Gauge("frontdesk_jobs_queued", "Jobs in the JOBS stream (queued or in progress)")


def serve(port: int, host: str = "127.0.0.1") -> int:
    """Start the /metrics endpoint (a daemon thread); 0 = disabled. Returns the port."""
    if port:
        start_http_server(port, addr=host)
    return port


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        if handler is None:
            return None
        _, service, method = details.method.split("/")
        service = service.rsplit(".", 1)[-1]
        if handler.unary_unary:
            inner = handler.unary_unary

            async def unary(request, context):
                started = time.perf_counter()
                try:
                    return await inner(request, context)
                finally:
                    _record(service, method, context, started)

            return grpc.unary_unary_rpc_method_handler(unary, handler.request_deserializer, handler.response_serializer)
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            async def stream(request, context):
                started = time.perf_counter()
                try:
                    async for item in inner_stream(request, context):
                        yield item
                finally:
                    _record(service, method, context, started)

            return grpc.unary_stream_rpc_method_handler(
                stream, handler.request_deserializer, handler.response_serializer
            )
        return handler


def _record(service: str, method: str, context, started: float) -> None:
    code = context.code()
    name = code.name if isinstance(code, grpc.StatusCode) else "OK" if code is None else str(code)
    RPCS.labels(service, method, name).inc()
    RPC_SECONDS.labels(service, method).observe(time.perf_counter() - started)
