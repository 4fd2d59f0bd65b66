"""The runtime every service's server.py is wired on: a gRPC server with health checking,
reflection, metrics, tracing and error decoding (`Server`), graceful shutdown on SIGTERM
(`stop_event`, then `Server.stop`: NOT_SERVING first, then a grace period for the calls in
flight), and the channel to another service (`channel`)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterable, Sequence

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from frontdesk.settings import StartupError

# keepalives let long-lived event streams notice dead peers; larger limits suit uploads
CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 32 * 1024 * 1024),
    ("grpc.max_send_message_length", 32 * 1024 * 1024),
]
SERVER_OPTIONS = [
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.max_receive_message_length", 32 * 1024 * 1024),
    ("grpc.max_send_message_length", 32 * 1024 * 1024),
    ("grpc.max_concurrent_streams", 100_000),
]


SHUTDOWN_GRACE_S = 3.0  # how long calls in flight may finish after SIGTERM


class _MethodAwarePool:
    """The default descriptor pool, except that a method's full name (`pkg.Service.Method`)
    also resolves to the file that declares it. grpc-python's reflection asks the pool for
    `file_containing_symbol`, and protobuf's pool does not index methods (grpc/grpc#34743),
    so `grpcurl describe pkg.Service.Method` and `ghz --call pkg.Service/Method` failed
    with "Symbol not found"."""

    def __init__(self, pool: descriptor_pool.DescriptorPool):
        self._pool = pool

    def FindFileContainingSymbol(self, symbol: str):  # noqa: N802 - the pool's own method name
        try:
            return self._pool.FindFileContainingSymbol(symbol)
        except KeyError:
            return self._pool.FindMethodByName(symbol).containing_service.file  # KeyError again when unknown

    def __getattr__(self, name: str):
        return getattr(self._pool, name)


class Server:
    """A grpc.aio server with health and reflection, serving the given services."""

    def __init__(self, service_names: Iterable[str], interceptors: Sequence[grpc.aio.ServerInterceptor] = ()):
        from frontdesk import tracing
        from frontdesk.decoding import DecodingInterceptor
        from frontdesk.metrics import MetricsInterceptor

        # DecodingInterceptor last (innermost): it wraps the handler our servicer code runs in
        self.grpc = grpc.aio.server(
            options=SERVER_OPTIONS,
            interceptors=[*tracing.server_interceptors(), MetricsInterceptor(), *interceptors, DecodingInterceptor()],
        )
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.grpc)
        self._names = list(service_names)
        reflection.enable_server_reflection(
            [*self._names, health.SERVICE_NAME, reflection.SERVICE_NAME],
            self.grpc,
            pool=_MethodAwarePool(descriptor_pool.Default()),
        )
        self.port = 0

    def bind(self, host: str, port: int) -> int:
        self.port = self.grpc.add_insecure_port(f"{host}:{port}")
        if self.port == 0:
            raise StartupError(f"cannot listen on {host}:{port} (port in use?)")
        return self.port

    async def start(self, serving: bool = True) -> None:
        """Start answering; serving=False keeps health at NOT_SERVING until `set_serving(True)`
        (a service that is not ready until its model or consumer is)."""
        await self.grpc.start()
        await self.set_serving(serving)

    async def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ["", *self._names]:
            await self.health.set(name, status)

    async def stop(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        await self.set_serving(False)
        await self.grpc.stop(grace_s)


def channel(target: str) -> grpc.aio.Channel:
    """A channel to another service of the mesh (keepalives, limits, trace propagation)."""
    from frontdesk import tracing

    # round_robin over every address the name resolves to: with dns:///service targets
    # (Kubernetes headless Services) calls spread over all replicas, not the first one
    return grpc.aio.insecure_channel(
        target,
        options=[*CHANNEL_OPTIONS, ("grpc.lb_policy_name", "round_robin")],
        interceptors=tracing.client_interceptors() or None,
    )


def stop_event() -> asyncio.Event:
    """An event set on SIGTERM or SIGINT, for graceful shutdown."""
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, event.set)
    return event


async def check_health(target: str, timeout_s: float = 2.0, service: str = "") -> str:
    """SERVING / NOT_SERVING / UNKNOWN / UNREACHABLE for one server."""
    try:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout_s)
            return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    except grpc.aio.AioRpcError as err:
        if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return "UNREACHABLE"
        return "UNKNOWN"
