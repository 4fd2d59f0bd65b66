"""The transcription queue consumer: one recording at a time through Whisper, tenants in turn
(frontdesk/fair.py: one tenant's hundred recordings do not keep another's one waiting behind
them), the transcript posted as the customer's voice message, retried on the shared policy
(frontdesk.bus.Redelivery)."""

from __future__ import annotations

import asyncio

import grpc

from frontdesk import bus, logs
from frontdesk.caller import Caller
from frontdesk.fair import Queue, TenantQueues
from frontdesk_pb.conversation.v1 import conversation_pb2
from frontdesk_pb.events.v1 import events_pb2 as ev
from frontdesk_pb.speech.v1 import speech_pb2
from speech.audio import AudioError, load_audio
from speech.service import SpeechCore

log = logs.get("speech.worker")


class TranscriptionWorker:
    """Pulls transcription jobs, runs Whisper (one at a time: it uses both cores), posts the
    transcript as the customer's voice message, acks."""

    def __init__(self, core: SpeechCore, transcriber, settings):
        self.core = core
        self.transcriber = transcriber
        self.settings = settings
        self.redelivery = bus.Redelivery(max_deliver=4)
        self.ack_wait_s = 120.0  # a minute of audio through Whisper base on 2 busy cores

    def queue(self) -> Queue:
        """The SPEECH stream, tenants in turn (one recording at a time: no cap to share)."""
        return Queue(
            stream=bus.SPEECH_STREAM,
            subject=bus.speech_subject,
            consumer=bus.speech_consumer,
            doorbell=bus.speech_ready_subject,
            redelivery=self.redelivery,
            ack_wait_s=self.ack_wait_s,
            cap=1,
        )

    async def run(self, stop: asyncio.Event) -> None:
        queues = TenantQueues(self.core.pub.nc, self.core.pub.js, self.queue())
        await queues.start()
        try:
            while not stop.is_set():
                msg = await queues.next_job(stop)
                if msg is None:
                    break
                try:
                    await self._handle(msg)
                except Exception as err:  # noqa: BLE001 - NATS or the store away: redelivered after ack_wait
                    log.warning("transcription.unhandled", subject=msg.subject, error=str(err))
                finally:
                    queues.done(bus.tenant_of(msg.subject))
        finally:
            await queues.close()

    async def _handle(self, msg) -> None:
        tenant_id = bus.tenant_of(msg.subject)
        try:
            job = speech_pb2.TranscriptionJob.FromString(msg.data)
        except Exception:  # noqa: BLE001 - a malformed job can never succeed
            await msg.term()
            return
        if job.tenant_id != tenant_id:
            await msg.term()
            return
        state = speech_pb2.Transcription(audio_id=job.audio_id, state="transcribing")
        await self.core.pub.live(
            tenant_id,
            job.conversation_id,
            transcription=ev.TranscriptionProgress(audio_id=job.audio_id, state="transcribing"),
        )
        try:
            data = b"".join([c async for c in self.core.blobs.get(tenant_id, job.object_key)])
            decoded = await asyncio.to_thread(load_audio, data, job.content_type, self.core.max_seconds)
            transcript = await asyncio.to_thread(self.transcriber.transcribe, decoded.samples, job.language or None)
            state.duration_s = decoded.info.duration_s
            if not transcript.text.strip():
                state.state, state.error = "failed", "no speech was heard in the recording"
            else:
                caller = Caller(
                    tenant_id=tenant_id,
                    kind=job.submitter_kind or "visitor",
                    subject=job.submitted_by,
                    role=job.submitter_kind or "visitor",
                )
                posted = await self.core.conversations.PostVoiceMessage(
                    conversation_pb2.PostVoiceMessageRequest(
                        conversation_id=job.conversation_id,
                        text=transcript.text.strip(),
                        audio_id=job.audio_id,
                        language=transcript.language or "",
                        client_message_id=f"voice:{job.audio_id}",
                    ),
                    metadata=self.core.codec.metadata(caller),
                    timeout=10,
                )
                state.state, state.text = "done", transcript.text.strip()
                state.language, state.message_id = transcript.language or "", posted.message.id
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                # the conversation was erased meanwhile: its recording goes too, and no record of it
                for key in (job.object_key, f"audio/{job.audio_id}.json"):
                    await self.core.blobs.delete(tenant_id, key)
                log.info("transcription.conversation_gone", tenant=tenant_id, audio=job.audio_id)
                await msg.ack()
                return
            state.state, state.error = "failed", str(err.details())
        except KeyError:  # the recording is gone (its conversation erased): nothing to transcribe
            await self.core.blobs.delete(tenant_id, f"audio/{job.audio_id}.json")
            log.info("transcription.recording_gone", tenant=tenant_id, audio=job.audio_id)
            await msg.ack()
            return
        except AudioError as err:
            state.state, state.error = "failed", str(err)
        except Exception as err:  # noqa: BLE001 - a retry may help (store or model hiccup)
            deliveries = msg.metadata.num_delivered if msg.metadata else 1
            if not self.redelivery.is_final(deliveries):
                log.warning("transcription.retry", tenant=tenant_id, audio=job.audio_id, error=str(err))
                await msg.nak(delay=self.redelivery.delay_s(deliveries))
                return
            # the last try: the customer is told, instead of the recording waiting forever
            log.error("transcription.failed", tenant=tenant_id, audio=job.audio_id, error=str(err))
            state.state, state.error = "failed", "the recording could not be transcribed; please type your message"
        await self.core.save_state(tenant_id, job.conversation_id, state)
        await self.core.pub.live(
            tenant_id,
            job.conversation_id,
            transcription=ev.TranscriptionProgress(
                audio_id=job.audio_id, state=state.state, text=state.text, language=state.language
            ),
        )
        log.info("transcription.finished", tenant=tenant_id, audio=job.audio_id, state=state.state)
        await msg.ack()
