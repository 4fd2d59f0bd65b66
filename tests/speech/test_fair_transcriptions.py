"""Transcription jobs are taken tenant by tenant (frontdesk/fair.py through the speech worker's
queue), against a real nats-server: a tenant that queued thirty recordings does not keep another
tenant's two waiting behind all of them, and each job is handed out once."""

from __future__ import annotations

import asyncio

import nats

from frontdesk import bus
from frontdesk import settings as settings_mod
from frontdesk.fair import TenantQueues
from frontdesk_pb.speech.v1 import speech_pb2
from speech.worker import TranscriptionWorker

BUSY = "t_01busytenant00000000000000"
QUIET = "t_01quiettenant0000000000000"


async def test_a_tenants_thirty_recordings_do_not_keep_anothers_two_waiting(nats_server, tmp_path):
    settings = settings_mod.load(env={}, data_dir=tmp_path, nats_url=nats_server.url)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await bus.ensure_streams(js, settings)

    async def queue(tenant: str, n: int) -> None:
        for i in range(n):
            audio_id = f"au_{tenant}_{i:04d}"
            job = speech_pb2.TranscriptionJob(audio_id=audio_id, tenant_id=tenant, conversation_id="c_x")
            await js.publish(bus.speech_subject(tenant), job.SerializeToString(), headers={"Nats-Msg-Id": audio_id})
            await nc.publish(bus.speech_ready_subject(tenant), b"")

    queues = TenantQueues(nc, js, TranscriptionWorker(None, None, settings).queue())
    await queues.start()
    stop = asyncio.Event()
    try:
        await queue(BUSY, 30)
        order: list[str] = []

        async def take() -> None:
            msg = await asyncio.wait_for(queues.next_job(stop), 10)
            assert msg is not None
            order.append(speech_pb2.TranscriptionJob.FromString(msg.data).tenant_id)
            await msg.ack_sync()
            queues.done(bus.tenant_of(msg.subject))

        for _ in range(3):  # the busy tenant's recordings are under way
            await take()
        await queue(QUIET, 2)
        while order.count(QUIET) < 2:
            await take()
        # in its turn (a doorbell or the next second's rescan tells the queue), not behind
        # the 27 others: a FIFO would put it at 30
        assert order.index(QUIET) <= 12, order
        while len(order) < 32:
            await take()
        assert order.count(BUSY) == 30 and order.count(QUIET) == 2  # each once, none lost
        info = await js.stream_info(bus.SPEECH_STREAM)
        assert info.state.messages == 0  # acked work leaves the work queue
    finally:
        stop.set()
        await queues.close()
        await nc.close()
