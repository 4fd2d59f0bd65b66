"""System status for operators: service health and the AI job queue."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from frontdesk import bus, grpcutil
from frontdesk.admin.v1 import admin_pb2
from frontdesk.settings import Settings


async def system_status(settings: Settings, js) -> admin_pb2.SystemStatus:
    status = admin_pb2.SystemStatus()
    status.checked_at.CopyFrom(Timestamp())
    status.checked_at.GetCurrentTime()
    status.services.add(name="gateway", address=f"{settings.host}:{settings.gateway_port}", health="SERVING")
    health = await grpcutil.check_health(settings.conversation_target)
    status.services.add(name="conversation", address=settings.conversation_target, health=health)
    try:
        info = await js.consumer_info(bus.JOBS_STREAM, bus.INFERENCE_CONSUMER, timeout=2)
        status.queues.add(stream=bus.JOBS_STREAM, consumer=bus.INFERENCE_CONSUMER, pending=info.num_pending or 0,
                          ack_pending=info.num_ack_pending or 0, redelivered=info.num_redelivered or 0,
                          workers=info.num_waiting or 0)
        status.services.add(name="nats", address=",".join(settings.nats_servers), health="SERVING")
    except Exception as err:  # noqa: BLE001 - status reports the failure instead of failing
        status.services.add(name="nats", address=",".join(settings.nats_servers), health="UNREACHABLE", detail=str(err)[:200])
    return status
