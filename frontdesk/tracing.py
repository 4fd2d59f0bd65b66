"""OpenTelemetry traces that follow one message through the mesh.

A customer's SendMessage is one trace: the gateway's and conversation's gRPC spans
(the official grpc.aio interceptors, which carry the context in gRPC metadata), then
the job on JetStream (the context rides in the NATS message's `traceparent` header)
and the inference worker's `inference.job` span with its backend and store calls.

Off by default (no exporter, no cost beyond the no-op API). FRONTDESK_TRACES=otlp
sends spans over OTLP/HTTP to FRONTDESK_OTLP_ENDPOINT (a collector, Jaeger, Tempo);
FRONTDESK_TRACES=jsonl writes one JSON span a line into FRONTDESK_TRACES_DIR, one file
per process (development and the tests).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from frontdesk.settings import StartupError

_enabled = False


class JsonLinesExporter(SpanExporter):
    """One compact JSON object a line: easy to grep, and to assert on in tests."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def export(self, spans) -> SpanExportResult:
        lines = [json.dumps(json.loads(span.to_json()), separators=(",", ":")) for span in spans]
        with self._lock:
            self._file.write("".join(line + "\n" for line in lines))
            self._file.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()


def setup(service: str, settings) -> bool:
    """Installs the process's tracer provider; returns whether tracing is on."""
    global _enabled
    mode = settings.traces.strip().lower()
    if mode in ("", "none", "off"):
        _enabled = False
        return False
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"frontdesk-{service}", "service.instance.id": str(os.getpid())}),
        sampler=ParentBased(TraceIdRatioBased(settings.traces_sample_ratio)),
    )
    if mode == "jsonl":
        directory = Path(settings.traces_dir) if settings.traces_dir else Path(settings.data_dir) / "traces"
        # written as each span ends, so nothing is lost when a process is killed
        provider.add_span_processor(
            SimpleSpanProcessor(JsonLinesExporter(directory / f"{service}-{os.getpid()}.jsonl"))
        )
    elif mode == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces" if settings.otlp_endpoint else None
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    else:
        raise StartupError(f"FRONTDESK_TRACES must be empty, otlp or jsonl, not {settings.traces!r}")
    trace.set_tracer_provider(provider)
    _enabled = True
    return True


def enabled() -> bool:
    return _enabled


def server_interceptors() -> list:
    if not _enabled:
        return []
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return [aio_server_interceptor()]


def client_interceptors() -> list:
    if not _enabled:
        return []
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    return list(aio_client_interceptors())


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def inject(headers: dict[str, str]) -> dict[str, str]:
    """Adds the current trace context (traceparent) to NATS headers."""
    if _enabled:
        propagate.inject(headers)
    return headers


@contextlib.contextmanager
def consumer_span(name: str, headers: Mapping[str, str] | None, **attributes) -> Iterator[trace.Span]:
    """A span for work taken off NATS, parented by the publisher's context when the
    message carries one."""
    if not _enabled:
        yield trace.INVALID_SPAN
        return
    parent = propagate.extract(dict(headers or {}))
    token = otel_context.attach(parent)
    try:
        with trace.get_tracer("frontdesk.bus").start_as_current_span(
            name, kind=trace.SpanKind.CONSUMER, attributes={k: v for k, v in attributes.items() if v is not None}
        ) as span:
            yield span
    finally:
        otel_context.detach(token)


def current_trace_id() -> str:
    """Hex trace id of the active span, for log lines; empty when there is none."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""
