"""Process entry point of the speech service: SpeechService over gRPC and the
transcription job loop."""

from __future__ import annotations

import asyncio

from frontdesk import bus, grpcutil, logs, metrics, stores
from frontdesk.caller import CallerCodec
from frontdesk.publish import Publisher
from frontdesk.settings import Settings
from frontdesk_pb.conversation.v1 import conversation_pb2_grpc
from frontdesk_pb.speech.v1 import speech_pb2, speech_pb2_grpc
from speech.service import SpeechCore
from speech.servicer import SpeechServicer
from speech.worker import TranscriptionWorker

log = logs.get("speech")
SERVICE_NAME = speech_pb2.DESCRIPTOR.services_by_name["SpeechService"].full_name


def make_transcriber(settings: Settings):
    """faster-whisper by default; openai-whisper where a checkpoint is configured (GPU nodes)."""
    if settings.whisper_checkpoint:
        from speech.transcriber import OpenAIWhisperTranscriber

        return OpenAIWhisperTranscriber(settings.whisper_checkpoint, device=settings.whisper_device)
    from speech.transcriber import WhisperTranscriber

    compute = "int8" if settings.whisper_device == "cpu" else "float16"
    return WhisperTranscriber(settings.whisper_model or None, device=settings.whisper_device, compute_type=compute)


async def serve(settings: Settings) -> None:
    metrics.serve(settings.metrics_port, settings.host)
    nc = await bus.connect(settings, "speech")
    js = nc.jetstream()
    await bus.ensure_streams(js, settings)
    blobs = stores.open_blob_store(settings)
    await blobs.start()
    channel = grpcutil.channel(settings.conversation_target)
    core = SpeechCore(
        blobs,
        Publisher(nc, js),
        conversation_pb2_grpc.ConversationServiceStub(channel),
        CallerCodec(settings.secret_bytes()),
        settings.max_audio_seconds,
        settings.max_audio_bytes,
    )
    server = grpcutil.Server([SERVICE_NAME])
    speech_pb2_grpc.add_SpeechServiceServicer_to_server(SpeechServicer(core), server.grpc)  # before start
    port = server.bind(settings.host, settings.speech_port)
    await server.start(serving=False)  # not ready until the model is loaded
    stop = grpcutil.stop_event()
    transcriber = await asyncio.to_thread(make_transcriber, settings)
    worker = asyncio.create_task(TranscriptionWorker(core, transcriber, settings).run(stop))
    await server.set_serving(True)
    log.info("speech.serving", address=f"{settings.host}:{port}", model=transcriber.model_name)
    await stop.wait()
    log.info("speech.stopping")
    await server.stop()
    await worker
    await channel.close()
    await nc.drain()
    await blobs.close()
