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
        stream = await js.stream_info(bus.JOBS_STREAM)
        consumers = await js.consumers_info(bus.JOBS_STREAM)
        # one consumer per tenant with recent work (inference/fair.py): report the totals
        status.queues.add(stream=bus.JOBS_STREAM, consumer=f"{len(consumers)} tenant consumers",
                          pending=stream.state.messages or 0,
                          ack_pending=sum(c.num_ack_pending or 0 for c in consumers),
                          redelivered=sum(c.num_redelivered or 0 for c in consumers))
        status.services.add(name="nats", address=",".join(settings.nats_servers), health="SERVING")
    except Exception as err:  # noqa: BLE001 - status reports the failure instead of failing
        status.services.add(name="nats", address=",".join(settings.nats_servers), health="UNREACHABLE", detail=str(err)[:200])
    return status
