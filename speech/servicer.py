"""The gRPC layer of the speech service: SpeechService takes a customer's recording (whole or
streamed in chunks) and reports its transcription; the caller comes from the signed caller
context and is checked by SpeechCore."""

from __future__ import annotations

from frontdesk.errors import InvalidArgument, rpc
from frontdesk_pb.speech.v1 import speech_pb2_grpc
from speech.service import SpeechCore


class SpeechServicer(speech_pb2_grpc.SpeechServiceServicer):
    def __init__(self, core: SpeechCore):
        self.core = core

    @rpc
    async def SubmitAudio(self, request, context):
        caller = await self.core.codec.require(context)
        return await self.core.submit(caller, request.header, request.data)

    @rpc
    async def SubmitAudioStream(self, request_iterator, context):
        caller = await self.core.codec.require(context)
        header, parts, size = None, [], 0
        async for chunk in request_iterator:
            if chunk.WhichOneof("kind") == "header":
                if header is not None:
                    raise InvalidArgument("send the header once, first")
                header = chunk.header
                continue
            if header is None:
                raise InvalidArgument("the first chunk must be the header")
            size += len(chunk.data)
            if size > self.core.max_bytes:
                raise InvalidArgument(f"the recording is larger than {self.core.max_bytes} bytes")
            parts.append(chunk.data)
        if header is None:
            raise InvalidArgument("no header and no audio were sent")
        return await self.core.submit(caller, header, b"".join(parts))

    @rpc
    async def GetTranscription(self, request, context):
        caller = await self.core.codec.require(context)
        return await self.core.load_state(caller, request.audio_id)
