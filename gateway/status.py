"""System status for operators: service health and the AI job queue."""

from __future__ import annotations

import asyncio

from google.protobuf.timestamp_pb2 import Timestamp
from nats.js.errors import NotFoundError

from frontdesk import bus, grpcutil
from frontdesk.settings import Settings
from frontdesk_pb.admin.v1 import admin_pb2


async def system_status(settings: Settings, js) -> admin_pb2.SystemStatus:
    status = admin_pb2.SystemStatus()
    status.checked_at.CopyFrom(Timestamp())
    status.checked_at.GetCurrentTime()
    status.services.add(name="gateway", address=f"{settings.host}:{settings.gateway_port}", health="SERVING")
    # the same services `frontdesk status` checks, concurrently: one slow peer does not stall the page
    targets = {
        "conversation": settings.conversation_target,
        "inference": settings.inference_target,
        "speech": settings.speech_target,
        "analytics": settings.analytics_target,
    }
    healths = await asyncio.gather(*(grpcutil.check_health(t) for t in targets.values()))
    for (name, target), health in zip(targets.items(), healths, strict=False):
        status.services.add(name=name, address=target, health=health)
    try:
        stream = await js.stream_info(bus.JOBS_STREAM)
        consumers = await js.consumers_info(bus.JOBS_STREAM)
        # one consumer per tenant with recent work (frontdesk/fair.py): report the totals
        status.queues.add(
            stream=bus.JOBS_STREAM,
            consumer=f"{len(consumers)} tenant consumers",
            pending=stream.state.messages or 0,
            ack_pending=sum(c.num_ack_pending or 0 for c in consumers),
            redelivered=sum(c.num_redelivered or 0 for c in consumers),
            workers=sum(c.num_waiting or 0 for c in consumers),
        )
        try:  # the analytics consumer's lag: events not yet counted
            events = await js.consumer_info(bus.EVENTS_STREAM, "analytics")
            status.queues.add(
                stream=bus.EVENTS_STREAM,
                consumer="analytics",
                pending=events.num_pending or 0,
                ack_pending=events.num_ack_pending or 0,
                redelivered=events.num_redelivered or 0,
                workers=events.num_waiting or 0,
            )
        except NotFoundError:
            pass  # analytics has not started yet
        status.services.add(name="nats", address=",".join(settings.nats_servers), health="SERVING")
    except Exception as err:  # noqa: BLE001 - status reports the failure instead of failing
        status.services.add(
            name="nats", address=",".join(settings.nats_servers), health="UNREACHABLE", detail=str(err)[:200]
        )
    return status
