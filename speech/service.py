"""The speech service: callers submit audio, it is checked and stored under the tenant,
transcribed as a JetStream job, and the transcript is posted into the conversation as
the customer's (voice) message, so the normal AI path answers it.

Checks happen before anything is stored (empty, truncated, silent, too long or
mislabelled audio is refused with INVALID_ARGUMENT); the stored recording and its state
live in the blob store under tenant/<tenant>/audio/<audio id>."""

from __future__ import annotations

import asyncio
import json

from frontdesk import bus, ids, logs
from frontdesk.caller import Caller, CallerCodec, Kind
from frontdesk.errors import InvalidArgument, NotFound, PermissionDenied
from frontdesk.publish import Publisher
from frontdesk.stores.base import BlobStore
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.conversation.v1 import conversation_pb2_grpc
from frontdesk_pb.events.v1 import events_pb2 as ev
from frontdesk_pb.speech.v1 import speech_pb2
from speech.audio import AudioError, load_audio

log = logs.get("speech.service")


class SpeechCore:
    def __init__(
        self,
        blobs: BlobStore,
        publisher: Publisher,
        conversations: conversation_pb2_grpc.ConversationServiceStub,
        codec: CallerCodec,
        max_seconds: float,
        max_bytes: int,
    ):
        self.blobs = blobs
        self.pub = publisher
        self.conversations = conversations
        self.codec = codec
        self.max_seconds = max_seconds
        self.max_bytes = max_bytes

    async def submit(
        self, caller: Caller, header: speech_pb2.AudioHeader, data: bytes
    ) -> speech_pb2.SubmitAudioResponse:
        if caller.kind not in (Kind.VISITOR, Kind.API_KEY):
            raise PermissionDenied("audio is submitted by customers")
        # may this caller post into the conversation? (NOT_FOUND for anyone else's)
        await self.conversations.GetConversation(
            chat_pb2.GetConversationRequest(conversation_id=header.conversation_id),
            metadata=self.codec.metadata(caller),
            timeout=10,
        )
        if len(data) > self.max_bytes:
            raise InvalidArgument(f"the recording is larger than {self.max_bytes} bytes")
        try:  # decode and check it all now: nothing is stored for audio that cannot be transcribed
            decoded = await asyncio.to_thread(load_audio, data, header.content_type, self.max_seconds)
        except AudioError as err:
            raise InvalidArgument(f"audio refused ({err.code}): {err}") from None
        audio_id = ids.new_id("audio")

        async def chunks():
            yield data

        await self.blobs.put(
            caller.tenant_id,
            f"audio/{audio_id}",
            chunks(),
            content_type=decoded.info.content_type,
            max_bytes=self.max_bytes,
        )
        state = speech_pb2.Transcription(audio_id=audio_id, state="queued", duration_s=decoded.info.duration_s)
        await self.save_state(caller.tenant_id, header.conversation_id, state)
        job = speech_pb2.TranscriptionJob(
            audio_id=audio_id,
            tenant_id=caller.tenant_id,
            conversation_id=header.conversation_id,
            object_key=f"audio/{audio_id}",
            content_type=decoded.info.content_type,
            language=header.language,
            submitted_by=caller.subject,
            submitter_kind=caller.kind,
        )
        await self.pub.js.publish(
            bus.speech_subject(caller.tenant_id), job.SerializeToString(), headers={"Nats-Msg-Id": audio_id}, timeout=5
        )
        await self.pub.nc.publish(bus.speech_ready_subject(caller.tenant_id), b"")  # wake an idle worker
        await self.pub.live(
            caller.tenant_id,
            header.conversation_id,
            transcription=ev.TranscriptionProgress(audio_id=audio_id, state="queued"),
        )
        log.info(
            "audio.submitted",
            tenant=caller.tenant_id,
            conversation=header.conversation_id,
            audio=audio_id,
            seconds=round(decoded.info.duration_s, 2),
        )
        return speech_pb2.SubmitAudioResponse(audio_id=audio_id, transcription=state)

    async def save_state(self, tenant_id: str, conversation_id: str, state: speech_pb2.Transcription) -> None:
        body = json.dumps(
            {
                "conversation_id": conversation_id,
                "state": state.state,
                "text": state.text,
                "language": state.language,
                "duration_s": state.duration_s,
                "message_id": state.message_id,
                "error": state.error,
            }
        ).encode()

        async def chunks():
            yield body

        await self.blobs.put(
            tenant_id, f"audio/{state.audio_id}.json", chunks(), content_type="application/json", max_bytes=64 * 1024
        )

    async def load_state(self, caller: Caller, audio_id: str) -> speech_pb2.Transcription:
        if not ids.is_id(audio_id, "audio"):
            raise NotFound("recording not found")
        try:
            raw = b"".join([c async for c in self.blobs.get(caller.tenant_id, f"audio/{audio_id}.json")])
        except KeyError:
            raise NotFound("recording not found") from None
        saved = json.loads(raw)
        # the recording belongs to a conversation: the caller must be allowed to see it
        await self.conversations.GetConversation(
            chat_pb2.GetConversationRequest(conversation_id=saved["conversation_id"]),
            metadata=self.codec.metadata(caller),
            timeout=10,
        )
        return speech_pb2.Transcription(
            audio_id=audio_id,
            state=saved["state"],
            text=saved["text"],
            language=saved["language"],
            duration_s=saved["duration_s"],
            message_id=saved["message_id"],
            error=saved["error"],
        )
