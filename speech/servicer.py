"""The gRPC layer of the speech service: SpeechService takes a customer's recording (whole or
streamed in chunks) and reports its transcription; the caller comes from the signed caller
context and is checked by SpeechCore."""

from __future__ import annotations

from frontdesk.errors import InvalidArgument, rpc
from frontdesk_pb.speech.v1 import speech_pb2_grpc
from speech.service import SpeechCore

DRAIN_LIMIT = 2  # a refused stream is read on up to twice the largest recording accepted


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
        header, size = None, 0
        parts: list[bytes] = []
        refused: InvalidArgument | None = None
        # the stream is read to its end even once it is refused: a server that answers while
        # the client is still sending can reach the client as a reset stream (INTERNAL)
        # instead of the reason; what is read after a refusal is not kept
        async for chunk in request_iterator:
            if refused is not None:
                size += len(chunk.data)
                if size > DRAIN_LIMIT * self.core.max_bytes:
                    break  # not reading a flood to its end
                continue
            if chunk.WhichOneof("kind") == "header":
                if header is not None:
                    refused = InvalidArgument("send the header once, first")
                header = chunk.header
                continue
            if header is None:
                refused = InvalidArgument("the first chunk must be the header")
                continue
            size += len(chunk.data)
            if size > self.core.max_bytes:
                refused = InvalidArgument(f"the recording is larger than {self.core.max_bytes} bytes")
                parts = []
                continue
            parts.append(chunk.data)
        if refused is not None:
            raise refused
        if header is None:
            raise InvalidArgument("no header and no audio were sent")
        return await self.core.submit(caller, header, b"".join(parts))

    @rpc
    async def GetTranscription(self, request, context):
        caller = await self.core.codec.require(context)
        return await self.core.load_state(caller, request.audio_id)
