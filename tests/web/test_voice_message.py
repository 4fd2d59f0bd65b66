"""A voice message recorded in the widget (web/e2e/voice.ts): Chromium's fake microphone plays
espeak-ng's recording of a question, the widget records it with MediaRecorder (Opus in WebM),
SpeechService.SubmitAudio stores it, Whisper (faster-whisper tiny.en, in the mesh's speech
service) transcribes it, the transcript becomes the visitor's message and is answered."""

from __future__ import annotations

import math

import numpy as np
import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from launcher.demo_tenant import DEMO_FAQ
from tests.e2e.helpers import Client
from tests.speech import espeak_wav, pcm_to_wav, wav_to_pcm, wer

SAID = "How do I reset my password?"  # one of tests/speech's measured sentences, in the demo FAQ
LEAD_SILENCE_S = 0.5                  # the recorder starts a moment after the microphone opens
ANSWERS = {entry["id"]: entry["answer"] for entry in DEMO_FAQ}


@pytest.mark.timeout(600)
async def test_a_voice_message_recorded_in_the_browser_is_transcribed_shown_and_answered(web_site, run_e2e, tmp_path):
    pcm, rate = wav_to_pcm(espeak_wav(SAID))
    lead = np.zeros((pcm.shape[0], int(rate * LEAD_SILENCE_S)), dtype=pcm.dtype)
    spoken = np.concatenate([lead, pcm], axis=1)
    wav = tmp_path / "question.wav"
    wav.write_bytes(pcm_to_wav(spoken, rate))
    # stop once the recorder has counted the whole file plus a second of the silence after it
    seconds = math.ceil(spoken.shape[1] / rate) + 1

    r = run_e2e("voice.ts",
                env={"FRONTDESK_VOICE_WAV": str(wav), "FRONTDESK_VOICE_SECONDS": str(seconds)}, timeout=420)

    minutes, secs = r["timerText"].split(":")
    assert int(minutes) * 60 + int(secs) >= seconds, r["timerText"]  # the visible timer says the same
    # the transcript is the question, shown as the visitor's voice message, then answered from the FAQ
    assert wer(SAID, r["transcript"]) <= 0.15, r["transcript"]
    assert r["answer"] == ANSWERS["reset-password"]
    # the transcription's progress was shown before the transcript, and gone once it arrived
    seen = r["seen"]
    progress = [s for s in seen if s.startswith("transcription:")]
    states = [s.split(":", 1)[1] for s in progress]
    assert "transcribing" in states, seen
    assert states == sorted(states, key=["queued", "stored", "transcribing"].index), seen  # never backwards
    assert seen.index(progress[0]) < seen.index(f"customer:{r['voiceId']}") < seen.index(f"answer:{r['answerId']}"), seen
    assert r["progressLeft"] == 0
    assert r["pageErrors"] == []

    # the server stored the recording's transcript as a voice message with its audio
    demo = web_site.mesh.demo
    async with web_site.mesh.channel() as ch:
        c = Client(ch)
        md = await c.operator(demo["slug"], demo["owner_email"], demo["owner_password"])
        history = await c.admin.ListMessages(admin_pb2.ListMessagesRequest(conversation_id=r["conversationId"]),
                                             metadata=md)
        (message,) = [m for m in history.messages if m.id == r["voiceId"]]
        assert message.role == common.ROLE_CUSTOMER and message.voice and message.audio_id
        assert message.text.strip() == r["transcript"]
        assert [m.id for m in history.messages if m.in_reply_to == message.id] == [r["answerId"]]
